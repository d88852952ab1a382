"""Authorization codes as sealed values: the grant travels in the code, not in a row.

RFC 6749 §4.1.2 leaves a code's form to the server. A leerid code is the grant it was issued
for (client, account, scope, nonce, redirect URI, PKCE challenge, session, times), sealed
with AES-256-GCM by the provider's ``Sealer`` under the purpose ``code``. Issuing one writes
nothing; its redemption writes the grant row under the id the code carries
(``leerid.idp.store.exchange``), and that row's primary key is what makes a code single use.

What sealing keeps, against the stored codes it replaces:

- nothing about the pupil can be read from a code (the grant is encrypted), and a changed
  byte, a code of another server secret or a value sealed for another purpose (an SSO
  cookie, a login form) does not open: ``invalid_grant``, "the code is unknown";
- a code is single use (a second redemption finds the grant row and revokes the tokens of
  the first, §4.1.2), bound to its client, redirect URI and challenge, and lives
  ``code_lifetime`` seconds (30, as ACM/IDM), checked to the millisecond;
- a code replayed up to ``CODE_REUSE_WINDOW`` seconds after its expiry still opens, so that its
  reuse is seen and revokes; after that it is only unknown;
- whoever holds the browser-state secret could seal a code for any account, as they could
  seal an SSO cookie for it already: the secret guards both (``server_secret``).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

from leerid.idp.store.grants import CODE_REUSE_WINDOW, CodeGrant
from leerid.idp.web.browser_state import Sealer

__all__ = ["PURPOSE", "open_code", "seal_code"]

PURPOSE = "code"
"""The sealed value's purpose (its associated data): a code opens only as a code."""


def seal_code(
    sealer: Sealer,
    *,
    client_id: str,
    account_uuid: str,
    scope: str,
    nonce: str | None,
    redirect_uri: str,
    code_challenge: str | None,
    sid: str,
    auth_time: dt.datetime,
    now: dt.datetime,
    lifetime: int,
) -> str:
    """A new code for a grant with a fresh 128-bit id, valid ``lifetime`` seconds from ``now``."""
    grant = {
        "g": secrets.token_hex(16),
        "c": client_id,
        "a": account_uuid,
        "s": scope,
        "n": nonce,
        "r": redirect_uri,
        "p": code_challenge,
        "i": sid,
        "t": _ms(auth_time),
        "o": _ms(now),
        "x": _ms(now + dt.timedelta(seconds=lifetime)),
    }
    opens_until = now.timestamp() + lifetime + CODE_REUSE_WINDOW
    return sealer.seal(PURPOSE, grant, max(0, round(opens_until - time.time())))


def open_code(sealer: Sealer, code: str) -> CodeGrant | None:
    """The grant of a code this provider sealed, or None (altered, foreign, long expired)."""
    data = sealer.open(PURPOSE, code)
    if data is None:
        return None
    try:
        return CodeGrant(
            grant_id=_text(data["g"]),
            client_id=_text(data["c"]),
            account_uuid=_text(data["a"]),
            scope=_text(data["s"]),
            nonce=_optional(data["n"]),
            redirect_uri=_optional(data["r"]),
            code_challenge=_optional(data["p"]),
            sid=_optional(data["i"]),
            auth_time=_time(data["t"]),
            issued_at=_time(data["o"]),
            expires_at=_time(data["x"]),
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        return None  # sealed by us, but not as a code of this version: unknown


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _optional(value: Any) -> str | None:
    return None if value is None else _text(value)


def _ms(moment: dt.datetime) -> int:
    """A moment as whole milliseconds since the epoch (shorter than a float's digits)."""
    return round(moment.timestamp() * 1000)


def _time(value: Any) -> dt.datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not a time")
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
