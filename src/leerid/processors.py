"""Art. 6: a party's processors (GDPR art. 28), as both parties write and exchange the list.

"Partijen bezorgen elkaar een overzicht van de verwerkers die de gevraagde gegevens
verwerken, en actualiseren dit overzicht zo nodig." The kit reads its list from
``[[processors]]`` in its TOML file, the Department from the file ``LEERID_DOV_PROCESSORS_FILE``
names (TOML or JSON); both are checked here with the same clear errors, and travel as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leerid.errors import ConfigurationError

__all__ = ["FIELDS", "Processor", "load_processor_file", "parse_processors"]

FIELDS = ("name", "purpose", "location", "since")


@dataclass(frozen=True)
class Processor:
    """One processor: who, for what, where the data is processed, since when."""

    name: str
    purpose: str
    location: str
    since: dt.date

    def as_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "purpose": self.purpose,
            "location": self.location,
            "since": self.since.isoformat(),
        }


def _since(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigurationError(
            f"{where}: since = {value!r} is not a date; write it as 2024-03-01"
        ) from None


def parse_processors(entries: Iterable[Any], where: str) -> tuple[Processor, ...]:
    """The processors of ``entries`` (tables with name, purpose, location, since), checked."""
    found: list[Processor] = []
    for number, entry in enumerate(entries, start=1):
        place = f"{where} processor {number}"
        if not isinstance(entry, Mapping):
            raise ConfigurationError(
                f"{place}: write each processor as a table with " + ", ".join(FIELDS)
            )
        unknown = sorted(set(entry) - set(FIELDS))
        if unknown:
            raise ConfigurationError(f"{place}: unknown key(s) {', '.join(unknown)}")
        for key in FIELDS[:3]:
            value = entry.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(f"{place}: {key} is required (a non-empty text); add it")
        if "since" not in entry:
            raise ConfigurationError(f"{place}: since is required (a date, e.g. 2024-03-01)")
        found.append(
            Processor(
                name=str(entry["name"]).strip(),
                purpose=str(entry["purpose"]).strip(),
                location=str(entry["location"]).strip(),
                since=_since(entry["since"], place),
            )
        )
    names = [p.name.casefold() for p in found]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"{where}: a processor is listed twice; list each once")
    return tuple(found)


def load_processor_file(path: Path) -> tuple[Processor, ...]:
    """The list in ``path``: TOML (``[[processors]]`` tables) or JSON (a list of objects)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"the processor list {path} cannot be read ({exc.strerror}); fix the path"
        ) from None
    try:
        data: Any = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ConfigurationError(f"{path}: not valid {kind} ({exc}); fix the line named") from None
    entries = data.get("processors", None) if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ConfigurationError(f"{path}: no list of processors; write [[processors]] tables")
    return parse_processors(entries, str(path))
