"""Rules of the provider as plain functions: hashing, sealed browser state, PKCE, errors."""

from __future__ import annotations

import asyncio
import logging
import string

import pytest
from argon2 import PasswordHasher as Argon2
from hypothesis import given
from hypothesis import strategies as st

from leerid.errors import ConfigurationError
from leerid.idp.login.passwords import OWASP, Argon2Parameters, PasswordHasher
from leerid.idp.oauth.errors import add_query
from leerid.idp.oauth.id_token import at_hash
from leerid.idp.oauth.rfc7636 import s256, valid_challenge, verify_s256
from leerid.idp.settings import IdpSettings
from leerid.idp.web.browser_state import Sealer

FAST = Argon2Parameters(memory_kib=1024, time_cost=1, parallelism=1)


def test_verify_accepts_the_password_and_refuses_others() -> None:
    hasher = PasswordHasher(FAST, concurrency=1)
    stored = asyncio.run(hasher.hash("correct horse"))
    assert asyncio.run(hasher.verify(stored, "correct horse")) == (True, None)
    assert asyncio.run(hasher.verify(stored, "wrong horse")) == (False, None)
    assert asyncio.run(hasher.verify(None, "correct horse")) == (False, None)
    assert asyncio.run(hasher.verify("not a hash", "x")) == (False, None)


def test_hash_upgraded_when_parameters_changed() -> None:
    old = Argon2(memory_cost=512, time_cost=1, parallelism=1).hash("pw-of-pupil")
    ok, new = asyncio.run(PasswordHasher(FAST, concurrency=1).verify(old, "pw-of-pupil"))
    assert ok and new is not None and "m=1024" in new


def test_owasp_is_the_default_and_weaker_settings_warn_loudly(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in (
        "LEERID_ARGON2_MEMORY_KIB",
        "LEERID_ARGON2_TIME_COST",
        "LEERID_ARGON2_PARALLELISM",
    ):
        monkeypatch.delenv(name, raising=False)
    assert PasswordHasher.from_env().parameters == OWASP
    assert "BELOW" not in capsys.readouterr().err
    monkeypatch.setenv("LEERID_ARGON2_MEMORY_KIB", "64")
    with caplog.at_level(logging.WARNING):
        hasher = PasswordHasher.from_env()
    assert hasher.parameters.memory_kib == 64
    assert "BELOW OWASP" in capsys.readouterr().err
    assert any("BELOW OWASP" in r.message for r in caplog.records)
    monkeypatch.setenv("LEERID_ARGON2_TIME_COST", "two")
    with pytest.raises(ConfigurationError, match="LEERID_ARGON2_TIME_COST"):
        PasswordHasher.from_env()


def test_sealed_state_opens_only_unaltered_for_its_purpose_in_time() -> None:
    sealer = Sealer(b"k" * 32)
    token = sealer.seal("sso", {"sid": "a", "sub": "b"}, 60)
    assert sealer.open("sso", token) == {"sid": "a", "sub": "b"}
    assert sealer.open("pending", token) is None
    assert Sealer(b"x" * 32).open("sso", token) is None
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]
    assert sealer.open("sso", tampered) is None
    assert sealer.open("sso", sealer.seal("sso", {"a": 1}, -1)) is None
    assert sealer.open("sso", None) is None and sealer.open("sso", "garbage") is None


VERIFIER = st.text(
    alphabet=string.ascii_letters + string.digits + "-._~", min_size=43, max_size=128
)


@given(VERIFIER, VERIFIER)
def test_pkce_s256_accepts_only_the_verifier_of_the_challenge(v: str, other: str) -> None:
    challenge = s256(v)
    assert valid_challenge(challenge)
    assert verify_s256(v, challenge)
    assert verify_s256(other, challenge) == (other == v)
    assert not verify_s256(None, challenge)


def test_pkce_rfc7636_appendix_b_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_at_hash_is_the_left_half_of_sha256() -> None:
    """OIDC Core §3.1.3.6: base64url of the left-most 128 bits of SHA-256."""
    import base64
    import hashlib

    digest = hashlib.sha256(b"token").digest()[:16]
    assert at_hash("token") == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_error_redirect_keeps_the_clients_query() -> None:
    assert add_query("https://a.example/cb?x=1", {"code": "c d"}) == (
        "https://a.example/cb?x=1&code=c+d"
    )


@pytest.mark.parametrize("issuer", ["ftp://x/op", "https://x/op?a=1", "x"])
def test_a_bad_issuer_is_a_configuration_error(issuer: str) -> None:
    with pytest.raises(ConfigurationError, match="LEERID_ISSUER"):
        IdpSettings(issuer=issuer, database_url="sqlite://")


def test_every_pool_commits_synchronously(database_url: str) -> None:
    """Art. 8: a released token's disclosure record is on disk before the answer; no pool of
    the provider commits asynchronously (codes, the one thing that could, are sealed)."""
    from sqlalchemy import text

    from leerid.idp.app import create_app

    ctx = create_app(IdpSettings(database_url=database_url)).state.idp
    if ctx.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no asynchronous commit")
    for engine in (ctx.autocommit, ctx.engine):
        with engine.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
