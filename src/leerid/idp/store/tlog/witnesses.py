"""Issue 12 §3: the recipients that witness DOV's log, and the cosignatures they return.

A witness is registered by DOV for one client (``leerid log witness add --client ID --key
VKEY``): its name and C2SP verifier key (``name+keyid+base64(0x04 ‖ public key)``,
tlog-cosignature's Ed25519 type). It sends its cosignature of a checkpoint to ``POST
/op/v1/log/cosignature?size=S``, authenticated as that client; DOV checks it against the
stored checkpoint of that size (C2SP tlog-cosignature: the signed message is the
``cosignature/v1`` header, the time and the checkpoint body), refuses a time more than ten
minutes ahead, and keeps it (once per witness and size: sending it again changes nothing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from leerid.errors import LeeridError, NotFoundError
from leerid.idp.store.clients import get_client
from leerid.idp.store.tlog.checkpoints import aware, checkpoint_at
from leerid.idp.store.tlog.tables import TlogCosignature, TlogWitness
from leerid.transparency.cosignature import verify_cosignature
from leerid.transparency.note import TYPE_COSIGNATURE, Note, NoteError, Signature, Verifier

__all__ = [
    "FUTURE_LIMIT",
    "CosignatureRefusedError",
    "Witness",
    "accept_cosignature",
    "add_witness",
    "disable_witness",
    "list_witnesses",
]

FUTURE_LIMIT = dt.timedelta(minutes=10)
"""A cosignature's time may be at most this far ahead of DOV's clock."""


class CosignatureRefusedError(LeeridError):
    """A cosignature DOV does not accept (HTTP 400): the reason."""


@dataclass(frozen=True)
class Witness:
    """A registered witness."""

    name: str
    client_id: str
    vkey: str
    added_at: dt.datetime
    disabled_at: dt.datetime | None

    def as_json(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "client_id": self.client_id,
            "vkey": self.vkey,
            "added_at": self.added_at.isoformat(),
            "disabled_at": None if self.disabled_at is None else self.disabled_at.isoformat(),
        }


_COLUMNS = (
    TlogWitness.name,
    TlogWitness.client_id,
    TlogWitness.vkey,
    TlogWitness.added_at,
    TlogWitness.disabled_at,
)


def _witness(row: Row[str, str, str, dt.datetime, dt.datetime | None]) -> Witness:
    name, client_id, vkey, added_at, disabled_at = row
    return Witness(
        name, client_id, vkey, aware(added_at), None if disabled_at is None else aware(disabled_at)
    )


def add_witness(engine: Engine, name: str | None, client_id: str, vkey: str) -> Witness:
    """Register the witness of ``vkey`` for ``client_id`` (``name`` defaults to the key's);
    a disabled witness of that name is enabled again with the new key."""
    try:
        key = Verifier.from_vkey(vkey)
    except NoteError as exc:
        raise LeeridError(f"--key is not a C2SP verifier key: {exc.message}") from None
    if key.key_type != TYPE_COSIGNATURE:
        raise LeeridError(
            f"--key {key.name} is of type {key.key_type:#04x}; a witness key is of type 0x04 "
            "(C2SP tlog-cosignature, Ed25519): give the key `leerid sp log witness-key` prints"
        )
    key_name = key.name
    if name is not None and name != key_name:
        raise LeeridError(f"the key is named {key_name!r}, not {name!r}: give the witness's key")
    get_client(engine, client_id)  # NotFoundError for an unknown client
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        known = conn.execute(select(*_COLUMNS).where(TlogWitness.name == key_name)).first()
        if known is not None and known.disabled_at is None:
            raise LeeridError(
                f"witness {key_name} is registered already (client {known.client_id}); "
                "`leerid log witness disable` it first to register another key"
            )
        values = {"client_id": client_id, "vkey": vkey, "added_at": now, "disabled_at": None}
        if known is None:
            conn.execute(insert(TlogWitness).values(name=key_name, **values))
        else:
            conn.execute(update(TlogWitness).where(TlogWitness.name == key_name).values(**values))
    return Witness(key_name, client_id, vkey, now, None)


def list_witnesses(engine: Engine, *, enabled_only: bool = False) -> list[Witness]:
    """The registered witnesses by name (the disabled ones too unless ``enabled_only``)."""
    query = select(*_COLUMNS).order_by(TlogWitness.name)
    if enabled_only:
        query = query.where(TlogWitness.disabled_at.is_(None))
    with engine.connect() as conn:
        return [_witness(row) for row in conn.execute(query)]


def disable_witness(engine: Engine, name: str) -> Witness:
    """Stop accepting cosignatures from witness ``name`` (those received stay published)."""
    with engine.begin() as conn:
        row = conn.execute(select(*_COLUMNS).where(TlogWitness.name == name)).first()
        if row is None:
            raise NotFoundError(f"no witness {name!r}; `leerid log witness list` shows them")
        if row.disabled_at is None:
            conn.execute(
                update(TlogWitness)
                .where(TlogWitness.name == name)
                .values(disabled_at=dt.datetime.now(dt.UTC))
            )
    return next(w for w in list_witnesses(engine) if w.name == name)


def _parse_line(line: str) -> Signature:
    """One signature line of a signed note (C2SP signed-note: ``— name base64``)."""
    text = line.strip("\n")
    if "\n" in text or not text:
        raise CosignatureRefusedError("send exactly one cosignature line: '— <name> <base64>'")
    try:
        return Signature.parse_line(text)
    except NoteError as exc:
        raise CosignatureRefusedError(f"the cosignature line is malformed: {exc.message}") from None


def _witness_for(conn: Connection, client_id: str, name: str) -> Witness:
    row = conn.execute(
        select(*_COLUMNS).where(TlogWitness.name == name, TlogWitness.disabled_at.is_(None))
    ).first()
    if row is None or row.client_id != client_id:
        raise CosignatureRefusedError(
            f"{name!r} is not a witness registered for client {client_id}: DOV registers a "
            "witness with `leerid log witness add --client ID --key VKEY`"
        )
    return _witness(row)


def accept_cosignature(engine: Engine, client_id: str, size: int, line: str) -> Witness:
    """C2SP tlog-cosignature: check and keep a witness's cosignature of checkpoint ``size``;
    ``CosignatureRefused`` with the reason."""
    signature = _parse_line(line)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        witness = _witness_for(conn, client_id, signature.name)
        stored = checkpoint_at(conn, size)
        if stored is None:
            raise CosignatureRefusedError(
                f"DOV signed no checkpoint of size {size}: cosign a checkpoint from "
                "/op/v1/log/checkpoint and send its size"
            )
        body = Note.parse(stored.note).text
        try:
            timestamp = verify_cosignature(signature, body, witness.vkey)
        except NoteError as exc:
            raise CosignatureRefusedError(
                f"the cosignature does not verify for the checkpoint of size {size} with the "
                f"key registered for {witness.name}: {exc.message}"
            ) from None
        # Integers: a validly signed time far ahead (2**62) has no datetime (OverflowError).
        if timestamp > int(now.timestamp()) + int(FUTURE_LIMIT.total_seconds()):
            raise CosignatureRefusedError(
                f"the cosignature's time {timestamp} is more than ten minutes ahead of DOV's "
                "clock; check the witness's clock"
            )
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(  # sent before: the first one is kept
            dialect.insert(TlogCosignature)
            .values(
                size=size,
                witness=witness.name,
                line=signature.line(),
                timestamp=timestamp,
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=[TlogCosignature.size, TlogCosignature.witness])
        )
    return witness
