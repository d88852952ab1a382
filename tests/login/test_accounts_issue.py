"""Credentials from the school: ``leerid accounts issue`` and ``leerid accounts reset``."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.idp.activation_codes import (
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
from leerid.idp.login_tables import ActivationCodeRow
from leerid.registry.models import Credential
from tests.login.registry_seed import TODAY, add_pupil

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


def test_issue_covers_pupils_enrolled_today_without_credentials(engine: Engine) -> None:
    emma = add_pupil(engine, "Emma", "Peeters")
    zoe = add_pupil(engine, "Zoë", "Janssens")
    add_pupil(engine, "Old", "Leaver", einddatum=TODAY - dt.timedelta(days=1))
    add_pupil(engine, "Future", "Starter", begindatum=TODAY + dt.timedelta(days=3))
    add_pupil(engine, "Other", "School", school="054321")
    add_pupil(engine, "Retired", "Account", account_status="retired")
    with Session(engine) as session, session.begin():
        issued = issue_for_school(session, "012345", TODAY, NOW)
    assert {row.account_uuid for row in issued} == {emma, zoe}
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
