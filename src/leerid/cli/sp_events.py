"""``leerid sp sync``: one round of the Department's events (issue 10, point 4)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from leerid.cli.sp import CONFIG
from leerid.errors import LeeridError

if TYPE_CHECKING:
    from leerid.sp.kit.provider import ServiceProvider

out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def sync(config: Path | None = CONFIG) -> None:
    """Fetch, verify and apply the Department's events once (signed protocol versions, the
    protocol's end, merges, identifications, deletions); print what was applied."""
    from leerid.sp.kit.events_client import EventsClient, SyncResult
    from leerid.sp.kit.provider import ServiceProvider
    from leerid.sp.kit.relying_party import RelyingParty
    from leerid.sp.kit.settings import find_config, load_settings

    path, why = find_config(config)
    if why != "--config":
        err.print(f"configuration {path.resolve()} ({why})")
    provider = ServiceProvider(load_settings(path), create=True)

    async def one_round() -> SyncResult | None:
        rp = RelyingParty(provider.settings)
        try:
            return await EventsClient(provider.settings, provider.engine, rp).sync()
        finally:
            await rp.aclose()

    try:
        result = asyncio.run(one_round())
        if result is None:
            raise LeeridError(
                "another process (the portal's poller) is syncing right now; wait a moment "
                "and run `leerid sp sync` again"
            )
        failed = f", not applied (retried next time) {result.failed}" if result.failed else ""
        out.print(
            f"applied {result.applied}, duplicate {result.duplicates}, "
            f"rejected {result.rejected}{failed}"
        )
        _show_state(provider)
    finally:
        provider.engine.dispose()


def _show_state(provider: ServiceProvider) -> None:
    state = provider.protocol_state()
    if state.out_of_step is not None:
        out.print(f"protocol out of step: {state.out_of_step}; pupils cannot log in")
    if state.signed is None:
        out.print("no signed protocol version received yet: pupils cannot log in")
        return
    stale = " (the local [protocol] file differs: it is stale)" if state.local_stale else ""
    out.print(
        f"protocol {state.signed.protocol_id} version {state.signed.version} signed by both "
        f"parties, in force from {state.signed.in_force_from:%Y-%m-%d %H:%M %Z}{stale}"
    )
