"""``[log]`` in the provider's TOML: witnessing DOV's transparency log (issue 12, point 3).

    [log]
    vkey = "leerid.dov.example/log+1a2b3c4d+AQ..."   # DOV's log key, pinned (`leerid log key`)
    witness_name = "lars.example/witness"             # default: the client id
    grace = 300       # seconds DOV has to put a disclosure in a checkpoint
    stale = 3600      # seconds DOV may fail to answer before "onbereikbaar" (and the margin
                      # after grace before a disclosure without a proof is "ontbrekend")
    interval = 60     # seconds between two witness rounds of `leerid sp serve` (0: none)
    alert_to = "dpo@lars.example"                     # our DPO (default: [mail] sender)

Without ``vkey`` the kit records nothing and the witness refuses to run: C2SP tlog-witness
has a witness check a log's signature with a key it was configured with, never with one the
log hands it at the moment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leerid.errors import ConfigurationError
from leerid.transparency.note import TYPE_ED25519, NoteError, Verifier

KEY_NAME = re.compile(r"[^\s+]{1,255}")
"""C2SP signed-note: a key name is non-empty and holds no whitespace and no plus sign."""

HOW_TO_PIN = (
    "pin DOV's log key: ask DOV for the output of `leerid log key` (or read the "
    "`leerid_log_vkey` member of DOV's discovery document and confirm it with DOV out of "
    "band), then set [log] vkey"
)


@dataclass(frozen=True)
class LogSettings:
    """How the kit witnesses DOV's log."""

    vkey: str | None = None
    origin: str | None = None
    """The checkpoint origin expected (default: the name of ``vkey``)."""
    witness_name: str = ""
    grace: float = 300.0
    stale: float = 3600.0
    """Seconds DOV's log may stay silent (no checkpoint, a failing proof) before the alert
    ``onbereikbaar``; also the margin after ``grace`` before a disclosure without a verified
    inclusion proof is ``ontbrekend`` whatever DOV answers."""
    interval: float = 60.0
    alert_to: str | None = None

    @property
    def enabled(self) -> bool:
        """The kit witnesses the log (and records received disclosures) once ``vkey`` is set."""
        return self.vkey is not None

    @property
    def expected_origin(self) -> str | None:
        """C2SP tlog-checkpoint: the origin line of this log's checkpoints."""
        if self.origin:
            return self.origin
        return self.vkey.split("+", 1)[0] if self.vkey else None


def _seconds(table: dict[str, Any], key: str, where: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigurationError(f"{where}: {key} must be 0 or more seconds, not {value!r}")
    return float(value)


def _text(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{where}: {key} must be a non-empty text, not {value!r}")
    return value.strip()


def parse_log(table: Any, path: Path, client_id: str, sender: str) -> LogSettings:
    """``[log]`` checked: a readable vkey, a witness name C2SP accepts, seconds ≥ 0."""
    where = f"{path} [log]"
    if not isinstance(table, dict):
        raise ConfigurationError(f"{where}: [log] must be a table")
    vkey = _text(table, "vkey", where)
    if vkey is not None:
        check_vkey(vkey, f"{path}, line {_line_of(path, 'vkey')} [log]")
    name = _text(table, "witness_name", where) or client_id
    if not KEY_NAME.fullmatch(name):
        raise ConfigurationError(
            f"{where}: witness_name {name!r} cannot name a C2SP key (no spaces, no '+'); "
            'set [log] witness_name, e.g. "lars.example/witness"'
        )
    return LogSettings(
        vkey=vkey,
        origin=_text(table, "origin", where),
        witness_name=name,
        grace=_seconds(table, "grace", where, 300.0),
        stale=_seconds(table, "stale", where, 3600.0),
        interval=_seconds(table, "interval", where, 60.0),
        alert_to=_text(table, "alert_to", where) or sender,
    )


def _line_of(path: Path, key: str) -> str:
    """The line of ``key = …`` in the ``[log]`` table of the file at ``path`` ("?" if the
    file cannot be read again), so that an error points at it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return "?"
    table = ""
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if text.startswith("["):
            table = text
        elif table == "[log]" and re.match(rf"{key}\s*=", text):
            return str(number)
    return "?"


def check_vkey(vkey: str, where: str) -> None:
    """C2SP signed-note: ``name+keyid+base64(type ‖ key)``, an Ed25519 key (type 0x01). A
    cosigner's key (type 0x04, C2SP tlog-cosignature) verifies witnesses, never DOV's
    checkpoints: refused with what to put instead."""
    try:
        verifier = Verifier.from_vkey(vkey)
    except NoteError as exc:
        raise ConfigurationError(
            f"{where}: vkey is not DOV's log key ({exc}); {HOW_TO_PIN}"
        ) from None
    if verifier.key_type != TYPE_ED25519:
        raise ConfigurationError(
            f"{where}: vkey {verifier.name!r} is a witness's cosigner key (type 0x04, C2SP "
            "tlog-cosignature; e.g. our own `leerid sp log witness-key`), not DOV's log key "
            f"(type 0x01) that signs the checkpoints; {HOW_TO_PIN}"
        )
