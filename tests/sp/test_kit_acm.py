"""Issue 14 point 3: the kit and the LARS portal against a fake ACM/IDM that answers as ACM's
public documentation shows (tests/acm/fake_acm.py): a pupil logs in in both response modes,
identified by ov_account_uuid although ACM's sub is its own 40-hex PersoonsID and userinfo
has none; and the refusals (another sub in userinfo, no ov_account_uuid, a form_post without
the pending login, a forged iss)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from leerid.testing.browser import Browser
from tests.acm.fake_acm import KEYS_MAX_AGE, FakeAcm
from tests.acm.world import (
    acm_portal,
    acm_pupil,
    deliver,
    fake_acm,
    provider_answer,
    pupil_login,
    record_of,
)
from tests.conftest import BACKENDS

pytestmark = [pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)]

LOGIN_FAILED = "Aanmelden mislukt"


@pytest.fixture
def acm() -> FakeAcm:
    with fake_acm() as fake:
        yield fake  # type: ignore[misc]


@pytest.mark.parametrize("mode", ["query", "form_post"])
def test_a_pupil_logs_in_through_acm_identified_by_the_account(
    acm: FakeAcm,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    pupil = acm_pupil(acm)
    with (
        acm_portal(acm, tmp_path / "lars", database_url, mode, monkeypatch) as portal,
        Browser() as browser,
    ):
        answer = provider_answer(browser, portal.url, pupil.username, pupil.password)
        if mode == "form_post":  # the answer is a page that posts to the callback
            assert answer.status_code == 200 and 'method="post"' in answer.text
        else:
            assert answer.status_code == 302
        back = deliver(browser, answer)
        assert back.status_code == 303  # a POST answered with a redirect to the page
        page = browser.follow(back)
    assert page.status_code == 200 and page.url.path == "/mijn-gegevens", page.text
    assert "Lotte" in page.text
    record = record_of(portal, pupil.claims["ov_leerid_uuid"])
    assert record is not None and record.key_kind == "leer_id_uuid"
    assert record.account_uuid == pupil.claims["ov_account_uuid"]
    assert record.account_uuid != acm.person_id(pupil)  # never ACM's sub


def test_the_fake_answers_as_acm_documents(acm: FakeAcm, database_url: str) -> None:
    meta = httpx.get(f"{acm.issuer}/.well-known/openid-configuration").json()
    assert meta["issuer"] == acm.issuer
    assert meta["response_modes_supported"] == ["query", "fragment", "form_post"]
    assert meta["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    keys = httpx.get(meta["jwks_uri"])
    assert keys.headers["cache-control"] == f"max-age={KEYS_MAX_AGE}"
    assert re.fullmatch(r"[0-9a-f]{40}", acm.person_id(acm_pupil(acm)))
    unknown = httpx.get(f"{meta['authorization_endpoint']}?client_id=x&redirect_uri=y")
    assert unknown.status_code == 400 and "location" not in unknown.headers


def test_a_userinfo_sub_other_than_the_id_tokens_is_refused(
    acm: FakeAcm, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pupil = acm_pupil(acm)
    acm.userinfo_sub = "0" * 40  # present, and not the ID token's
    with acm_portal(acm, tmp_path / "lars", database_url, "query", monkeypatch) as portal:
        with Browser() as browser:
            page = pupil_login(browser, portal.url, pupil.username, pupil.password)
        assert record_of(portal, pupil.claims["ov_leerid_uuid"]) is None
    assert page.status_code == 400 and LOGIN_FAILED in page.text


@pytest.mark.parametrize("rule", ["optional", "required"])
def test_a_userinfo_with_the_id_tokens_sub_is_accepted(
    acm: FakeAcm, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, rule: str
) -> None:
    """As ACM's documentation shows its userinfo: with the PersoonsID as ``sub``."""
    pupil = acm_pupil(acm)
    acm.userinfo_sub = acm.person_id(pupil)
    with (
        acm_portal(acm, tmp_path / "lars", database_url, "query", monkeypatch, rule) as portal,
        Browser() as browser,
    ):
        page = pupil_login(browser, portal.url, pupil.username, pupil.password)
    assert page.status_code == 200 and page.url.path == "/mijn-gegevens"


def test_a_userinfo_without_sub_is_refused_when_required_with_what_to_set(
    acm: FakeAcm,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """OIDC Core §5.3.2 held to the letter (``userinfo_sub = "required"``): ACM's userinfo
    without ``sub`` (as seen for LeerID accounts) is refused, and the log says the way out;
    the default, ``optional``, logs the same pupil in (the first test of this file)."""
    pupil = acm_pupil(acm)  # the fake leaves sub out by default
    portal_of = acm_portal(acm, tmp_path / "lars", database_url, "query", monkeypatch, "required")
    with portal_of as portal:
        with Browser() as browser:
            page = pupil_login(browser, portal.url, pupil.username, pupil.password)
        assert record_of(portal, pupil.claims["ov_leerid_uuid"]) is None
    assert page.status_code == 400 and LOGIN_FAILED in page.text
    lines = [r.getMessage() for r in caplog.records]
    assert any("userinfo_without_sub" in line for line in lines), lines
    assert any('set "optional"' in line and "userinfo_sub" in line for line in lines), lines


def test_a_login_without_ov_account_uuid_is_refused_with_what_to_do(
    acm: FakeAcm,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pupil = acm_pupil(acm)
    del pupil.claims["ov_account_uuid"]
    with acm_portal(acm, tmp_path / "lars", database_url, "form_post", monkeypatch) as portal:
        with Browser() as browser:
            page = pupil_login(browser, portal.url, pupil.username, pupil.password)
        assert record_of(portal, pupil.claims["ov_leerid_uuid"]) is None
    assert page.status_code == 400 and "welke LeerID-account" in page.text
    assert any(
        "ov_account_uuid" in r.getMessage() and "scope" in r.getMessage() for r in caplog.records
    )


def test_a_form_post_without_the_pending_login_is_refused(
    acm: FakeAcm, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pupil = acm_pupil(acm)
    with acm_portal(acm, tmp_path / "lars", database_url, "form_post", monkeypatch) as portal:
        with Browser() as victim:
            answer = provider_answer(victim, portal.url, pupil.username, pupil.password)
        with Browser() as other:  # the answer posted from a browser that did not start it
            page = other.submit(answer, {})
        assert record_of(portal, pupil.claims["ov_leerid_uuid"]) is None
    assert page.status_code == 400 and "andere browser" in page.text


def test_a_forged_iss_is_refused(
    acm: FakeAcm, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pupil = acm_pupil(acm)
    acm.answer_iss = "https://attacker.example/op"  # RFC 9207: present, so checked
    with acm_portal(acm, tmp_path / "lars", database_url, "form_post", monkeypatch) as portal:
        with Browser() as browser:
            page = pupil_login(browser, portal.url, pupil.username, pupil.password)
        assert record_of(portal, pupil.claims["ov_leerid_uuid"]) is None
    assert page.status_code == 400 and LOGIN_FAILED in page.text


def test_a_scope_the_client_may_not_have_is_refused_before_any_login(
    acm: FakeAcm, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ACM answers such a request at once ("Scopes & claims"); the portal says it failed."""
    with acm_portal(acm, tmp_path / "lars", database_url, "query", monkeypatch) as portal:
        (client,) = acm.clients.values()
        client.scopes = frozenset({"openid", "profile"})  # ov_leerling not in the dossier
        with Browser() as browser:
            answer = browser.follow(browser.open(f"{portal.url}/aanmelden"))
    assert answer.status_code == 400 and LOGIN_FAILED in answer.text
    assert "password" not in answer.text  # no login form was shown
