"""Issue 8 §9: passwords are Unicode-normalised (NFKC, NIST SP 800-63B §5.1.1.2) at
activation, reset (a new activation) and login; hashes made before keep working."""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher as Argon2
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from leerid.idp.login.passwords import Argon2Parameters, PasswordHasher

FORMS = ("NFC", "NFD", "NFKC", "NFKD")
passwords = st.text(min_size=1, max_size=24)


@pytest.fixture(scope="module")
def hasher() -> Iterator[PasswordHasher]:
    fast = PasswordHasher(Argon2Parameters(memory_kib=64, time_cost=1, parallelism=1), 2)
    yield fast
    fast.close()


@settings(max_examples=60, deadline=None)
@given(password=passwords, made=st.sampled_from(FORMS), typed=st.sampled_from(FORMS))
def test_any_unicode_form_of_the_password_logs_in(
    hasher: PasswordHasher, password: str, made: str, typed: str
) -> None:
    """ "café" chosen as one code point and typed as e + combining accent is one password."""
    stored = asyncio.run(hasher.hash(unicodedata.normalize(made, password)))  # activation
    ok, new_hash = asyncio.run(hasher.verify(stored, unicodedata.normalize(typed, password)))
    assert ok and new_hash is None


@settings(max_examples=30, deadline=None)
@given(password=passwords)
def test_an_old_unnormalised_hash_works_and_is_replaced(
    hasher: PasswordHasher, password: str
) -> None:
    old = Argon2(memory_cost=64, time_cost=1, parallelism=1).hash(password)  # before §9
    ok, new_hash = asyncio.run(hasher.verify(old, password))
    assert ok
    if unicodedata.normalize("NFKC", password) == password:
        assert new_hash is None
    else:
        assert new_hash is not None  # rehashed to the normalised form
        nfd = unicodedata.normalize("NFD", password)
        assert asyncio.run(hasher.verify(new_hash, nfd)) == (True, None)


@settings(max_examples=30, deadline=None)
@given(password=passwords, other=passwords)
def test_a_different_password_is_still_refused(
    hasher: PasswordHasher, password: str, other: str
) -> None:
    normalise = unicodedata.normalize
    assume(normalise("NFKC", password) != normalise("NFKC", other))
    stored = asyncio.run(hasher.hash(password))
    assert asyncio.run(hasher.verify(stored, other)) == (False, None)
