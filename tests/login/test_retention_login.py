"""Art. 3, DOV's retention seen from the login form: a retired pupil is answered exactly as a
wrong password, its tokens disclose nothing more, and a purge batch makes no login wait."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from urllib.parse import quote

from leerid.registry.retention import RetentionCounts, run_retention
from leerid.schema import ACCOUNT_TABLES
from leerid.store.engine import make_engine
from leerid.testing import seeding
from tests.idp.flow import Browser, RelyingParty, full_login
from tests.idp_server import RunningIdp, running_idp
from tests.registry.retention_world import CUTOFF, DAY, NOW, pupil

PASSWORD = "Een-lang-wachtwoord-42"
GRACE_OVER = NOW + dt.timedelta(days=30, seconds=1)


def _error_text(html: str) -> list[str]:
    """The page's error messages (what a person reads), without the form's one-time values."""
    return re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)<', html)


def _login(idp: RunningIdp, username: str, password: str) -> tuple[int, list[str]]:
    rp, browser = RelyingParty(idp), Browser()
    page = browser.open(rp.authorization().url)
    answer = browser.provider_login(page, username, password)
    return answer.status_code, _error_text(answer.text)


def _left_school(idp: RunningIdp, name: str) -> str:
    """A pupil whose last enrolment ended more than three years ago, with a password."""
    engine = make_engine(idp.database_url)
    left = pupil(engine, CUTOFF - DAY)
    seeding.give_password(engine, left.accounts[0], name, PASSWORD)
    engine.dispose()
    return name


def test_a_retired_pupil_gets_the_answer_of_a_wrong_password(database_url: str) -> None:
    with running_idp(database_url) as idp:
        name = _left_school(idp, "oud.leerling")
        rp, _, auth, location = full_login(idp)  # the seeded pupil, still at school
        tokens = rp.fetch_token(location, auth.verifier)
        own_rp, browser = RelyingParty(idp), Browser()  # before retention: logs in
        own = own_rp.authorization()
        done = browser.provider_login(browser.open(own.url), name, PASSWORD)
        assert done.status_code == 303
        own_tokens = own_rp.fetch_token(done.headers["location"], own.verifier)
        wrong = _login(idp, name, "niet-het-wachtwoord")
        engine = make_engine(database_url)
        counts = run_retention(engine, now=NOW, account_tables=ACCOUNT_TABLES)
        assert counts.retired == 1
        refused = _login(idp, name, PASSWORD)
        assert refused == wrong and refused[0] == 200 and refused[1]  # the same answer
        assert own_rp.userinfo(own_tokens["access_token"]).status_code == 401  # nothing more
        assert rp.userinfo(tokens["access_token"]).status_code == 200  # others go on
        assert "oud.leerling" not in idp.server.log_text()
        engine.dispose()


def _lock_timeout_url(database_url: str) -> str:
    """The server's database URL with a 1-second lock timeout on PostgreSQL: a login that
    waited on a lock of the purge would fail instead of waiting."""
    if not database_url.startswith("postgresql"):
        return database_url
    joiner = (
        "%20"
        if "options=" in database_url
        else ("&options=" if "?" in database_url else "?options=")
    )
    return database_url + joiner + quote("-clock_timeout=1000")


def test_logins_go_on_during_a_deletion_batch(database_url: str) -> None:
    """PostgreSQL: a password login made inside an open deletion batch completes (with a
    1 s lock timeout on the server); SQLite: it waits no longer than the batch."""
    postgres = database_url.startswith("postgresql")
    with running_idp(_lock_timeout_url(database_url)) as idp:
        engine = make_engine(database_url)
        for _ in range(30):
            pupil(engine, CUTOFF - DAY)
        run_retention(engine, now=NOW, account_tables=ACCOUNT_TABLES)
        outcomes: list[int] = []
        waited: list[float] = []

        def login() -> None:
            started = time.perf_counter()
            _, _, _, location = full_login(idp)
            outcomes.append(303 if "code=" in location else 0)
            waited.append(time.perf_counter() - started)

        def during_batch() -> None:
            worker = threading.Thread(target=login)
            worker.start()
            worker.join(10 if postgres else 0.5)  # PostgreSQL: done inside the batch
            if postgres:
                assert not worker.is_alive(), "a login waited on the purge"
            threads.append(worker)

        threads: list[threading.Thread] = []
        counts: RetentionCounts = run_retention(
            engine,
            now=GRACE_OVER,
            batch=10,
            account_tables=ACCOUNT_TABLES,
            during_batch=during_batch,
        )
        for worker in threads:
            worker.join(30)
        assert counts.deleted == 30 and len(outcomes) == counts.transactions
        assert set(outcomes) == {303}
        assert max(waited) < 10
        engine.dispose()
