"""Art. 9 (GDPR art. 33): breaches recorded, the other DPO notified by e-mail, in phases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from leerid.sp.kit.breaches import MailError, add_breach, list_breaches, update_breach
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.testing.servers import free_port
from tests.sp.conftest import write_config


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def test_breach_notified_and_updated_in_phases(
    database_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    provider = ServiceProvider(load_settings(write_config(tmp_path, database_url, smtp_port=port)))
    found = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    breach_id = add_breach(
        provider.engine,
        provider.settings.mail,
        actor="dpo1",
        discovered_at=found,
        description="Laptop met export verloren",
        categories="naam, voornaam",
        pupils_affected=12,
        measures="Wachtwoorden gewijzigd",
    )
    assert len(inbox.messages) == 1
    first = inbox.messages[0]
    assert first["To"] == "dpo@ond.example"
    body = first.get_payload()
    assert "Laptop met export verloren" in body and "12" in body
    assert (found + dt.timedelta(hours=72)).isoformat(timespec="minutes") in body
    update_breach(
        provider.engine,
        provider.settings.mail,
        breach_id,
        actor="dpo1",
        text="Toestel teruggevonden, versleuteld",
        status="gemeld",
        authority_notified=True,
        notify=True,
    )
    assert len(inbox.messages) == 2
    assert "Update" in inbox.messages[1]["Subject"]
    assert "Toestel teruggevonden" in inbox.messages[1].get_payload()
    (view,) = list_breaches(provider.engine)
    assert view.breach.status == "gemeld"
    assert view.breach.other_party_notified_at is not None
    assert view.breach.authority_notified_at is not None
    assert [u.notified for u in view.updates] == [True]
    assert 66 < view.clock.hours_left < 68
    provider.engine.dispose()


def test_unreachable_smtp_keeps_the_breach_and_says_what_to_do(
    database_url: str, tmp_path: Path
) -> None:
    provider = ServiceProvider(
        load_settings(write_config(tmp_path, database_url, smtp_port=free_port()))
    )
    with pytest.raises(MailError, match="breaches update"):
        add_breach(
            provider.engine,
            provider.settings.mail,
            actor="dpo1",
            discovered_at=dt.datetime.now(dt.UTC),
            description="x",
            categories="y",
            pupils_affected=1,
            measures="z",
        )
    (view,) = list_breaches(provider.engine)
    assert view.breach.other_party_notified_at is None
    provider.engine.dispose()


def test_breach_mail_has_date_and_message_id(
    database_url: str, tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    """RFC 5322 section 3.6: Date is required and Message-ID expected (issue 8 point 23)."""
    from email.utils import parsedate_to_datetime

    inbox, port = smtp
    provider = ServiceProvider(load_settings(write_config(tmp_path, database_url, smtp_port=port)))
    for n in range(2):
        add_breach(
            provider.engine,
            provider.settings.mail,
            actor="dpo1",
            discovered_at=dt.datetime.now(dt.UTC),
            description=f"Lek {n}",
            categories="naam",
            pupils_affected=1,
            measures="Geen",
        )
    dates = [parsedate_to_datetime(m["Date"]) for m in inbox.messages]
    assert all(abs(d - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5) for d in dates)
    ids = [m["Message-ID"] for m in inbox.messages]
    assert all(i and i.startswith("<") and i.endswith("@lars.example>") for i in ids)
    assert len(set(ids)) == 2
