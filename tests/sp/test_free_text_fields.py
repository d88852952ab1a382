"""Issue 8 point 11: no free-text field of the portal stores an INSZ.

The fields are read from the portal's templates (every ``<form>``'s text inputs and
textareas), so a new form field fails this test until it is listed here with valid values;
each is posted to a real portal with an INSZ in it and must be refused with a Dutch message
that says what to do, and nothing of it may reach the database.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import httpx
from sqlalchemy import String, Text, select

from leerid.sp.kit.breaches import add_breach
from leerid.sp.kit.login_claims import read_login
from leerid.sp.kit.models import SPBase
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.sp.portal.templating import TEMPLATES
from leerid.store.engine import session_scope
from leerid.testing.browser import hidden_fields
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import add_bound_staff, ref_for, write_config
from tests.sp.test_lars_flow import PASSWORD, staff_login
from tests.test_page_words import pupil_cookie

INSZ = "05.08.12-123.45"
PUPIL = "0f8e2c4a-1b2c-4d5e-8f90-123456789abc"
_FORM = re.compile(r'<form[^>]*action="([^"]+)"(.*?)</form>', re.S)
_FIELD = re.compile(r"<(input|textarea)\b([^>]*)>")

# Fields a person types that are not stored as text: never part of the rule.
NOT_FREE_TEXT = {
    ("/personeel/aanmelden", "gebruikersnaam"): "a login name, only compared",
    ("/personeel/privacylog/inzage", "sleutel"): "a pupil key, checked as a UUID, not stored",
    ("/personeel/leerlingen", "naam"): "a search (GET), never stored nor logged (art. 4)",
    ("/personeel/privacylog", "leerling"): "a filter: a pseudonym or a key, logged as pseudonym",
    ("/personeel/privacylog", "medewerker"): "a filter: a username pattern or refused",
    ("/personeel/medewerkers", "naam"): "a search (GET) in the staff list, never stored",
    ("/personeel/leerlingen", "school"): "a search (GET): six digits or refused",
    ("/personeel/medewerkers/toevoegen", "gebruikersnaam"): "an account name: a pattern",
    ("/personeel/medewerkers/toevoegen", "scholen"): "partner schools' numbers, or refused",
    ("/personeel/medewerkers/bijwerken", "scholen"): "partner schools' numbers, or refused",
}

# action → (role of the staff member who posts it, valid values for every field)
VALID = {
    "/personeel/leerlingen/open": ("toegangscontrole", {"sleutel": PUPIL, "doel": "vraag"}),
    "/personeel/leerlingen/dossier": (
        "toegangscontrole",
        {"sleutel": PUPIL, "tekst": "Gesprek over de planning"},
    ),
    "/personeel/leerlingen/melding": (
        "toegangscontrole",
        {
            "sleutel": PUPIL,
            "attribuut": "family_name",
            "probleem": "foutief",
            "toelichting": "Naam verkeerd gespeld",
        },
    ),
    "/mijn-gegevens/melding": (  # art. 7: the pupil's own report
        "leerling",
        {"gegeven": "given_name", "probleem": "foutief", "uitleg": "Mijn voornaam is fout"},
    ),
    "/personeel/datalekken": (
        "dpo",
        {
            "vastgesteld": "2026-11-01T08:00",
            "wat": "Lijst verkeerd gemaild",
            "categorieen": "naam",
            "aantal": "2",
            "maatregelen": "Ontvanger gevraagd te wissen",
        },
    ),
    "/personeel/bewijs/risico": (
        "dpo",
        {
            "risico": "Inzage zonder reden",
            "maatregelen": "Doel verplicht",
            "datum": "2026-03-01",
            "eigenaar": "DPO",
        },
    ),
    "/personeel/datalekken/{{ v.breach.id }}": (
        "dpo",
        {"tekst": "Toestel terug", "status": "open", "referentie": "", "reden": ""},
    ),
}


def free_text_fields() -> set[tuple[str, str]]:
    """(action, field) of every text input and textarea in the portal's templates."""
    found: set[tuple[str, str]] = set()
    for template in TEMPLATES.glob("*.html"):
        for action, body in _FORM.findall(template.read_text(encoding="utf-8")):
            for tag, attributes in _FIELD.findall(body):
                kind = re.search(r'type="([^"]+)"', attributes)
                name = re.search(r'name="([^"]+)"', attributes)
                if name and (tag == "textarea" or kind is None or kind.group(1) == "text"):
                    found.add((action, name.group(1)))
    return found - set(NOT_FREE_TEXT)


def stored_text(provider: ServiceProvider) -> str:
    """Every text column of every table of the provider's database, joined."""
    parts: list[str] = []
    with session_scope(provider.engine) as session:
        for table in SPBase.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            for row in session.execute(select(*columns)):
                parts.extend(str(v) for v in row if v is not None)
    return "\n".join(parts)


def test_every_free_text_field_refuses_an_insz(database_url: str, tmp_path: Path) -> None:
    fields = free_text_fields()
    assert {action for action, _ in fields} <= set(VALID), "a new form: add it to VALID"
    assert len(fields) >= 7  # doel, tekst, toelichting, wat, categorieen, maatregelen, tekst
    for action, field in fields:
        assert field in VALID[action][1], f"{action} {field}: add valid values to VALID"

    port = free_port()
    config = write_config(tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}")
    provider = ServiceProvider(load_settings(config))
    confirm_local_protocol(provider)  # art. 11: the signed version, as DOV announces it
    provider.admit(read_login({"ov_account_uuid": PUPIL, "ov_orgcode": ["012345"]}))
    add_bound_staff(provider, "toegangscontrole", PASSWORD)  # art. 4, 6
    add_staff(provider.engine, provider.protocol, "dpo", PASSWORD, "dpo")
    ref = ref_for(provider, "toegangscontrole", PUPIL)
    breach = add_breach(
        provider.engine,
        provider.settings.mail,
        actor="dpo",
        discovered_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        description="Lek",
        categories="naam",
        pupils_affected=1,
        measures="Geen",
        notify=False,
    )
    with serve_portal(provider, port) as url:
        browsers = {role: staff_login(url, role) for role in ("toegangscontrole", "dpo")}
        browsers["leerling"] = httpx.Client(cookies={"sp_sessie": pupil_cookie(provider)})
        for action, field in sorted(fields):
            role, valid = VALID[action]
            valid = {k: ref if v == PUPIL else v for k, v in valid.items()}
            browser: httpx.Client = browsers[role]
            home = "/mijn-gegevens" if role == "leerling" else "/personeel"
            csrf = hidden_fields(browser.get(url + home).text)["csrf"]
            target = url + action.replace("{{ v.breach.id }}", str(breach))
            answer = browser.post(
                target, data={**valid, field: f"{valid[field]} {INSZ}", "csrf": csrf}
            )
            if answer.status_code == 303:  # a notice on the page it leads to
                answer = browser.get(url + answer.headers["location"])
                assert 'class="notice bad"' in answer.text, (action, field)
            else:
                assert answer.status_code == 400, (action, field, answer.status_code)
            assert "rijksregisternummer" in answer.text and "Laat dat nummer weg" in answer.text
            assert "national register" not in answer.text, (action, field)
    assert "123.45" not in stored_text(provider) and "12-123" not in stored_text(provider)
    provider.engine.dispose()
