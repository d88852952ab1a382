"""``[dossier]`` in the provider's TOML: the record types and each one's own retention.

Art. 3's three years bind what DOV disclosed ("De meegedeelde gegevens zullen ... gedurende
3 jaar worden bewaard"), not the CLB's own dossier: its retention comes from the CLB's own
legal rule, cited per record type (``rule`` is required, so no period is set without it):

    [dossier]
    record_types = ["activiteit"]

    [dossier.retention.activiteit]
    keep = "P25Y"            # ISO 8601 duration
    from = "last_entry"      # the period runs from the dossier's last entry
    rule = "<the CLB's legal rule, cited; the CLB's DPO confirms it>"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leerid.errors import ConfigurationError
from leerid.protocol import IsoDuration

RECORD_TYPE = re.compile(r"[a-z][a-z0-9_]{0,39}")
DEFAULT_TYPE = "activiteit"
REPORT_TYPES = ("kwaliteitsmelding", "dov_melding")
"""Art. 7: the data-quality reports (ours to DOV, DOV's to us), kept under their own type."""
RETENTION_FROM = ("last_entry",)


@dataclass(frozen=True)
class DossierRetention:
    """The dossier's own retention for one record type (the CLB's rule, not art. 3's)."""

    record_type: str
    keep: IsoDuration
    start: str  # "last_entry": the dossier's (for a report: the report's) last entry
    rule: str  # the legal ground, cited


@dataclass(frozen=True)
class DossierSettings:
    """``[dossier]``: the record types staff may write, and the retention of each."""

    record_types: tuple[str, ...] = (DEFAULT_TYPE,)
    retention: tuple[DossierRetention, ...] = ()

    def retention_of(self, record_type: str) -> DossierRetention | None:
        return next((r for r in self.retention if r.record_type == record_type), None)


def _retention(kind: str, table: Any, where: str) -> DossierRetention:
    if not isinstance(table, dict):
        raise ConfigurationError(f"{where}: must be a table with keep, from and rule")
    keep = table.get("keep")
    if not isinstance(keep, str) or not keep.strip():
        raise ConfigurationError(f'{where}: keep is required (an ISO 8601 period, e.g. "P25Y")')
    try:
        period = IsoDuration.parse(keep.strip())
    except ValueError as exc:
        raise ConfigurationError(f"{where}: keep {keep!r}: {exc}") from None
    start = table.get("from", "last_entry")
    if start not in RETENTION_FROM:
        raise ConfigurationError(
            f"{where}: from {start!r} is not supported; use one of {', '.join(RETENTION_FROM)}"
        )
    rule = table.get("rule")
    if not isinstance(rule, str) or not rule.strip():
        raise ConfigurationError(
            f"{where}: rule is required: cite the CLB's legal ground for this period (confirmed "
            "by the CLB's DPO); no retention is configured without one"
        )
    return DossierRetention(kind, period, start, rule.strip())


def _record_types(table: dict[str, Any], where: str) -> tuple[str, ...]:
    types = table.get("record_types", [DEFAULT_TYPE])
    if not isinstance(types, list) or not types:
        raise ConfigurationError(f'{where}: record_types must be a list, e.g. ["{DEFAULT_TYPE}"]')
    for kind in types:
        if not isinstance(kind, str) or not RECORD_TYPE.fullmatch(kind) or kind in REPORT_TYPES:
            raise ConfigurationError(
                f"{where}: record_types: {kind!r} is not a record type (lower-case letters, "
                f"digits and _, at most 40; not {' or '.join(REPORT_TYPES)})"
            )
    return tuple(dict.fromkeys(types))


def parse_dossier(table: Any, path: Path) -> DossierSettings:
    """``[dossier]``: record types and ``[dossier.retention.TYPE]`` (keep, from, rule)."""
    where = f"{path} [dossier]"
    if not isinstance(table, dict):
        raise ConfigurationError(f"{where}: must be a table")
    types = _record_types(table, where)
    retention = table.get("retention", {})
    if not isinstance(retention, dict):
        raise ConfigurationError(f"{where}: retention must be [dossier.retention.TYPE] tables")
    known = (*types, *REPORT_TYPES)
    for kind in retention:
        if kind not in known:
            raise ConfigurationError(
                f"{path} [dossier.retention.{kind}]: unknown record type; use one of "
                + ", ".join(known)
            )
    return DossierSettings(
        record_types=types,
        retention=tuple(
            _retention(k, v, f"{path} [dossier.retention.{k}]") for k, v in retention.items()
        ),
    )
