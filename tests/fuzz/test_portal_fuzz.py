"""Fuzz every route of the LARS portal, on SQLite and PostgreSQL (issue 8, guard).

Every route of ``tests/sp/test_portal_surface.ROUTES`` (so a new route is fuzzed as soon as
it is listed there), as an anonymous visitor, a logged-in pupil, a ``toegangscontrole`` and a
``dpo`` staff member, with each form field left out, valid or hostile, the CSRF token right
or wrong, a hostile ``Host``, raw bytes that are not UTF-8 and multipart bodies.
``LEERID_FUZZ_EXAMPLES`` sets the examples per route and backend (default 10).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.requests import (
    FUZZ,
    Valid,
    at,
    exercise,
    hostile,
    local_location,
    parameters,
)
from tests.fuzz.servers import PortalTarget
from tests.sp.test_portal_surface import ROUTES

FIELDS: dict[str, tuple[str, ...]] = {
    "/callback": ("code", "state", "iss", "error", "error_description"),
    "/mijn-gegevens": ("gekoppeld",),
    "/personeel/aanmelden": ("csrf", "gebruikersnaam", "wachtwoord"),
    "/personeel/leerlingen/open": ("csrf", "sleutel", "doel"),
    "/personeel/leerlingen/dossier": ("csrf", "sleutel", "tekst"),
    "/personeel/leerlingen/melding": ("csrf", "sleutel", "attribuut", "probleem", "toelichting"),
    "/personeel/datalekken": ("csrf", "vastgesteld", "wat", "categorieen", "aantal", "maatregelen"),
    "/personeel/datalekken/{number}": ("csrf", "tekst", "status"),
}


def _valid(t: PortalTarget, csrf: str) -> Mapping[str, Valid]:
    return {
        "csrf": csrf,
        "code": "abc",
        "state": "s",
        "iss": t.issuer,
        "error": "access_denied",
        "error_description": "nee",
        "gekoppeld": "1",
        "gebruikersnaam": "dpo.fuzz",
        "wachtwoord": "fuzz-wachtwoord-lang-genoeg",
        "sleutel": t.pupil_key,
        "doel": "controle van de toegang",
        "tekst": "eerste regel\ntweede regel",
        "attribuut": "family_name",
        "probleem": "verouderd",
        "toelichting": "naam veranderd",
        "vastgesteld": "2026-01-05T10:00",
        "wat": "een laptop verloren",
        "categorieen": "naam",
        "aantal": st.sampled_from(["3", "999999999", "2147483648", "99999999999999999999"]),
        "maatregelen": "wachtwoorden gewijzigd",
        "status": "gesloten",
    }


def _allowed(t: PortalTarget) -> Callable[[str], bool]:
    return lambda location: (
        local_location(location, t.url)
        or at(location, f"{t.issuer}/v1/auth")
        or at(location, f"{t.issuer}/v1/logout")
    )


BREACH_IDS = st.one_of(
    st.sampled_from(["1", "0", "-1", "abc", "1.5", "2147483648", "99999999999999999999"]),
    hostile().filter(lambda s: s not in ("", ".", "..")).map(lambda s: quote(s, safe="")),
)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=" ".join)
@FUZZ
@given(data=st.data())
def test_every_portal_route_survives_hostile_input(
    fuzz_portal: PortalTarget, route: tuple[str, str], data: st.DataObject
) -> None:
    t = fuzz_portal
    method, path = route
    who = data.draw(st.sampled_from(["", "pupil", "toegangscontrole", "dpo"]), "session")
    session = t.sessions.get(who)
    valid = _valid(t, session.csrf if session else "geen")
    names = FIELDS.get(path, ("csrf",) if method == "POST" else ())
    pairs = data.draw(parameters({n: valid[n] for n in names}), "parameters")
    if "{number}" in path:
        path = path.replace("{number}", data.draw(BREACH_IDS, "breach number"))
    cookies = session.cookies if session else {}
    exercise(data, t.url, method, path, pairs, t.log, _allowed(t), cookies=cookies)
