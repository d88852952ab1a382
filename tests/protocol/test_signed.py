"""Art. 11: signed versions. A version is in force only by both parties' recorded signatures
over its exact content hash; every refusal of a bad signature is a test."""

from __future__ import annotations

import base64
import datetime as dt
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy import Engine, text

from leerid.errors import LeeridError
from leerid.idp.store.protocols import add_protocol, bound_version, signed_versions
from leerid.idp.store.signatures import add_key, judged_signatures, record
from leerid.protocol import content_hash, load_protocol
from leerid.protocol.canonical import canonical_json
from leerid.protocol.lifecycle import in_force_from, status
from leerid.protocol.loading import parse_protocol
from leerid.protocol.signing import (
    Expected,
    algorithm_for,
    public_jwk,
    sign,
    signing_payload,
    thumbprint,
    verify_signature,
)
from leerid.schema import upgrade
from leerid.store.engine import make_engine, session_scope

from .helpers import SEED_YAML

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
DIGEST = "ab" * 32


def _keys() -> dict[str, Any]:
    return {
        "RS256": RSAKey.generate_key(2048),
        "ES256": ECKey.generate_key("P-256"),
        "EdDSA": OKPKey.generate_key("Ed25519"),
    }


KEYS = _keys()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    SMALL_RSA = dict(RSAKey.generate_key(1024).as_dict(private=False))


def _private(alg: str) -> dict[str, Any]:
    return dict(KEYS[alg].as_dict(private=True))


def _public(alg: str) -> dict[str, Any]:
    return dict(KEYS[alg].as_dict(private=False))


def _expected(alg: str = "ES256", **changes: Any) -> Expected:
    values: dict[str, Any] = {
        "protocol_id": "p",
        "version": 2,
        "content_hash": DIGEST,
        "party": "discloser",
        "key": _public(alg),
    }
    values.update(changes)
    return Expected(**values)


def _token(alg: str = "ES256", digest: str = DIGEST, signed_at: dt.datetime = NOW) -> str:
    return sign(signing_payload("p", 2, digest, "discloser", "Ann", signed_at), _private(alg))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_each_key_type_signs_with_its_one_algorithm(alg: str) -> None:
    assert algorithm_for(_public(alg)) == alg
    verdict = verify_signature(_token(alg), _expected(alg))
    assert verdict.valid and verdict.reason == "ok" and verdict.signed_at == NOW
    assert verdict.signer == "Ann"


def test_alg_none_is_refused() -> None:
    header = _b64(json.dumps({"alg": "none"}).encode())
    body = _b64(json.dumps(signing_payload("p", 2, DIGEST, "discloser", "x", NOW)).encode())
    verdict = verify_signature(f"{header}.{body}.", _expected())
    assert not verdict.valid and "'none' refused" in verdict.reason


def test_hs256_with_the_public_key_as_secret_is_refused() -> None:
    header = _b64(json.dumps({"alg": "HS256"}).encode())
    verdict = verify_signature(f"{header}.e30.AAAA", _expected())
    assert not verdict.valid and "'HS256' refused" in verdict.reason


def test_tampered_payload_is_refused() -> None:
    header, _, signature = _token().split(".")
    other = signing_payload("p", 2, "cd" * 32, "discloser", "Ann", NOW)
    forged = f"{header}.{_b64(json.dumps(other).encode())}.{signature}"
    verdict = verify_signature(forged, _expected())
    assert not verdict.valid and verdict.reason.startswith("bad signature")


def test_a_signature_over_another_hash_is_refused() -> None:
    verdict = verify_signature(_token(digest="cd" * 32), _expected())
    assert not verdict.valid and verdict.reason.startswith("signed another content hash")


def test_an_unregistered_key_is_refused() -> None:
    verdict = verify_signature(_token(), _expected(key=None))
    assert not verdict.valid and "unregistered key" in verdict.reason


def test_another_key_of_the_same_type_is_refused() -> None:
    other = dict(ECKey.generate_key("P-256").as_dict(private=False))
    verdict = verify_signature(_token(), _expected(key=other))
    assert not verdict.valid and verdict.reason.startswith("bad signature")


def test_a_signature_after_the_key_expired_is_refused() -> None:
    verdict = verify_signature(_token(), _expected(key_expires=NOW - dt.timedelta(days=1)))
    assert not verdict.valid and verdict.reason.startswith("key expired")


def test_a_signature_for_another_party_or_version_is_refused() -> None:
    assert "party" in verify_signature(_token(), _expected(party="recipient")).reason
    assert "version" in verify_signature(_token(), _expected(version=3)).reason


def test_a_malformed_token_is_refused() -> None:
    for token in ("", "a.b", "!!!.e30.x", f"{_b64(b'[1]')}.e30.x"):
        assert not verify_signature(token, _expected()).valid


def test_keys_private_material_and_unknown_types_are_refused() -> None:
    with pytest.raises(LeeridError, match="private key material"):
        public_jwk(_private("ES256"))
    with pytest.raises(LeeridError, match="P-256"):
        public_jwk(dict(ECKey.generate_key("P-384").as_dict(private=False)))
    with pytest.raises(LeeridError, match="kty='oct'"):
        public_jwk({"kty": "oct"})
    with pytest.raises(LeeridError, match="at least 2048"):
        public_jwk(SMALL_RSA)
    assert public_jwk(_public("EdDSA")) == _public("EdDSA")


SEED_DATA = yaml.safe_load(SEED_YAML.read_text(encoding="utf-8"))


@settings(max_examples=20, deadline=None)
@given(indent=st.integers(2, 8), width=st.integers(40, 200), sort=st.booleans())
def test_reformatting_does_not_change_the_hash(indent: int, width: int, sort: bool) -> None:
    layout = yaml.safe_dump(SEED_DATA, indent=indent, width=width, sort_keys=sort)
    text = f"# a comment\n\n{layout}\n# another\n"
    assert content_hash(parse_protocol(text)) == content_hash(load_protocol(SEED_YAML))


@settings(max_examples=20, deadline=None)
@given(extra=st.text(st.characters(codec="utf-8", categories=["L", "N"]), min_size=1))
def test_any_change_of_content_changes_the_hash(extra: str) -> None:
    seed = load_protocol(SEED_YAML)
    changed = seed.model_copy(update={"summary": seed.summary + " " + extra})
    assert content_hash(changed) != content_hash(seed)


def _amended_text() -> str:
    """The bug of issue 10: content changed (decretal basis), the old signature block kept."""
    source = SEED_YAML.read_text(encoding="utf-8")
    return source.replace(
        "decretal_basis:\n  present: false",
        "decretal_basis:\n  present: true\n  reference: decreet X, art. 1",
    )


def _record(session: Any, stored: Any, party: str, at: dt.datetime, **how: Any) -> None:
    values = {"protocol_id": stored.protocol_id, "version": stored.version}
    values |= {"content_hash": stored.content_hash, "party": party, "signer": party}
    record(session, signed_at=at, day_only=False, operator="test", **values, **how)


def _attest(session: Any, stored: Any, party: str, at: dt.datetime) -> None:
    _record(session, stored, party, at, kind="attestation", document_sha256=DIGEST)


def _sign(session: Any, stored: Any, party: str, alg: str, at: dt.datetime) -> None:
    payload = signing_payload(
        stored.protocol_id, stored.version, stored.content_hash, party, party, at
    )
    token = sign(payload, _private(alg))
    _record(session, stored, party, at, kind="jws", jws=token, kid=thumbprint(_public(alg)))


def test_amend_not_in_force_until_both_sign(engine: Engine) -> None:
    seed = load_protocol(SEED_YAML)
    amended = parse_protocol(_amended_text())
    t1, t2 = NOW - dt.timedelta(days=2), NOW - dt.timedelta(days=1)
    with session_scope(engine) as session:
        v1 = add_protocol(session, seed, SEED_YAML.read_text(encoding="utf-8"), "anna")
        for party in ("discloser", "recipient"):
            _attest(session, v1, party, dt.datetime(2024, 3, 25, tzinfo=dt.UTC))
        add_key(session, _public("ES256"), party="discloser", added_by="anna")
        add_key(session, _public("EdDSA"), party="recipient", added_by="anna")
        v2 = add_protocol(session, amended, _amended_text(), "anna")
    with session_scope(engine) as session:  # the YAML's signature block counts for nothing
        bound = bound_version(session, seed.id, NOW)
        assert bound is not None and bound.version == 1 and v2.added_by == "anna"
        assert status(signed_versions(session, seed.id)[1].protocol, NOW).value == "advised"
        _sign(session, v2, "discloser", "ES256", t1)
        assert bound_version(session, seed.id, NOW).version == 1  # type: ignore[union-attr]
        _sign(session, v2, "recipient", "EdDSA", t2)
    with session_scope(engine) as session:
        assert bound_version(session, seed.id, t2 - dt.timedelta(seconds=1)).version == 1  # type: ignore[union-attr]
        now_bound = bound_version(session, seed.id, NOW)
        assert now_bound is not None and now_bound.version == 2
        assert status(now_bound.protocol, NOW).value == "in_force"
        judged = judged_signatures(session, seed.id, {1: v1.content_hash, 2: v2.content_hash})
    assert [j.verdict.valid for j in judged] == [True, True, True, True]


def test_a_signature_by_a_key_of_the_other_party_does_not_count(engine: Engine) -> None:
    seed = load_protocol(SEED_YAML)
    with session_scope(engine) as session:
        v1 = add_protocol(session, seed, "", "anna")
        add_key(session, _public("ES256"), party="discloser", added_by="anna")
        _attest(session, v1, "discloser", NOW - dt.timedelta(days=1))
        _sign(session, v1, "recipient", "ES256", NOW - dt.timedelta(hours=1))
    with session_scope(engine) as session:
        bound = bound_version(session, seed.id, NOW)
        judged = judged_signatures(session, seed.id, {1: v1.content_hash})
    assert bound is not None and status(bound.protocol, NOW).value != "in_force"
    assert [j.verdict.reason for j in judged][1].startswith("signed by an unregistered key")


def test_migration_attests_only_the_first_version_of_a_signature(
    database_url: str, tmp_path: Path
) -> None:
    """Existing databases keep the version that was in force; the amended copy with the old
    signature block (issue 10) gets no attestation."""
    engine = make_engine(database_url)
    upgrade(engine, "0002_protocols")
    seed, amended = load_protocol(SEED_YAML), parse_protocol(_amended_text())
    insert = text(
        "INSERT INTO protocol_version (protocol_id, version, content_hash, canonical_json,"
        " source_text, added_at) VALUES (:p, :v, :h, :j, '', :a)"
    )
    with engine.begin() as conn:
        for number, protocol in ((1, seed), (2, amended)):
            conn.execute(
                insert,
                {
                    "p": seed.id,
                    "v": number,
                    "h": content_hash(protocol),
                    "j": canonical_json(protocol),
                    "a": NOW,
                },
            )
    upgrade(engine)
    with session_scope(engine) as session:
        bound = bound_version(session, seed.id, NOW)
        versions = signed_versions(session, seed.id)
    engine.dispose()
    assert bound is not None and bound.version == 1
    assert status(bound.protocol, NOW).value == "in_force"
    assert len(versions[0].protocol.signatures) == 2 and versions[1].protocol.signatures == ()


def test_a_day_counts_from_its_start_in_brussels_a_moment_from_itself(engine: Engine) -> None:
    """Art. 11: "op de datum van ondertekening": a day, unless the signature gives a time."""
    from leerid.protocol.lifecycle import start_of_day

    seed = load_protocol(SEED_YAML)
    with session_scope(engine) as session:
        v1 = add_protocol(session, seed, "", "anna")
        day = start_of_day(dt.date(2024, 3, 25))
        _record(session, v1, "recipient", day, kind="attestation", document_sha256=DIGEST)
        session.flush()
        moment = dt.datetime(2024, 3, 25, 14, 40, 38, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        _attest(session, v1, "discloser", moment)
    with session_scope(engine) as session:
        session.execute(
            text("UPDATE protocol_signature SET day_only = :t WHERE party = 'recipient'"),
            {"t": True},
        )
    with session_scope(engine) as session:
        judged = judged_signatures(session, seed.id, {1: v1.content_hash})
        bound = bound_version(session, seed.id, NOW)
    assert [j.effective for j in judged] == [day, moment]
    assert bound is not None and in_force_from(bound.protocol) == moment


def test_a_newer_terminating_version_binds_unsigned(engine: Engine) -> None:
    """Art. 8: DOV ends the protocol alone; stopping disclosure needs no new signature."""
    seed = load_protocol(SEED_YAML)
    change = {"kind": "terminated", "effective": "2025-06-30T17:00:00+02:00", "by": "discloser"}
    data = seed.model_dump(mode="json") | {"status_changes": [change | {"reason": "art. 8"}]}
    terminated = type(seed).model_validate(data)
    with session_scope(engine) as session:
        v1 = add_protocol(session, seed, "", "anna")
        for party in ("discloser", "recipient"):
            _attest(session, v1, party, dt.datetime(2024, 3, 25, tzinfo=dt.UTC))
        add_protocol(session, terminated, "", "anna")
    with session_scope(engine) as session:
        before = bound_version(session, seed.id, dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        after = bound_version(session, seed.id, NOW)
    assert before is not None and before.version == 1
    assert after is not None and after.version == 2
    assert status(after.protocol, NOW).value == "terminated"
