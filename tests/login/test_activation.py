"""``/op/v1/activate`` over real HTTP: a pupil turns the school's code into a password."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leerid.idp.login.activation_codes import IssuedCredential, issue_for_school
from leerid.idp.login.throttle import ThrottlePolicy
from leerid.idp.store.login_tables import ActivationCodeRow
from leerid.idp.store.throttle import LoginThrottle
from leerid.registry.models import Credential
from leerid.testing.browser import hidden_field
from tests.login.live_server import LiveIdp, live_idp
from tests.registry_seed import TODAY, add_pupil

GOOD = "blauwe fiets op zolder"


@pytest.fixture
def idp(database_url: str) -> Iterator[LiveIdp]:
    with live_idp(database_url) as server:
        yield server


def issue(idp: LiveIdp, *names: tuple[str, str]) -> list[IssuedCredential]:
    for voornaam, naam in names:
        add_pupil(idp.ctx.engine, voornaam, naam)
    with Session(idp.ctx.engine) as session, session.begin():
        return issue_for_school(session, "012345", TODAY, dt.datetime.now(dt.UTC))


def field_error(page: str, name: str) -> str | None:
    """The error text tied to input ``name`` through aria-describedby, or None."""
    tag = re.search(rf'<input[^>]*id="{name}"[^>]*>', page, re.S)
    assert tag, f"no input {name}"
    described = re.search(r'aria-describedby="([^"]*)"', tag.group(0))
    for ref in described.group(1).split() if described else []:
        found = re.search(rf'<p class="field-error" id="{ref}">(.*?)</p>', page, re.S)
        if found:
            assert 'aria-invalid="true"' in tag.group(0)
            return html.unescape(found.group(1))
    return None


def submit(client: httpx.Client, idp: LiveIdp, query: str = "", **fields: str) -> httpx.Response:
    form = client.get(f"{idp.issuer}/v1/activate{query}").text
    data = {
        "form_state": hidden_field(form, "form_state"),
        "csrf_token": hidden_field(form, "csrf_token"),
        "password_confirm": fields.get("password", ""),
        **fields,
    }
    return client.post(f"{idp.issuer}/v1/activate", data=data)


def password_hash(idp: LiveIdp, username: str) -> str | None:
    with idp.ctx.engine.connect() as conn:
        return conn.execute(
            select(Credential.password_hash).where(Credential.username == username)
        ).scalar_one()


def test_form_is_dutch_by_default_english_on_request_and_framed_by_nobody(idp: LiveIdp) -> None:
    with httpx.Client() as client:
        nl = client.get(f"{idp.issuer}/v1/activate")
        en = client.get(f"{idp.issuer}/v1/activate?ui_locales=en-GB nl")
    assert nl.status_code == 200 and '<html lang="nl">' in nl.text
    assert "Account activeren" in nl.text
    assert '<html lang="en">' in en.text and "Activate account" in en.text
    assert "frame-ancestors 'none'" in nl.headers["content-security-policy"]
    assert nl.headers["cache-control"] == "no-store"
    for name in ("username", "code", "password", "password_confirm"):
        assert re.search(rf'<label for="{name}">', nl.text)
    assert 'autocomplete="new-password"' in nl.text
    assert "httponly" in nl.headers["set-cookie"].lower()


def test_a_pupil_activates_once(idp: LiveIdp) -> None:
    (cred,) = issue(idp, ("Emma", "Peeters"))
    with httpx.Client() as client:
        done = submit(
            client, idp, username=cred.username.upper(), code=cred.code.lower(), password=GOOD
        )
        assert done.status_code == 200, done.text
        assert "Je account is klaar" in done.text and cred.username in done.text
        stored = password_hash(idp, cred.username)
        assert stored is not None and stored.startswith("$argon2id$")
        assert asyncio.run(idp.ctx.hasher.verify(stored, GOOD))[0]
        again = submit(
            client, idp, username=cred.username, code=cred.code, password="een ander wachtwoord"
        )
    assert again.status_code == 400
    assert "al gebruikt" in (field_error(again.text, "code") or "")
    assert password_hash(idp, cred.username) == stored


def test_weak_passwords_are_refused_with_errors_tied_to_fields(idp: LiveIdp) -> None:
    (cred,) = issue(idp, ("Noor", "Maes"))
    with httpx.Client() as client:
        short = submit(
            client, idp, "?ui_locales=en", username=cred.username, code=cred.code, password="kort"
        )
        common = submit(
            client, idp, username=cred.username, code=cred.code, password="Wachtwoord2026!"
        )
        own = submit(
            client, idp, username=cred.username, code=cred.code, password=f"{cred.username}!!"
        )
        mismatch = submit(
            client,
            idp,
            username=cred.username,
            code=cred.code,
            password=GOOD,
            password_confirm=GOOD + "x",
        )
    assert short.status_code == common.status_code == own.status_code == mismatch.status_code == 400
    assert "at least 10 characters" in (field_error(short.text, "password") or "")
    assert "veelgebruikte wachtwoorden" in (field_error(common.text, "password") or "")
    assert "gebruikersnaam" in (field_error(own.text, "password") or "")
    assert field_error(mismatch.text, "password") is None
    assert "niet gelijk" in (field_error(mismatch.text, "password_confirm") or "")
    assert 'value="kort"' not in short.text  # passwords are never sent back
    assert cred.username in short.text
    assert password_hash(idp, cred.username) is None  # nothing stored, code still valid


def test_unknown_username_and_wrong_code_get_the_same_answer(idp: LiveIdp) -> None:
    (cred,) = issue(idp, ("Lars", "Claes"))
    with httpx.Client() as client:
        wrong = submit(
            client, idp, username=cred.username, code="0000-0000-0000-0000", password=GOOD
        )
        unknown = submit(client, idp, username="niemand.x0000", code=cred.code, password=GOOD)
    assert wrong.status_code == unknown.status_code == 400
    assert field_error(wrong.text, "code") == field_error(unknown.text, "code") is not None
    strip = re.compile(
        r'name="(form_state|csrf_token|username)" value="[^"]*"|'
        + re.escape(cred.username)
        + "|niemand.x0000"
    )
    assert strip.sub("", wrong.text) == strip.sub("", unknown.text)


def test_an_expired_code_says_so_only_to_its_holder(idp: LiveIdp) -> None:
    (cred,) = issue(idp, ("Fien", "Wouters"))
    with idp.ctx.engine.begin() as conn:
        conn.execute(
            update(ActivationCodeRow).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            )
        )
    with httpx.Client() as client:
        expired = submit(client, idp, username=cred.username, code=cred.code, password=GOOD)
        wrong = submit(
            client, idp, username=cred.username, code="ZZZZ-ZZZZ-ZZZZ-ZZZZ", password=GOOD
        )
    assert "verlopen" in (field_error(expired.text, "code") or "")
    assert "verlopen" not in (field_error(wrong.text, "code") or "")
    assert password_hash(idp, cred.username) is None


def test_a_form_without_this_browsers_token_is_refused(idp: LiveIdp) -> None:
    (cred,) = issue(idp, ("Jef", "Mertens"))
    with httpx.Client() as victim, httpx.Client() as attacker:
        form = attacker.get(f"{idp.issuer}/v1/activate").text
        victim.get(f"{idp.issuer}/v1/activate")  # the victim has a cookie of its own
        data = {
            "form_state": hidden_field(form, "form_state"),
            "csrf_token": hidden_field(form, "csrf_token"),
            "username": cred.username,
            "code": cred.code,
            "password": GOOD,
            "password_confirm": GOOD,
        }
        forged = victim.post(f"{idp.issuer}/v1/activate", data=data)
        no_token = attacker.post(f"{idp.issuer}/v1/activate", data={**data, "csrf_token": ""})
    assert forged.status_code == no_token.status_code == 403
    assert password_hash(idp, cred.username) is None


def test_repeated_wrong_codes_lock_known_and_unknown_names_alike(idp: LiveIdp) -> None:
    idp.ctx.throttle = LoginThrottle(
        idp.ctx.engine,
        ThrottlePolicy(account_base_delay=0.01, account_max_delay=0.02, account_lock_after=3),
    )
    (cred,) = issue(idp, ("Tuur", "Jacobs"))
    answers: dict[str, list[int]] = {}
    with httpx.Client() as client:
        for name in (cred.username, "bestaat.niet0000"):
            answers[name] = [
                submit(
                    client, idp, username=name, code="0000-0000-0000-0000", password=GOOD
                ).status_code
                for _ in range(4)
            ]
        locked = submit(client, idp, username=cred.username, code=cred.code, password=GOOD)
    assert answers[cred.username] == answers["bestaat.niet0000"] == [400, 400, 400, 429]
    assert locked.status_code == 429
    assert "Te veel mislukte pogingen" in (field_error(locked.text, "code") or "")
    assert password_hash(idp, cred.username) is None


def test_no_username_code_or_password_reaches_the_logs(
    idp: LiveIdp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    (cred,) = issue(idp, ("Lowie", "Desmet"))
    with (
        live_idp(idp.ctx.settings.database_url, log_level="debug") as idp,
        httpx.Client() as client,
    ):
        submit(client, idp, username=cred.username, code="0000-0000-0000-0000", password=GOOD)
        submit(client, idp, username=cred.username, code=cred.code, password="kort")
        done = submit(client, idp, username=cred.username, code=cred.code, password=GOOD)
    assert done.status_code == 200
    logged = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for secret in (cred.username, cred.code, cred.code.replace("-", ""), GOOD, "Lowie", "Desmet"):
        assert secret not in logged
    assert "/v1/activate" in logged  # the access log was on: the scan saw real lines
