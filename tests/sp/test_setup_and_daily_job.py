"""The set-up steps of docs/service-provider.md, and the server's daily retention job."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import select

from leerid.sp.kit.last_login import record_login
from leerid.sp.kit.login_claims import LoginAttributes
from leerid.sp.kit.models import PrivacyLogEntry, PupilRecord, StaffLoginThrottleRow
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.setup import StaffSeed, add_staff_accounts, write_client_key, write_config
from leerid.sp.kit.staff import list_staff
from leerid.sp.kit.throttle import StaffLoginThrottle
from leerid.store.engine import session_scope
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import PROTOCOL


def test_setup_then_the_server_purges_inactive_pupils_on_start(
    database_url: str, tmp_path: Path
) -> None:
    """Art. 3: the daily job inside the server deletes pupils inactive for P3Y (and the
    staff login throttle's spent rows)."""
    jwks = json.loads(write_client_key(tmp_path).read_text())
    assert jwks["keys"][0]["kty"] == "RSA" and "d" not in jwks["keys"][0]
    port = free_port()
    config = write_config(
        tmp_path,
        issuer="http://127.0.0.1:9/op",
        client_id="lars-demo",
        protocol_file=PROTOCOL,
        partner_schools=["012345"],
        port=port,
        database_url=database_url,
    )
    add_staff_accounts(config, [StaffSeed("dpo.lars", "dpo", "een-lang-wachtwoord")])
    provider = ServiceProvider(load_settings(config))
    assert [s.username for s in list_staff(provider.engine)] == ["dpo.lars"]
    old = str(uuid.uuid4())
    with session_scope(provider.engine) as session:
        record_login(
            session,
            LoginAttributes(old, None, (), ("012345",), "Oud", "Account"),
            dt.datetime.now(dt.UTC) - dt.timedelta(days=3 * 366 + 1),
        )
    two_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    throttle = StaffLoginThrottle(provider.engine, provider.settings.staff_login, b"k" * 32)
    throttle.failed("dpo.lars", "198.51.100.7", two_hours_ago)  # a spent account + address
    with serve_portal(provider, port) as url:
        assert httpx.get(f"{url}/healthz").text == "ok"
        deadline = time.monotonic() + 30
        while True:
            with session_scope(provider.engine) as session:
                left = session.scalars(select(PupilRecord.pupil_key)).all()
                receipts = session.scalars(
                    select(PrivacyLogEntry.detail).where(
                        PrivacyLogEntry.action == "bewaartermijn_verwijdering"
                    )
                ).all()
                throttled = session.scalars(select(StaffLoginThrottleRow.key)).all()
            if not left and not throttled:  # issue 8 §5: spent throttle rows go too
                break
            assert time.monotonic() < deadline, f"the daily job left {left} and {throttled}"
            time.sleep(0.2)
    assert len(receipts) == 1 and json.loads(receipts[0])["aantal"] == 1
    provider.engine.dispose()
