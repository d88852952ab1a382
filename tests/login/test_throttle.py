"""Brute-force throttling: the policy's rules over many inputs, and the shared counters."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from _pytest.monkeypatch import MonkeyPatch
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from leerid.errors import ConfigurationError
from leerid.idp.login.throttle import (
    ThrottlePolicy,
    ThrottleState,
    after_failure,
    decide,
    failure_delay,
    lock_duration,
    lock_end_text,
    throttle_key,
)
from leerid.idp.settings import IdpSettings
from leerid.idp.store.login_tables import LoginThrottleRow
from leerid.idp.store.throttle import LoginThrottle
from leerid.store import attempts
from tests.login.write_log import install_write_log, take_writes

NOW = dt.datetime(2026, 9, 1, 8, 30, tzinfo=dt.UTC)
POLICY = ThrottlePolicy()

counts = st.integers(min_value=0, max_value=10_000)
free_counts = st.integers(min_value=0, max_value=50)
delays = st.floats(min_value=0.001, max_value=10.0)
caps = st.floats(min_value=0.0, max_value=60.0)


@given(counts, counts, free_counts, delays, caps)
def test_delay_never_decreases_with_more_failures(
    a: int, b: int, free: int, base: float, cap: float
) -> None:
    low, high = sorted((a, b))
    assert failure_delay(low, free, base, cap) <= failure_delay(high, free, base, cap)


@given(counts, free_counts, delays, caps)
def test_delay_is_bounded_and_free_at_first(
    failures: int, free: int, base: float, cap: float
) -> None:
    delay = failure_delay(failures, free, base, cap)
    assert 0.0 <= delay <= cap
    if failures <= free:
        assert delay == 0.0


@given(counts, counts, st.integers(min_value=1, max_value=100))
def test_lock_grows_from_the_threshold_on_and_is_bounded(a: int, b: int, lock_after: int) -> None:
    low, high = sorted((a, b))
    base, cap = timedelta(minutes=15), timedelta(hours=2)
    assert lock_duration(low, lock_after, base, cap) <= lock_duration(high, lock_after, base, cap)
    assert lock_duration(high, lock_after, base, cap) <= cap
    assert (lock_duration(low, lock_after, base, cap) > timedelta(0)) == (low >= lock_after)


@given(st.integers(min_value=1, max_value=40))
def test_account_locked_after_exactly_n_failures(n: int) -> None:
    policy = ThrottlePolicy(account_lock_after=n, address_lock_after=10_000)
    state = ThrottleState()
    for i in range(1, n + 1):
        assert decide(state, ThrottleState(), NOW, policy).allowed, f"locked after {i - 1}"
        state = after_failure(state, "account", NOW, policy)
    verdict = decide(state, ThrottleState(), NOW, policy)
    assert not verdict.allowed
    assert verdict.retry_after == NOW + policy.lock_base


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=3600 * 3))
def test_verdict_bounded_and_lock_ends(failures: int, seconds_later: int) -> None:
    """Whatever the counters, the delay stays under the caps and every lock has an end."""
    state = ThrottleState()
    for _ in range(failures):
        state = after_failure(state, "account", NOW, POLICY)
    later = NOW + timedelta(seconds=seconds_later)
    verdict = decide(state, state, later, POLICY)
    assert verdict.delay <= max(POLICY.account_max_delay, POLICY.address_max_delay)
    if not verdict.allowed:
        assert verdict.retry_after is not None
        assert later < verdict.retry_after <= NOW + POLICY.lock_max


def test_attempts_while_locked_do_not_prolong_the_lock() -> None:
    state = ThrottleState()
    for _ in range(POLICY.account_lock_after):
        state = after_failure(state, "account", NOW, POLICY)
    assert after_failure(state, "account", NOW + timedelta(minutes=1), POLICY) == state


def test_failures_are_forgotten_one_window_after_the_last() -> None:
    state = ThrottleState()
    for _ in range(POLICY.account_lock_after - 1):
        state = after_failure(state, "account", NOW, POLICY)
    later = NOW + POLICY.window + timedelta(seconds=1)
    assert decide(state, ThrottleState(), later, POLICY).delay == 0.0
    assert after_failure(state, "account", later, POLICY).failures == 1


def test_a_lock_ending_then_failing_again_locks_for_longer() -> None:
    state = ThrottleState()
    for _ in range(POLICY.account_lock_after):
        state = after_failure(state, "account", NOW, POLICY)
    assert state.locked_until == NOW + POLICY.lock_base
    after_lock = NOW + POLICY.lock_base + timedelta(seconds=1)
    again = after_failure(state, "account", after_lock, POLICY)
    assert again.locked_until == after_lock + 2 * POLICY.lock_base


@given(st.from_regex(r"[a-z][a-z0-9.]{0,30}", fullmatch=True))
def test_keys_are_hashes_and_ignore_case_and_spaces(name: str) -> None:
    key = throttle_key(b"s", "account", name)
    assert len(key) == 64 and set(key) <= set("0123456789abcdef")
    assert key == throttle_key(b"s", "account", f"  {name.upper()} ")
    assert key != throttle_key(b"s", "address", name)
    assert key != throttle_key(b"other secret", "account", name)


def test_ipv6_addresses_share_their_slash_64() -> None:
    one = throttle_key(b"s", "address", "2001:db8:1:2::1")
    two = throttle_key(b"s", "address", "2001:db8:1:2:ffff::9")
    other = throttle_key(b"s", "address", "2001:db8:1:3::1")
    assert one == two != other
    assert throttle_key(b"s", "address", "::ffff:192.0.2.7") == throttle_key(
        b"s", "address", "192.0.2.7"
    )


def test_lock_after_repeated_failures_is_shared_by_all_nodes(engine: Engine) -> None:
    node_a, node_b = LoginThrottle(engine), LoginThrottle(engine)

    async def scenario() -> None:
        for i in range(POLICY.account_lock_after):
            node = node_a if i % 2 else node_b
            assert (await node.check("jan.p1234", "192.0.2.1")).allowed
            await node.record_failure("jan.p1234", "192.0.2.1")
        for node in (node_a, node_b):
            verdict = await node.check("JAN.P1234", "198.51.100.9")  # other case, other address
            assert not verdict.allowed
            assert verdict.retry_after is not None
            assert verdict.retry_after > dt.datetime.now(dt.UTC) + timedelta(minutes=14)
        assert (await node_a.check("els.v5678", "192.0.2.1")).allowed

    asyncio.run(scenario())


def test_unknown_and_known_usernames_get_the_same_verdicts(engine: Engine) -> None:
    """The throttle does not know which usernames exist: same counters, same answers."""
    throttle = LoginThrottle(engine)

    async def history(username: str, address: str) -> list[tuple[bool, float]]:
        seen = []
        for _ in range(POLICY.account_lock_after + 1):
            verdict = await throttle.check(username, address)
            seen.append((verdict.allowed, verdict.delay))
            await throttle.record_failure(username, address)
        return seen

    async def scenario() -> None:
        assert await history("existing.pupil", "192.0.2.1") == await history(
            "nobody.at.all", "192.0.2.2"
        )

    asyncio.run(scenario())


def test_success_clears_the_account_but_not_the_address(engine: Engine) -> None:
    policy = ThrottlePolicy(address_free_failures=1, account_free_failures=1)
    throttle = LoginThrottle(engine, policy)

    async def scenario() -> None:
        for _ in range(3):
            await throttle.record_failure("mia.d1111", "192.0.2.1")
        assert (await throttle.check("mia.d1111", "192.0.2.50")).delay > 0
        await throttle.record_success("mia.d1111", "192.0.2.1")
        assert (await throttle.check("mia.d1111", "192.0.2.50")).delay == 0
        assert (await throttle.check("other.x0000", "192.0.2.1")).delay > 0

    asyncio.run(scenario())


def test_a_good_login_leaves_no_row_behind(engine: Engine) -> None:
    """Issue 8 §5: the reservation (one INSERT) is dropped after a good password (one DELETE)."""
    throttle = LoginThrottle(engine)
    install_write_log(engine)

    async def scenario() -> None:
        assert (await throttle.admit("lotte.m2222", "192.0.2.1")).allowed
        await throttle.record_success("lotte.m2222", "192.0.2.1")

    asyncio.run(scenario())
    assert take_writes(engine) == Counter({"INSERT login_throttle": 1, "DELETE login_throttle": 1})
    with engine.connect() as conn:
        assert conn.execute(select(LoginThrottleRow)).all() == []


def test_address_lock_stops_every_name_from_that_address(engine: Engine) -> None:
    throttle = LoginThrottle(engine, ThrottlePolicy(address_lock_after=5, account_lock_after=100))

    async def scenario() -> None:
        for i in range(5):
            await throttle.record_failure(f"guess{i}", "203.0.113.5")
        assert not (await throttle.check("fresh.name", "203.0.113.5")).allowed
        assert (await throttle.check("fresh.name", "203.0.113.6")).allowed

    asyncio.run(scenario())


def test_nothing_is_stored_in_clear_and_expired_rows_are_purged(engine: Engine) -> None:
    throttle = LoginThrottle(engine)
    throttle.record_failure_sync("noor.b3333", "192.0.2.77", now=NOW)
    with engine.connect() as conn:
        rows = conn.execute(select(LoginThrottleRow)).all()
    assert len(rows) == 2
    dump = repr(rows)
    assert "noor" not in dump and "192.0.2.77" not in dump
    assert throttle.purge_expired(NOW + timedelta(minutes=5)) == 0
    assert throttle.purge_expired(NOW + POLICY.window + timedelta(seconds=1)) == 2


def test_concurrent_failures_are_all_counted(engine: Engine) -> None:
    """Many workers failing at once for one name: no failure is lost (row lock, one order)."""
    throttle = LoginThrottle(engine, ThrottlePolicy(account_lock_after=1000))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(
            pool.map(
                lambda i: throttle.record_failure_sync("sem.v4444", f"192.0.2.{i % 3}"), range(24)
            )
        )
    with engine.connect() as conn:
        counts = sorted(conn.execute(select(LoginThrottleRow.failures)).scalars())
    assert counts == [8, 8, 8, 24]  # three addresses, one account


def test_simultaneous_attempts_reserve_at_most_the_lock_threshold(engine: Engine) -> None:
    """Issue 8 §5: 200 attempts at once for one name; only ``account_lock_after`` go ahead."""
    throttle = LoginThrottle(engine, ThrottlePolicy(account_lock_after=7))
    with ThreadPoolExecutor(max_workers=16) as pool:
        verdicts = list(
            pool.map(lambda i: throttle.admit_sync("bo.k5555", f"192.0.2.{i}"), range(200))
        )
    assert sum(v.allowed for v in verdicts) == 7
    assert all(v.retry_after is not None for v in verdicts if not v.allowed)


def test_a_success_in_flight_does_not_free_the_other_reservations(engine: Engine) -> None:
    """Issue 8 §5: a right password among the guesses clears the settled failures only."""
    throttle = LoginThrottle(engine, ThrottlePolicy(account_lock_after=3))
    name = "lien.s6666"
    assert all(throttle.admit_sync(name, "192.0.2.1").allowed for _ in range(3))
    assert not throttle.admit_sync(name, "192.0.2.1").allowed  # three in flight
    throttle.record_success_sync(name, "192.0.2.1")
    assert throttle.admit_sync(name, "192.0.2.1").allowed  # its own place only
    assert not throttle.admit_sync(name, "192.0.2.1").allowed
    for _ in range(3):
        throttle.record_failure_sync(name, "192.0.2.1")
    verdict = throttle.admit_sync(name, "192.0.2.1")
    assert not verdict.allowed and verdict.retry_after is not None


def test_a_lost_reservation_stops_counting(engine: Engine) -> None:
    """A worker killed between reservation and settlement does not lock the pupil for good."""
    throttle = LoginThrottle(engine, ThrottlePolicy(account_lock_after=2))
    name = "ward.t7777"
    assert throttle.admit_sync(name, "192.0.2.1", now=NOW).allowed
    assert throttle.admit_sync(name, "192.0.2.1", now=NOW).allowed
    assert not throttle.admit_sync(name, "192.0.2.1", now=NOW).allowed
    later = NOW + attempts.STALE + timedelta(seconds=1)
    assert throttle.admit_sync(name, "192.0.2.1", now=later).allowed


def test_after_a_lock_one_attempt_at_a_time(engine: Engine) -> None:
    """Once a lock ends, one more guess may be checked (its failure locks for longer)."""
    policy = ThrottlePolicy(account_lock_after=2)
    throttle = LoginThrottle(engine, policy)
    name = "zoe.u8888"
    for _ in range(2):
        assert throttle.admit_sync(name, "192.0.2.1", now=NOW).allowed
        throttle.record_failure_sync(name, "192.0.2.1", now=NOW)
    assert not throttle.admit_sync(name, "192.0.2.1", now=NOW).allowed
    after = NOW + policy.lock_base + timedelta(seconds=1)
    assert throttle.admit_sync(name, "192.0.2.1", now=after).allowed
    assert not throttle.admit_sync(name, "192.0.2.1", now=after).allowed


def test_the_lock_message_rounds_the_end_up_in_brussels_time() -> None:
    """Issue 8 §23: a lock ending at 14:15:30 Brussels time reads 14:16, with the zone."""
    summer = dt.datetime(2026, 9, 1, 12, 15, 30, tzinfo=dt.UTC)  # 14:15:30 CEST
    winter = dt.datetime(2026, 12, 1, 13, 15, 0, tzinfo=dt.UTC)  # 14:15:00 CET
    assert lock_end_text(summer) == "14:16 CEST"
    assert lock_end_text(winter) == "14:15 CET"


@given(st.datetimes(timezones=st.just(dt.UTC)))
def test_the_lock_message_never_shows_a_time_before_the_end(until: dt.datetime) -> None:
    shown = lock_end_text(until)
    hours, minutes = map(int, shown.split()[0].split(":"))
    local = until.astimezone(ZoneInfo("Europe/Brussels"))
    shown_at = local.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if shown_at < local:  # the next day after 23:59:xx
        shown_at += timedelta(days=1)
    assert timedelta(0) <= shown_at - local < timedelta(minutes=1)


def test_the_numbers_for_a_school_network_are_configurable(monkeypatch: MonkeyPatch) -> None:
    """Issue 8 §10: the per-address numbers (a school behind one NAT address) can be raised."""
    monkeypatch.setenv("LEERID_THROTTLE_ADDRESS_LOCK_AFTER", "2000")
    monkeypatch.setenv("LEERID_THROTTLE_ADDRESS_FREE_FAILURES", "120")
    monkeypatch.setenv("LEERID_THROTTLE_ACCOUNT_LOCK_AFTER", "6")
    settings = IdpSettings()
    assert settings.throttle.address_lock_after == 2000
    assert settings.throttle.address_free_failures == 120
    assert settings.throttle.account_lock_after == 6
    monkeypatch.setenv("LEERID_THROTTLE_LOCK_MINUTES", "ten")
    with pytest.raises(ConfigurationError, match="LEERID_THROTTLE_LOCK_MINUTES='ten'"):
        IdpSettings()


def test_the_purge_keeps_a_row_with_an_attempt_in_flight(engine: Engine) -> None:
    """A row idle for an hour but reserved just now is not purged under a running burst."""
    throttle = LoginThrottle(engine, ThrottlePolicy(account_lock_after=2))
    name = "kai.w9999"
    throttle.record_failure_sync(name, "192.0.2.1", now=NOW)
    later = NOW + POLICY.window + timedelta(minutes=1)
    assert throttle.admit_sync(name, "192.0.2.1", now=later).allowed
    assert throttle.admit_sync(name, "192.0.2.1", now=later).allowed
    assert throttle.purge_expired(later) == 1  # the address row only
    assert not throttle.admit_sync(name, "192.0.2.1", now=later).allowed
