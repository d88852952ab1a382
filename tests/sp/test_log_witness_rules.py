"""Issue 12 §3, the witness's rules without a server: what counts as the disclosure we
received, the leaf hash DOV names, and the ``[log]`` settings."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.errors import ConfigurationError
from leerid.sp.kit.log_received import (
    TIME_SLACK,
    Binding,
    Received,
    differences,
    leaf_text,
    received_id_token,
    received_userinfo,
)
from leerid.sp.kit.settings import load_settings
from leerid.transparency.entries import disclosure_entry, event_entry
from tests.sp.conftest import write_config

CLIENT = "lars-test"
BOUND = Binding(CLIENT, "dov-lars", {"abc", "older"})
NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
CLAIM = st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True)
CLAIMS = st.lists(CLAIM, min_size=1, max_size=8, unique=True).map(lambda c: tuple(sorted(c)))


def entry_for(received: Received, **change: object) -> bytes:
    fields: dict[str, object] = {
        "at": received.at,
        "client_id": CLIENT,
        "endpoint": received.endpoint,
        "protocol_id": "dov-lars",
        "protocol_hash": "abc",
        "claims": received.claims,
        "outcome": "released",
        "reason": None,
        "pupil_secret": b"k" * 32,
        "pupil_identifier": "pupil",
    }
    fields.update(change)
    return disclosure_entry(**fields).encode()  # type: ignore[arg-type]


def decoded(data: bytes):  # type: ignore[no-untyped-def]
    from leerid.transparency.entries import decode_entry

    return decode_entry(data)


@given(CLAIMS, st.sampled_from(["token", "userinfo"]), st.integers(-300, 300))
def test_an_entry_of_what_we_received_matches(
    claims: tuple[str, ...], endpoint: str, skew: int
) -> None:
    """DOV's own entry of our disclosure, logged within five minutes, has no difference."""
    received = Received(endpoint, claims, NOW, None)
    logged = decoded(entry_for(received, at=NOW + dt.timedelta(seconds=skew)))
    assert differences(logged, received, BOUND) == []


@given(CLAIMS, CLAIM)
def test_a_claim_more_or_less_is_a_difference(claims: tuple[str, ...], other: str) -> None:
    received = Received("token", claims, NOW, None)
    changed = tuple(sorted(set(claims) ^ {other}))
    found = differences(decoded(entry_for(received, claims=changed)), received, BOUND)
    assert found and "claims" in found[0]


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"client_id": "someone-else"}, "client"),
        ({"endpoint": "introspection"}, "endpoint"),
        ({"outcome": "refused", "reason": "no_enrolment"}, "outcome"),
        ({"at": NOW + TIME_SLACK + dt.timedelta(seconds=1)}, "time"),
        ({"protocol_id": "dov-other"}, "protocol"),
        ({"protocol_hash": "unsigned"}, "protocol_hash"),
        ({"protocol_hash": None}, "protocol_hash"),
    ],
)
def test_each_field_that_differs_is_named(change: dict[str, object], word: str) -> None:
    received = Received("userinfo", ("sub",), NOW, None)
    (found,) = differences(decoded(entry_for(received, **change)), received, BOUND)
    assert found.startswith(word)


def test_an_event_entry_is_no_disclosure() -> None:
    received = Received("token", ("sub",), NOW, None)
    event = event_entry(at=NOW, client_id=CLIENT, event="merge", jti="j1", protocol_id=None)
    assert differences(event, received, BOUND) == ["the entry is a 'event' entry, not a disclosure"]


def test_the_id_token_counts_released_claims_only() -> None:
    """OIDC Core §2: iss, aud, exp, nonce, at_hash … are about the token, not released data."""
    claims = {
        "iss": "x",
        "aud": CLIENT,
        "exp": 1,
        "iat": 1,
        "auth_time": 1,
        "nonce": "n",
        "at_hash": "h",
        "acr": "a",
        "sid": "s",
        "sub": "p",
        "ov_account_uuid": "u",
        "given_name": "g",
    }
    leaf = base64.urlsafe_b64encode(hashlib.sha256(b"e").digest()).rstrip(b"=").decode()
    got = received_id_token(claims, leaf, NOW)
    assert got == Received("token", ("given_name", "ov_account_uuid", "sub"), NOW, leaf)
    assert received_userinfo({"sub": "p", "iss": "x"}, None, NOW).claims == ("iss", "sub")


@given(st.binary(min_size=0, max_size=40))
def test_a_leaf_hash_is_32_bytes_of_unpadded_base64url(raw: bytes) -> None:
    text = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert leaf_text(text) == (text if len(raw) == 32 else None)
    assert leaf_text(text + "=") is None
    assert leaf_text(None) is None and leaf_text(32) is None


def test_log_settings(database_url: str, tmp_path: Path) -> None:
    """``[log]``: off without a vkey; the witness name defaults to the client id."""
    plain = load_settings(write_config(tmp_path / "a", database_url))
    assert not plain.log.enabled and plain.log.witness_name == "lars-test"
    assert plain.log.alert_to == "dpo@lars.example" and plain.log.grace == 300
    for table, word in [
        ('[log]\nvkey = "not-a-key"\n', "vkey"),
        ('[log]\nwitness_name = "two words"\n', "witness_name"),
        ("[log]\ngrace = -1\n", "grace"),
    ]:
        with pytest.raises(ConfigurationError, match=word):
            load_settings(write_config(tmp_path / word, database_url, extra=table))


def test_an_older_secret_file_gets_a_witness_key_and_keeps_the_rest(tmp_path: Path) -> None:
    """C2SP tlog-cosignature: a key of its own; the session and signing keys stay."""
    import json

    from leerid.sp.kit.keys import load_or_create_secrets

    path = tmp_path / "secret.json"
    first = load_or_create_secrets(path)
    data = json.loads(path.read_text())
    del data["witness_key"]
    path.write_text(json.dumps(data))
    again = load_or_create_secrets(path)
    assert again.session_key == first.session_key
    assert again.public_key_text() == first.public_key_text()
    assert "witness_key" in json.loads(path.read_text())
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert load_or_create_secrets(path).witness_key.private_bytes_raw() == (
        again.witness_key.private_bytes_raw()
    )


def test_a_cosigner_key_is_refused_as_dovs_log_key(database_url: str, tmp_path: Path) -> None:
    """C2SP tlog-cosignature: a type 0x04 key verifies witnesses, never DOV's checkpoints;
    the error names the file, the line and what to put instead."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from leerid.transparency.cosignature import Cosigner

    cosigner = Cosigner("lars.test/w", Ed25519PrivateKey.generate()).vkey
    table = f'[log]\ngrace = 10\nvkey = "{cosigner}"\n'
    path = write_config(tmp_path, database_url, extra=table)
    line = path.read_text().splitlines().index(f'vkey = "{cosigner}"') + 1
    with pytest.raises(ConfigurationError) as caught:
        load_settings(path)
    message = caught.value.message
    assert f"{path}, line {line}" in message and "type 0x04" in message
    assert "leerid log key" in message
