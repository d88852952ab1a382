"""A real DOV with its transparency log and a real LARS portal witnessing it, on loopback.

DOV runs ``leerid idp serve`` (its integrator signs a checkpoint every second while entries
arrive) with the log origin ``ORIGIN``; LARS pins DOV's log key in ``[log] vkey`` and is
registered at DOV as a witness (``add_witness``, as ``leerid log witness add`` does). Mail
of both DPOs goes to a local SMTP server (aiosmtpd). With ``proxied``, DOV's issuer is a
real HTTP proxy in front of it (``log_proxy``) that a test tells to fail chosen paths.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select

from leerid.idp.store.tlog.checkpoints import log_signer
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.idp.store.tlog.witnesses import add_witness
from leerid.sp.kit.log_witness import RoundReport, WitnessBusyError, witness_round, witness_vkey
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.settings import load_settings
from leerid.store.engine import make_engine
from leerid.testing.servers import free_port, serve_portal
from leerid.transparency.checkpoint import Checkpoint
from leerid.transparency.note import Note
from tests.conftest import fresh_database
from tests.idp_server import RunningIdp
from tests.sp.lars_world import provider_for_portal
from tests.sp.log_proxy import LogProxy, log_proxy
from tests.sp.test_breaches_mail import Inbox

ORIGIN = "dov.leerid.test/log"
PATIENCE = 60.0
"""Seconds a test waits for DOV's integrator or the portal's own round (never asserted)."""


@dataclass
class World:
    idp: RunningIdp
    dov: Engine
    provider: ServiceProvider
    url: str
    inbox: Inbox
    dov_vkey: str
    proxy: LogProxy | None = None

    def mail_to(self, address: str) -> list[Message]:
        """The e-mails the local SMTP server received for ``address``."""
        return [m for m in self.inbox.messages if m["To"] == address]

    def round(self) -> RoundReport:
        """One witness round, as `leerid sp log witness` runs it (after the portal's own)."""
        deadline = time.monotonic() + PATIENCE
        while True:
            try:
                return asyncio.run(_round(self.provider))
            except WitnessBusyError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def checkpoint(self) -> tuple[Checkpoint, str]:
        """DOV's newest checkpoint as it serves it, and the note."""
        text = httpx.get(f"{self.idp.issuer}/v1/log/checkpoint").text
        return Checkpoint.parse(Note.parse(text).text), text

    def checkpoint_when_integrated(self) -> tuple[Checkpoint, str]:
        """DOV's checkpoint once it covers every entry written so far, and its note."""
        wanted = self.integrated().size
        checkpoint, note = self.checkpoint()
        assert checkpoint.size == wanted, "DOV signed again before the note was read"
        return checkpoint, note

    def entries(self) -> int:
        with self.dov.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(TlogEntry)) or 0)

    def integrated(self) -> Checkpoint:
        """DOV's checkpoint once it covers every entry written so far."""
        wanted, deadline = self.entries(), time.monotonic() + PATIENCE
        while True:
            response = httpx.get(f"{self.idp.issuer}/v1/log/checkpoint")
            if response.status_code == 200:
                checkpoint = Checkpoint.parse(Note.parse(response.text).text)
                if checkpoint.size >= wanted:
                    return checkpoint
            assert time.monotonic() < deadline, "DOV's integrator signed no checkpoint"
            time.sleep(0.2)


async def _round(provider: ServiceProvider) -> RoundReport:
    rp = RelyingParty(provider.settings)
    try:
        return await witness_round(provider, rp)
    finally:
        await rp.aclose()


@contextmanager
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@contextmanager
def witness_world(
    database_url: str, tmp_path: Path, grace: int = 0, *, proxied: bool = False
) -> Iterator[World]:
    """DOV and a LARS portal that witnesses its log (LARS's database on the same backend);
    with ``proxied``, everyone reaches DOV through ``World.proxy``."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        proxy, front = stack.enter_context(log_proxy()) if proxied else (None, "")
        idp_env = {"LEERID_TLOG_ORIGIN": ORIGIN}
        if front:
            idp_env["LEERID_ISSUER"] = f"{front}/op"
        inbox, smtp_port = stack.enter_context(smtp_inbox())
        lars_url = stack.enter_context(fresh_database(backend, tmp_path, "lars.db"))
        idp, config = stack.enter_context(
            provider_for_portal(
                database_url, tmp_path, url, lars_url, idp_env=idp_env, smtp_port=smtp_port
            )
        )
        text = config.read_text()
        if proxy is not None:
            proxy.upstream = idp.base_url
            text = text.replace(idp.issuer, f"{front}/op")
        dov = make_engine(database_url)
        dov_vkey = log_signer(dov, ORIGIN).vkey
        config.write_text(
            text
            + f'\n[log]\nvkey = "{dov_vkey}"\ngrace = {grace}\nwitness_name = "lars.test/w"\n'
            + "interval = 3600\n"  # the portal's own rounds stay out of the tests' way
        )
        provider = ServiceProvider(load_settings(config))
        add_witness(dov, None, idp.client_id, witness_vkey(provider))
        with serve_portal(provider, port):
            yield World(idp, dov, provider, url, inbox, dov_vkey, proxy)
        provider.engine.dispose()
        dov.dispose()
