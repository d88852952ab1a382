"""Credentials from the school: ``leerid accounts issue`` and ``leerid accounts reset``."""

from __future__ import annotations

import csv
import datetime as dt
import re
import stat
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.idp.login.activation_codes import (
    CODE_VALIDITY,
    code_hash,
    codes_match,
    find_activation,
    issue_for_school,
    new_code,
    normalise_code,
    propose_username,
    reset_code,
)
from leerid.idp.store.login_tables import ActivationCodeRow
from leerid.registry.models import Account, AccountStatus, Credential
from tests.conftest import run_leerid
from tests.registry_seed import TODAY, add_pupil

NOW = dt.datetime.now(dt.UTC)
CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


@given(st.text(max_size=40), st.text(max_size=40))
def test_usernames_are_plain_letters_and_digits(voornaam: str, naam: str) -> None:
    assert re.fullmatch(r"[a-z]{1,16}\.[a-z]\d{4}", propose_username(voornaam, naam))


def test_usernames_fold_accents() -> None:
    assert re.fullmatch(r"zoe\.d\d{4}", propose_username("Zoë", "D'Hondt"))


def test_codes_are_80_random_bits_and_forgive_typing() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200 and all(CODE.match(c) for c in codes)
    code = "0K1M-ABCD-EFGH-JKMN"
    stored = code_hash("acc-1", code)
    assert codes_match(stored, "acc-1", " ok1m abcd-efgh-jkmn ")
    assert codes_match(stored, "acc-1", "OKIM-ABCD-EFGH-JKMN")
    assert normalise_code("okLm") == "0K1M"
    assert not codes_match(stored, "acc-2", code)  # bound to the account
    assert not codes_match(stored, "acc-1", "0K1M-ABCD-EFGH-JKMP")
    assert code not in stored


@given(st.lists(st.sampled_from([" ", "-", "\t"]), max_size=6), st.booleans())
def test_any_typing_of_a_code_matches_and_one_wrong_character_does_not(
    separators: list[str], lower: bool
) -> None:
    code = new_code()
    stored = code_hash("acc", code)
    typed = "".join(c + (separators[i] if i < len(separators) else "") for i, c in enumerate(code))
    assert codes_match(stored, "acc", typed.lower() if lower else typed)
    position = next(i for i, c in enumerate(code) if c != "-")
    wrong = code[:position] + ("1" if code[position] != "1" else "2") + code[position + 1 :]
    assert not codes_match(stored, "acc", wrong)


def test_issue_covers_pupils_enrolled_today_without_credentials(engine: Engine) -> None:
    emma = add_pupil(engine, "Emma", "Peeters")
    zoe = add_pupil(engine, "Zoë", "Janssens")
    add_pupil(engine, "Old", "Leaver", einddatum=TODAY - dt.timedelta(days=1))
    add_pupil(engine, "Future", "Starter", begindatum=TODAY + dt.timedelta(days=3))
    add_pupil(engine, "Other", "School", school="054321")
    retired = add_pupil(engine, "Retired", "Account", account_status="retired")
    with engine.connect() as conn:  # identified: the pupil's new permanent account, no login yet
        identified = conn.execute(
            select(Account.account_uuid).where(
                Account.pupil_id
                == select(Account.pupil_id)
                .where(Account.account_uuid == retired)
                .scalar_subquery(),
                Account.status == AccountStatus.PERMANENT,
            )
        ).scalar_one()
    with Session(engine) as session, session.begin():
        issued = issue_for_school(session, "012345", TODAY, NOW)
    assert {row.account_uuid for row in issued} == {emma, zoe, identified}  # never the retired
    for row in issued:
        assert CODE.match(row.code)
        assert row.valid_until == NOW + CODE_VALIDITY
    with Session(engine) as session, session.begin():
        assert issue_for_school(session, "012345", TODAY, NOW) == []  # only once
    with engine.connect() as conn:
        stored = conn.execute(select(ActivationCodeRow.code_hash)).scalars().all()
        usernames = set(conn.execute(select(Credential.username)).scalars())
        found = find_activation(conn, issued[0].username)
    assert {row.username for row in issued} == usernames
    assert not {row.code for row in issued} & set(stored)  # only hashes are kept
    assert found is not None and codes_match(found.code_hash, found.account_uuid, issued[0].code)


def test_reset_voids_the_old_code(engine: Engine) -> None:
    account = add_pupil(engine, "Noor", "Maes")
    with Session(engine) as session, session.begin():
        (first,) = issue_for_school(session, "012345", TODAY, NOW)
    with Session(engine) as session, session.begin():
        second = reset_code(session, account, NOW)
    assert second.username == first.username and second.code != first.code
    with engine.connect() as conn:
        live = find_activation(conn, first.username)
    assert live is not None
    assert codes_match(live.code_hash, account, second.code)
    assert not codes_match(live.code_hash, account, first.code)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_issue_command_writes_the_only_copy_of_the_codes(
    engine: Engine, leerid_env: dict[str, str], tmp_path: Path
) -> None:
    accounts = {add_pupil(engine, "Mila", "Claes"), add_pupil(engine, "Ferre", "=1+2")}
    out = tmp_path / "school-012345.csv"
    result = run_leerid(["accounts", "issue", "--school", "012345", "--out", str(out)], leerid_env)
    assert result.returncode == 0, result.stderr
    rows = read_csv(out)
    assert {row["account_uuid"] for row in rows} == accounts
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert list(rows[0]) == [
        "account_uuid",
        "administratieve_groep",
        "naam",
        "voornaam",
        "gebruikersnaam",
        "activatiecode",
        "geldig_tot",
    ]
    assert "2 pupil(s)" in result.stdout
    assert {row["naam"] for row in rows} == {"Claes", "'=1+2"}  # never a formula
    for row in rows:  # the codes appear nowhere else
        assert row["activatiecode"] not in result.stdout + result.stderr
        assert row["gebruikersnaam"] not in result.stdout + result.stderr
        assert row["geldig_tot"] == (NOW + CODE_VALIDITY).date().isoformat()
    with engine.connect() as conn:
        found = find_activation(conn, rows[0]["gebruikersnaam"])
    assert found is not None
    assert codes_match(found.code_hash, rows[0]["account_uuid"], rows[0]["activatiecode"])


def test_issue_command_refuses_bad_input_without_a_traceback(
    engine: Engine, leerid_env: dict[str, str], tmp_path: Path
) -> None:
    add_pupil(engine, "Mila", "Claes")
    taken = tmp_path / "taken.csv"
    taken.write_text("keep me")
    cases = [
        (["--school", "12345", "--out", str(tmp_path / "a.csv")], "6 digits"),
        (["--school", "012345", "--out", str(taken)], "the file exists"),
        (["--school", "012345", "--out", str(tmp_path / "nope" / "a.csv")], "does not exist"),
    ]
    for args, message in cases:
        result = run_leerid(["accounts", "issue", *args], leerid_env)
        assert result.returncode == 1, result
        assert message in result.stderr and "Traceback" not in result.stderr
    assert taken.read_text() == "keep me"
    with engine.connect() as conn:
        assert conn.execute(select(Credential)).first() is None  # nothing issued
    assert not list(tmp_path.glob(".*partial"))


def test_reset_command_gives_a_new_code_and_can_revoke_the_password(
    engine: Engine, leerid_env: dict[str, str], tmp_path: Path
) -> None:
    account = add_pupil(engine, "Rune", "Smets")
    first = tmp_path / "first.csv"
    run_leerid(
        ["accounts", "issue", "--school", "012345", "--out", str(first)], leerid_env, check=True
    )
    old = read_csv(first)[0]
    with engine.begin() as conn:
        conn.execute(Credential.__table__.update().values(password_hash="$argon2id$placeholder"))
    new_file = tmp_path / "reset.csv"
    result = run_leerid(
        [
            "accounts",
            "reset",
            "--account-uuid",
            account,
            "--out",
            str(new_file),
            "--revoke-password",
        ],
        leerid_env,
    )
    assert result.returncode == 0, result.stderr
    (new,) = read_csv(new_file)
    assert new["gebruikersnaam"] == old["gebruikersnaam"]
    assert new["activatiecode"] != old["activatiecode"]
    assert new["activatiecode"] not in result.stdout
    with engine.connect() as conn:
        live = find_activation(conn, old["gebruikersnaam"])
        password = conn.execute(select(Credential.password_hash)).scalar_one()
    assert live is not None and codes_match(live.code_hash, account, new["activatiecode"])
    assert not codes_match(live.code_hash, account, old["activatiecode"])
    assert password is None

    unknown = run_leerid(
        ["accounts", "reset", "--account-uuid", "0" * 36, "--out", str(tmp_path / "x.csv")],
        leerid_env,
    )
    assert unknown.returncode == 1 and "no such account" in unknown.stderr
    fresh = add_pupil(engine, "Nog", "Geen")
    no_username = run_leerid(
        ["accounts", "reset", "--account-uuid", fresh, "--out", str(tmp_path / "y.csv")],
        leerid_env,
    )
    assert no_username.returncode == 1 and "accounts issue" in no_username.stderr
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "y.csv").exists()


def test_issue_for_a_school_without_pupils_writes_no_file_and_says_so(
    engine: Engine, leerid_env: dict[str, str], tmp_path: Path
) -> None:
    """Issue 8 §23: a school with no pupil to give a code to exits 1, writes nothing."""
    add_pupil(engine, "Mila", "Claes")  # enrolled at 012345, not at 054321
    out = tmp_path / "school-054321.csv"
    result = run_leerid(["accounts", "issue", "--school", "054321", "--out", str(out)], leerid_env)
    assert result.returncode == 1
    assert "--school 054321: no pupil is enrolled at this school today" in result.stderr
    assert "No file was written" in result.stderr
    assert not out.exists()
    assert not list(tmp_path.glob("*.partial"))
