"""The portal follows the Department: the poller, the sync before a login, and what pupils,
staff and the DPO read about the protocol's state (art. 8, 11; Dutch, plain words).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from leerid.sp.kit.events_client import EventsClient, EventsUnavailableError, SyncResult
from leerid.sp.kit.log_witness import WitnessBusyError, witness_round
from leerid.sp.kit.moments import when
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import LoginError, RelyingParty
from leerid.sp.kit.signed_protocol import ProtocolState

log = logging.getLogger("leerid.sp.events")

PROTOCOL_REASONS = frozenset(
    {
        "protocol_not_confirmed",
        "protocol_out_of_step",
        "protocol_terminated",
        "protocol_ended",
        "protocol_not_in_force",
    }
)

PUPIL_TEXT = {
    "protocol_not_confirmed": "Het Departement Onderwijs heeft de afspraken met {site} nog "
    "niet bevestigd. Zolang dat niet gebeurd is, kan je niet aanmelden.",
    "protocol_out_of_step": "De afspraken van {site} met het Departement Onderwijs kloppen "
    "nu niet met elkaar. Zolang dat niet opgelost is, kan je niet aanmelden.",
    "protocol_terminated": "Het Departement Onderwijs heeft de afspraken met {site} "
    "stopgezet. Daarom kan je niet meer aanmelden.",
    "protocol_ended": "De afspraken van {site} met het Departement Onderwijs zijn afgelopen. "
    "Daarom kan je niet meer aanmelden.",
    "protocol_not_in_force": "De afspraken van {site} met het Departement Onderwijs gelden "
    "nu niet. Daarom kan je niet aanmelden.",
}

OPERATOR_TEXT = {
    "protocol_not_confirmed": "Haal de ondertekende versie van het protocol op bij LeerID "
    "met `leerid sp sync`. Lukt dat niet, vraag dan het Departement of beide partijen het "
    "protocol ondertekend hebben.",
    "protocol_out_of_step": "Bekijk bij de DPO welke versie het Departement aankondigde en "
    "waarom ze niet overgenomen werd; vraag het Departement om een juiste versie en voer "
    "daarna `leerid sp sync` uit.",
    "protocol_terminated": "Het protocol is beëindigd (art. 8). Nieuwe aanmeldingen kunnen "
    "pas weer met een nieuw, door beide partijen ondertekend protocol.",
    "protocol_ended": "Het protocol is afgelopen (art. 11). Nieuwe aanmeldingen kunnen pas "
    "weer met een nieuw, door beide partijen ondertekend protocol.",
    "protocol_not_in_force": "De ondertekende versie geldt nog niet of niet meer. Vraag het "
    "Departement vanaf wanneer ze geldt en voer `leerid sp sync` uit.",
}


def pupil_text(reason: str, state: ProtocolState, site: str) -> tuple[str, str | None]:
    """What the pupil reads (and the recorded reason of an end, when there is one)."""
    text = PUPIL_TEXT.get(reason, PUPIL_TEXT["protocol_not_in_force"]).format(site=site)
    ending = (
        state.ending.reason if state.ending and reason.endswith(("terminated", "ended")) else None
    )
    return text, ending


def banner(state: ProtocolState, now: dt.datetime, site: str) -> str | None:
    """The line on every staff page when the protocol is not simply in force (art. 8, 11)."""
    if state.ended(now) and state.ending is not None:
        what = (
            "beëindigd door het Departement" if state.ending.kind == "terminated" else "afgelopen"
        )
        return (
            f"Het protocol is {what} sinds {when(state.ending.effective_at)}. "
            f"Reden: {state.ending.reason or 'geen reden opgegeven'}. Je kan geen gegevens van "
            "leerlingen meer inzien; bewaren en vernietigen gaan door (art. 11)."
        )
    if state.out_of_step is not None:
        return (
            "Protocol niet in de pas: het Departement kondigde een versie aan die niet "
            f"overgenomen werd ({state.out_of_step}). Leerlingen kunnen niet aanmelden."
        )
    if state.signed is None:
        return (
            "Het Departement heeft het protocol nog niet bevestigd. Leerlingen kunnen niet "
            "aanmelden tot `leerid sp sync` de ondertekende versie ophaalt."
        )
    if state.local_stale:
        return (
            f"Het Departement ondertekende versie {state.signed.version} van het protocol "
            "(van kracht sinds "
            f"{when(state.signed.in_force_from)}). Het lokale protocolbestand verschilt "
            f"daarvan en is verouderd; {site} werkt volgens de ondertekende versie."
        )
    return None


async def sync_now(client: EventsClient, provider: ServiceProvider) -> SyncResult | None:
    """One sync round (None when another process is polling now); the provider's view of
    the protocol is read again right after."""
    try:
        return await client.sync()
    finally:
        provider.forget_state()


async def before_login(client: EventsClient, provider: ServiceProvider) -> str | None:
    """Why a login cannot start now (a reason code), or None. Before any signed version was
    received, one sync first (art. 11: never judged from an unsigned local file)."""
    state = provider.protocol_state()
    now = dt.datetime.now(dt.UTC)
    if state.refusal(now) == "protocol_not_confirmed":
        try:
            await sync_now(client, provider)
        except (EventsUnavailableError, LoginError) as exc:
            log.warning("sync before login failed: %s", type(exc).__name__)
        state = provider.protocol_state()
    return state.refusal(now)


async def poller(client: EventsClient, provider: ServiceProvider, interval: float) -> None:
    """``leerid sp serve``: a sync every ``interval`` seconds; a failing poll is logged
    (the reason, no personal data) and tried again at the next interval."""
    while True:
        try:
            result = await sync_now(client, provider)
            if result is not None and (result.applied or result.rejected):
                log.info(
                    "events: %d applied, %d duplicate, %d rejected",
                    result.applied,
                    result.duplicates,
                    result.rejected,
                )
        except EventsUnavailableError as exc:
            log.warning("events poll failed: %s", exc.message)
        except Exception as exc:  # the poller must survive; retried at the next interval
            log.warning("events poll failed (%s)", type(exc).__name__)
        await asyncio.sleep(interval)


WITNESS_AT_LEAST = 24 * 3600.0
"""Issue 12 §3: with ``[log] interval = 0`` the portal still witnesses once a day."""


async def witness_loop(provider: ServiceProvider, rp: RelyingParty) -> None:
    """``leerid sp serve``: a witness round of DOV's log every ``[log] interval`` seconds (at
    least daily), the first one interval after the start; what failed is logged (no personal
    data) and tried again next round."""
    interval = provider.settings.log.interval or WITNESS_AT_LEAST
    while True:
        await asyncio.sleep(interval)
        try:
            report = await witness_round(provider, rp)
            if report.alerts:
                log.warning("log witness: alerts %s (see `leerid sp log alerts`)", report.alerts)
            for problem in report.problems:
                log.warning("log witness: %s", problem)
        except WitnessBusyError:
            pass  # `leerid sp log witness` or another portal process runs one now
        except Exception as exc:  # the loop must survive; retried at the next interval
            log.warning("log witness round failed (%s)", type(exc).__name__)
