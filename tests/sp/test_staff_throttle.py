"""Issue 8 §5, §10: the staff login throttle of the portal, in its database.

Two portals on one database (two processes of one deployment) take a burst of guesses
together; the passwords checked are counted by ``leerid_sp_staff_password_checks_total``.
Accounts and addresses are counted apart, with a high address threshold and office ranges.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, insert, select

from leerid.errors import ConfigurationError
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.sp.kit.throttle import TABLE, StaffLoginThrottle, purge_spent
from leerid.testing.browser import hidden_fields
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import write_config

PASSWORD = "een-lang-wachtwoord"
NOW = dt.datetime(2026, 9, 1, 8, 30, tzinfo=dt.UTC)
STAFF_LOGIN = """
[staff_login]
account_lock_after = 5
address_lock_after = 100
office_ranges = ["192.0.2.0/24"]
"""


def config(tmp_path: Path, database_url: str, extra: str = STAFF_LOGIN) -> Path:
    path = write_config(tmp_path / "sp", database_url)
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return path


@pytest.fixture
def lars(tmp_path: Path, database_url: str) -> Iterator[ServiceProvider]:
    provider = ServiceProvider(load_settings(config(tmp_path, database_url)))
    yield provider
    provider.engine.dispose()


def checked() -> float:
    return REGISTRY.get_sample_value("leerid_sp_staff_password_checks_total") or 0.0


async def burst(
    urls: list[str], forms: list[dict[str, str]], cookies: httpx.Cookies
) -> Counter[int]:
    limits = httpx.Limits(max_connections=len(forms))
    async with httpx.AsyncClient(cookies=cookies, limits=limits, timeout=120) as client:
        answers = await asyncio.gather(
            *(
                client.post(f"{urls[i % len(urls)]}/personeel/aanmelden", data=form)
                for i, form in enumerate(forms)
            )
        )
    return Counter(answer.status_code for answer in answers)


def test_a_burst_on_two_portals_gets_at_most_five_passwords_checked(
    lars: ServiceProvider,
) -> None:
    add_staff(lars.engine, lars.protocol, "clb.burst", PASSWORD, "toegangscontrole")
    second = ServiceProvider(lars.settings)  # another process of the same portal
    with ExitStack() as stack, httpx.Client() as http:
        urls = [stack.enter_context(serve_portal(p, free_port())) for p in (lars, second)]
        form = http.get(f"{urls[0]}/personeel/aanmelden")
        base = {"csrf": hidden_fields(form.text)["csrf"], "gebruikersnaam": "clb.burst"}
        wrong = [{**base, "wachtwoord": f"fout-{i}"} for i in range(120)]
        before = checked()
        first = asyncio.run(burst(urls, wrong, http.cookies))
        locked = checked()
        right = {**base, "wachtwoord": PASSWORD}
        again = asyncio.run(burst(urls, [right, *wrong[:99]], http.cookies))
        after = checked()
    second.engine.dispose()
    assert locked - before <= 5, (first, locked - before)
    assert first[429] >= 115 and first[303] == 0, first
    assert again == Counter({429: 100}), again  # the right password does not get in
    assert after == locked


def test_one_office_address_does_not_lock_every_colleague(lars: ServiceProvider) -> None:
    """Issue 8 §10: five colleagues each mistype four times from one NAT address; all of
    them can still log in. Outside the office ranges an address locks at 100 failures."""
    throttle = StaffLoginThrottle(lars.engine, lars.settings.staff_login, b"k" * 32)
    nat = "198.51.100.7"  # not an office range
    for colleague in range(20):
        for _ in range(4):
            assert throttle.admit(f"clb.{colleague}", nat, NOW) == 0
            throttle.failed(f"clb.{colleague}", nat, NOW)
    assert throttle.admit("clb.new", nat, NOW) == 0  # 80 failures: the address still works
    throttle.succeeded("clb.new", NOW)
    for guess in range(20):
        assert throttle.admit(f"guess.{guess}", nat, NOW) == 0
        throttle.failed(f"guess.{guess}", nat, NOW)
    assert throttle.admit("clb.new", nat, NOW) == 15 * 60  # 100 failures: the address waits
    assert throttle.admit("clb.new", "198.51.100.8", NOW) == 0


def test_office_ranges_are_never_locked_as_an_address(lars: ServiceProvider) -> None:
    throttle = StaffLoginThrottle(lars.engine, lars.settings.staff_login, b"k" * 32)
    for guess in range(150):
        assert throttle.admit(f"guess.{guess}", "192.0.2.44", NOW) == 0
        throttle.failed(f"guess.{guess}", "192.0.2.44", NOW)
    assert throttle.admit("clb.new", "192.0.2.44", NOW) == 0


def test_an_account_locks_after_five_failures_from_any_address(lars: ServiceProvider) -> None:
    throttle = StaffLoginThrottle(lars.engine, lars.settings.staff_login, b"k" * 32)
    for i in range(5):
        assert throttle.admit("clb.target", f"203.0.113.{i}", NOW) == 0
        throttle.failed("clb.target", f"203.0.113.{i}", NOW)
    assert throttle.admit("CLB.Target", "192.0.2.1", NOW) == 15 * 60
    later = NOW + timedelta(minutes=15, seconds=1)
    assert throttle.admit("clb.target", "192.0.2.1", later) == 0


def test_a_bad_office_range_is_named(tmp_path: Path, database_url: str) -> None:
    path = config(tmp_path, database_url, '[staff_login]\noffice_ranges = ["192.0.2.0/33"]\n')
    with pytest.raises(ConfigurationError, match=r"\[staff_login\]: office_ranges: '192.0.2.0/33'"):
        load_settings(path)


def test_failures_are_forgotten_an_hour_after_the_last(lars: ServiceProvider) -> None:
    throttle = StaffLoginThrottle(lars.engine, lars.settings.staff_login, b"k" * 32)
    for _ in range(4):
        assert throttle.admit("clb.vergeet", "203.0.113.9", NOW) == 0
        throttle.failed("clb.vergeet", "203.0.113.9", NOW)
    later = NOW + timedelta(hours=1, seconds=1)
    for _ in range(4):
        assert throttle.admit("clb.vergeet", "203.0.113.9", later) == 0
        throttle.failed("clb.vergeet", "203.0.113.9", later)
    assert throttle.admit("clb.vergeet", "203.0.113.9", later) == 0


def rows(lars: ServiceProvider) -> int:
    with lars.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(TABLE)) or 0)


def test_the_purge_deletes_spent_rows_in_batches_and_keeps_live_ones(
    lars: ServiceProvider,
) -> None:
    """Issue 8 §5: ``sp_login_throttle`` does not grow for ever; a row whose window and lock
    ended and with no attempt in flight goes, any other stays (and keeps counting)."""
    throttle = StaffLoginThrottle(lars.engine, lars.settings.staff_login, b"k" * 32)
    later = NOW + timedelta(hours=1, minutes=5)
    for colleague in range(5):  # spent: one failure each, an hour ago, from the office
        throttle.failed(f"clb.{colleague}", "192.0.2.44", NOW)
    throttle.failed("clb.bezig", "192.0.2.44", NOW)
    assert throttle.admit("clb.bezig", "192.0.2.44", later) == 0  # in flight now
    throttle.failed("clb.recent", "192.0.2.44", later - timedelta(minutes=1))
    with lars.engine.begin() as conn:  # a lock running past the window (a longer lock)
        conn.execute(
            insert(TABLE).values(
                key="vergrendeld",
                scope="account",
                failures=5,
                last_failure_at=NOW,
                locked_until=later + timedelta(minutes=30),
                pending=0,
            )
        )
    assert rows(lars) == 8
    assert purge_spent(lars.engine, later, batch=2) == 5
    assert rows(lars) == 3
    assert purge_spent(lars.engine, later, batch=2) == 0
    throttle.succeeded("clb.bezig", later)  # the attempt in flight settles normally
    assert purge_spent(lars.engine, later + timedelta(hours=2)) == 2
    assert rows(lars) == 0
