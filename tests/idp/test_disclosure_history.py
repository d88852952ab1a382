"""Issue 8 §2: a pupil's disclosure history covers every account the pupil has or had.

Releases made under a temporary account before identification carry no ``leer_id_uuid``;
after identification that account is retired into the pupil's ``historiek_account_uuid``.
``leerid disclosures list --leerid-uuid`` and ``GET /op/v1/disclosures/mine`` (which the
LARS page shows) must still list them, and those under a ``leer_id_uuid`` merged into the
pupil's. Real provider on loopback, real token, both backends.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid

import httpx
from sqlalchemy import insert, select

from leerid.idp.store.disclosures import record_disclosure
from leerid.registry.models import Account, AccountStatus, MergeRecord
from leerid.store.engine import make_engine
from tests.conftest import run_leerid
from tests.idp.flow import full_login
from tests.idp_server import RunningIdp

LONG_AGO = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def test_history_covers_retired_accounts_and_merged_identifiers(idp: RunningIdp) -> None:
    engine = make_engine(idp.database_url)
    temporary, absorbed = str(uuid.uuid4()), str(uuid.uuid4())
    with engine.begin() as conn:
        pupil_id = conn.execute(
            select(Account.pupil_id).where(Account.account_uuid == idp.pupil.account_uuid)
        ).scalar_one()
        conn.execute(
            insert(Account).values(
                account_uuid=temporary,
                pupil_id=pupil_id,
                status=AccountStatus.RETIRED,
                referte=None,
                created_at=LONG_AGO,
                retired_at=LONG_AGO + 30 * DAY,
            )
        )
        conn.execute(
            insert(MergeRecord).values(
                kept_leer_id_uuid=idp.pupil.leer_id_uuid,
                absorbed_leer_id_uuid=absorbed,
                operator="test",
                reason="two registrations of one pupil",
            )
        )
        released = [
            # Before identification: the temporary account, no leer_id_uuid.
            (idp.client_id, "userinfo", "given_name", None, temporary, LONG_AGO),
            ("another-provider", "userinfo", "family_name", None, temporary, LONG_AGO),
            # Under the identifier merged into the pupil's.
            (idp.client_id, "token", "ov_leerid_uuid", absorbed, None, LONG_AGO + DAY),
        ]
        for client, endpoint, claim, leer_id_uuid, account_uuid, at in released:
            record_disclosure(
                conn,
                client_id=client,
                endpoint=endpoint,
                claims=[claim],
                leer_id_uuid=leer_id_uuid,
                account_uuid=account_uuid,
                at=at,
                protocol_id=idp.seed.protocol_id,
                protocol_hash=None,
            )
    engine.dispose()

    rp, _, auth, location = full_login(idp)
    token = rp.fetch_token(location, auth.verifier)["access_token"]
    answer = httpx.get(
        f"{idp.issuer}/v1/disclosures/mine", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    mine = answer.json()["disclosures"]
    old = [d for d in mine if d["at"].startswith("2025-01")]
    assert sorted((d["endpoint"], tuple(d["claims"])) for d in old) == [
        ("token", ("ov_leerid_uuid",)),
        ("userinfo", ("given_name",)),
    ], "the pupil's history before identification and under a merged identifier"
    assert any(not d["at"].startswith("2025") for d in mine), "and today's login"
    assert "family_name" not in {c for d in old for c in d["claims"]}, "other providers' stay out"

    env = {**os.environ, "LEERID_DATABASE_URL": idp.database_url, "COLUMNS": "200"}
    listed = run_leerid(
        ["disclosures", "list", "--leerid-uuid", idp.pupil.leer_id_uuid, "--json"], env
    )
    assert listed.returncode == 0, listed.stderr
    records = [json.loads(line) for line in listed.stdout.splitlines()]
    accounts = {r["account_uuid"] for r in records}
    assert temporary in accounts and idp.pupil.account_uuid in accounts
    assert absorbed in {r["leer_id_uuid"] for r in records}
    assert {r["client_id"] for r in records} >= {idp.client_id, "another-provider"}
    one = run_leerid(["disclosures", "list", "--account-uuid", temporary, "--json"], env)
    assert one.returncode == 0, one.stderr
    assert {json.loads(line)["account_uuid"] for line in one.stdout.splitlines()} == {temporary}
