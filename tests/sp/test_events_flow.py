"""The recipient follows DOV, end to end: a real provider and a real LARS portal on loopback,
both on SQLite or both on PostgreSQL, changes made at DOV through the ``leerid`` command (run
in this process: the commands' work is the subject here, not their process)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select, update

from leerid.idp.store.models import IdpSigningKey
from leerid.protocol import IsoDuration
from leerid.sp.kit.events_state import sync_status
from leerid.sp.kit.models import AppliedEvent, DossierEntry, PupilRecord
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.store.engine import make_engine, session_scope
from leerid.testing.browser import Browser
from leerid.testing.servers import free_port, serve_portal
from tests.conftest import fresh_database, run_leerid, run_leerid_here
from tests.sp.conftest import PROTOCOL, add_bound_staff
from tests.sp.lars_world import lars_world, provider_for_portal, seed_pupil
from tests.sp.test_lars_flow import PASSWORD, staff_login

PROTOCOL_ID = "dov-lars-glce-2024"
SHA = "ab" * 32  # the signed PDF's hash, as an operator records it


@contextmanager
def lars_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """LARS's own database on the provider's backend (another file or schema)."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with fresh_database(backend, tmp_path, "lars.db") as url:
        yield url


BUSY = "another process (the portal's poller) is syncing right now"


def sync(config: Path, env: dict[str, str], *, process: bool = False) -> str:
    """``leerid sp sync``; as a process beside the portal's poller it may find the poller
    syncing and refuse (as it should): then it is run again, as its message says, for 30 s."""
    args = ["sp", "sync", "--config", str(config)]
    if not process:
        return leerid(env, *args)
    deadline = time.monotonic() + 30
    while True:
        done = run_leerid(args, env)
        if done.returncode == 0:
            return done.stdout
        assert BUSY in done.stderr and time.monotonic() < deadline, done.stderr
        time.sleep(0.5)


def leerid(env: dict[str, str], *args: str, process: bool = False) -> str:
    """``leerid ARGS`` in this process, or as a real one while the portal in this process polls
    (a command in this process swaps os.environ and the standard streams under its poller)."""
    done = (run_leerid if process else run_leerid_here)(list(args), env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def attest(env: dict[str, str], version: int, party: str, *, process: bool = False) -> str:
    today = dt.date.today().isoformat()
    return leerid(
        env,
        *("protocol", "attest", PROTOCOL_ID, "--version", str(version), "--party", party),
        *("--signer", f"signer {party}", "--signed-at", today, "--document-sha256", SHA),
        *("--operator", "dpo-dov"),
        process=process,
    )


def amended(tmp_path: Path, period: str) -> Path:
    """The seed with another deletion period (art. 3): new content, a new version."""
    path = tmp_path / f"amended-{period}.yaml"
    text = PROTOCOL.read_text(encoding="utf-8")
    path.write_text(
        text.replace("inactive_account_deletion: P3Y", f"inactive_account_deletion: {period}"),
        encoding="utf-8",
    )
    return path


def test_an_amendment_is_in_force_at_both_sides_only_once_both_parties_signed(
    database_url: str, tmp_path: Path, leerid_env: dict[str, str]
) -> None:
    """Art. 11: amend → not in force → both sign → in force at DOV and at LARS."""
    with (
        lars_database(database_url, tmp_path) as lars_url,
        lars_world(database_url, tmp_path, lars_url, poll_interval=0) as lars,
    ):
        first = sync(lars.config, leerid_env)  # the version the client is bound to
        assert "applied 1" in first and "version 1 signed by both parties" in first
        added = leerid(leerid_env, "protocol", "add", str(amended(tmp_path, "P2Y")))
        assert "version 2" in added
        assert "applied 0" in sync(lars.config, leerid_env)  # stored, not signed: nothing
        attest(leerid_env, 2, "dov")
        assert "applied 0" in sync(lars.config, leerid_env)  # one signature: not in force
        attest(leerid_env, 2, "recipient")
        after = sync(lars.config, leerid_env)
        assert "applied 1" in after and "version 2 signed by both parties" in after
        assert "the local [protocol] file differs" in after
        lars.provider.forget_state()
        state = lars.provider.protocol_state()
        assert state.signed is not None and state.signed.version == 2 and state.local_stale
        assert lars.provider.retention_period == IsoDuration.parse("P2Y")
        verified = leerid(leerid_env, "protocol", "verify", PROTOCOL_ID)
        assert "version 2" in verified
        # the portal still admits pupils, now under version 2; the DPO sees the stale file
        pupil = lars.idp.pupil
        assert Browser().lars_login(lars.url, pupil.username, pupil.password).status_code == 200
        add_staff(lars.provider.engine, lars.provider.protocol, "dora", PASSWORD, "dpo")
        home = staff_login(lars.url, "dora").get(f"{lars.url}/personeel").text
        assert "verouderd" in home and "versie 2" in home


def test_a_termination_stops_logins_and_staff_access_within_one_poll_interval(
    database_url: str, tmp_path: Path, leerid_env: dict[str, str]
) -> None:
    """Art. 8: DOV terminates; by the first poll after it (art. 11; polls every 1 s here)
    LARS refuses logins and staff access to pupils' data, with the reason; the DPO keeps the
    privacy log. Measured in polls, the seconds printed: a loaded machine stretches those."""
    with (
        lars_database(database_url, tmp_path) as lars_url,
        lars_world(database_url, tmp_path, lars_url, poll_interval=1) as lars,
    ):
        pupil = lars.idp.pupil
        assert Browser().lars_login(lars.url, pupil.username, pupil.password).status_code == 200
        add_bound_staff(lars.provider, "tom", PASSWORD)  # art. 4, 6
        add_staff(lars.provider.engine, lars.provider.protocol, "dora", PASSWORD, "dpo")
        tom, dora = staff_login(lars.url, "tom"), staff_login(lars.url, "dora")
        assert tom.get(f"{lars.url}/personeel/leerlingen").status_code == 200
        leerid(
            leerid_env,
            *("protocol", "terminate", PROTOCOL_ID, "--reason", "Art. 4 geschonden"),
            *("--operator", "dpo-dov"),
            process=True,
        )
        page, polls, lag = _refusal_after(lars.url, lars.provider.engine)
        print(f"termination: logins refused after {lag:.2f} s, {polls} poll(s) completed")
        assert page.status_code == 403, (page.status_code, lag, polls)
        assert "stopgezet" in page.text and "Art. 4 geschonden" in page.text
        refused = tom.get(f"{lars.url}/personeel/leerlingen")
        assert refused.status_code == 403 and "Art. 4 geschonden" in refused.text
        assert dora.get(f"{lars.url}/personeel/privacylog").status_code == 200
        assert "Art. 4 geschonden" in dora.get(f"{lars.url}/personeel").text


def _refusal_after(
    lars_url: str, engine: Engine, interval: float = 1.0
) -> tuple[httpx.Response, int, float]:
    """Art. 11: the login page from the moment DOV's termination is recorded until LARS
    refuses, measured in polls of the portal, not in seconds (a loaded machine stretches
    those): once a poll that began after the termination has completed, the page must
    refuse (one page may still race the poll's last step). The page, the polls completed
    meanwhile and the seconds, printed by the caller; given up after 30 poll intervals."""
    ended, started = dt.datetime.now(dt.UTC), time.monotonic()
    polls: set[dt.datetime] = set()
    late = 0  # pages still served after such a poll completed
    while True:
        status = sync_status(engine)
        attempt, done = status.last_attempt_at, status.last_success_at
        if done is not None and done > ended:
            polls.add(done)
        # a poll that began after the termination and completed (or two that completed since)
        carried = attempt is not None and done is not None and ended < attempt <= done
        page = httpx.get(f"{lars_url}/aanmelden")
        lag = time.monotonic() - started
        if page.status_code == 403 or lag > 30 * interval:
            done = sync_status(engine).last_success_at  # the poll that carried it, if any
            return page, len(polls | ({done} if done and done > ended else set())), lag
        if carried or len(polls) >= 2:
            late += 1
            assert late <= 1, f"logins still open after a poll that saw the end ({lag:.2f} s)"
        time.sleep(0.05)


def test_a_merge_at_dov_rekeys_lars(
    database_url: str, tmp_path: Path, leerid_env: dict[str, str]
) -> None:
    """Art. 3: DOV merges two pupils LARS received; LARS's records move to the kept one."""
    with (
        lars_database(database_url, tmp_path) as lars_url,
        lars_world(database_url, tmp_path, lars_url, poll_interval=0) as lars,
    ):
        kept = lars.idp.pupil
        absorbed = seed_pupil(database_url, voornaam="Bram")
        for who in (kept, absorbed):  # both disclosed to LARS (so LARS hears of them)
            assert Browser().lars_login(lars.url, who.username, who.password).status_code == 200
        add_bound_staff(lars.provider, "tom", PASSWORD)  # art. 4, 6
        lars.provider.add_dossier_entry("tom", "toegangscontrole", absorbed.leer_id_uuid, "Gesprek")
        leerid(
            leerid_env,
            *("registry", "merge", "--keep", kept.leer_id_uuid, "--absorb", absorbed.leer_id_uuid),
            *("--operator", "helpdesk", "--reason", "ticket 17"),
        )
        assert "applied 1" in sync(lars.config, leerid_env)
        with session_scope(lars.provider.engine) as session:
            assert session.get(PupilRecord, absorbed.leer_id_uuid) is None
            record = session.get(PupilRecord, kept.leer_id_uuid)
            assert record is not None and record.given_name == "Bram"  # the newer login
            entries = session.scalars(
                select(DossierEntry.text).where(DossierEntry.pupil_key == kept.leer_id_uuid)
            ).all()
        assert entries == ["Gesprek"]
        assert "applied 0, duplicate 0" in sync(lars.config, leerid_env)


def test_lars_down_for_a_day_catches_up_without_loss_or_duplicates(
    database_url: str, tmp_path: Path, leerid_env: dict[str, str]
) -> None:
    """RFC 8936: nothing is lost while the recipient is down; all is applied once."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (
        lars_database(database_url, tmp_path) as lars_url,
        provider_for_portal(database_url, tmp_path, url, lars_url, poll_interval=1) as (
            idp,
            config,
        ),
    ):
        provider = ServiceProvider(load_settings(config))
        pupils = [idp.pupil] + [seed_pupil(database_url, voornaam=f"P{i}") for i in range(5)]
        with serve_portal(provider, port):
            for who in pupils:
                assert Browser().lars_login(url, who.username, who.password).status_code == 200
        # the portal is down: a day of changes at DOV
        for version, period in enumerate(("P2Y", "P30M", "P4Y"), start=2):
            leerid(leerid_env, "protocol", "add", str(amended(tmp_path, period)), process=True)
            attest(leerid_env, version, "dov", process=True)
            attest(leerid_env, version, "recipient", process=True)
        for kept, absorbed in ((pupils[0], pupils[1]), (pupils[2], pupils[3])):
            leerid(
                leerid_env,
                *("registry", "merge", "--keep", kept.leer_id_uuid),
                *("--absorb", absorbed.leer_id_uuid, "--operator", "helpdesk", "--reason", "x"),
                process=True,
            )
        with serve_portal(provider, port):  # back up: the poller catches up
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _pending(leerid_env, idp.client_id, True):
                time.sleep(0.2)
        assert _pending(leerid_env, idp.client_id, True) == 0
        with session_scope(provider.engine) as session:
            applied = session.scalars(select(AppliedEvent.event_type)).all()
            keys = set(session.scalars(select(PupilRecord.pupil_key)))
            txns = session.scalar(select(func.count(func.distinct(AppliedEvent.txn))))
        assert len(applied) == txns == 1 + 3 + 2  # welcome, three versions, two merges
        acked = json.loads(leerid(leerid_env, "events", "list", "--json", process=True))["clients"]
        assert [c["acknowledged"] for c in acked if c["client_id"] == idp.client_id] == [6]
        assert keys == {
            pupils[0].leer_id_uuid,
            pupils[2].leer_id_uuid,
            pupils[4].leer_id_uuid,
            pupils[5].leer_id_uuid,
        }
        provider.forget_state()
        assert provider.retention_period == IsoDuration.parse("P4Y")
        assert "applied 0, duplicate 0, rejected 0" in sync(config, leerid_env, process=True)
        provider.engine.dispose()


def _pending(env: dict[str, str], client_id: str, process: bool = False) -> int:
    data = json.loads(leerid(env, "events", "list", "--pending", "--json", process=process))
    return sum(c["pending"] for c in data["clients"] if c["client_id"] == client_id)


def _age_retired_keys(database_url: str, hours: int) -> None:
    """Move every retired key's ``retired_at`` back: its ID tokens' hour is over (no sleep)."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        retired = select(IdpSigningKey.kid).where(IdpSigningKey.retired_at.is_not(None))
        for kid in conn.execute(retired).scalars().all():
            earlier = dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)  # not SQL arithmetic:
            conn.execute(  # SQLite would store a number
                update(IdpSigningKey).where(IdpSigningKey.kid == kid).values(retired_at=earlier)
            )
    engine.dispose()


def _rotate(env: dict[str, str], issuer: str) -> str:
    """``leerid keys rotate``, then wait until the provider publishes the new keys (it caches
    them for 1 s), so the key set the kit fetches next is the rotated one."""
    said = leerid(env, "keys", "rotate", "--now")  # issue 14: signs at once
    new = said.split("new signing keys: ", 1)[1].splitlines()[0].split(", ")
    deadline = time.monotonic() + 30
    while not set(new) <= {k["kid"] for k in httpx.get(f"{issuer}/v1/keys").json()["keys"]}:
        assert time.monotonic() < deadline, said
        time.sleep(0.1)
    time.sleep(1.1)  # and the provider's cache of the key set has been reloaded since
    return said


def test_a_set_waiting_across_key_rotations_is_still_verified_and_applied(
    database_url: str, tmp_path: Path, leerid_env: dict[str, str]
) -> None:
    """Issue 10: a SET is delivered until acknowledged (up to 90 days). LARS is down while
    DOV rotates its keys twice, the first key retired longer than the ID tokens' hour: the
    SET signed with it must still verify (no invalid_key) and be applied once."""
    with (
        lars_database(database_url, tmp_path) as lars_url,
        lars_world(database_url, tmp_path, lars_url, poll_interval=0) as lars,
    ):
        issuer = lars.idp.issuer
        assert "applied 1" in sync(lars.config, leerid_env)  # the version it is bound to
        leerid(leerid_env, "protocol", "add", str(amended(tmp_path, "P2Y")))
        attest(leerid_env, 2, "dov")
        attest(leerid_env, 2, "recipient")
        leerid(leerid_env, "events", "publish", "--issuer", issuer)  # signed now, waits
        _rotate(leerid_env, issuer)
        _age_retired_keys(database_url, hours=2)
        second = _rotate(leerid_env, issuer)
        assert "signs 1 SET not yet acknowledged" in second, second
        after = sync(lars.config, leerid_env)
        assert "applied 1, duplicate 0, rejected 0" in after, after
        assert "version 2 signed by both parties" in after
        assert _pending(leerid_env, lars.idp.client_id) == 0
        third = _rotate(leerid_env, issuer)  # acknowledged: the old key may go now
        assert "removed keys" in third and "not yet acknowledged" not in third, third
