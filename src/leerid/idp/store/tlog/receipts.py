"""Issue 12 §5: the receipt ("bewijs") of one entry, at the newest checkpoint.

A receipt (``leerid.transparency.receipt``, format ``leerid-receipt/v1``) holds the entry's
bytes and index, its RFC 9162 §2.1.3 inclusion proof in the tree of the newest checkpoint,
that checkpoint as the C2SP signed note DOV publishes (DOV's signature and every
cosignature received for it, C2SP tlog-cosignature), DOV's log verifier key and the keys of
the witnesses that cosigned it. Everything is read on one connection for one checkpoint
size, and ``make_receipt`` checks the proof and DOV's signature before the receipt leaves.
Who may have which receipt is not decided here: the pupil's page binds a leaf hash to the
logged-in pupil first (``idp.store.my_data.my_entry``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from leerid.idp.store.tlog.checkpoints import cosigned_note
from leerid.idp.store.tlog.proofs import inclusion_by_index
from leerid.idp.store.tlog.tree import newest_checkpoint_size
from leerid.idp.store.tlog.witnesses import list_witnesses
from leerid.transparency.receipt import make_receipt

__all__ = ["entry_receipt"]


def entry_receipt(engine: Engine, index: int, log_vkey: str) -> tuple[dict[str, Any], int] | None:
    """The receipt of entry ``index`` and the size of the checkpoint it proves against;
    None while that entry is not yet in a checkpoint (issue 12 §2: within seconds).

    ``NoteError``/``ProofError`` (``make_receipt``) when the stored checkpoint does not carry
    ``log_vkey``'s signature or the stored tree does not prove the entry: never handed out."""
    with engine.connect() as conn:
        size = newest_checkpoint_size(conn)
        if index >= size:
            return None
        found = inclusion_by_index(conn, index, size)
        note = cosigned_note(conn, size)
    if note is None:  # checkpoints are never deleted: the one of ``size`` is still there
        return None
    # C2SP tlog-cosignature: a disabled witness's cosignatures stay published, so count too
    witnesses = [w.vkey for w in list_witnesses(engine)]
    receipt = make_receipt(found.entry, index, found.proof, note, log_vkey, witnesses)
    return receipt, size
