"""The recipient's checks of a Security Event Token (RFC 8417), pure: every refusal names its
RFC 8935 code, and a SET that fails any check is never handed on to be applied."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from leerid.sp.kit.set_verify import (
    PROTOCOL_ENDED,
    PUPILS_MERGED,
    SKEW,
    Expected,
    SetRejected,
    UnknownKey,
    check_fresh,
    verify_set,
)

ISSUER = "https://leerid.example/op"
CLIENT = "lars"
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
MAX_AGE = dt.timedelta(days=90)
KEY = RSAKey.generate_key(2048, parameters={"kid": "dov-1"})
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "dov-ec"})
PUBLIC = KeySet.import_key_set(KeySet([KEY, EC_KEY]).as_dict(private=False))
EXPECTED = Expected(ISSUER, CLIENT, NOW, MAX_AGE)
MERGE = {
    "kept_leer_id_uuid": "8b0e4d1c-2f43-4c51-9a51-6f7c1d2e3f40",
    "absorbed_leer_id_uuid": "1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b",
    "merged_at": "2026-11-30T07:59:00+00:00",
}


def claims(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT,
        "iat": int(NOW.timestamp()) - 5,
        "jti": "a" * 32,
        "txn": "42",
        "toe": int(NOW.timestamp()) - 6,
        "sub_id": {"format": "opaque", "id": MERGE["kept_leer_id_uuid"]},
        "events": {PUPILS_MERGED: MERGE},
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def sign(body: dict[str, Any], key: Any = KEY, **header: Any) -> str:
    head = {"alg": "RS256", "kid": key.kid, "typ": "secevent+jwt", **header}
    return jws.serialize_compact(head, json.dumps(body), key, algorithms=[head["alg"]])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def rejected(token: str) -> SetRejected:
    with pytest.raises(SetRejected) as caught:
        verify_set(token, PUBLIC, EXPECTED)
    return caught.value


def test_a_good_set_passes_with_its_one_event() -> None:
    verified = verify_set(sign(claims()), PUBLIC, EXPECTED)
    assert (verified.jti, verified.txn, verified.event_type) == ("a" * 32, "42", PUPILS_MERGED)
    assert verified.event == MERGE
    es = sign(claims(), EC_KEY, alg="ES256")
    assert verify_set(es, PUBLIC, EXPECTED).event_type == PUPILS_MERGED


def test_an_audience_list_naming_this_client_passes() -> None:
    assert verify_set(sign(claims(aud=["other", CLIENT])), PUBLIC, EXPECTED).jti == "a" * 32


@pytest.mark.parametrize(
    ("token", "err"),
    [
        (sign(claims(aud="another-client")), "invalid_audience"),
        (sign(claims(aud=["x", "y"])), "invalid_audience"),
        (sign(claims(iss="https://evil.example/op")), "invalid_issuer"),
        (sign(claims(), typ="JWT"), "invalid_request"),
        (sign(claims(events={})), "invalid_request"),
        (sign(claims(events={PUPILS_MERGED: MERGE, PROTOCOL_ENDED: {}})), "invalid_request"),
        (sign(claims(events={"urn:leerid:event:unknown": {}})), "invalid_request"),
        (sign(claims(events={PUPILS_MERGED: ["not", "an", "object"]})), "invalid_request"),
        (sign(claims(jti=None)), "invalid_request"),
        (sign(claims(txn=None)), "invalid_request"),
        (sign(claims(iat="yesterday")), "invalid_request"),
        (sign(claims(iat=int((NOW - MAX_AGE).timestamp()) - 1)), "invalid_request"),
        (sign(claims(iat=int(NOW.timestamp()) + SKEW + 1)), "invalid_request"),
        ("not a jws", "invalid_request"),
    ],
    ids=[
        "wrong-aud",
        "aud-list-without-us",
        "wrong-iss",
        "wrong-typ",
        "no-event",
        "two-events",
        "unknown-type",
        "event-not-object",
        "no-jti",
        "no-txn",
        "iat-not-number",
        "expired",
        "future",
        "garbage",
    ],
)
def test_each_refusal_names_its_rfc_8935_code(token: str, err: str) -> None:
    assert rejected(token).err == err


def test_a_bad_signature_is_invalid_key() -> None:
    head, _payload, sig = sign(claims()).split(".")
    forged = b64(json.dumps(claims(aud=CLIENT, jti="b" * 32)).encode())
    assert rejected(f"{head}.{forged}.{sig}").err == "invalid_key"
    other = RSAKey.generate_key(2048, parameters={"kid": "dov-1"})  # same kid, other key
    assert rejected(sign(claims(), other)).err == "invalid_key"


def test_alg_none_and_hmac_are_refused_before_any_key_is_used() -> None:
    header = b64(json.dumps({"alg": "none", "typ": "secevent+jwt"}).encode())
    payload = b64(json.dumps(claims()).encode())
    assert rejected(f"{header}.{payload}.").err == "invalid_key"
    secret = OctKey.import_key(b"k" * 32, parameters={"kid": "dov-1"})
    assert rejected(sign(claims(), secret, alg="HS256")).err == "invalid_key"


def test_an_unknown_kid_asks_for_the_key_set_again() -> None:
    rotated = RSAKey.generate_key(2048, parameters={"kid": "dov-2"})
    with pytest.raises(UnknownKey):
        verify_set(sign(claims(), rotated), PUBLIC, EXPECTED)
    both = KeySet.import_key_set(KeySet([KEY, rotated]).as_dict(private=False))
    assert verify_set(sign(claims(), rotated), both, EXPECTED).jti == "a" * 32


@given(offset=st.integers(min_value=-200 * 86400, max_value=200 * 86400))
def test_the_freshness_window_is_max_age_back_and_sixty_seconds_ahead(offset: int) -> None:
    """A SET is fresh exactly when now - max_age <= iat <= now + 60 s."""
    iat = int(NOW.timestamp()) + offset
    fresh = -MAX_AGE.total_seconds() <= offset <= SKEW
    try:
        check_fresh(iat, NOW, MAX_AGE)
        assert fresh
    except SetRejected as exc:
        assert not fresh and exc.err == "invalid_request"


@given(days=st.integers(min_value=1, max_value=400), back=st.integers(min_value=0, max_value=400))
def test_the_max_age_setting_moves_the_window(days: int, back: int) -> None:
    iat = int((NOW - dt.timedelta(days=back)).timestamp())
    try:
        check_fresh(iat, NOW, dt.timedelta(days=days))
        assert back <= days
    except SetRejected:
        assert back > days


_HEADERS = st.sampled_from(
    [
        {"alg": "RS256"},
        {"alg": "RS256", "typ": "secevent+jwt", "kid": "dov-1"},
        {"alg": "RS256", "typ": "secevent+jwt", "kid": "dov-1", "crit": ["b64"], "b64": False},
        {"alg": ["RS256"], "typ": "secevent+jwt"},
        [1, 2],
        "text",
    ]
)


@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(st.binary(max_size=40).map(b64), min_size=1, max_size=4).map(".".join),
        st.tuples(_HEADERS, st.binary(max_size=60), st.binary(max_size=300)).map(
            lambda t: ".".join([b64(json.dumps(t[0]).encode()), b64(t[1]), b64(t[2])])
        ),
    )
)
def test_any_token_is_verified_or_refused_with_a_code(token: str) -> None:
    """Whatever comes in ``sets`` (bytes, broken JSON, odd headers, no signature), the kit
    answers with an RFC 8935 code (``setErrs``), never with an exception of its own."""
    with pytest.raises(SetRejected) as caught:
        verify_set(token, PUBLIC, EXPECTED)
    assert caught.value.err in {"invalid_request", "invalid_key"}
