"""Issue 13: the disclosures counted per client and day and per hour by the log's integrator
equal a direct count of the records, after concurrent writers, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter

from sqlalchemy import Engine, insert, select, update

from leerid.idp.store.console.disclosure_counts import brussels_day
from leerid.idp.store.console_tables import DisclosureDay, DisclosureHour, DisclosureRollup
from leerid.idp.store.disclosures import DisclosureEntry, record_disclosure, write_private_record
from leerid.idp.store.models import Disclosure
from leerid.idp.store.tlog.append import pupil_secret
from leerid.idp.store.tlog.integrate import (
    integrate_once,
    integrate_pending,
    rebuild_disclosure_counts,
)
from leerid.protocol.lifecycle import BRUSSELS
from tests.conftest import run_leerid_here
from tests.idp import tlog_kit

UTC = dt.UTC
CLIENTS = ["lars", "smartschool", "bingel"]
# Around both DST changes of 2026 (29 March, 25 October) and a summer and a winter evening.
MOMENTS = [
    dt.datetime(2026, 3, 28, 22, 30, tzinfo=UTC),  # 23:30 CET: still the 28th
    dt.datetime(2026, 3, 28, 23, 30, tzinfo=UTC),  # 00:30 CET: the 29th
    dt.datetime(2026, 3, 29, 21, 59, tzinfo=UTC),  # 23:59 CEST: the 29th (a 23-hour day)
    dt.datetime(2026, 3, 29, 22, 0, tzinfo=UTC),  # 00:00 CEST: the 30th
    dt.datetime(2026, 7, 15, 21, 30, tzinfo=UTC),  # 23:30 CEST: the 15th
    dt.datetime(2026, 7, 15, 23, 30, tzinfo=UTC),  # 01:30 CEST: the 16th
    dt.datetime(2026, 10, 24, 22, 30, tzinfo=UTC),  # 00:30 CEST: the 25th
    dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first time
    dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),  # 02:30 CET, the second time
    dt.datetime(2026, 10, 25, 22, 59, tzinfo=UTC),  # 23:59 CET: still the 25th (25 hours)
    dt.datetime(2026, 12, 31, 23, 0, tzinfo=UTC),  # 00:00 CET: 1 January
]


def _entry(rng: random.Random, *, outcome: str = "released") -> DisclosureEntry:
    at = rng.choice(MOMENTS) + dt.timedelta(seconds=rng.randrange(0, 50))
    endpoint = rng.choice(["token", "userinfo", "introspection"])
    return DisclosureEntry(
        client_id=rng.choice(CLIENTS),
        endpoint=endpoint,
        claims=["sub", "given_name"],
        protocol_id=rng.choice([None, "prot-1", "prot-2"]),
        protocol_hash=None,
        leer_id_uuid=None,
        account_uuid=None,
        outcome=outcome,
        reason="weigering" if outcome == "refused" else None,
        at=at,
    )


def _write(engine: Engine, seed: int, count: int) -> None:
    rng = random.Random(seed)
    for _ in range(count):
        entry = _entry(rng, outcome=rng.choice(["released"] * 4 + ["refused"]))
        with engine.begin() as conn:
            record_disclosure(conn, **{**entry.__dict__, "claims": list(entry.claims)})


def _refused_login(engine: Engine, at: dt.datetime) -> None:
    entry = DisclosureEntry(
        client_id="lars",
        endpoint="login",
        claims=[],
        protocol_id=None,
        protocol_hash=None,
        leer_id_uuid=None,
        account_uuid=None,
        outcome="refused",
        reason="wrong_password",
        at=at,
    )
    with engine.connect() as conn:
        write_private_record(conn, entry)
        conn.commit()


def _direct(engine: Engine) -> tuple[Counter[tuple[object, ...]], Counter[tuple[object, ...]]]:
    """The counts by a direct GROUP BY over the records (in Python, Brussels days)."""
    days: Counter[tuple[object, ...]] = Counter()
    hours: Counter[tuple[object, ...]] = Counter()
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                Disclosure.at,
                Disclosure.client_id,
                Disclosure.protocol_id,
                Disclosure.endpoint,
                Disclosure.outcome,
            ).where(~((Disclosure.endpoint == "login") & (Disclosure.outcome == "refused")))
        )
        for at, client, protocol, endpoint, outcome in rows:
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
            hour = at.replace(minute=0, second=0, microsecond=0)
            day = at.astimezone(BRUSSELS).date()
            days[(day, client, protocol or "", endpoint, outcome)] += 1
            hours[(hour, client, endpoint, outcome)] += 1
    return days, hours


def _kept(engine: Engine) -> tuple[Counter[tuple[object, ...]], Counter[tuple[object, ...]]]:
    with engine.connect() as conn:
        days = Counter(
            {
                (r.day, r.client_id, r.protocol_id, r.endpoint, r.outcome): r.count
                for r in conn.execute(select(DisclosureDay))
            }
        )
        hours = Counter(
            {
                (
                    r.hour.replace(tzinfo=UTC) if r.hour.tzinfo is None else r.hour.astimezone(UTC),
                    r.client_id,
                    r.endpoint,
                    r.outcome,
                ): r.count
                for r in conn.execute(select(DisclosureHour))
            }
        )
    return days, hours


def test_counts_equal_a_direct_count_after_concurrent_writers(engine: Engine) -> None:
    """Each entry is counted once, in the batch that integrates it, under the state lock."""
    signer = tlog_kit.signer(engine)
    pupil_secret(engine)
    stop = threading.Event()
    errors: list[BaseException] = []

    def integrator() -> None:
        try:
            while not stop.is_set():
                integrate_once(engine, signer, batch=37, checkpoint_every=0)
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=_write, args=(engine, n, 60)) for n in range(4)]
    running = threading.Thread(target=integrator)
    running.start()
    for writer in writers:
        writer.start()
    for at in MOMENTS[:3]:
        _refused_login(engine, at)
    for writer in writers:
        writer.join()
    stop.set()
    running.join()
    integrate_pending(engine, signer, checkpoint_every=0)
    assert not errors
    days, hours = _kept(engine)
    assert (days, hours) == _direct(engine)
    assert sum(days.values()) == 240  # the refused logins are not in it
    assert {key[0] for key in days} <= {brussels_day(m) for m in MOMENTS}


def test_the_brussels_day_of_an_hour_follows_summer_and_winter_time() -> None:
    """23:30 UTC in summer is the next day in Brussels; in winter 23:00 UTC is too."""
    hour = lambda *a: dt.datetime(*a, tzinfo=UTC)  # noqa: E731
    assert brussels_day(hour(2026, 7, 15, 23)) == dt.date(2026, 7, 16)
    assert brussels_day(hour(2026, 7, 15, 21)) == dt.date(2026, 7, 15)
    assert brussels_day(hour(2026, 7, 15, 22)) == dt.date(2026, 7, 16)
    assert brussels_day(hour(2026, 1, 15, 22)) == dt.date(2026, 1, 15)
    assert brussels_day(hour(2026, 1, 15, 23)) == dt.date(2026, 1, 16)
    assert brussels_day(hour(2026, 10, 25, 22)) == dt.date(2026, 10, 25)  # the 25-hour day
    assert brussels_day(hour(2026, 3, 29, 22)) == dt.date(2026, 3, 30)  # after a 23-hour day


def test_the_first_integration_rebuilds_from_records_before_the_log(engine: Engine) -> None:
    """Records from before the log (no entry) are counted by the rebuild the integrator runs
    once while ``rebuilt_at`` is empty; then the CLI's rebuild gives the same counts."""
    signer = tlog_kit.signer(engine)
    rng = random.Random(7)
    old = [_entry(rng) for _ in range(25)]
    with engine.begin() as conn:
        conn.execute(insert(Disclosure), [e.record(e.at or MOMENTS[0], None) for e in old])
    _refused_login(engine, MOMENTS[1])
    _write(engine, 8, 20)  # with entries, still pending
    integrate_pending(engine, signer, checkpoint_every=0)
    assert _kept(engine) == _direct(engine)
    assert sum(_kept(engine)[0].values()) == 45
    with engine.connect() as conn:
        rebuilt_at = conn.execute(select(DisclosureRollup.rebuilt_at)).scalar_one()
        assert rebuilt_at is not None
    # a second integration does not rebuild again (nor count twice)
    integrate_pending(engine, signer, checkpoint_every=0)
    assert sum(_kept(engine)[0].values()) == 45
    done = rebuild_disclosure_counts(engine)
    assert (done.disclosures, _kept(engine)) == (45, _direct(engine))


def test_a_pending_entry_is_counted_once_after_a_rebuild(engine: Engine) -> None:
    """A rebuild leaves pending entries to the integrator: nothing lost or doubled."""
    signer = tlog_kit.signer(engine)
    _write(engine, 1, 10)
    integrate_pending(engine, signer, checkpoint_every=0)
    _write(engine, 2, 10)  # pending
    with engine.begin() as conn:
        conn.execute(update(DisclosureRollup).values(rebuilt_at=None))
    rebuild_disclosure_counts(engine)
    assert sum(_kept(engine)[0].values()) == 10
    integrate_pending(engine, signer, checkpoint_every=0)
    assert _kept(engine) == _direct(engine) and sum(_kept(engine)[0].values()) == 20


def test_the_cli_rebuilds(engine: Engine, leerid_env: dict[str, str]) -> None:
    """``leerid disclosures counts rebuild`` says what it counted."""
    _write(engine, 3, 5)
    integrate_pending(engine, tlog_kit.signer(engine), checkpoint_every=0)
    # in this process: its work is the subject, not its process
    result = run_leerid_here(["disclosures", "counts", "rebuild"], leerid_env)
    assert result.returncode == 0, result.stderr
    assert "5 disclosures counted" in result.stdout


def test_an_unreadable_entry_is_left_out_and_never_stops_the_log() -> None:
    """Only disclosure entries count; a body that cannot be read is skipped with a warning."""
    from leerid.idp.store.console.disclosure_counts import tally

    good = (
        b'{"at":"2026-07-15T23:30:00.000000Z","claims":[],"client":"lars","endpoint":"token",'
        b'"id":"x","kind":"disclosure","outcome":"released","protocol":null,"pupil":null,'
        b'"protocol_hash":null,"reason":null,"v":1}'
    )
    days, hours = tally([good, b'{"kind":"disclosure"}', b"not json", b'{"kind":"event"}'])
    assert days == Counter({(dt.date(2026, 7, 16), "lars", "", "token", "released"): 1})
    assert sum(hours.values()) == 1
