"""Every SET the recipient must refuse, checked against the real provider's key set: wrong
audience, wrong issuer, bad signature, ``alg: none``, expired, and a replay. A refused SET is
never applied and is logged (its type and jti only); a replay is acknowledged, not redone."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from leerid.idp.store.models import IdpSigningKey
from leerid.sp.kit.events_client import EventsClient
from leerid.sp.kit.models import AppliedEvent, PrivacyLogEntry, PupilRecord
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.set_verify import ACCOUNT_DELETED
from leerid.store.engine import make_engine, session_scope
from leerid.testing.browser import Browser
from tests.sp.lars_world import Lars, lars_world


def provider_key(database_url: str) -> RSAKey:
    """The provider's own signing key (a test forges with it to reach the claim checks)."""
    engine = make_engine(database_url)
    with engine.connect() as conn:
        row = conn.execute(
            select(IdpSigningKey.kid, IdpSigningKey.private_jwk).where(IdpSigningKey.kty == "RSA")
        ).first()
    engine.dispose()
    assert row is not None
    return RSAKey.import_key(json.loads(row.private_jwk), parameters={"kid": row.kid})


def claims(lars: Lars, jti: str, **changes: Any) -> dict[str, Any]:
    body = {
        "iss": lars.idp.issuer,
        "aud": lars.provider.settings.client_id,
        "iat": int(time.time()),
        "jti": jti,
        "txn": "1",
        "events": {
            ACCOUNT_DELETED: {
                "leer_id_uuid": lars.idp.pupil.leer_id_uuid,
                "account_uuids": [],
                "reason": "test",
            }
        },
    }
    body.update(changes)
    return body


def signed(key: RSAKey, body: dict[str, Any], **header: Any) -> str:
    head = {"alg": "RS256", "kid": key.kid, "typ": "secevent+jwt", **header}
    return jwt.encode(head, body, key)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_every_refused_set_is_never_applied_and_is_logged(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with lars_world(database_url, tmp_path, poll_interval=0) as lars:
        pupil = lars.idp.pupil
        assert Browser().lars_login(lars.url, pupil.username, pupil.password).status_code == 200
        key = provider_key(database_url)
        stranger = RSAKey.generate_key(2048, parameters={"kid": key.kid})  # same kid
        jtis = {name: uuid.uuid4().hex for name in ("aud", "iss", "sig", "none", "old", "ok")}
        good = signed(key, claims(lars, jtis["ok"]))
        unsigned = (
            b64({"alg": "none", "typ": "secevent+jwt"})
            + "."
            + b64(claims(lars, jtis["none"]))
            + "."
        )
        sets = {
            jtis["aud"]: signed(key, claims(lars, jtis["aud"], aud="another-client")),
            jtis["iss"]: signed(key, claims(lars, jtis["iss"], iss="https://evil.example/op")),
            jtis["sig"]: signed(stranger, claims(lars, jtis["sig"])),
            jtis["none"]: unsigned,
            jtis["old"]: signed(key, claims(lars, jtis["old"], iat=int(time.time()) - 91 * 86400)),
        }

        async def receive(batch: dict[str, str]) -> Any:
            rp = RelyingParty(lars.provider.settings)
            try:
                client = EventsClient(lars.provider.settings, lars.provider.engine, rp)
                return await client.receive(batch)
            finally:
                await rp.aclose()

        refused = asyncio.run(receive(sets))
        codes = {name: refused.errors[jti].err for name, jti in jtis.items() if jti in sets}
        assert codes == {
            "aud": "invalid_audience",
            "iss": "invalid_issuer",
            "sig": "invalid_key",
            "none": "invalid_key",
            "old": "invalid_request",
        }
        assert refused.applied == 0 and refused.acknowledge == []
        with session_scope(lars.provider.engine) as session:
            assert session.get(PupilRecord, pupil.leer_id_uuid) is not None  # not applied
            applied = set(session.scalars(select(AppliedEvent.jti)))
            assert applied and not applied & set(sets)  # only the welcome, before
            logged = session.scalars(
                select(PrivacyLogEntry.detail).where(
                    PrivacyLogEntry.action == "gebeurtenis_geweigerd"
                )
            ).all()
        assert len(logged) == 5 and not any(pupil.leer_id_uuid in d for d in logged)
        warnings = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
        assert len(warnings) == 5 and not any(pupil.leer_id_uuid in w for w in warnings)
        # the good one is applied once; delivered again (a replay) it is acknowledged only
        first = asyncio.run(receive({jtis["ok"]: good}))
        again = asyncio.run(receive({jtis["ok"]: good}))
        assert (first.applied, again.applied, again.duplicates) == (1, 0, 1)
        assert again.acknowledge == [jtis["ok"]]
        with session_scope(lars.provider.engine) as session:
            assert session.get(PupilRecord, pupil.leer_id_uuid) is None  # art. 3: deleted
            deletions = session.scalars(
                select(PrivacyLogEntry.seq).where(
                    PrivacyLogEntry.action == "verwijderd_bij_departement"
                )
            ).all()
        assert len(deletions) == 1
