"""Art. 9, GDPR art. 33: the shared breach register, its clocks and its mail, on both
parties' tables (LARS's sp_breach and DOV's idp_breach), on each backend."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from leerid.duties import breach_register as register
from leerid.duties.breach_clock import BRUSSELS, WINDOW, breach_clock, clocks
from leerid.duties.breach_register import Authority, BreachInputError, Party
from leerid.duties.mail import MailError, MailSettings
from leerid.errors import NotFoundError
from leerid.idp.store.console_tables import DovBreach, DovBreachUpdate
from leerid.sp.kit.models import Breach, BreachUpdate
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.testing.servers import free_port
from tests.sp.conftest import write_config
from tests.sp.test_breaches_mail import Inbox, smtp  # noqa: F401 (the mail server fixture)

INSZ = "05.08.12-123.45"
T0 = dt.datetime(2026, 3, 27, 10, 0, tzinfo=dt.UTC)  # the Friday before summer time


class Row:
    """A breach as the clocks read it (the columns both tables have)."""

    def __init__(self, found: dt.datetime, **columns: Any) -> None:
        self.discovered_at = found
        self.other_party_notified_at = columns.get("other")
        self.authority_notified_at = columns.get("told")
        self.authority_reference = columns.get("reference")
        self.authority_not_needed = columns.get("reason")


moments = st.datetimes(
    min_value=dt.datetime(2024, 1, 1),
    max_value=dt.datetime(2030, 12, 31),
    timezones=st.just(BRUSSELS),
)


@given(found=moments, hours=st.floats(min_value=0, max_value=200))
def test_the_authority_clock_runs_72_real_hours_across_summer_time(
    found: dt.datetime, hours: float
) -> None:
    """GDPR art. 33.1: 72 hours of elapsed time, whatever the wall clock in Brussels does."""
    now = found.astimezone(dt.UTC) + dt.timedelta(hours=hours)  # elapsed, not wall-clock
    clock = breach_clock(found, now)
    assert clock.deadline - found == WINDOW
    assert clock.deadline_local.tzinfo is BRUSSELS
    assert clock.deadline_local.astimezone(dt.UTC) == clock.deadline
    assert clock.overdue == (hours > 72)
    assert abs(clock.hours_left - (72 - hours)) <= 0.05 + 1e-9
    assert clocks(Row(found), now).authority_state == ("te laat" if hours > 72 else "open")


def test_the_deadline_on_the_wall_clock_moves_with_summer_time() -> None:
    """GDPR art. 33.1: found Friday 11:00 Brussels before the change, due Monday 12:00 CEST."""
    clock = breach_clock(T0, T0)
    assert clock.deadline_local.strftime("%a %H:%M %Z") == "Mon 12:00 CEST"


def test_either_a_reference_or_a_reason_closes_the_authority_clock() -> None:
    """GDPR art. 33.1, 33.5; art. 9: the other DPO told or not, with the hours since discovery."""
    later = T0 + dt.timedelta(hours=80)
    told = clocks(Row(T0, told=T0 + dt.timedelta(hours=5), reference="GBA-1"), later)
    assert (told.authority_state, told.authority_closed, told.authority_late) == (
        "gemeld",
        True,
        False,
    )
    assert clocks(Row(T0, told=T0 + dt.timedelta(hours=73)), later).authority_late
    reason = clocks(Row(T0, reason="versleuteld"), later)
    assert reason.authority_state == "niet gemeld" and reason.authority_closed
    open_ = clocks(Row(T0, other=T0 + dt.timedelta(hours=1)), later)
    assert open_.authority_state == "te laat" and open_.hours_since_discovery == 80.0
    assert open_.other_party_told_at == T0 + dt.timedelta(hours=1)


class Log:
    """A party's privacy log, as the register calls it (art. 6)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, dict[str, Any]]] = []

    def __call__(
        self, session: Session, actor: str, action: str, purpose: str, detail: Mapping[str, Any]
    ) -> None:
        self.entries.append((actor, action, dict(detail)))


@pytest.fixture(params=["lars", "dov"])
def party_engine(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[tuple[Party, Engine, Log]]:
    """Each party's tables on a fresh, migrated database of each backend."""
    log = Log()
    if request.param == "lars":
        provider = ServiceProvider(load_settings(write_config(tmp_path, database_url)))
        yield Party(breach=Breach, update=BreachUpdate, log=log), provider.engine, log
        provider.engine.dispose()
        return
    from leerid.schema import upgrade
    from leerid.store.engine import make_engine

    engine = make_engine(database_url)
    upgrade(engine)
    yield Party(breach=DovBreach, update=DovBreachUpdate, log=log), engine, log
    engine.dispose()


def _add(party: Party, engine: Engine, mail: MailSettings, **changes: Any) -> int:
    fields: dict[str, Any] = {
        "actor": "dpo1",
        "discovered_at": dt.datetime.now(dt.UTC) - dt.timedelta(hours=5),
        "description": "Laptop met export verloren",
        "categories": "naam, voornaam",
        "pupils_affected": 12,
        "measures": "Wachtwoorden gewijzigd",
    }
    return register.add_breach(engine, party, mail, **{**fields, **changes})


def test_a_breach_is_told_in_phases_and_the_authority_closes_its_clock(
    party_engine: tuple[Party, Engine, Log],
    smtp: tuple[Inbox, int],  # noqa: F811 (the fixture)
) -> None:
    party, engine, log = party_engine
    inbox, port = smtp
    mail = MailSettings(smtp_port=port, other_party_dpo="dpo@andere.example")
    number = _add(party, engine, mail)
    assert [m["To"] for m in inbox.messages] == ["dpo@andere.example"]
    assert "nog niet gemeld (open)" in inbox.messages[0].get_payload()
    told = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    register.update_breach(
        engine,
        party,
        mail,
        number,
        actor="dpo1",
        text="Toestel teruggevonden",
        status="gemeld",
        authority=Authority(reference="GBA-2026-17", notified_at=told),
        notify=True,
    )
    body = inbox.messages[1].get_payload()
    assert "referentie GBA-2026-17" in body and "Toestel teruggevonden" in body
    (view,) = register.list_breaches(engine, party)
    assert view.clocks.authority_state == "gemeld" and not view.clocks.authority_late
    assert view.breach.authority_reference == "GBA-2026-17"
    assert view.clocks.other_party_told_at is not None
    assert [u.notified for u in view.updates] == [True]
    assert 4.9 <= view.clocks.hours_since_discovery <= 5.1
    assert [a for _, a, _ in log.entries] == [
        "datalek_geregistreerd",
        "datalek_gemeld",
        "datalek_bijgewerkt",
        "datalek_gemeld",
    ]
    assert log.entries[2][2] == {"datalek": number, "status": "gemeld", "toezichthouder": "gemeld"}
    with pytest.raises(BreachInputError, match="reported to the authority already"):
        register.update_breach(
            engine, party, mail, number, actor="d", authority=Authority(not_needed="laag risico")
        )


def test_not_reported_needs_a_reason_and_the_input_is_checked(
    party_engine: tuple[Party, Engine, Log],
) -> None:
    """GDPR art. 33.5, art. 3 (no INSZ in free text), and the register's own checks."""
    party, engine, log = party_engine
    mail = MailSettings()
    number = _add(party, engine, mail, notify=False)
    bad = [
        Authority(not_needed="  "),
        Authority(reference=""),
        Authority(reference="GBA-1", not_needed="ook"),
        Authority(not_needed=f"zie {INSZ}"),
        Authority(reference="GBA", notified_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
    ]
    for authority in bad:
        with pytest.raises(BreachInputError) as refused:
            register.update_breach(engine, party, mail, number, actor="d", authority=authority)
        assert register.dutch(refused.value) != refused.value.message
    with pytest.raises(BreachInputError, match="status"):
        register.update_breach(engine, party, mail, number, actor="d", status="weg")
    with pytest.raises(BreachInputError, match="national register"):
        _add(party, engine, mail, measures=f"brief aan {INSZ}", notify=False)
    with pytest.raises(BreachInputError, match="future"):
        _add(party, engine, mail, discovered_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    with pytest.raises(NotFoundError):
        register.update_breach(engine, party, mail, number + 99, actor="d", text="x")
    register.update_breach(
        engine, party, mail, number, actor="d", authority=Authority(not_needed="versleuteld")
    )
    (view,) = register.list_breaches(engine, party)
    assert view.clocks.authority_state == "niet gemeld"
    assert view.breach.authority_not_needed == "versleuteld"
    assert view.clocks.other_party_told_at is None  # notify=False: not told yet
    assert len(log.entries) == 2


def test_without_an_address_the_breach_stays_and_the_error_says_what_to_run(
    party_engine: tuple[Party, Engine, Log],
) -> None:
    party, engine, _ = party_engine
    mail = MailSettings(dpo_setting="LEERID_MAIL_OTHER_PARTY_DPO")
    with pytest.raises(MailError, match="LEERID_MAIL_OTHER_PARTY_DPO"):
        _add(party, engine, mail)
    unreachable = MailSettings(smtp_port=free_port(), other_party_dpo="dpo@x.example")
    with pytest.raises(MailError, match="breaches update"):
        _add(party, engine, unreachable)
    assert len(register.list_breaches(engine, party)) == 2


def test_each_dpo_gets_an_e_mail_of_their_own(
    party_engine: tuple[Party, Engine, Log],
    smtp: tuple[Inbox, int],  # noqa: F811 (the fixture)
) -> None:
    """Art. 9: several recipients' DPOs, one e-mail each (none sees the others' addresses)."""
    party, engine, _ = party_engine
    inbox, port = smtp
    mail = MailSettings(smtp_port=port)
    to = ["dpo@een.example", "dpo@twee.example", "dpo@een.example"]
    number = _add(party, engine, mail, to=to)
    assert [m["To"] for m in inbox.messages] == ["dpo@een.example", "dpo@twee.example"]
    assert all(f"gegevenslek {number}]" in m["Subject"] for m in inbox.messages)
