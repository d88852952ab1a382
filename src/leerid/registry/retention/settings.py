"""Where DOV's operators set the retention periods: ``LEERID_RETENTION_<KIND>`` variables.

Each record kind has a default with its legal ground next to it (``rule.py`` for pupils,
``leerid.idp.store.log_retention`` for the provider's logs); the table of all of them is in
docs/dov-retention.md.
"""

from __future__ import annotations

from leerid import config
from leerid.errors import ConfigurationError
from leerid.protocol import IsoDuration
from leerid.registry.retention.rule import DEFAULT_GRACE, DEFAULT_PERIOD, RetentionPolicy

__all__ = ["duration_setting", "policy_from_env"]


def duration_setting(kind: str, default: str) -> IsoDuration:
    """``$LEERID_RETENTION_<KIND>`` as a duration, ``default`` when unset; a clear error
    (exit 2) naming the variable when it is not an ISO 8601 duration."""
    text = config.retention_setting(kind) or default
    try:
        return IsoDuration.parse(text)
    except ValueError as exc:
        raise ConfigurationError(
            f"LEERID_RETENTION_{kind.upper()}={text!r}: {exc}; unset it for the default {default}"
        ) from None


def policy_from_env() -> RetentionPolicy:
    """Art. 3: the pupils' retention (``LEERID_RETENTION_PUPILS``, ``LEERID_RETENTION_GRACE``)."""
    period = duration_setting("pupils", DEFAULT_PERIOD)
    if period == IsoDuration():
        raise ConfigurationError(
            "LEERID_RETENTION_PUPILS is zero: every pupil without a running enrolment would be "
            f"retired at once; give a period such as {DEFAULT_PERIOD} (art. 3)"
        )
    return RetentionPolicy(period=period, grace=duration_setting("grace", DEFAULT_GRACE))
