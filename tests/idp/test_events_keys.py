"""A retired signing key stays while it signs a pending SET (issue 10; RFC 8936 §2.4: a SET is
delivered until acknowledged, up to 90 days), and the migration that records each SET's key.

Store level, on each backend: the publisher records the kid; ``rotate_keys`` and ``KeyRing``
keep a key past the ID tokens' cutoff while a SET it signed is pending, and drop it once that
SET is acknowledged, rejected or purged. The end-to-end case (a real provider and the kit) is
``tests/sp/test_events_flow.py``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from joserfc.jws import extract_compact
from sqlalchemy import Engine, event, insert, inspect, select
from sqlalchemy.orm import Session

from leerid.idp.store.clients import add_client
from leerid.idp.store.event_publisher import publish
from leerid.idp.store.event_retention import PENDING_DAYS, purge_events
from leerid.idp.store.events import SecurityEvent, acknowledge, report_errors
from leerid.idp.store.keys import KeyRing, ensure_keys, rotate_keys
from leerid.idp.store.models import IdpSigningKey
from leerid.registry.changes import Change, ChangeKind, record_change
from leerid.schema import alembic_config, load_all_models, upgrade
from leerid.store.base import Base
from leerid.store.engine import make_engine

ISSUER = "https://dov.example/op"
PARENT = "0010_idp_security_events"


def _published_set(engine: Engine, ring: KeyRing) -> tuple[str, str, str]:
    """A client, one change addressed to it, published: (client id, jti, kid of the row)."""
    client, _ = add_client(
        engine, name="A", protocol_id="p-none", redirect_uris=["https://a.example/cb"]
    )
    with Session(engine) as session, session.begin():
        payload = {"code": "DQ-7K3M", "status": "gesloten", "resolution": "ok", "closed_at": None}
        change = Change(
            ChangeKind.QUALITY_REPORT_STATUS, client_id=client.client_id, payload=payload
        )
        record_change(session, change)
    assert publish(engine, lambda: ring.signing_key("RS256"), ISSUER).sets == 1
    with engine.connect() as conn:
        jti, jws, kid = conn.execute(
            select(SecurityEvent.jti, SecurityEvent.jws, SecurityEvent.kid)
        ).one()
    assert kid is not None and extract_compact(jws.encode()).headers()["kid"] == kid  # its key
    return client.client_id, jti, kid


def _kids_in_table(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(IdpSigningKey.kid)).scalars())


def _published(ring: KeyRing) -> set[str]:
    ring.invalidate()
    return {k["kid"] for k in ring.jwks()["keys"]}


def _answer(engine: Engine, how: str, client_id: str, jti: str) -> None:
    """The SET stops being pending: acknowledged, rejected (setErrs) or purged (90 days)."""
    now = dt.datetime.now(dt.UTC)
    if how == "purged":
        purge_events(engine, now + dt.timedelta(days=PENDING_DAYS + 1))
        return
    with engine.begin() as conn:
        if how == "acknowledged":
            assert acknowledge(conn, client_id, [jti], now) == 1
        else:
            assert report_errors(conn, client_id, {jti: ("invalid_key", "no key")}, now) == 1


@pytest.mark.parametrize("how", ["acknowledged", "rejected", "purged"])
def test_a_retired_key_stays_while_it_signs_a_pending_set(engine: Engine, how: str) -> None:
    ensure_keys(engine)
    ring = KeyRing(engine, 0, 0)  # ID tokens live 0 s: every retired key is past its cutoff
    client_id, jti, kid = _published_set(engine, ring)
    first = _kids_in_table(engine)
    rotate_keys(engine, token_lifetime=0)  # retires the key that signed the SET
    second = rotate_keys(engine, token_lifetime=0)  # now it is past the cutoff
    assert second.kept == {kid: 1}
    assert set(second.removed) == first - {kid}  # the EC key signed no SET: gone
    assert kid in _kids_in_table(engine) and kid in _published(ring)
    assert ring.by_kid(kid) is not None
    assert set(rotate_keys(engine, token_lifetime=0).removed).isdisjoint({kid})  # still pending

    _answer(engine, how, client_id, jti)
    assert kid not in _published(ring)  # nothing pending: past its cutoff, not published
    last = rotate_keys(engine, token_lifetime=0)
    assert kid in last.removed and last.kept == {}
    assert kid not in _kids_in_table(engine)


def test_a_key_within_the_id_token_lifetime_is_not_looked_up(engine: Engine) -> None:
    """Only keys past the ID tokens' cutoff are checked, with one query for all of them."""
    ensure_keys(engine)
    hour = KeyRing(engine, 3600, 0)
    _published_set(engine, hour)
    rotate_keys(engine)
    with _statements_on(engine, "idp_security_event") as seen:
        assert len(_published(hour)) == 4  # retired a moment ago: published for the hour
    assert seen == []
    rotate_keys(engine, token_lifetime=0)
    rotate_keys(engine, token_lifetime=0)
    late = KeyRing(engine, 0, 0)
    with _statements_on(engine, "idp_security_event") as seen:
        assert len(_published(late)) == 3  # the new pair and the key of the pending SET
    assert len(seen) == 1


@contextmanager
def _statements_on(engine: Engine, table: str) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` that name ``table``, while in the block."""
    seen: list[str] = []

    def note(*args: Any) -> None:
        if table in str(args[2]):
            seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_the_migration_matches_the_model(engine: Engine) -> None:
    load_all_models()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "idp_security_event" in repr(d)] == []
    indexes = {i["name"] for i in inspect(engine).get_indexes("idp_security_event")}
    assert "ix_idp_security_event_kid_state" in indexes


def _jws(header: dict[str, Any]) -> str:
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{encoded}.eyJ9.c2ln"


def _row(n: int, jws: str) -> dict[str, Any]:
    return {
        "client_id": "lars",
        "jti": f"{n:032x}",
        "change_id": n,
        "event_type": "urn:leerid:event:quality-report-status",
        "jws": jws,
        "state": "pending" if n % 2 else "acked",
        "created_at": dt.datetime.now(dt.UTC),
    }


def test_the_migration_reads_old_rows_kid_from_their_header(database_url: str) -> None:
    """Rows stored before the column get the kid of their JWS header, batch after batch; a
    header that cannot be read leaves NULL. Downgrading removes the column, keeping the rows."""
    old = make_engine(database_url)
    upgrade(old, PARENT)
    signed = [
        _jws({"alg": "RS256", "kid": f"kid-{n % 3}", "typ": "secevent+jwt"}) for n in range(2300)
    ]
    odd = [
        "not a jws",
        _jws({"alg": "RS256", "typ": "secevent+jwt"}),  # no kid
        _jws({"alg": "RS256", "kid": "k" * 65}),  # longer than the column
        _jws({"alg": "RS256", "kid": "far", "x": "y" * 400}),  # header past the part read
        "!!!." + "eyJ9.c2ln",  # not base64 JSON
    ]
    with old.begin() as conn:
        conn.execute(
            insert(SecurityEvent.__table__), [_row(n, j) for n, j in enumerate(signed + odd)]
        )
    upgrade(old)
    with old.connect() as conn:
        kids = dict(conn.execute(select(SecurityEvent.change_id, SecurityEvent.kid)).all())
    assert [kids[n] for n in range(len(signed))] == [f"kid-{n % 3}" for n in range(len(signed))]
    assert [kids[len(signed) + n] for n in range(len(odd))] == [None] * len(odd)

    command.downgrade(alembic_config(old), PARENT)
    assert "kid" not in {c["name"] for c in inspect(old).get_columns("idp_security_event")}
    with old.connect() as conn:
        assert len(conn.execute(select(SecurityEvent.__table__.c.id)).all()) == len(kids)
    upgrade(old)  # and up again
    assert "kid" in {c["name"] for c in inspect(old).get_columns("idp_security_event")}
    old.dispose()
