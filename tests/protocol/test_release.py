"""Claim release: exactly what the protocol lists for the granted scopes, only while in force."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from leerid.protocol import (
    AttributeKey,
    Protocol,
    PupilClaims,
    allowed_scopes,
    permits_disclosure,
    release_claims,
)
from leerid.protocol.release import CLAIM_ATTRIBUTE, SCOPE_CLAIMS
from tests.protocol.helpers import seed, seed_data

IN_FORCE = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
IDENTIFIED = PupilClaims(
    account_uuid="6f1c2a9e-6a43-4a5e-9a43-0d2f8c1b7e11",
    leer_id_uuid="0b8f4c57-1b1e-4b9a-9d0f-2d3c4e5f6a7b",
    historiek_account_uuid=("1d7e2b9a-0000-4000-8000-000000000001",),
    instellingsnummers=("012345", "998877"),
    insz="00091501119",
    naam="Peeters",
    voornaam="Lotte",
)
ALL_SCOPES = ("openid", "profile", "ov_leerling", "rrn")


def test_seed_releases_names_and_leerid_claims_but_never_the_insz() -> None:
    claims = release_claims(seed(), ALL_SCOPES, IDENTIFIED, IN_FORCE)
    assert claims == {
        "sub": IDENTIFIED.account_uuid,
        "given_name": "Lotte",
        "family_name": "Peeters",
        "ov_account_uuid": IDENTIFIED.account_uuid,
        "ov_leerid_uuid": IDENTIFIED.leer_id_uuid,
        "ov_historiek_account_uuid": list(IDENTIFIED.historiek_account_uuid),
        "ov_orgcode": ["012345", "998877"],
    }
    # Art. 3: no decretal basis in the seed, so no 'rrn' even when asked for.
    assert "rrn" not in claims and "rrn" not in allowed_scopes(seed())


def test_only_the_granted_scopes() -> None:
    assert release_claims(seed(), ["openid"], IDENTIFIED, IN_FORCE) == {
        "sub": IDENTIFIED.account_uuid
    }
    assert set(release_claims(seed(), ["openid", "profile"], IDENTIFIED, IN_FORCE)) == {
        "sub",
        "given_name",
        "family_name",
    }
    assert release_claims(seed(), ["openid", "email", "phone"], IDENTIFIED, IN_FORCE) == {
        "sub": IDENTIFIED.account_uuid
    }


def test_unidentified_pupil_has_no_leerid_uuid() -> None:
    """Art. 3: Leer_id_uuid only for pupils identified with INSZ."""
    pupil = PupilClaims(
        account_uuid="tmp-account",
        leer_id_uuid=None,
        historiek_account_uuid=(),
        instellingsnummers=("012345",),
        insz=None,
        naam="X",
        voornaam="Y",
    )
    claims = release_claims(seed(), ["openid", "ov_leerling"], pupil, IN_FORCE)
    assert claims == {
        "sub": "tmp-account",
        "ov_account_uuid": "tmp-account",
        "ov_historiek_account_uuid": [],
        "ov_orgcode": ["012345"],
    }


def test_rrn_with_a_decretal_basis() -> None:
    data = seed_data()
    data["decretal_basis"] = {"present": True, "reference": "decreet X, art. Y"}
    protocol = Protocol.model_validate(data)
    assert "rrn" in allowed_scopes(protocol)
    assert release_claims(protocol, ["openid", "rrn"], IDENTIFIED, IN_FORCE) == {
        "sub": IDENTIFIED.account_uuid,
        "rrn": "00091501119",
    }


def test_nothing_before_entry_into_force() -> None:
    """Art. 11: before both signatures there is nothing to release."""
    before = dt.datetime(2024, 3, 25, 13, 40, 37, tzinfo=dt.UTC)  # 14:40:37 +01:00
    assert release_claims(seed(), ALL_SCOPES, IDENTIFIED, before) == {}
    assert release_claims(seed(), ALL_SCOPES, IDENTIFIED, before + dt.timedelta(seconds=1))


# --- property: over random protocols, scopes and pupils ----------------------------------

OPTIONAL_KEYS = [k for k in AttributeKey if k is not AttributeKey.ACCOUNT_UUID]
SEED_ATTRIBUTES = {a["key"]: a for a in seed_data()["data"]["attributes"]}
uuids = st.uuids().map(str)


@st.composite
def protocols(draw: st.DrawFn) -> Protocol:
    data: dict[str, Any] = seed_data()
    keys = ["account_uuid", *draw(st.sets(st.sampled_from([k.value for k in OPTIONAL_KEYS])))]
    data["data"]["attributes"] = [SEED_ATTRIBUTES[k] for k in keys]
    data["data"]["request_keys"] = [k for k in ("leer_id_uuid", "account_uuid") if k in keys]
    if draw(st.booleans()):
        data["decretal_basis"] = {"present": True, "reference": "decreet, art. 1"}
    signatures = data["signatures"]
    data["signatures"] = draw(st.sampled_from([signatures, signatures[:1], []]))
    changes = draw(
        st.sampled_from(
            [
                [],
                [
                    {
                        "kind": "terminated",
                        "effective": "2025-03-01T00:00:00Z",
                        "reason": "r",
                        "by": "discloser",
                    }
                ],
                [{"kind": "ended", "effective": "2024-12-01T00:00:00Z", "reason": "r"}],
            ]
        )
    )
    data["status_changes"] = changes
    return Protocol.model_validate(data)


pupils = st.builds(
    PupilClaims,
    account_uuid=uuids,
    leer_id_uuid=st.none() | uuids,
    historiek_account_uuid=st.lists(uuids, max_size=3).map(tuple),
    instellingsnummers=st.lists(st.from_regex(r"\d{6}", fullmatch=True), max_size=3).map(tuple),
    insz=st.none() | st.just("00091501119"),
    naam=st.text(min_size=1, max_size=20),
    voornaam=st.text(min_size=1, max_size=20),
)
scopes = st.sets(st.sampled_from([*ALL_SCOPES, "offline_access", "email", "ov_admin"]))
moments = st.datetimes(
    min_value=dt.datetime(2022, 1, 1), max_value=dt.datetime(2027, 1, 1), timezones=st.just(dt.UTC)
)


@settings(max_examples=300, deadline=None)
@given(protocol=protocols(), granted=scopes, pupil=pupils, at=moments)
def test_no_claim_outside_the_protocol_and_nothing_outside_in_force(
    protocol: Protocol, granted: set[str], pupil: PupilClaims, at: dt.datetime
) -> None:
    released = release_claims(protocol, granted, pupil, at)
    if not permits_disclosure(protocol, at):
        assert released == {}
        return
    listed = protocol.attribute_keys
    for claim in released:
        attribute = CLAIM_ATTRIBUTE[next(c for c in CLAIM_ATTRIBUTE if c.value == claim)]
        assert attribute in listed, f"{claim} released but {attribute} not in the protocol"
        scope = next(s for s, cs in SCOPE_CLAIMS.items() if any(c.value == claim for c in cs))
        assert scope in granted, f"{claim} released without scope {scope}"
        assert scope in allowed_scopes(protocol)
    if "rrn" in released:
        assert protocol.decretal_basis.present
    # Exactly: every claim the protocol lists for a granted scope is there when the pupil has it.
    for scope in granted & set(SCOPE_CLAIMS):
        for claim in SCOPE_CLAIMS[scope]:
            has_value = {
                "ov_leerid_uuid": pupil.leer_id_uuid is not None,
                "rrn": pupil.insz is not None and protocol.decretal_basis.present,
            }.get(claim.value, True)
            if CLAIM_ATTRIBUTE[claim] in listed and has_value:
                assert claim.value in released


@given(protocol=protocols())
def test_allowed_scopes_follow_the_listed_attributes(protocol: Protocol) -> None:
    keys = protocol.attribute_keys
    scopes = allowed_scopes(protocol)
    assert "openid" in scopes
    assert ("profile" in scopes) == bool(keys & {AttributeKey.NAAM, AttributeKey.VOORNAAM})
    assert "ov_leerling" in scopes  # account_uuid is always listed
    assert ("rrn" in scopes) == (AttributeKey.INSZ in keys and protocol.decretal_basis.present)
    assert scopes <= set(SCOPE_CLAIMS)
