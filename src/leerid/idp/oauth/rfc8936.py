"""RFC 8936 §2.4: the poll request a service provider sends to DOV's events endpoint.

The body is a JSON object (§2.4.1); every member is optional:

- ``maxEvents``: an integer 0..1000 (default 100); 0 acknowledges without asking for SETs;
- ``returnImmediately``: a boolean; false (the default, §2.4.1) is a long poll: the
  endpoint waits a while for new SETs before it answers with none;
- ``ack``: a list of ``jti`` strings of SETs received and processed (§2.4.2);
- ``setErrs``: an object ``{jti: {"err": code, "description": text}}`` of SETs the recipient
  rejected (§2.4.3; the error object of RFC 8935 §2.3, ``err`` one of its §2.4 codes);
- ``leerid_redeliver`` (an extension of leerid's, ignored by other transmitters): a list of
  ``jti`` strings of SETs received and *not* processed (the recipient stopped, say its
  database failed): they are delivered again at the next poll, before any newer SET, so
  that none overtakes them;
- ``leerid_resend_unacknowledged`` (leerid's, a boolean): the recipient starts a new sync and
  holds nothing it was sent before and did not answer (its process was stopped): every
  such SET is due again at once, oldest first.

Anything else in that shape (not JSON, not an object, a member of the wrong type, a number
out of range, too many or too long entries) is refused with RFC 8936 §2.4.4's error:
HTTP 400, ``{"err": "invalid_request", "description": ...}``. Unknown members are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DEFAULT_MAX_EVENTS",
    "ERROR_CODES",
    "MAX_EVENTS",
    "PollError",
    "PollRequest",
    "SetError",
    "parse_poll",
]

DEFAULT_MAX_EVENTS = 100
MAX_EVENTS = 1000
MAX_ACKS = 1000
"""Acknowledgements and errors in one request, each (more than a poll ever returns)."""
MAX_JTI = 64
MAX_DESCRIPTION = 1000
ERROR_CODES = frozenset(
    {
        "invalid_request",
        "invalid_key",
        "invalid_issuer",
        "invalid_audience",
        "authentication_failed",
        "access_denied",
    }
)
"""RFC 8935 §2.4 (the Security Event Token Error Codes registry, §7.1)."""


class PollError(Exception):
    """RFC 8936 §2.4.4: a malformed poll request (``err`` invalid_request, HTTP 400)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.err = "invalid_request"
        self.description = description


@dataclass(frozen=True)
class SetError:
    """A SET the recipient rejected: RFC 8935 §2.3's ``err`` and ``description``."""

    err: str
    description: str


@dataclass(frozen=True)
class PollRequest:
    """A valid poll request."""

    max_events: int = DEFAULT_MAX_EVENTS
    return_immediately: bool = False
    ack: tuple[str, ...] = ()
    set_errs: Mapping[str, SetError] | None = None
    redeliver: tuple[str, ...] = ()
    resend_unacknowledged: bool = False


def _jti(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_JTI:
        raise PollError(f"{where}: each jti must be a string of 1 to {MAX_JTI} characters")
    return value


def _max_events(body: Mapping[str, Any]) -> int:
    value = body.get("maxEvents", DEFAULT_MAX_EVENTS)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PollError("maxEvents must be an integer from 0 to 1000")
    if not 0 <= value <= MAX_EVENTS:
        raise PollError(f"maxEvents {value} is out of range: give 0 to {MAX_EVENTS}")
    return value


def _jtis(body: Mapping[str, Any], member: str) -> tuple[str, ...]:
    value = body.get(member, [])
    if not isinstance(value, list):
        raise PollError(f"{member} must be a list of jti strings")
    if len(value) > MAX_ACKS:
        raise PollError(f"{member} has more than {MAX_ACKS} entries; send them in several polls")
    return tuple(_jti(v, member) for v in value)


def _set_errs(body: Mapping[str, Any]) -> dict[str, SetError]:
    value = body.get("setErrs", {})
    if not isinstance(value, dict):
        raise PollError('setErrs must be an object {"jti": {"err": ..., "description": ...}}')
    if len(value) > MAX_ACKS:
        raise PollError(f"setErrs has more than {MAX_ACKS} entries; report in several polls")
    errors: dict[str, SetError] = {}
    for jti, error in value.items():
        _jti(jti, "setErrs")
        if not isinstance(error, dict):
            raise PollError(f"setErrs[{jti}] must be an object with err and description")
        err, description = error.get("err"), error.get("description", "")
        if err not in ERROR_CODES:
            raise PollError(
                f"setErrs[{jti}].err must be an RFC 8935 error code: "
                + ", ".join(sorted(ERROR_CODES))
            )
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            raise PollError(
                f"setErrs[{jti}].description must be a string of at most {MAX_DESCRIPTION} "
                "characters"
            )
        errors[jti] = SetError(str(err), description)
    return errors


def parse_poll(raw: bytes) -> PollRequest:
    """The poll request in ``raw`` (the HTTP body), or ``PollError``."""
    if not raw.strip():
        return PollRequest()
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PollError("the body is not JSON (RFC 8936 §2.4: a JSON object)") from None
    if not isinstance(body, dict):
        raise PollError("the body must be a JSON object")
    immediately = body.get("returnImmediately", False)
    if not isinstance(immediately, bool):
        raise PollError("returnImmediately must be true or false")
    resend = body.get("leerid_resend_unacknowledged", False)
    if not isinstance(resend, bool):
        raise PollError("leerid_resend_unacknowledged must be true or false")
    return PollRequest(
        max_events=_max_events(body),
        return_immediately=immediately,
        ack=_jtis(body, "ack"),
        set_errs=_set_errs(body),
        redeliver=_jtis(body, "leerid_redeliver"),
        resend_unacknowledged=resend,
    )
