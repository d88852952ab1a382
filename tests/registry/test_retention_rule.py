"""Art. 3, DOV's side: the pure retention rule, at its boundaries and over many inputs."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.errors import ConfigurationError
from leerid.idp.store.log_retention import KINDS, LogRetention
from leerid.protocol import IsoDuration
from leerid.registry.retention import PupilFacts, RetentionPolicy, Verdict, decide, is_due
from leerid.registry.retention.rule import brussels_day, midnight_utc
from leerid.registry.retention.settings import policy_from_env

P3Y = IsoDuration(years=3)
POLICY = RetentionPolicy()
ENDED = dt.date(2023, 8, 31)  # the last day of a school year


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), dt.UTC)


def test_due_the_day_after_three_years_not_the_day_before() -> None:
    facts = PupilFacts(dt.date(2015, 9, 1), (ENDED,))
    assert not is_due(facts, dt.date(2026, 8, 30), P3Y)
    assert not is_due(facts, dt.date(2026, 8, 31), P3Y)  # exactly three years: not more
    assert is_due(facts, dt.date(2026, 9, 1), P3Y)


def test_a_running_or_later_enrolment_is_never_due() -> None:
    today = dt.date(2030, 1, 1)
    assert not is_due(PupilFacts(dt.date(2010, 1, 1), (ENDED, None)), today, P3Y)
    assert not is_due(PupilFacts(dt.date(2010, 1, 1), (ENDED, today)), today, P3Y)
    assert not is_due(PupilFacts(dt.date(2010, 1, 1), (dt.date(2031, 6, 30),)), today, P3Y)


def test_never_enrolled_counts_from_the_registration() -> None:
    facts = PupilFacts(dt.date(2023, 3, 1), ())
    assert not is_due(facts, dt.date(2026, 3, 1), P3Y)
    assert is_due(facts, dt.date(2026, 3, 2), P3Y)


def test_29_february_ends_on_28_february_three_years_later() -> None:
    facts = PupilFacts(dt.date(2010, 1, 1), (dt.date(2024, 2, 29),))
    assert not is_due(facts, dt.date(2027, 2, 28), P3Y)
    assert is_due(facts, dt.date(2027, 3, 1), P3Y)


def test_the_stages_retire_wait_delete_revive() -> None:
    due_day = dt.date(2026, 9, 1)
    retired = noon(due_day)
    facts = PupilFacts(dt.date(2015, 9, 1), (ENDED,))
    assert decide(facts, noon(due_day - dt.timedelta(days=1)), POLICY) is Verdict.ACTIVE
    assert decide(facts, retired, POLICY) is Verdict.RETIRE
    waiting = PupilFacts(facts.registered_on, facts.enrolment_ends, retired)
    assert decide(waiting, retired + dt.timedelta(days=29, hours=23), POLICY) is Verdict.WAIT
    assert decide(waiting, retired + dt.timedelta(days=30), POLICY) is Verdict.DELETE
    back = PupilFacts(facts.registered_on, (*facts.enrolment_ends, None), retired)
    assert decide(back, retired + dt.timedelta(days=10), POLICY) is Verdict.REVIVE
    assert decide(back, retired + dt.timedelta(days=90), POLICY) is Verdict.REVIVE


def test_the_day_is_the_day_in_brussels() -> None:
    late = dt.datetime(2026, 8, 31, 22, 30, tzinfo=dt.UTC)  # 00:30 on 1 September there
    assert brussels_day(late) == dt.date(2026, 9, 1)
    assert midnight_utc(dt.date(2026, 9, 1)) == dt.datetime(2026, 8, 31, 22, 0, tzinfo=dt.UTC)
    assert decide(PupilFacts(dt.date(2015, 9, 1), (ENDED,)), late, POLICY) is Verdict.RETIRE


days = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31))
ends = st.lists(st.one_of(st.none(), days), max_size=5).map(tuple)
facts_st = st.builds(PupilFacts, days, ends)
periods = st.builds(
    IsoDuration,
    years=st.integers(0, 5),
    months=st.integers(0, 11),
    days=st.integers(0, 60),
)


@given(facts_st, days, st.integers(0, 4000), periods)
def test_once_due_stays_due_as_time_passes(
    facts: PupilFacts, today: dt.date, later: int, period: IsoDuration
) -> None:
    if is_due(facts, today, period):
        assert is_due(facts, today + dt.timedelta(days=later), period)


@given(facts_st, days, periods, days)
def test_a_running_enrolment_revives(
    facts: PupilFacts, today: dt.date, period: IsoDuration, begun: dt.date
) -> None:
    """Art. 3: an enrolment without an end (or ending today or later) means not due."""
    for end in (None, today, today + dt.timedelta(days=1)):
        running = PupilFacts(facts.registered_on, (*facts.enrolment_ends, end))
        assert not is_due(running, today, period)


@given(facts_st, days, periods)
def test_due_means_every_enrolment_ended_before_the_period(
    facts: PupilFacts, today: dt.date, period: IsoDuration
) -> None:
    cutoff = period.before(dt.datetime.combine(today, dt.time())).date()
    last = max((e for e in facts.enrolment_ends if e), default=facts.registered_on)
    expected = all(e is not None and e < today for e in facts.enrolment_ends) and last < cutoff
    assert is_due(facts, today, period) is expected


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEERID_RETENTION_PUPILS", "P4Y")
    monkeypatch.setenv("LEERID_RETENTION_GRACE", "P60D")
    assert policy_from_env() == RetentionPolicy(IsoDuration(years=4), IsoDuration(days=60))
    monkeypatch.setenv("LEERID_RETENTION_PUPILS", "three years")
    with pytest.raises(ConfigurationError, match="LEERID_RETENTION_PUPILS='three years'"):
        policy_from_env()
    monkeypatch.setenv("LEERID_RETENTION_PUPILS", "P0D")
    with pytest.raises(ConfigurationError, match="zero"):
        policy_from_env()


def test_every_log_kind_has_a_default_and_a_ground(monkeypatch: pytest.MonkeyPatch) -> None:
    assert LogRetention.from_env() == LogRetention()
    assert {k.name for k in KINDS} == set(LogRetention().as_json())
    assert all(k.ground and k.counted_from for k in KINDS)
    monkeypatch.setenv("LEERID_RETENTION_DISCLOSURES", "P5Y")
    assert LogRetention.from_env().disclosures == IsoDuration(years=5)
    monkeypatch.setenv("LEERID_RETENTION_LOGIN_THROTTLE", "PT10M")
    with pytest.raises(ConfigurationError, match="shorter than the login throttle's window"):
        LogRetention.from_env()
