"""The witness's verdict on DOV's newest checkpoint against the one it holds (issue 12, §3).

C2SP tlog-witness: a witness cosigns only a checkpoint it verified, and never one that does
not extend the one it holds. In this order:

1. DOV's signature with the pinned key (``[log] vkey``, C2SP signed-note) and the expected
   origin (C2SP tlog-checkpoint): bad or missing → alert ``handtekening``;
2. the same size and root as the held one: nothing new;
3. another root at the held size, or a consistency proof (RFC 9162 §2.1.4.2) that fails →
   alert ``inconsistent``, with both notes and the proof;
4. a larger size whose consistency proof from the held one verifies: to keep and cosign;
5. a smaller size whose consistency proof *to* the held one verifies: a stale copy (a cache
   in front of DOV), neither an alert nor cosigned.

DOV signed both sizes, so it can always prove one extends the other. A refusal (4xx, a
malformed proof) may be a passing fault: the round says it and asks again next round; a
second refusal of a proof from the same held size is ``inconsistent``. DOV not answering at
all (5xx, unreachable) is an outage until ``[log] stale`` says otherwise (``log_witness``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from leerid.sp.kit.log_client import LogClient, LogRefusedError, b64url
from leerid.sp.kit.log_receipts import HeldCheckpoint
from leerid.sp.kit.log_settings import LogSettings
from leerid.transparency.checkpoint import Checkpoint, open_checkpoint
from leerid.transparency.note import NoteError, Verifier
from leerid.transparency.rfc9162 import ProofError, verify_consistency

__all__ = ["Verdict", "judge"]


@dataclass(frozen=True)
class Verdict:
    """What to do with DOV's newest checkpoint: keep it (with its consistency proof), raise
    an alert, leave a stale copy be, or ask again next round (``retry``)."""

    checkpoint: Checkpoint | None = None
    proof: list[bytes] | None = None
    alert: tuple[str, str, dict[str, Any]] | None = None  # kind, summary, evidence
    stale: bool = False
    retry: str | None = None
    """``FIRST SECOND``: the consistency proof DOV refused this time."""
    problem: str | None = None


def _opened(settings: LogSettings, note: str) -> Checkpoint | Verdict:
    """C2SP signed-note and tlog-checkpoint: DOV's signature with the pinned key, and the
    origin this log's checkpoints carry."""
    assert settings.vkey is not None
    try:
        checkpoint, _ = open_checkpoint(note, Verifier.from_vkey(settings.vkey))
    except NoteError as exc:
        summary = (
            f"Het checkpoint draagt geen geldige handtekening van het Departement: {exc.message}"
        )
        return Verdict(alert=("handtekening", summary, {"note": note}))
    expected = settings.expected_origin
    if expected is not None and checkpoint.origin != expected:
        summary = (
            f"Het checkpoint is van logboek {checkpoint.origin!r}, niet van {expected!r} "
            "(de origin bij [log] vkey)"
        )
        return Verdict(alert=("handtekening", summary, {"note": note}))
    return checkpoint


async def _proof(
    log: LogClient, first: int, second: int, evidence: dict[str, Any], refused: str | None
) -> list[bytes] | Verdict:
    """RFC 9162 §2.1.4: DOV's consistency proof from ``first`` to ``second`` (empty from 0
    or between equal sizes), or the verdict on its refusal."""
    if first in (0, second):
        return []
    pair = f"{first} {second}"
    try:
        proof = await log.consistency(first, second)
    except LogRefusedError as exc:
        evidence["refusal"] = exc.message
        if refused is not None and refused.split()[0] == str(first):
            summary = (
                f"Het Departement weigert, ook bij een nieuwe poging in een latere ronde, te "
                f"bewijzen dat grootte {second} verder bouwt op grootte {first}, twee "
                f"checkpoints die het zelf ondertekende ({exc.message}). Een logboek dat "
                "verder bouwt kan dat bewijs altijd geven."
            )
            return Verdict(alert=("inconsistent", summary, evidence))
        problem = (
            f"DOV refused the consistency proof from size {first} to {second} "
            f"({exc.message}); asked again next round, where a second refusal is an alert"
        )
        return Verdict(retry=pair, problem=problem)
    evidence["proof"] = [b64url(h) for h in proof]
    return proof


async def judge(
    settings: LogSettings,
    log: LogClient,
    note: str,
    held: HeldCheckpoint | None,
    refused: str | None = None,
) -> Verdict | None:
    """The verdict on DOV's newest ``note`` against ``held`` (None: nothing new);
    ``refused``: the consistency proof DOV refused last round, if any."""
    opened = _opened(settings, note)
    if isinstance(opened, Verdict):
        return opened
    if held is None:  # the first checkpoint is taken as it is: nothing to compare with
        return Verdict(checkpoint=opened, proof=[])
    if opened.size == held.size and opened.root == held.root:
        return None
    evidence: dict[str, Any] = {"held": held.note, "new": note}
    older = opened.size < held.size
    first, second = (opened.size, held.size) if older else (held.size, opened.size)
    proof = await _proof(log, first, second, evidence, refused)
    if isinstance(proof, Verdict):
        return proof
    roots = (opened.root, held.root) if older else (held.root, opened.root)
    try:
        verify_consistency(first, second, roots[0], roots[1], proof)
    except ProofError as exc:
        summary = (
            f"Het checkpoint van grootte {opened.size} hoort niet bij hetzelfde logboek als "
            f"het checkpoint van grootte {held.size} dat we eerder zagen en "
            f"medeondertekenden: {exc.message}. Het Departement toont dus niet iedereen "
            "hetzelfde logboek, of herschreef het."
        )
        return Verdict(alert=("inconsistent", summary, evidence))
    if older:
        return Verdict(stale=True)
    return Verdict(checkpoint=opened, proof=proof)
