"""How long the provider keeps each kind of its own records, and on what ground.

GDPR art. 5.1.e (storage limitation): no record is kept longer than its purpose needs; GDPR
art. 5.2 (accountability) and the protocol's art. 6 ("Elke Partij moet kunnen aantonen dat de
in het protocol opgesomde maatregelen werden getroffen"): what proves a disclosure is kept as
long as that proof may be asked for. Each period is counted from the moment named in
``KINDS`` and set by ``LEERID_RETENTION_<KIND>`` (an ISO 8601 duration); the table with the
reasoning is docs/dov-retention.md. ``leerid idp purge`` applies them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

from leerid.errors import ConfigurationError
from leerid.protocol import IsoDuration
from leerid.registry.retention.settings import duration_setting

__all__ = ["KINDS", "MIN_THROTTLE", "LogKind", "LogRetention"]

MIN_THROTTLE = IsoDuration(hours=1)
"""The login throttle's window (``ThrottlePolicy.window``): a younger row still counts."""
_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # to compare two durations


@dataclass(frozen=True)
class LogKind:
    """One record kind: its default period, counted from what, and its ground."""

    name: str
    default: str
    counted_from: str
    ground: str


KINDS: tuple[LogKind, ...] = (
    LogKind(
        "disclosures",
        "P3Y",
        "the release",
        "art. 6 and GDPR art. 5.2: DOV proves every release; art. 3: the recipient may hold "
        "the data 3 years after the pupil's last login (a release), so each copy it may still "
        "hold stays traceable (GDPR art. 15.1.c: which recipients) and reachable by an "
        "account-purged event",
    ),
    LogKind(
        "refusals",
        "P1Y",
        "the refusal",
        "art. 6 (log management) and GDPR art. 32-33: a refusal released nothing; it serves "
        "the investigation of an attack or a breach, found within a school year",
    ),
    LogKind(
        "activation_codes",
        "P30D",
        "the code's expiry",
        "GDPR art. 5.1.e: an expired code only lets the page say 'expired, ask your school' "
        "instead of 'wrong'; a month covers a holiday",
    ),
    LogKind(
        "login_throttle",
        "PT1H",
        "the last failed login (never while a lock runs or an attempt is in flight)",
        "GDPR art. 5.1.e, 32: a counter older than the throttle's window counts for nothing",
    ),
    LogKind(
        "ended_sessions",
        "P0D",
        "the session cookie's expiry",
        "GDPR art. 5.1.e: an ended session is refused until its cookie expires, then useless",
    ),
    LogKind(
        "grants",
        "P0D",
        "the expiry of the code (plus its 10-minute reuse window), its access token and its "
        "refresh family",
        "RFC 6749 §4.1.2, §10.5: kept while a reused code must still revoke what it issued",
    ),
    LogKind(
        "refresh_tokens",
        "P0D",
        "the token's expiry",
        "RFC 6749 §10.4: kept while the reuse of a rotated token must be recognised",
    ),
    LogKind(
        "assertion_jtis",
        "P0D",
        "the client assertion's expiry",
        "RFC 7523 §3: a jti is remembered while its assertion could be replayed",
    ),
)


_DEFAULTS = {kind.name: IsoDuration.parse(kind.default) for kind in KINDS}


@dataclass(frozen=True)
class LogRetention:
    """The period of each kind (after the moment ``KINDS`` names)."""

    disclosures: IsoDuration = _DEFAULTS["disclosures"]
    refusals: IsoDuration = _DEFAULTS["refusals"]
    activation_codes: IsoDuration = _DEFAULTS["activation_codes"]
    login_throttle: IsoDuration = _DEFAULTS["login_throttle"]
    ended_sessions: IsoDuration = _DEFAULTS["ended_sessions"]
    grants: IsoDuration = _DEFAULTS["grants"]
    refresh_tokens: IsoDuration = _DEFAULTS["refresh_tokens"]
    assertion_jtis: IsoDuration = _DEFAULTS["assertion_jtis"]

    @classmethod
    def from_env(cls) -> LogRetention:
        """Each kind from ``LEERID_RETENTION_<KIND>``, its default when unset."""
        values = {kind.name: duration_setting(kind.name, kind.default) for kind in KINDS}
        throttle = values["login_throttle"]
        if MIN_THROTTLE.after(_EPOCH) > throttle.after(_EPOCH):
            raise ConfigurationError(
                f"LEERID_RETENTION_LOGIN_THROTTLE={throttle} is shorter than the login "
                f"throttle's window ({MIN_THROTTLE}): a counter would be forgotten while it "
                "still counts; give PT1H or more"
            )
        return cls(**values)

    def as_json(self) -> dict[str, str]:
        return {f.name: str(getattr(self, f.name)) for f in fields(self)}
