"""Benchmark of DOV → recipient events (issue 10, points 3 and 4): throughput and lag.

Throughput: N pupils whose data LARS received (a disclosure each at DOV, a last-login record
each at LARS); N changes at DOV (half merges, half deletions); the provider's publisher turns
them into N signed SETs (the signing rate is printed); then ``leerid sp sync`` (the kit's
``EventsClient``) fetches them from the running provider over HTTP, verifies each SET's
signature, issuer, audience and freshness, and applies each with its privacy-log entry:
SETs verified and applied per second.

Lag: the LARS portal runs (``leerid sp serve``) with its poller every ``--interval`` seconds;
``--changes`` merges are made at DOV at random moments over ``--seconds``; the lag of each is
the time from the change at DOV to its SET applied at LARS (p50, p99, max, against the
target of one poll interval + 1 s).

    .venv/bin/python bench/events.py [--pupils 20000] [--interval 5] [--changes 40]
        [--seconds 40] [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Default database: SQLite files in a temporary folder. With a PostgreSQL URL DOV and LARS get
fresh schemas ``bench_events_dov`` and ``bench_events_lars``, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from leerid.idp.store.disclosures import DisclosureEntry, insert_disclosure
from leerid.idp.store.event_publisher import publish
from leerid.idp.store.keys import KeyRing
from leerid.registry.changes import Change, ChangeKind, DovChange, record_changes
from leerid.schema import get_engine
from leerid.sp.kit.events_client import EventsClient
from leerid.sp.kit.models import AppliedEvent, PupilRecord
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.setup import write_client_key, write_config
from leerid.testing.databases import drop_schema, fresh_schema
from leerid.testing.seeding import register_client, store_protocol
from leerid.testing.servers import free_port, start_idp, start_portal

PROTOCOL = Path(__file__).resolve().parents[1] / "protocols" / "dov-lars-glce-2024.yaml"
SCHOOL = "000001"


def databases(url: str, folder: Path) -> tuple[str, str]:
    if not url:
        return f"sqlite:///{folder / 'dov.db'}", f"sqlite:///{folder / 'lars.db'}"
    return fresh_schema(url, "bench_events_dov"), fresh_schema(url, "bench_events_lars")


def seed_pupils(dov_url: str, provider: ServiceProvider, client_id: str, n: int) -> list[str]:
    """``n`` pupils disclosed to the client at DOV and recorded at LARS; their Leer_id_uuids."""
    now = dt.datetime.now(dt.UTC)
    keys = [str(uuid.uuid4()) for _ in range(n)]
    engine = get_engine(dov_url)
    with engine.begin() as conn:
        for key in keys:
            insert_disclosure(
                conn,
                DisclosureEntry(
                    client_id=client_id,
                    endpoint="token",
                    claims=("ov_account_uuid", "ov_leerid_uuid"),
                    protocol_id=provider.protocol.id,
                    protocol_hash=None,
                    leer_id_uuid=key,
                    account_uuid=str(uuid.uuid4()),
                    at=now,
                ),
            )
    with provider.engine.begin() as conn:
        rows = [
            {
                "pupil_key": key,
                "key_kind": "leer_id_uuid",
                "account_uuid": str(uuid.uuid4()),
                "given_name": None,
                "family_name": None,
                "orgcodes": SCHOOL,
                "last_login_at": now,
            }
            for key in keys
        ]
        for start in range(0, len(rows), 5000):
            conn.execute(insert(PupilRecord), rows[start : start + 5000])
    return keys


def change(key: str, merge: bool) -> Change:
    """A merge of ``key`` into a new Leer_id_uuid, or the deletion of ``key`` at DOV."""
    if merge:
        kept = str(uuid.uuid4())
        payload = {"kept_leer_id_uuid": kept, "absorbed_leer_id_uuid": key, "merged_at": "now"}
        return Change(ChangeKind.PUPILS_MERGED, leer_id_uuid=key, payload=payload)
    payload = {"leer_id_uuid": key, "account_uuids": [], "reason": "bench"}
    return Change(ChangeKind.ACCOUNT_DELETED, leer_id_uuid=key, payload=payload)


async def sync_all(client: EventsClient) -> int:
    """``leerid sp sync`` until a round applies nothing; the SETs applied."""
    applied = 0
    try:
        while True:
            result = await client.sync()
            assert result is not None
            if result.rejected or result.failed:
                raise SystemExit(f"sync: {result.rejected} rejected, {result.failed} failed")
            applied += result.applied
            if result.applied == 0:
                return applied
    finally:
        await client.rp.aclose()


def throughput(dov_url: str, issuer: str, provider: ServiceProvider, keys: list[str]) -> None:
    engine = get_engine(dov_url)
    with Session(engine) as session, session.begin():
        record_changes(session, [change(k, i % 2 == 0) for i, k in enumerate(keys)])
    ring = KeyRing(engine, 3600, 60)
    started, published = time.perf_counter(), 0
    while True:
        done = publish(engine, lambda: ring.signing_key("RS256"), issuer, limit=1000)
        published += done.sets
        if done.changes == 0:
            break
    took = time.perf_counter() - started
    print(f"publish: {published} SETs signed (RS256) in {took:.2f} s = {published / took:.0f}/s")
    client = EventsClient(provider.settings, provider.engine, RelyingParty(provider.settings))
    started = time.perf_counter()
    applied = asyncio.run(sync_all(client))
    took = time.perf_counter() - started
    print(
        f"sync: {applied} SETs fetched, verified and applied in {took:.2f} s = "
        f"{applied / took:.0f} SETs/s (target >= 5000/s)"
    )


def lag(
    dov_url: str, config: Path, provider: ServiceProvider, keys: list[str], args: argparse.Namespace
) -> None:
    engine = get_engine(dov_url)
    portal = start_portal(config)
    try:
        time.sleep(args.interval + 1)  # the first poll (the protocol's version) is behind us
        made: list[int] = []
        moments = sorted(random.uniform(0, args.seconds) for _ in range(args.changes))
        begin = time.monotonic()
        for key, moment in zip(keys, moments, strict=False):
            time.sleep(max(0.0, moment - (time.monotonic() - begin)))
            with Session(engine) as session, session.begin():
                record_changes(session, [change(key, True)])
                made.append(
                    int(
                        session.scalar(select(DovChange.id).order_by(DovChange.id.desc()).limit(1))
                        or 0
                    )
                )
        time.sleep(args.interval + 3)
    finally:
        portal.stop()
    with Session(engine) as session:
        at = {
            r.id: r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.UTC)
            for r in session.scalars(select(DovChange).where(DovChange.id.in_(made)))
        }
    with Session(provider.engine) as session:
        applied = {
            int(r.txn): r.applied_at if r.applied_at.tzinfo else r.applied_at.replace(tzinfo=dt.UTC)
            for r in session.scalars(
                select(AppliedEvent).where(AppliedEvent.txn.in_([str(i) for i in made]))
            )
        }
    lags = sorted((applied[i] - at[i]).total_seconds() for i in made if i in applied)
    missing = len(made) - len(lags)
    p99 = lags[min(len(lags) - 1, round(0.99 * (len(lags) - 1)))] if lags else float("nan")
    print(
        f"lag over {len(lags)} changes (poll interval {args.interval:g} s): "
        f"p50 {statistics.median(lags):.2f} s, p99 {p99:.2f} s, max {lags[-1]:.2f} s "
        f"(target p99 <= {args.interval + 1:g} s); not applied: {missing}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pupils", type=int, default=20_000)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="leerid-bench-events-"))
    dov_url, lars_url = databases(args.database_url, folder)
    engine = get_engine(dov_url)
    protocol_id = store_protocol(engine, PROTOCOL)
    jwks = json.loads(write_client_key(folder).read_text(encoding="utf-8"))
    port = free_port()
    client_id, _ = register_client(
        engine,
        protocol_id=protocol_id,
        redirect_uris=[f"http://127.0.0.1:{port}/callback"],
        post_logout_redirect_uris=[f"http://127.0.0.1:{port}/"],
        auth_method="private_key_jwt",
        jwks=jwks,
    )
    idp = start_idp(dov_url)
    try:
        issuer = f"{idp.base_url}/op"
        config = write_config(
            folder,
            issuer=issuer,
            client_id=client_id,
            protocol_file=PROTOCOL,
            partner_schools=[SCHOOL],
            port=port,
            database_url=lars_url,
        )
        with config.open("a", encoding="utf-8") as out:
            out.write(f"\n[events]\npoll_interval = {args.interval}\n")
        provider = ServiceProvider(load_settings(config))
        keys = seed_pupils(dov_url, provider, client_id, args.pupils + args.changes)
        print(f"{'PostgreSQL' if args.database_url else 'SQLite'}; {args.pupils} pupils seeded")
        throughput(dov_url, issuer, provider, keys[: args.pupils])
        lag(dov_url, config, provider, keys[args.pupils :], args)
    finally:
        idp.stop()
        if args.database_url:
            drop_schema(args.database_url, "bench_events_dov")
            drop_schema(args.database_url, "bench_events_lars")


if __name__ == "__main__":
    main()
