"""What every portal handler shares, and its one way to answer: a page, a message, a redirect.

``create_portal`` builds one :class:`Portal` and keeps it on ``app.state.portal``; handlers
receive it through the ``Portal`` dependency of :mod:`leerid.sp.portal.guard`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from leerid.sp.kit.events_client import EventsClient
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.throttle import StaffLoginThrottle
from leerid.sp.portal import page_texts
from leerid.sp.portal.browser_session import SessionSealer
from leerid.sp.portal.following import OPERATOR_TEXT, banner, pupil_text
from leerid.sp.portal.templating import render

__all__ = ["PAGE_HEADERS", "Portal", "claim_names", "portal_of"]

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def claim_names(provider: ServiceProvider) -> dict[str, str]:
    """Claim → the attribute in plain Dutch (art. 3; the protocol's name for any other)."""
    names = {str(a.claim.value): a.name for a in provider.protocol.data.attributes}
    return {**names, **page_texts.ATTRIBUTES}


@dataclass(frozen=True)
class Portal:
    """One portal: its provider, relying party, session sealer and staff login throttle."""

    provider: ServiceProvider
    rp: RelyingParty
    sealer: SessionSealer
    throttle: StaffLoginThrottle
    names: dict[str, str]
    events: EventsClient

    @property
    def site(self) -> str:
        return self.provider.settings.name

    def nav(self, session: dict[str, Any]) -> list[tuple[str, str]]:
        """The menu: the pupil's page, or the staff pages this role may see (art. 4)."""
        if session.get("pupil"):
            return [("/mijn-gegevens", "Mijn gegevens")]
        if not session.get("staff"):
            return []
        perms = self.provider.permissions(session["role"])
        nav = [("/personeel", "Overzicht")]
        if perms.sees_pupil_data:
            nav.append(("/personeel/leerlingen", "Leerlingen"))
        if session.get("manages"):  # set at login; the page itself checks again
            nav.append(("/personeel/medewerkers", "Medewerkers"))
        if perms.sees_privacy_log:
            nav += [
                ("/personeel/privacylog", "Privacylog"),
                ("/personeel/meldingen", "Meldingen"),
                ("/personeel/datalekken", "Gegevenslekken"),
                ("/personeel/bewijs", "Bewijs"),
            ]
        return nav

    def page(
        self, name: str, session: dict[str, Any], status: int = 200, **context: Any
    ) -> HTMLResponse:
        """A rendered page; the session (with its CSRF token and without the notice) resealed."""
        nav = self.nav(session)
        if session.get("staff"):  # art. 8, 11: staff and the DPO see the protocol's state
            now = dt.datetime.now(dt.UTC)
            context.setdefault("banner", banner(self.provider.protocol_state(), now, self.site))
        session.setdefault("csrf", secrets.token_urlsafe(32))
        context.setdefault("flash", session.pop("flash", None))
        context.setdefault("flash_bad", session.pop("flash_bad", False))
        html = render(name, site=self.site, nav=nav, csrf=session["csrf"], **context)
        response = HTMLResponse(html, status)
        self.sealer.write(response, session)
        return response

    def message(
        self, session: dict[str, Any], heading: str, text: str, status: int, back: str = "/"
    ) -> HTMLResponse:
        return self.page(
            "message.html",
            session,
            status,
            heading=heading,
            message=text,
            bad=status >= 400,
            back=back,
        )

    def redirect_with(
        self, session: dict[str, Any], target: str, flash: str, bad: bool = False
    ) -> Response:
        """A 303 to ``target``; the notice travels in the sealed session, not the URL."""
        response = RedirectResponse(target, 303)
        self.sealer.write(response, {**session, "flash": flash, "flash_bad": bad})
        return response

    def attribute_choices(self, seen: Iterable[str]) -> list[tuple[str, str]]:
        """The attributes a data-quality report may name (art. 7), in plain Dutch: those the
        person sees of this pupil (art. 4, second indent; never the INSZ LARS never gets)."""
        keys = set(seen)
        return [
            (str(a.claim.value), self.names[str(a.claim.value)])
            for a in self.provider.protocol.data.attributes
            if a.key.value in keys
        ]

    def protocol_refused(self, reason: str) -> HTMLResponse:
        """Art. 8, 11: the login refused because the protocol is not signed and in force."""
        state = self.provider.protocol_state()
        message, ending = pupil_text(reason, state, self.site)
        operator = OPERATOR_TEXT.get(reason, OPERATOR_TEXT["protocol_not_in_force"])
        status = 403 if ending is not None else 503
        return self.page(
            "protocol_refused.html",
            {},
            status,
            message=message,
            ending_reason=ending,
            operator=operator,
        )

    def breach_mail_failed(self, what: str) -> str:
        """Art. 9: what the DPO must do now that the e-mail did not leave."""
        if not self.provider.settings.mail.other_party_dpo:
            return page_texts.BREACH_NO_DPO_ADDRESS.format(what=what)
        return page_texts.BREACH_MAIL_FAILED.format(what=what)


def portal_of(request: Request) -> Portal:
    """The portal serving ``request`` (kept on the application's state)."""
    portal: Portal = request.app.state.portal
    return portal
