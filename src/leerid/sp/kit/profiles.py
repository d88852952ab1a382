"""Function profiles: which disclosed attributes each member of staff needs (art. 4).

Art. 4, second indent: "Enkel personen die omwille van hun functieprofiel deze informatie
nodig hebben voor de uitvoering van hun werk, krijgen toegang tot de informatie." LARS
describes its functions in the configuration (``[profiles.ID]``: label, role, attributes,
manages_staff); every error names the file, the line and the field, and is raised at start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leerid.errors import ConfigurationError
from leerid.protocol import Protocol
from leerid.protocol.attributes import AttributeKey

KEYS = ("label", "role", "attributes", "manages_staff")
_ID = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Profile:
    """One function of LARS's staff: its role of art. 4 and the art. 3 attributes it sees."""

    id: str
    label: str
    role: str
    attributes: tuple[str, ...]
    manages_staff: bool = False
    line: int = 0


def _header_line(lines: list[str], profile_id: str) -> int:
    header = re.compile(rf'^\s*\[\s*profiles\s*\.\s*"?{re.escape(profile_id)}"?\s*\]')
    for number, text in enumerate(lines, start=1):
        if header.match(text):
            return number
    return 0


def key_line(text: str, profile_id: str, key: str | None) -> int:
    """The line of ``[profiles.ID]`` (or of ``key`` inside it) in the file's text; tomllib
    gives values, not lines, so the line is found in the text itself (0 when not found)."""
    lines = text.splitlines()
    start = _header_line(lines, profile_id)
    if key is None or start == 0:
        return start
    assignment = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
    for number in range(start, len(lines)):
        if lines[number].lstrip().startswith("["):
            break
        if assignment.match(lines[number]):
            return number + 1
    return start


class _Where:
    """Errors of one profile table: ``file:line: [profiles.ID] field: ...``."""

    def __init__(self, path: Path, text: str, profile_id: str) -> None:
        self.path, self.text, self.id = path, text, profile_id

    def error(self, key: str | None, message: str) -> ConfigurationError:
        line = key_line(self.text, self.id, key)
        field = f" {key}" if key else ""
        return ConfigurationError(
            f"{self.path.name}:{line}: [profiles.{self.id}]{field}: {message}"
        )


def _typed(table: Mapping[str, Any], key: str, kind: type, where: _Where, default: Any) -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise where.error(key, f"must be a {kind.__name__}, not {value!r}")
    return value


def _one(profile_id: str, table: Any, where: _Where) -> Profile:
    if not _ID.match(profile_id):
        raise where.error(None, "the id must be 1-40 lower-case letters, digits, '_' or '-'")
    if not isinstance(table, dict):
        raise where.error(None, "must be a table with label, role and attributes")
    for key in table:
        if key not in KEYS:
            raise where.error(key, f"unknown key {key!r}; use one of " + ", ".join(KEYS))
    label = _typed(table, "label", str, where, profile_id).strip()
    role = _typed(table, "role", str, where, "")
    attributes = _typed(table, "attributes", list, where, [])
    for attribute in attributes:
        if not isinstance(attribute, str):
            raise where.error("attributes", f"{attribute!r} is not a text; write the key in quotes")
    if len(set(attributes)) != len(attributes):
        raise where.error("attributes", "an attribute is listed twice")
    return Profile(
        id=profile_id,
        label=label or profile_id,
        role=role,
        attributes=tuple(attributes),
        manages_staff=_typed(table, "manages_staff", bool, where, False),
        line=key_line(where.text, profile_id, None),
    )


def parse_profiles(tables: Any, path: Path) -> tuple[Profile, ...]:
    """``[profiles.*]`` of the file at ``path``: types and keys checked (the protocol's
    roles and attributes are checked by :func:`check_profiles` once it is loaded)."""
    if tables is None:
        return ()
    text = path.read_text(encoding="utf-8")
    if not isinstance(tables, dict):
        raise ConfigurationError(f"{path.name}: profiles must be tables, e.g. [profiles.arts]")
    return tuple(_one(pid, table, _Where(path, text, pid)) for pid, table in tables.items())


def allowed_attributes(protocol: Protocol) -> tuple[str, ...]:
    """Art. 3: the attributes the protocol lists; the INSZ only with a decretal basis."""
    return tuple(
        str(a.key.value)
        for a in protocol.data.attributes
        if a.key is not AttributeKey.INSZ or protocol.decretal_basis.present
    )


def check_profiles(profiles: tuple[Profile, ...], protocol: Protocol, path: Path) -> None:
    """Art. 4 (roles) and art. 3 (attributes): each profile against the protocol."""
    text = path.read_text(encoding="utf-8") if profiles else ""
    allowed = allowed_attributes(protocol)
    for profile in profiles:
        where = _Where(path, text, profile.id)
        role = protocol.role(profile.role)
        if role is None:
            raise where.error(
                "role",
                f"{profile.role!r} is not a recipient role of the protocol (art. 4); use one of "
                + ", ".join(r.id for r in protocol.roles),
            )
        for attribute in profile.attributes:
            if attribute not in allowed:
                raise where.error(
                    "attributes",
                    f"{attribute!r} is not an attribute the protocol discloses to you (art. 3); "
                    "use one of " + ", ".join(allowed),
                )
        if profile.attributes and not role.sees_pupil_data:
            raise where.error(
                "attributes",
                f"role {role.id!r} sees no pupil data (art. 4); leave attributes empty ([])",
            )


def profile_of(profiles: tuple[Profile, ...], profile_id: str | None) -> Profile | None:
    return next((p for p in profiles if p.id == profile_id), None)
