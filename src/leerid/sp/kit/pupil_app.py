"""The pupil-facing app through which the recipient authenticates pupils (title, preamble).

The seed's title: "PROTOCOL [...] NAAR LARS via de app van GLCE". LARS is the recipient; the
pupils reach it through the app GLCE, which is the client registered at LeerID ("LARS via de
app GLCE"). When another party runs the app, that party processes the disclosed data for the
recipient and is its processor (GDPR art. 28; art. 6 of the protocol, ``m-verwerkers``): it
must then be in the recipient's ``[[processors]]``, and so in the list sent to DOV and in the
register. ``[app]`` in the kit's TOML says so:

    [app]
    name = "GLCE"                      # how the seed names the app
    operator = "Vrij CLB Netwerk"      # who runs it; default: the recipient itself
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leerid.errors import ConfigurationError
from leerid.processors import Processor

__all__ = ["PupilApp", "check_operator", "parse_app"]

_KEYS = {"name", "operator"}


@dataclass(frozen=True)
class PupilApp:
    """The app pupils use; ``operator`` None means the recipient runs it itself."""

    name: str
    operator: str | None = None

    def client_name(self, recipient: str) -> str:
        """The name the client is registered under at LeerID: "LARS via de app GLCE"."""
        return f"{recipient} via de app {self.name}"


def parse_app(table: Any, path: Path) -> PupilApp | None:
    """``[app]`` of the kit's TOML, checked (file, table and key in every error)."""
    if table is None:
        return None
    where = f"{path} [app]"
    if not isinstance(table, dict):
        raise ConfigurationError(f"{where}: must be a table with name (and operator)")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigurationError(
            f"{where}: unknown key {unknown[0]!r}; use " + ", ".join(sorted(_KEYS))
        )
    name, operator = table.get("name"), table.get("operator")
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f'{where}: name is required, e.g. name = "GLCE"')
    if operator is not None and (not isinstance(operator, str) or not operator.strip()):
        raise ConfigurationError(f"{where}: operator must be the name of the party that runs it")
    return PupilApp(name.strip(), operator.strip() if operator else None)


def check_operator(
    app: PupilApp | None, recipient: str, processors: tuple[Processor, ...], path: Path
) -> None:
    """Art. 6 (m-verwerkers): an app run by another party is run by one of our processors."""
    if app is None or app.operator is None:
        return
    if app.operator.casefold() == recipient.casefold():
        return
    if any(p.name.casefold() == app.operator.casefold() for p in processors):
        return
    raise ConfigurationError(
        f"{path} [app] operator: {app.operator!r} runs the app {app.name} for {recipient} and "
        "so processes the pupils' data: describe it under [[processors]] (name, purpose, "
        "location, since) as art. 6 of the protocol asks (m-verwerkers), or leave operator "
        "out when the recipient runs the app itself"
    )
