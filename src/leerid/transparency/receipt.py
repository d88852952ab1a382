"""The pupil's receipt: one log entry with everything needed to check it offline.

A receipt (JSON, ``"format": "leerid-receipt/v1"``) holds the entry's bytes, its index, the
inclusion proof (RFC 9162 §2.1.3), the checkpoint note it proves against (C2SP
tlog-checkpoint, signed by DOV and cosigned by witnesses, C2SP tlog-cosignature) and the
vkeys of the log and of those witnesses. ``check_receipt`` runs every check and says, line
by line in plain Dutch (a short English tag in parentheses), what holds and what does not.
The receipt's own keys prove nothing by themselves (DOV made the receipt): the log's key is
compared with the one the reader pins, and only cosignatures by witness keys the reader pins
count; a witness known only from the receipt is named as not checked.
Hashes are base64url without padding; the checkpoint stays the note text, as signed.
The format is documented in docs/transparency-log.md ("The pupil's receipt").
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from leerid.errors import LeeridError
from leerid.transparency.checkpoint import Checkpoint, open_checkpoint
from leerid.transparency.cosignature import verify_cosignature
from leerid.transparency.entries import EntryError, LogEntry, decode_entry
from leerid.transparency.note import Note, NoteError, Verifier
from leerid.transparency.rfc9162 import ProofError, leaf_hash, verify_inclusion

__all__ = [
    "RECEIPT_FORMAT",
    "ReceiptCheck",
    "b64url",
    "check_receipt",
    "describe_entry",
    "from_b64url",
    "make_receipt",
]

RECEIPT_FORMAT = "leerid-receipt/v1"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_PROTOCOL_KINDS = {
    "protocol_version": "een nieuwe versie",
    "protocol_signature": "een handtekening",
    "protocol_ending": "het einde",
}


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 4648 §5), as leerid writes every hash outside notes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def from_b64url(text: str, what: str = "value") -> bytes:
    """The bytes of base64url without padding; ``ValueError`` naming ``what`` otherwise."""
    data = None
    if _B64URL.fullmatch(text) and len(text) % 4 != 1:
        try:
            data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except binascii.Error:
            data = None
    if data is None or b64url(data) != text:
        raise ValueError(f"{what} is not base64url without padding (RFC 4648 §5)")
    return data


def make_receipt(
    entry: bytes,
    index: int,
    proof: Sequence[bytes],
    checkpoint_note: str,
    log_vkey: str,
    witness_vkeys: Sequence[str] = (),
) -> dict[str, Any]:
    """A receipt for entry ``index``, checked before it is handed out: the checkpoint must
    carry the log's signature and the proof must hold (``NoteError``/``ProofError``
    otherwise). Witnesses whose valid cosignature is not on the note are left out."""
    checkpoint, note = open_checkpoint(checkpoint_note, Verifier.from_vkey(log_vkey))
    leaf = leaf_hash(entry)
    verify_inclusion(leaf, index, checkpoint.size, proof, checkpoint.root)
    cosigned = [vkey for vkey in witness_vkeys if _cosigned_at(note, vkey) is not None]
    return {
        "format": RECEIPT_FORMAT,
        "log": {"origin": checkpoint.origin, "vkey": log_vkey},
        "entry": b64url(entry),
        "leaf_hash": b64url(leaf),
        "index": index,
        "checkpoint": checkpoint_note,
        "inclusion_proof": [b64url(p) for p in proof],
        "witnesses": cosigned,
    }


def _cosigned_at(note: Note, vkey: str) -> int | None:
    """The time of the valid cosignature of witness ``vkey`` on the note, if there is one."""
    verifier = Verifier.from_vkey(vkey)
    for signature in note.signatures:
        if (signature.name, signature.key_id) == (verifier.name, verifier.key_id):
            try:
                return verify_cosignature(signature, note.text, vkey)
            except NoteError:
                return None
    return None


@dataclass
class ReceiptCheck:
    """The outcome: one (ok, text) line per check, the entry if it could be read, whether
    the log's key was given (pinned) rather than taken from the receipt, and the names of
    the pinned witnesses whose valid cosignature is on the checkpoint."""

    lines: list[tuple[bool, str]] = field(default_factory=list)
    entry: LogEntry | None = None
    pinned: bool = False
    witnessed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return bool(self.lines) and all(ok for ok, _ in self.lines)

    def add(self, ok: bool, text: str) -> None:
        self.lines.append((ok, text))


class _BlockingCheckError(LeeridError):
    """A check failed that the next checks depend on."""


@dataclass(frozen=True)
class _Receipt:
    origin: str
    vkey: str
    entry: bytes
    leaf_hash: bytes | None
    index: int
    checkpoint: str
    proof: list[bytes]
    witnesses: list[str]


def check_receipt(
    document: Mapping[str, Any] | str | bytes,
    trusted_log_vkey: str | None = None,
    trusted_witnesses: Sequence[str] = (),
) -> ReceiptCheck:
    """Check a receipt offline: its form, its entry, the log's signature on the checkpoint
    (against ``trusted_log_vkey`` if given, else the receipt's own key, said in a line:
    then ``pinned`` is False and the receipt is only consistent in itself), the inclusion
    proof (RFC 9162 §2.1.3.2) and the cosignature of each witness in ``trusted_witnesses``
    (C2SP tlog-cosignature); a witness the receipt lists but the caller did not pin is not
    counted, whatever its name: DOV could make up a key under a real witness's name."""
    check = ReceiptCheck(pinned=trusted_log_vkey is not None)
    try:
        receipt = _read(document)
        check.add(True, f"Dit is een LeerID-bewijs ({RECEIPT_FORMAT}).")
        check.entry = _check_entry(check, receipt)
        verifier = _log_key(check, receipt, trusted_log_vkey)
        checkpoint, note = _check_checkpoint(check, receipt, verifier)
        _check_inclusion(check, receipt, checkpoint)
        _check_witnesses(check, receipt, note, trusted_witnesses)
    except _BlockingCheckError as stop:
        check.add(False, stop.message)
    return check


def _read(document: Mapping[str, Any] | str | bytes) -> _Receipt:
    """The receipt's members with their types; the first one wrong stops the check."""
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except ValueError:
            raise _BlockingCheckError(
                "Dit bestand is geen bewijs: het is geen JSON (not JSON)."
            ) from None
    if not isinstance(document, Mapping) or document.get("format") != RECEIPT_FORMAT:
        raise _BlockingCheckError(
            f"Dit is geen LeerID-bewijs dat we kennen: we verwachten format "
            f"{RECEIPT_FORMAT!r} (unknown format)."
        )
    log = document.get("log")
    try:
        receipt = _Receipt(
            origin=_member(log, "origin", str, "log.origin"),
            vkey=_member(log, "vkey", str, "log.vkey"),
            entry=from_b64url(_member(document, "entry", str), "entry"),
            leaf_hash=_optional_hash(document),
            index=_member(document, "index", int),
            checkpoint=_member(document, "checkpoint", str),
            proof=[
                from_b64url(_text(p, "inclusion_proof"), "inclusion_proof")
                for p in _member(document, "inclusion_proof", list)
            ],
            witnesses=[_text(w, "witnesses") for w in _member(document, "witnesses", list)],
        )
    except ValueError as exc:
        raise _BlockingCheckError(
            f"Het bewijs is onvolledig of beschadigd: {exc} (malformed)."
        ) from None
    return receipt


def _member(holder: object, name: str, kind: type, label: str | None = None) -> Any:
    value = holder.get(name) if isinstance(holder, Mapping) else None
    if type(value) is not kind or (isinstance(value, int) and value < 0):
        raise ValueError(f"{label or name} ontbreekt of is geen {kind.__name__}")
    return value


def _text(value: object, label: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{label} bevat iets anders dan tekst")
    return value


def _optional_hash(document: Mapping[str, Any]) -> bytes | None:
    if "leaf_hash" not in document:
        return None
    return from_b64url(_member(document, "leaf_hash", str), "leaf_hash")


def _check_entry(check: ReceiptCheck, receipt: _Receipt) -> LogEntry | None:
    """The entry is a log entry in the documented form; a line says what it records."""
    try:
        entry = decode_entry(receipt.entry)
    except EntryError as exc:
        check.add(False, f"De regel in het bewijs is niet leesbaar: {exc.message} (entry).")
        return None
    check.add(True, f"Je regel: {describe_entry(entry)} (entry decodes).")
    return entry


def describe_entry(entry: LogEntry) -> str:
    """One Dutch sentence for an entry: when, what, and to whom (a client, never a person)."""
    when = entry.at.astimezone(dt.UTC).strftime("%d-%m-%Y %H:%M UTC")
    fields = entry.fields
    if entry.kind == "disclosure":
        claims = ", ".join(fields["claims"]) or "geen gegevens"
        outcomes = {"released": "doorgegeven", "refused": "geweigerd"}
        result = outcomes.get(fields["outcome"], fields["outcome"])
        return f"op {when} vroeg {fields['client']} {claims}; uitkomst: {result}"
    if entry.kind == "event":
        return f"op {when} stuurde LeerID {fields['client']} het bericht {fields['event']}"
    what = _PROTOCOL_KINDS.get(entry.kind, entry.kind)
    return f"op {when}: {what} van protocol {fields['protocol']}"


def _log_key(check: ReceiptCheck, receipt: _Receipt, trusted: str | None) -> Verifier:
    """The log's key: the trusted one if given, else the receipt's (and a line saying so)."""
    try:
        verifier = Verifier.from_vkey(trusted or receipt.vkey)
    except NoteError as exc:
        raise _BlockingCheckError(
            f"De sleutel van het logboek is onleesbaar: {exc.message} (log key)."
        ) from None
    if trusted is None:
        check.add(
            True,
            "Let op: je gaf de sleutel van DOV niet op, dus we gebruikten de sleutel uit het "
            f"bewijs zelf: {receipt.vkey}. Vergelijk hem met de sleutel die DOV publiceert "
            "(leerid log checkpoint toont hem) of geef hem mee (log key not pinned).",
        )
    elif trusted.strip() != receipt.vkey:
        check.add(
            False,
            "De sleutel in het bewijs is niet de sleutel van DOV die je opgaf; we controleren "
            "met de jouwe (log key differs from the pinned key).",
        )
    else:
        check.add(True, "De sleutel in het bewijs is de sleutel van DOV die je opgaf.")
    return verifier


def _check_checkpoint(
    check: ReceiptCheck, receipt: _Receipt, verifier: Verifier
) -> tuple[Checkpoint, Note]:
    """DOV's signature on the checkpoint, and the checkpoint is of the receipt's log."""
    try:
        checkpoint, note = open_checkpoint(receipt.checkpoint, verifier)
    except NoteError as exc:
        raise _BlockingCheckError(
            f"De handtekening van DOV onder het logboek klopt niet: {exc.message} "
            "(checkpoint signature invalid)."
        ) from None
    if checkpoint.origin != receipt.origin:
        raise _BlockingCheckError(
            f"Het bewijs noemt logboek {receipt.origin}, maar de handtekening is van "
            f"{checkpoint.origin} (origin mismatch)."
        )
    check.add(
        True,
        f"DOV ondertekende het logboek toen het {checkpoint.size} regels had "
        "(checkpoint signature valid).",
    )
    return checkpoint, note


def _check_inclusion(check: ReceiptCheck, receipt: _Receipt, checkpoint: Checkpoint) -> None:
    """The leaf hash of the entry, and its inclusion proof against the checkpoint's root."""
    leaf = leaf_hash(receipt.entry)
    if receipt.leaf_hash is not None and receipt.leaf_hash != leaf:
        check.add(False, "De vingerafdruk in het bewijs hoort niet bij je regel (leaf hash).")
    else:
        check.add(True, f"De vingerafdruk van je regel is {b64url(leaf)} (leaf hash).")
    try:
        verify_inclusion(leaf, receipt.index, checkpoint.size, receipt.proof, checkpoint.root)
    except ProofError as exc:
        check.add(
            False,
            f"Het bewijs toont niet dat je regel in het logboek staat: {exc.message} "
            "(inclusion proof invalid).",
        )
        return
    check.add(
        True,
        f"Je regel staat in het logboek, als nummer {receipt.index} van de "
        f"{checkpoint.size} regels (we tellen vanaf 0) (inclusion proof valid).",
    )


def _check_witnesses(
    check: ReceiptCheck, receipt: _Receipt, note: Note, trusted: Sequence[str]
) -> None:
    """Each pinned witness's cosignature is on the note and valid (C2SP tlog-cosignature);
    a witness listed in the receipt only is named as not checked."""
    pinned = [vkey.strip() for vkey in trusted]
    for vkey in pinned:
        _check_pinned_witness(check, note, vkey)
    for vkey in receipt.witnesses:
        if vkey in pinned:
            continue
        try:
            name = Verifier.from_vkey(vkey).name
        except NoteError as exc:
            check.add(False, f"Een getuigensleutel is onleesbaar: {exc.message} (witness key).")
            continue
        check.add(
            True,
            f"Getuige {name}: niet nagekeken: sleutel niet opgegeven. Geef de sleutel die de "
            "getuige zelf publiceert mee met --witness (witness key not pinned).",
        )
    if not check.witnessed:
        check.add(
            True,
            "Geen opgegeven getuige tekende mee: alleen DOV staat in voor dit logboek "
            "(no pinned witnesses).",
        )


def _check_pinned_witness(check: ReceiptCheck, note: Note, vkey: str) -> None:
    """One pinned witness: its valid cosignature on the note, or a failed line."""
    try:
        name = Verifier.from_vkey(vkey).name
    except NoteError as exc:
        check.add(
            False, f"De opgegeven getuigensleutel is onleesbaar: {exc.message} (witness key)."
        )
        return
    stamp = _cosigned_at(note, vkey)
    if stamp is None:
        check.add(
            False,
            f"Getuige {name} heeft dit logboek niet (geldig) mee ondertekend "
            "(cosignature missing or invalid).",
        )
        return
    check.witnessed.append(name)
    when = dt.datetime.fromtimestamp(min(stamp, 253402300799), dt.UTC)
    check.add(
        True,
        f"Getuige {name} zag hetzelfde logboek en tekende op "
        f"{when:%d-%m-%Y %H:%M} UTC (cosignature valid).",
    )
