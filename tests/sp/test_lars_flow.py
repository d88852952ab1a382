"""LARS against a real identity provider on loopback: the duties end to end."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from leerid.idp.store.keys import rotate_keys
from leerid.sp.kit.models import PrivacyLogEntry, PupilRecord
from leerid.sp.kit.relying_party import LoginError, PendingLogin, RelyingParty
from leerid.sp.kit.staff import add_staff
from leerid.store.engine import make_engine, session_scope
from leerid.testing.browser import Browser, hidden_fields
from tests.conftest import BACKENDS, run_leerid
from tests.sp.conftest import add_bound_staff, ref_for
from tests.sp.lars_world import (
    Lars,
    identify,
    lars_world,
    make_unidentified,
    move_to_school,
    seed_pupil,
)

PASSWORD = "een-lang-wachtwoord"


def staff_login(lars_url: str, username: str) -> httpx.Client:
    browser = Browser()
    done = browser.staff_login(lars_url, username, PASSWORD)
    assert done.status_code == 303, done.text
    return browser.http


def test_lars_end_to_end(
    database_url: str, tmp_path: Path, leerid_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with lars_world(database_url, tmp_path) as lars:
        pupil = lars.idp.pupil
        # -- preamble D, art. 3: a pupil of a partner school gets in and sees their data ----
        browser = Browser()
        page = browser.lars_login(lars.url, pupil.username, pupil.password)
        assert page.status_code == 200, page.text
        assert str(page.url).endswith("/mijn-gegevens")
        assert pupil.voornaam in page.text and pupil.leer_id_uuid in page.text
        # the disclosures made to LARS, from the provider's disclosure log, for this pupil
        assert "het nummer van je school" in page.text and "LARS kreeg" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        cookie = next(c for c in browser.http.cookies.jar if c.name == "sp_sessie")
        assert cookie.has_nonstandard_attr("HttpOnly")
        # GDPR art. 15: the pupil's own data, logged; without the CSRF token: refused
        assert browser.http.post(f"{lars.url}/mijn-gegevens/inzage").status_code == 403
        export = browser.http.post(
            f"{lars.url}/mijn-gegevens/inzage", data={"csrf": hidden_fields(page.text)["csrf"]}
        )
        assert export.status_code == 200
        assert json.loads(export.text)["bewaard"]["sleutel"] == pupil.leer_id_uuid
        # RP-initiated logout: through the provider, back to LARS, session gone
        bye = browser.http.post(
            f"{lars.url}/afmelden", data={"csrf": hidden_fields(page.text)["csrf"]}
        )
        assert bye.status_code == 303 and bye.headers["location"].startswith(lars.idp.issuer)
        home = browser.follow(bye)
        assert str(home.url).rstrip("/") == lars.url and "Aanmelden met LeerID" in home.text
        assert browser.http.get(f"{lars.url}/mijn-gegevens").status_code == 303

        # -- a pupil of another school is refused, clearly, and the refusal recorded --------
        outsider = seed_pupil(database_url, insz="98472899765", voornaam="Ruben")
        move_to_school(database_url, outsider, "099999")
        refused = Browser().lars_login(lars.url, outsider.username, outsider.password)
        assert refused.status_code == 403
        assert "Geen toegang" in refused.text and "werkt niet samen" in refused.text

        # -- art. 3: identification merges the temporary record ------------------------------
        newcomer = seed_pupil(database_url, insz="01490700185", voornaam="Noor")
        make_unidentified(database_url, newcomer)
        first = Browser().lars_login(lars.url, newcomer.username, newcomer.password)
        assert first.status_code == 200 and "tijdelijke account" in first.text
        leer_id, _, username = identify(database_url, newcomer, "01490700185")
        second = Browser().lars_login(lars.url, username, newcomer.password)
        assert second.status_code == 200, second.text
        assert "gekoppeld" in second.text and leer_id in second.text
        with session_scope(lars.provider.engine) as session:
            keys = set(session.scalars(select(PupilRecord.pupil_key)))
            actions = list(session.scalars(select(PrivacyLogEntry.action)))
        assert keys == {pupil.leer_id_uuid, leer_id}
        assert newcomer.account_uuid not in keys and outsider.account_uuid not in keys
        assert actions.count("toegang_geweigerd") == 1 and "identificatie" in actions

        # -- art. 4 and 7: staff by role; a data-quality report both sides keep --------------
        add_bound_staff(lars.provider, "clb.een", PASSWORD)  # art. 6: bound; art. 4: schools
        add_staff(lars.provider.engine, lars.provider.protocol, "dpo.lars", PASSWORD, "dpo")
        clb = staff_login(lars.url, "clb.een")
        listing = clb.get(f"{lars.url}/personeel/leerlingen")
        assert listing.status_code == 200 and pupil.leer_id_uuid in listing.text
        assert pupil.voornaam in listing.text  # no profile: every attribute held (art. 3)
        ref = ref_for(lars.provider, "clb.een", pupil.leer_id_uuid)
        opened = clb.post(
            f"{lars.url}/personeel/leerlingen/open",
            data={
                "csrf": hidden_fields(listing.text)["csrf"],
                "sleutel": ref,
                "doel": "vraag van de school",
            },
        )
        assert opened.status_code == 200 and pupil.voornaam in opened.text
        reported = clb.post(
            f"{lars.url}/personeel/leerlingen/melding",
            data={
                "csrf": hidden_fields(opened.text)["csrf"],
                "sleutel": ref,
                "attribuut": "family_name",
                "probleem": "verouderd",
                "toelichting": "naam gewijzigd",
            },
        )
        assert reported.status_code == 200 and "verzonden" in reported.text, reported.text
        # art. 7, issue 8 point 19: one short code, the same on both sides
        shown = re.search(r"Melding (DQ-[0-9A-Z]{4}) is verzonden", reported.text)
        assert shown, reported.text
        code = shown.group(1)
        noted = clb.post(
            f"{lars.url}/personeel/leerlingen/dossier",
            data={
                "csrf": hidden_fields(opened.text)["csrf"],
                "sleutel": ref,
                "tekst": "Gesprek met CLB",
            },
        )
        assert noted.status_code == 303
        assert "Activiteit geregistreerd" in clb.get(f"{lars.url}/personeel/leerlingen").text
        env = {**leerid_env, "LEERID_DATABASE_URL": database_url}
        listed = run_leerid(["reports", "list", "--json"], env)
        (report,) = json.loads(listed.stdout)
        assert report["id"] == code
        assert code in run_leerid(["reports", "list"], env).stdout
        assert (report["client_id"], report["pupil_key"], report["status"]) == (
            lars.idp.client_id,
            pupil.leer_id_uuid,
            "open",
        )
        closed = run_leerid(
            ["reports", "close", code[3:].lower(), "--resolution", "DISCIMUS gecorrigeerd"], env
        )
        assert closed.returncode == 0, closed.stderr
        assert f"report {code} closed" in closed.stdout
        dpo = staff_login(lars.url, "dpo.lars")
        assert dpo.get(f"{lars.url}/personeel/leerlingen").status_code == 403
        reports_page = dpo.get(f"{lars.url}/personeel/meldingen")
        refreshed = dpo.post(
            f"{lars.url}/personeel/meldingen/vernieuwen",
            data={"csrf": hidden_fields(reports_page.text)["csrf"]},
        )
        assert refreshed.headers["location"] == "/personeel/meldingen"
        after = dpo.get(f"{lars.url}/personeel/meldingen")
        assert "1 melding(en) gewijzigd" in after.text
        assert "gesloten" in after.text and "DISCIMUS gecorrigeerd" in after.text
        assert f'<td data-label="Melding">{code}</td>' in after.text
        log_page = dpo.get(f"{lars.url}/personeel/privacylog")
        assert "Hashketen intact" in log_page.text and "vraag van de school" in log_page.text
        assert dpo.get(f"{lars.url}/personeel/bewijs").status_code == 200

        idp_log = lars.idp.server.log_text()
    # -- no INSZ, names or tokens in any log line (ours and the provider's) ------------------
    ours = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name.split(".")[0] in ("leerid", "uvicorn", "authlib")
    )
    for text in (ours, idp_log):
        for secret in (
            pupil.insz,
            pupil.voornaam,
            pupil.naam,
            newcomer.voornaam,
            "eyJ",
            "01490700185",
            "98472899765",
            "code=",
        ):
            assert secret not in text


async def _login_params(
    rp: RelyingParty, username: str, password: str
) -> tuple[dict[str, str], PendingLogin]:
    url, pending = await rp.begin()
    browser = Browser()
    back = browser.provider_login(browser.http.get(url), username, password)
    params = {k: v[0] for k, v in parse_qs(urlsplit(back.headers["location"]).query).items()}
    return params, pending


@pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)  # protocol, not storage
def test_relying_party_checks_against_the_real_provider(database_url: str, tmp_path: Path) -> None:
    """RFC 6749 10.12 (state), RFC 9207 (iss), OIDC Core 3.1.3.7 (ID token), 10.1.1 (kid)."""
    with lars_world(database_url, tmp_path) as lars:
        asyncio.run(_relying_party_checks(lars, database_url))


async def _relying_party_checks(lars: Lars, database_url: str) -> None:
    pupil = lars.idp.pupil
    rp = RelyingParty(lars.provider.settings)
    params, pending = await _login_params(rp, pupil.username, pupil.password)
    assert params["iss"] == lars.idp.issuer
    with pytest.raises(LoginError) as wrong_state:
        await rp.finish({**params, "state": "x"}, pending)
    assert wrong_state.value.code == "state_mismatch"
    with pytest.raises(LoginError) as wrong_iss:
        await rp.finish({**params, "iss": "https://evil.example/op"}, pending)
    assert wrong_iss.value.code == "iss_mismatch"
    missing_iss = {k: v for k, v in params.items() if k != "iss"}
    with pytest.raises(LoginError) as no_iss:  # the provider advertises RFC 9207
        await rp.finish(missing_iss, pending)
    assert no_iss.value.code == "iss_mismatch"
    result = await rp.finish(params, pending)
    assert result.claims["ov_leerid_uuid"] in (pupil.leer_id_uuid, [pupil.leer_id_uuid])
    with pytest.raises(LoginError, match="nonce"):
        await rp.validate_id_token(result.id_token, "another-nonce")
    with pytest.raises(LoginError, match="at_hash"):
        await rp.validate_id_token(result.id_token, pending.nonce, "other-token")
    head, body, sig = result.id_token.split(".")
    with pytest.raises(LoginError):
        await rp.validate_id_token(f"{head}.{body}.{sig[:-4]}AAAA", pending.nonce)

    # keys rotate: the kit refetches the key set once on an unknown kid
    old_kids = {k.kid for k in (await rp.key_set()).keys}
    engine = make_engine(database_url)
    new_kids = rotate_keys(engine).new
    engine.dispose()
    deadline = time.monotonic() + 30
    while not set(new_kids) & {
        k["kid"] for k in httpx.get(f"{lars.idp.issuer}/v1/keys").json()["keys"]
    }:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    params, pending = await _login_params(rp, pupil.username, pupil.password)
    result = await rp.finish(params, pending)
    assert {k.kid for k in (await rp.key_set()).keys} - old_kids
    await rp.aclose()
