"""The identity provider's side: quality reports (art. 7) and a pupil's own disclosures."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.conftest import BACKENDS
from tests.idp_server import running_idp, seed_idp
from tests.sp.lars_world import FAST_HASH


@pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)
def test_quality_reports_need_client_authentication_and_stay_per_client(
    database_url: str,
) -> None:
    with running_idp(database_url, more_env=FAST_HASH) as idp:
        url = f"{idp.issuer}/v1/quality-reports"
        auth = (idp.client_id, idp.client_secret)
        report = {
            "pupil_key": idp.pupil.leer_id_uuid,
            "attribute": "family_name",
            "problem": "verouderd",
            "comment": "nieuwe naam",
        }
        assert httpx.post(url, data=report).status_code == 401
        assert httpx.post(url, data=report, auth=(idp.client_id, "wrong")).status_code == 401
        bad = httpx.post(url, data={**report, "attribute": "geboortedatum"}, auth=auth)
        assert bad.status_code == 400 and "attribute must be one of" in bad.text
        bad = httpx.post(url, data={**report, "problem": "raar"}, auth=auth)
        assert bad.status_code == 400
        bad = httpx.post(url, data={**report, "comment": "rrn 00091501119"}, auth=auth)
        assert bad.status_code == 400 and "national register number" in bad.text
        created = httpx.post(url, data=report, auth=auth)
        assert created.status_code == 201 and created.json()["status"] == "open"
        report_id = created.json()["id"]
        status = httpx.post(f"{url}/status", data={"ids": f"{report_id} {uuid.uuid4()}"}, auth=auth)
        assert [r["id"] for r in status.json()["reports"]] == [report_id]
        other = seed_idp(database_url)  # another provider sees none of these reports
        time.sleep(6)  # the provider caches its clients for 5 seconds
        theirs = httpx.post(
            f"{url}/status", data={"ids": report_id}, auth=(other.client_id, other.client_secret)
        )
        assert theirs.status_code == 200 and theirs.json()["reports"] == []

        mine = f"{idp.issuer}/v1/disclosures/mine"
        assert httpx.get(mine).status_code == 401
        unknown = httpx.get(mine, headers={"Authorization": "Bearer not-a-token"})
        assert unknown.status_code == 401 and "invalid_token" in unknown.text
