"""``leerid beheer``: console accounts and the staff privacy log (art. 6, issue 13)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from leerid.idp.store.console import staff_log
from leerid.idp.store.console.staff import active_staff, missing_dates
from leerid.protocol.lifecycle import BRUSSELS
from leerid.store.engine import make_engine
from tests.conftest import BACKENDS, run_leerid, run_leerid_here

PASSWORD = "een-lang-beheer-wachtwoord-7"

# the command line on one backend: the store under it is tested on both
# (test_console_login, test_console_privacylog)
pytestmark = [pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)]


def test_staff_add_list_dates_disable_and_the_log(leerid_env: dict[str, str]) -> None:
    add = run_leerid(  # a real process, as an operator runs it; the others in this process
        ["beheer", "staff", "add", "An.Peeters", "--role", "operator", "--password-stdin"],
        leerid_env,
        input_text=PASSWORD + "\n",
    )
    assert add.returncode == 0, add.stderr
    assert "console account an.peeters (operator) created" in add.stdout
    engine = make_engine(leerid_env["LEERID_DATABASE_URL"])
    try:
        account = active_staff(engine, "an.peeters")
        assert account is not None and account.role == "operator"
        with engine.connect() as conn:
            stored = conn.execute(text("SELECT password_hash FROM idp_staff")).scalar()
        assert str(stored).startswith("$argon2id$")
        assert missing_dates(account) == ("vertrouwelijkheidsverklaring", "sensibilisering")
        today = dt.datetime.now(BRUSSELS).date().isoformat()
        dates = ["beheer", "staff", "dates", "an.peeters", "--confidentiality", today]
        assert run_leerid_here(dates, leerid_env).returncode == 0
        account = active_staff(engine, "an.peeters")
        assert account is not None and missing_dates(account) == ("sensibilisering",)
        listed = run_leerid_here(["beheer", "staff", "list"], leerid_env)
        assert "an.peeters" in listed.stdout and "no: art. 6 dates" in listed.stdout
        assert (
            run_leerid_here(["beheer", "staff", "disable", "an.peeters"], leerid_env).returncode
            == 0
        )
        assert active_staff(engine, "an.peeters") is None
        _the_log_holds(engine, leerid_env)
    finally:
        engine.dispose()


def _the_log_holds(engine: Engine, env: dict[str, str]) -> None:
    shown = run_leerid_here(["beheer", "log", "show"], env)
    assert shown.returncode == 0, shown.stderr
    for action in ("staff_add", "staff_dates", "staff_disable"):
        assert action in shown.stdout
    today = dt.datetime.now(BRUSSELS).date()
    until = run_leerid_here(["beheer", "log", "show", "--until", today.isoformat()], env)
    assert until.returncode == 0 and "staff_add" in until.stdout  # --until is inclusive
    yesterday = (today - dt.timedelta(days=1)).isoformat()
    before = run_leerid_here(["beheer", "log", "show", "--until", yesterday], env)
    assert "staff_add" not in before.stdout and "(0 entries)" in before.stdout
    verified = run_leerid_here(["beheer", "log", "verify"], env)
    assert verified.returncode == 0 and "3 entries" in verified.stdout
    with engine.begin() as conn:  # an altered entry is named
        conn.execute(text("UPDATE idp_staff_log SET purpose = 'anders' WHERE seq = 2"))
    broken = run_leerid_here(["beheer", "log", "verify"], env)
    assert broken.returncode == 1 and "entry 2 was altered" in broken.stdout


def test_staff_password_role_and_enable_are_logged(leerid_env: dict[str, str]) -> None:
    """``staff password`` (policy checked, Argon2id), ``staff role``, ``staff enable``: each
    an entry of the staff privacy log, never the password."""
    add = ["beheer", "staff", "add", "jan", "--role", "dpo", "--password-stdin"]
    assert run_leerid_here(add, leerid_env, input_text=PASSWORD + "\n").returncode == 0
    engine = make_engine(leerid_env["LEERID_DATABASE_URL"])
    try:
        before = staff_hash(engine)
        new = "een-nieuw-lang-wachtwoord-9"
        weak = run_leerid_here(
            ["beheer", "staff", "password", "jan", "--password-stdin"],
            leerid_env,
            input_text="kort\n",
        )
        assert weak.returncode != 0 and "password refused" in weak.stderr
        assert staff_hash(engine) == before
        changed = run_leerid_here(
            ["beheer", "staff", "password", "Jan", "--password-stdin"],
            leerid_env,
            input_text=new + "\n",
        )
        assert changed.returncode == 0, changed.stderr
        assert staff_hash(engine) != before and staff_hash(engine).startswith("$argon2id$")
        role = run_leerid_here(["beheer", "staff", "role", "jan", "--role", "operator"], leerid_env)
        assert role.returncode == 0, role.stderr
        account = active_staff(engine, "jan")
        assert account is not None and account.role == "operator"
        bad = run_leerid_here(["beheer", "staff", "role", "jan", "--role", "baas"], leerid_env)
        assert bad.returncode != 0 and "give operator or dpo" in bad.stderr
        assert run_leerid_here(["beheer", "staff", "disable", "jan"], leerid_env).returncode == 0
        assert run_leerid_here(["beheer", "staff", "enable", "jan"], leerid_env).returncode == 0
        assert active_staff(engine, "jan") is not None
        unknown = run_leerid_here(["beheer", "staff", "enable", "niemand"], leerid_env)
        assert unknown.returncode != 0 and "no staff account" in unknown.stderr
        actions = [e.action for e in staff_log.entries(engine).entries]
        for action in ("staff_password", "staff_role", "staff_enable"):
            assert action in actions
        with engine.connect() as conn:
            logged = " ".join(str(r) for r in conn.execute(text("SELECT * FROM idp_staff_log")))
        assert new not in logged and "$argon2id$" not in logged
    finally:
        engine.dispose()


def staff_hash(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.scalar(text("SELECT password_hash FROM idp_staff WHERE username='jan'")))


def test_refusals_are_clear(leerid_env: dict[str, str]) -> None:
    weak = run_leerid(  # a real process: its exit status and message; the others in this one
        ["beheer", "staff", "add", "jan", "--role", "dpo", "--password-stdin"],
        leerid_env,
        input_text="kort\n",
    )
    assert weak.returncode != 0 and "password refused" in weak.stderr
    role = run_leerid_here(["beheer", "staff", "add", "jan", "--role", "baas"], leerid_env)
    assert role.returncode != 0 and "give operator or dpo" in role.stderr
    unknown = run_leerid_here(["beheer", "staff", "disable", "niemand"], leerid_env)
    assert unknown.returncode != 0 and "no staff account" in unknown.stderr
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    later = run_leerid_here(["beheer", "staff", "dates", "jan", "--training", future], leerid_env)
    assert later.returncode != 0 and "future" in later.stderr


def test_appends_chain_and_filter(engine: Engine) -> None:
    for n in range(3):
        with engine.begin() as conn:
            staff_log.append(
                conn,
                actor="op" if n < 2 else "dpo",
                action="pupil_search",
                purpose="vraag van een school",
                pupil_key=f"uuid-{n}",
                detail={"found": 1},
            )
    assert staff_log.verify(engine).ok
    page = staff_log.entries(engine, staff_log.LogFilter(actor="op"), per_page=1)
    assert page.total == 2 and page.pages == 2 and page.entries[0].pupil_key == "uuid-1"
    with engine.begin() as conn:  # the newest entry removed: the head says so
        conn.execute(text("DELETE FROM idp_staff_log WHERE seq = 3"))
    problems = staff_log.verify(engine).problems
    assert any("head records entry 3" in p for p in problems)
