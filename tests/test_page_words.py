"""Issue 8 point 20: every page speaks Dutch (English where offered), without code words.

Renders every page of both servers (real servers on loopback) and the register, and fails
on known English or technical words on the Dutch pages, and on times in UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
from sqlalchemy.orm import Session
from starlette.responses import Response

from leerid.idp.login.activation_codes import issue_for_school
from leerid.protocol import load_protocol
from leerid.protocol.model import PartyRole
from leerid.protocol.register import render_register
from leerid.sp.kit import privacy_log
from leerid.sp.kit.login_claims import read_login
from leerid.sp.kit.models import QualityReport
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.sp.portal.browser_session import SessionSealer
from leerid.sp.portal.evidence_page import evidence_html
from leerid.store.engine import session_scope
from leerid.testing.browser import hidden_fields
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_portal
from tests.idp_server import seed_idp
from tests.login.live_server import live_idp
from tests.login.oidc_flow import authorization_url, pkce_pair
from tests.registry_seed import TODAY, add_pupil
from tests.sp.conftest import PROTOCOL, add_bound_staff, ref_for, write_config
from tests.sp.test_lars_flow import PASSWORD, staff_login

PUPIL = "0f8e2c4a-1b2c-4d5e-8f90-123456789abc"
# Words that must not reach a Dutch page: code names, English, technical leftovers
FORBIDDEN = [
    "in_force",
    "Errno",
    "Traceback",
    "family_name",
    "given_name",
    "Account_uuid",
    "Leer_id_uuid",
    "Historiek_account_uuid",
    "(sub)",
    "ov_orgcode",
    "overzicht_bekeken",
    "leerling_bekeken",
    "toegang_geweigerd",
    "dossier_aangevuld",
    "melding_gegevenskwaliteit",
    "personeel_bijgewerkt",
    "datalek_geregistreerd",
    "niet_verzonden",
    "protocolversie_ontvangen",
    "gebeurtenis_ontvangen",
    "protocol_niet_in_de_pas",
    "protocol_terminated",
    "protocol_not_confirmed",
    "national register",
    "contains what looks",
    "cannot",
    "the breach",
    "userinfo",
    "(login)",
    "None",
    "undefined",
]
UTC_TIME = re.compile(r"\bUTC\b|\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00:00)\b|\bGMT\b")
_TEXT = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S)


def visible(html: str) -> str:
    """The page's text as a reader sees it (tags and their attributes left out)."""
    return re.sub(r"\s+", " ", _TEXT.sub(" ", html))


def check(name: str, html: str) -> None:
    text = visible(html)
    found = [w for w in FORBIDDEN if w in text]
    assert not found, f"{name}: {found} in {text[:3000]}"
    assert not UTC_TIME.search(text), f"{name}: a UTC time: {UTC_TIME.search(text)}"


def test_every_provider_page_is_dutch_without_code_words(database_url: str) -> None:
    seed = seed_idp(database_url)
    with live_idp(database_url) as idp, httpx.Client() as client:
        add_pupil(idp.ctx.engine, "Emma", "Peeters")
        with Session(idp.ctx.engine) as session, session.begin():
            (cred,) = issue_for_school(session, "012345", TODAY, dt.datetime.now(dt.UTC))
        _, challenge = pkce_pair()
        url, _, _ = authorization_url(idp.issuer, seed.client_id, seed.redirect_uri, challenge)
        login = client.get(url)
        pages = {"login": login}
        pages["login error"] = client.post(
            f"{idp.issuer}/v1/login",
            data={
                "request": hidden_fields(login.text)["request"],
                "csrf_token": hidden_fields(login.text)["csrf_token"],
                "username": "niemand",
                "password": "fout wachtwoord",
            },
        )
        activate = client.get(f"{idp.issuer}/v1/activate")
        pages["activate"] = activate
        fields = {k: v for k, v in hidden_fields(activate.text).items() if k != "request"}
        pages["activate error"] = client.post(f"{idp.issuer}/v1/activate", data=fields)
        pages["activate done"] = client.post(
            f"{idp.issuer}/v1/activate",
            data={
                **fields,
                "username": cred.username,
                "code": cred.code,
                "password": "blauwe fiets op zolder",
                "password_confirm": "blauwe fiets op zolder",
            },
        )
        pages["logged out"] = client.get(f"{idp.issuer}/v1/logout")
        pages["error"] = client.get(f"{idp.issuer}/v1/auth?client_id=onbekend")
    for name, page in pages.items():
        assert '<html lang="nl">' in page.text, name
        check(f"provider {name}", page.text)
    assert (
        "Meld je nu aan" in pages["activate done"].text
        or "toepassing" in pages["activate done"].text
    )


def pupil_cookie(provider: ServiceProvider) -> str:
    response = Response()
    SessionSealer(provider.secrets.session_key, False).write(
        response, {"pupil": PUPIL, "at": "x", "idt": "x", "exp": None}
    )
    cookie = SimpleCookie(response.headers["set-cookie"])
    return next(iter(cookie.values())).value


def test_every_portal_page_is_dutch_without_code_words(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}")
    provider = ServiceProvider(load_settings(config))
    confirm_local_protocol(provider)  # art. 11: the signed version, as DOV announces it
    provider.admit(
        read_login({"ov_account_uuid": PUPIL, "ov_orgcode": ["012345"], "family_name": "Claes"})
    )
    add_bound_staff(provider, "toegangscontrole", PASSWORD)
    add_staff(provider.engine, provider.protocol, "dpo", PASSWORD, "dpo")
    provider.add_dossier_entry("toegangscontrole", "toegangscontrole", PUPIL, "Gesprek")
    provider.list_pupils("toegangscontrole", "toegangscontrole", "controle")
    with session_scope(provider.engine) as session:
        now = dt.datetime.now(dt.UTC)
        session.add(
            QualityReport(
                pupil_key=PUPIL,
                attribute="family_name",
                problem="foutief",
                comment="",
                status="niet_verzonden",
                created_by="clb",
                created_at=now,
                updated_at=now,
            )
        )
    pages: dict[str, str] = {}
    with serve_portal(provider, port) as url:
        anonymous = httpx.Client()
        pages["home"] = anonymous.get(f"{url}/").text
        pages["staff login"] = anonymous.get(f"{url}/personeel/aanmelden").text
        pupil = httpx.Client(cookies={"sp_sessie": pupil_cookie(provider)})
        pages["pupil"] = pupil.get(f"{url}/mijn-gegevens").text
        assert "Mijn gegevens" in pages["pupil"]
        clb = staff_login(url, "toegangscontrole")
        pages["staff home"] = clb.get(f"{url}/personeel").text
        pages["pupils"] = clb.get(f"{url}/personeel/leerlingen").text
        csrf = hidden_fields(pages["pupils"])["csrf"]
        opened = clb.post(
            f"{url}/personeel/leerlingen/open",
            data={
                "csrf": csrf,
                "sleutel": ref_for(provider, "toegangscontrole", PUPIL),
                "doel": "vraag van de leerling",
            },
        )
        pages["pupil for staff"] = opened.text
        pages["purpose with INSZ"] = clb.post(
            f"{url}/personeel/leerlingen/open",
            data={
                "csrf": csrf,
                "sleutel": ref_for(provider, "toegangscontrole", PUPIL),
                "doel": "rrn 05081212345",
            },
        ).text
        pages["report not sent"] = clb.post(
            f"{url}/personeel/leerlingen/melding",
            data={
                "csrf": csrf,
                "sleutel": ref_for(provider, "toegangscontrole", PUPIL),
                "attribuut": "family_name",
                "probleem": "foutief",
                "toelichting": "",
            },
        ).text
        pages["no access"] = clb.get(f"{url}/personeel/privacylog").text
        dpo = staff_login(url, "dpo")
        for path in ("privacylog", "meldingen", "datalekken", "bewijs", "medewerkers"):
            pages[path] = dpo.get(f"{url}/personeel/{path}").text
        dpo.post(
            f"{url}/personeel/datalekken",
            data={
                "csrf": hidden_fields(pages["datalekken"])["csrf"],
                "vastgesteld": "2026-11-01T08:00",
                "wat": "Lijst verkeerd gemaild",
                "categorieen": "naam",
                "aantal": "2",
                "maatregelen": "Gewist",
            },
        )
        pages["breach mail failed"] = dpo.get(f"{url}/personeel/datalekken").text
        pages["log with entries"] = dpo.get(f"{url}/personeel/privacylog").text
        log = f"{url}/personeel/privacylog"
        pages["dpo home"] = dpo.get(f"{url}/personeel").text
        pages["log chart"] = dpo.get(f"{log}/grafiek").text
        pages["log chart refused"] = dpo.get(f"{log}/grafiek", params={"van": "2020-01-01"}).text
        pages["log filtered"] = dpo.get(log, params={"actie": "leerlingen_gezocht"}).text
        pages["log bad filter"] = dpo.get(log, params={"van": "gisteren"}).text
        name = privacy_log.pseudonym(provider.secrets, PUPIL)
        pages["who looked asked"] = dpo.get(f"{log}/inzage", params={"pseudoniem": name}).text
        csrf = hidden_fields(pages["log with entries"])["csrf"]
        looked = dpo.post(f"{log}/inzage", data={"csrf": csrf, "pseudoniem": name})
        pages["who looked"] = looked.text
        pages["reports filtered"] = dpo.get(f"{url}/personeel/meldingen?status=open").text
        pages["staff filtered"] = dpo.get(f"{url}/personeel/medewerkers?toon=actief").text
    pages["evidence file"] = evidence_html(provider)
    provider.engine.dispose()
    assert "Leerlingen gezocht (binnen de eigen scholen)" in pages["log with entries"]
    assert "Belgische tijd" in pages["breach mail failed"]
    for name, html in pages.items():
        assert '<html lang="nl">' in html, name
        check(f"portal {name}", html)


def test_the_register_says_the_status_in_dutch() -> None:
    protocol = load_protocol(PROTOCOL)
    at = dt.datetime(2026, 11, 29, tzinfo=dt.UTC)
    for fmt in ("md", "csv"):
        text = render_register([protocol], fmt, PartyRole.RECIPIENT, at)
        assert "in_force" not in text and "van kracht" in text, fmt
