"""What the identity provider releases, given the pupil's record and the protocol (pure).

Art. 5: the pupil's data is fetched at every login (and at every userinfo call) from the
registry (``leerid.idp.store.pupils``); ``offline_access`` (refresh tokens, data without a
login) only under a protocol that allows it (``leerid.protocol.requestable_scopes``).
Art. 3 and 11: ``leerid.protocol.release_claims`` decides which claims a client receives
under the current stored version of its protocol. Issue 14 point 2: the value of ``sub`` is
the client's (``leerid.idp.oauth.subject``): the account_uuid, or the opaque identifier of
the same account; ``ov_account_uuid`` is the account_uuid either way.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from leerid.protocol import (
    Protocol,
    PupilClaims,
    allows_disclosure_without_login,
    release_claims,
    requestable_scopes,
    status,
)
from leerid.protocol.lifecycle import BRUSSELS, advised_at, in_force_from, start_of_day

__all__ = [
    "BoundProtocol",
    "Release",
    "decide",
    "protocol_refusal",
    "status_boundaries",
    "today",
]


def status_boundaries(protocol: Protocol) -> tuple[dt.datetime, ...]:
    """Every moment at which the status of ``protocol`` can change, in order.

    ``leerid.protocol.lifecycle.status`` compares the moment only with these: the DPOs'
    advice, each signature, the entry into force, the end of the term (art. 5, 11) and each
    status change. Between two of them (from one, included, to the next, excluded) the status
    is constant.
    """
    moments: set[dt.datetime] = {s.signed_at for s in protocol.signatures}
    moments.update(change.effective for change in protocol.status_changes)
    for moment in (advised_at(protocol), in_force_from(protocol)):
        if moment is not None:
            moments.add(moment)
    ends_on = protocol.communication.ends_on
    if ends_on is not None:
        moments.add(start_of_day(ends_on + dt.timedelta(days=1)))
    return tuple(sorted(moments))


@dataclass(frozen=True)
class BoundProtocol:
    """The stored protocol version a client is bound to.

    The status is computed once per stretch between two ``status_boundaries`` and reused
    until the next boundary (never across one); a newly stored version is a new
    ``BoundProtocol`` (``ProtocolCache`` reloads every few seconds), so its status counts
    from then on.
    """

    protocol_id: str
    version: int | str
    content_hash: str
    protocol: Protocol
    _scopes: frozenset[str] = field(init=False, repr=False, compare=False)
    _boundaries: tuple[dt.datetime, ...] = field(init=False, repr=False, compare=False)
    _status: list[tuple[dt.datetime | None, dt.datetime | None, str]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_scopes", requestable_scopes(self.protocol))
        object.__setattr__(self, "_boundaries", status_boundaries(self.protocol))
        object.__setattr__(self, "_status", [])

    def allowed_scopes(self) -> frozenset[str]:
        """The scopes a client of this protocol may request (data scopes; ``offline_access``
        only when art. 5 allows disclosure without a login)."""
        return self._scopes

    def allows_refresh(self) -> bool:
        """Art. 5: whether refresh tokens (disclosure without a login) may be issued or used."""
        return allows_disclosure_without_login(self.protocol)

    def status_at(self, at: dt.datetime) -> str:
        """Art. 11: the protocol's status (``in_force`` permits disclosure)."""
        if self._status:
            start, end, known = self._status[0]
            if (start is None or at >= start) and (end is None or at < end):
                return known
        state = str(status(self.protocol, at).value)
        index = bisect.bisect_right(self._boundaries, at)
        start = self._boundaries[index - 1] if index > 0 else None
        end = self._boundaries[index] if index < len(self._boundaries) else None
        self._status[:] = [(start, end, state)]  # one entry, replaced whole (thread-safe)
        return state


@dataclass(frozen=True)
class Release:
    """The outcome of one release decision."""

    claims: dict[str, object]
    pupil: PupilClaims | None
    refused: str | None  # the reason when nothing may be released


def today(at: dt.datetime) -> dt.date:
    """The day in Brussels (enrolments are active on days, art. 3)."""
    return at.astimezone(BRUSSELS).date()


def protocol_refusal(protocol: BoundProtocol | None, at: dt.datetime) -> str | None:
    """Art. 11: why nothing may be released under ``protocol`` now, or None."""
    if protocol is None:
        return "protocol_not_stored"
    state = protocol.status_at(at)
    return None if state == "in_force" else f"protocol_{state}"


def decide(
    protocol: BoundProtocol | None,
    scopes: Collection[str],
    pupil: PupilClaims | None,
    at: dt.datetime,
    *,
    sub: Callable[[str], str],
) -> Release:
    """The release for a pupil already fetched (art. 3 through ``release_claims``); ``sub``
    gives the client's ``sub`` of an account_uuid (issue 14 point 2)."""
    refused = protocol_refusal(protocol, at)
    if refused is not None:
        return Release({}, None, refused)
    assert protocol is not None
    if pupil is None:
        return Release({}, None, "account_unknown_or_retired")
    claims = release_claims(protocol.protocol, scopes, pupil, at)
    if "sub" in claims:  # art. 3: still the OpenID sub of the account, in the client's terms
        claims["sub"] = sub(pupil.account_uuid)
    return Release(claims, pupil, None)
