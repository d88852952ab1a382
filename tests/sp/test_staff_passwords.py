"""Issue 8 §9 for the portal's staff: passwords are NFKC-normalised (NIST SP 800-63B
§5.1.1.2) when an account is made and at login; hashes made before keep working and are
replaced by the hash of the normalised form."""

from __future__ import annotations

import datetime as dt
import unicodedata

import httpx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from leerid.errors import LeeridError
from leerid.sp.kit.models import StaffAccount
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.staff import HASHER, add_staff, authenticate, check_password
from leerid.store.engine import session_scope
from leerid.testing.browser import hidden_fields
from leerid.testing.servers import free_port, serve_portal

FORMS = ("NFC", "NFD", "NFKC", "NFKD")
CAFE = "Café-Brüssel-ﬁets-2026"  # é, ü as one code point; "ﬁ" a compatibility ligature
passwords = st.text(min_size=1, max_size=16)


@settings(max_examples=15, deadline=None)
@given(password=passwords, made=st.sampled_from(FORMS), typed=st.sampled_from(FORMS))
def test_any_unicode_form_of_a_staff_password_matches(password: str, made: str, typed: str) -> None:
    stored = HASHER.hash(unicodedata.normalize("NFKC", unicodedata.normalize(made, password)))
    assert check_password(stored, unicodedata.normalize(typed, password)) == (True, None)


@settings(max_examples=10, deadline=None)
@given(password=passwords, other=passwords)
def test_an_old_raw_hash_works_is_replaced_and_other_passwords_fail(
    password: str, other: str
) -> None:
    assume(unicodedata.normalize("NFKC", password) != unicodedata.normalize("NFKC", other))
    old = HASHER.hash(password)  # made before §9: the raw form
    ok, new_hash = check_password(old, password)
    assert ok and (new_hash is None) == (unicodedata.normalize("NFKC", password) == password)
    assert check_password(new_hash or old, unicodedata.normalize("NFD", password))[0]
    assert check_password(old, other) == (False, None)


def login(url: str, username: str, password: str) -> httpx.Response:
    with httpx.Client() as http:
        form = http.get(f"{url}/personeel/aanmelden")
        data = {"csrf": hidden_fields(form.text)["csrf"], "gebruikersnaam": username}
        return http.post(f"{url}/personeel/aanmelden", data={**data, "wachtwoord": password})


def test_a_password_made_as_nfc_logs_in_typed_as_nfd(provider: ServiceProvider) -> None:
    """A Mac keyboard sends "é" as e + combining accent: the same staff member gets in."""
    nfc, nfd = unicodedata.normalize("NFC", CAFE), unicodedata.normalize("NFD", CAFE)
    assert nfc != nfd
    add_staff(provider.engine, provider.protocol, "clb.unicode", nfc, "toegangscontrole")
    with serve_portal(provider, free_port()) as url:
        assert login(url, "clb.unicode", nfd).status_code == 303
        assert login(url, "clb.unicode", nfc).status_code == 303
        assert login(url, "clb.unicode", nfd + "x").status_code == 401


def test_an_account_hashed_before_normalisation_still_logs_in(
    provider: ServiceProvider,
) -> None:
    nfd = unicodedata.normalize("NFD", CAFE)
    with session_scope(provider.engine) as session:  # as the kit stored it before §9
        session.add(
            StaffAccount(
                username="clb.oud",
                password_hash=HASHER.hash(nfd),
                role="toegangscontrole",
                active=True,
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    assert authenticate(provider.engine, "clb.oud", nfd) is not None
    with session_scope(provider.engine) as session:
        stored = session.scalar(select(StaffAccount.password_hash))
    assert stored is not None and check_password(stored, nfd) == (True, None)  # replaced
    with serve_portal(provider, free_port()) as url:
        assert login(url, "clb.oud", unicodedata.normalize("NFC", CAFE)).status_code == 303


@pytest.mark.parametrize("name", ["leerling", "systeem"])
def test_the_logs_own_actors_are_no_staff_names(provider: ServiceProvider, name: str) -> None:
    """Art. 6: "leerling" and "systeem" act in the privacy log; no account may take the name."""
    with pytest.raises(LeeridError) as refused:
        add_staff(provider.engine, provider.protocol, name, "een-lang-wachtwoord", "dpo")
    assert "reserved" in refused.value.message
