"""``leerid log``: DOV's transparency log (issue 12 §4) from the command line.

``checkpoint`` shows the newest signed checkpoint; ``prove`` an entry's inclusion proof,
verified here against the stored checkpoint; ``verify`` recomputes the whole log from its
entries and names the first bad index or checkpoint; ``integrate`` runs one integration by
hand; ``key`` prints the log's verifier key; ``witness add|list|disable`` keeps the
register of witnesses; ``check-receipt`` checks a pupil's receipt offline.

Exit status: 0 all is well; 1 a check failed (``verify``, ``prove``, ``check-receipt``) or
the input is wrong (an index beyond the tree, an unreadable file); 2 the configuration or
the database is wrong (``LEERID_DATABASE_URL``, ``LEERID_TLOG_ORIGIN``); 3
``check-receipt`` without ``--key``: every check passed, but DOV's key was not compared, so
the receipt is not declared valid.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from leerid.cli.tables import print_table
from leerid.errors import LeeridError
from leerid.schema import get_engine
from leerid.transparency.note import Ed25519Signer
from leerid.transparency.receipt import b64url

app = typer.Typer(
    help="DOV's transparency log: checkpoints, proofs, the audit, witnesses, receipts.",
    no_args_is_help=True,
)
witness_app = typer.Typer(
    help="The recipients that cosign the log's checkpoints (C2SP tlog-cosignature).",
    no_args_is_help=True,
)
app.add_typer(witness_app, name="witness")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _log_key(engine: Engine) -> Ed25519Signer:
    """The log key under the log's origin (the stored checkpoints', else the configured)."""
    from leerid.idp.settings import IdpSettings
    from leerid.idp.store.tlog.checkpoints import log_origin, log_signer

    settings = IdpSettings.from_env()
    origin = log_origin(engine, settings.tlog_origin, explicit=settings.tlog_origin_set)
    return log_signer(engine, origin)


def _checkpoint_json(engine: Engine) -> dict[str, Any]:
    from leerid.idp.store.tlog.checkpoints import cosignatures_of, cosigned_note
    from leerid.idp.store.tlog.status import log_status

    with engine.connect() as conn:
        status = log_status(conn)
        newest = status.checkpoint
        cosigned = [] if newest is None else cosignatures_of(conn, newest.size)
        note = cosigned_note(conn)
    data: dict[str, Any] = {"integrated": status.size, "pending": status.pending}
    if newest is None:
        return {**data, "checkpoint": None}
    age = (dt.datetime.now(dt.UTC) - newest.signed_at).total_seconds()
    return {
        **data,
        "checkpoint": {
            "origin": newest.origin,
            "size": newest.size,
            "root": b64url(newest.root),
            "signed_at": newest.signed_at.isoformat(),
            "age_seconds": round(max(0.0, age), 3),
            "cosignatures": [{"witness": c.witness, "timestamp": c.timestamp} for c in cosigned],
            "note": note,
        },
    }


@app.command("checkpoint")
def checkpoint_command(as_json: JsonOption = False) -> None:
    """The newest checkpoint: size, root, age, its signatures; and what waits."""
    data = _checkpoint_json(get_engine(create=False))
    if as_json:
        out.print(json.dumps(data, indent=2), markup=False)
        return
    waiting = f"{data['integrated']} entries integrated, {data['pending']} pending"
    point = data["checkpoint"]
    if point is None:
        out.print(f"no checkpoint yet ({waiting}); the provider signs one within a second")
        return
    out.print(f"checkpoint of {point['origin']}: size {point['size']}, root {point['root']}")
    out.print(f"signed {point['signed_at']} ({point['age_seconds']:.0f} s ago); {waiting}")
    witnesses = ", ".join(c["witness"] for c in point["cosignatures"]) or "none yet"
    out.print(f"cosigned by: {witnesses}\n")
    out.print(escape(point["note"]), end="")


@app.command("prove")
def prove_command(
    entry: Annotated[int, typer.Option("--entry", min=0, help="The entry's index.")],
    size: Annotated[
        int | None,
        typer.Option("--size", min=1, help="A checkpoint's size (default: the newest)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """RFC 9162 §2.1.3: entry N's inclusion proof, verified against the stored checkpoint."""
    from leerid.idp.store.tlog.checkpoints import checkpoint_at
    from leerid.idp.store.tlog.proofs import inclusion_by_index
    from leerid.transparency.checkpoint import open_checkpoint
    from leerid.transparency.note import Verifier
    from leerid.transparency.rfc9162 import leaf_hash, verify_inclusion

    engine = get_engine(create=False)
    key = Verifier.from_vkey(_log_key(engine).vkey)
    with engine.connect() as conn:
        found = inclusion_by_index(conn, entry, size)
        stored = checkpoint_at(conn, found.size)
    if stored is None:
        raise LeeridError(
            f"DOV signed no checkpoint of size {found.size}: give --size of a checkpoint "
            "(`leerid log checkpoint` shows the newest) or leave it out"
        )
    signed, _ = open_checkpoint(stored.note, key)
    if leaf_hash(found.entry) != found.leaf_hash:
        raise LeeridError(f"entry {entry}: its body does not hash to its leaf hash; run verify")
    verify_inclusion(found.leaf_hash, found.index, found.size, found.proof, signed.root)
    if as_json:
        body = {**found.as_json(), "checkpoint": stored.note, "verified": True}
        out.print(json.dumps(body, indent=2), markup=False)
        return
    out.print(f"entry {found.index}: {found.entry.decode('ascii')}", markup=False)
    out.print(f"leaf hash {b64url(found.leaf_hash)}")
    out.print(f"inclusion proof in the tree of {found.size} entries ({len(found.proof)} hashes):")
    for step in found.proof:
        out.print(f"  {b64url(step)}")
    out.print(f"verified against checkpoint {found.size}, root {b64url(signed.root)}, signed by")
    out.print(f"the log key {escape(signed.origin)}: the entry is in the log")


@app.command("verify")
def verify_command(
    key: Annotated[
        str | None,
        typer.Option(
            help="The log's verifier key to check the checkpoints with (default: "
            "the provider's own, from the database)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute the log from the stored entries; compare tiles and every checkpoint.

    Names the first bad index, tile or checkpoint and exits 1.
    """
    from leerid.idp.store.tlog.audit import audit_log
    from leerid.transparency.note import NoteError, Verifier

    engine = get_engine(create=False)
    try:
        verifier = Verifier.from_vkey(key or _log_key(engine).vkey)
    except NoteError as exc:
        raise LeeridError(f"--key is not a C2SP verifier key: {exc.message}") from None
    with engine.connect() as conn:
        audit = audit_log(conn, verifier)
    problem = audit.problem
    if as_json:
        data = {
            "ok": problem is None,
            "size": audit.size,
            "entries": audit.entries,
            "checkpoints": audit.checkpoints,
            "tiles": audit.tiles,
            "problem": None
            if problem is None
            else {
                "where": problem.where,
                "what": problem.what,
                "index": problem.index,
                "checkpoint": problem.checkpoint,
            },
        }
        out.print(json.dumps(data, indent=2), markup=False)
    elif problem is None:
        out.print(
            f"the log is sound: {audit.entries} entries, {audit.tiles} tiles and "
            f"{audit.checkpoints} checkpoints recomputed and checked"
        )
    else:
        err.print(f"[bold red]the log is NOT sound[/] at {escape(str(problem))}")
        err.print(f"checked before it: {audit.entries} entries, {audit.checkpoints} checkpoints")
    if problem is not None:
        raise typer.Exit(1)


@app.command("integrate")
def integrate_command() -> None:
    """Integrate every pending entry now and sign a checkpoint (the nodes do it each second)."""
    from leerid.idp.store.tlog.integrate import integrate_pending

    engine = get_engine()
    done = integrate_pending(engine, _log_key(engine), checkpoint_every=0)
    signed = f"checkpoint {done.checkpoint} signed" if done.checkpoint else "no new checkpoint"
    out.print(f"integrated {done.integrated} entries: the tree holds {done.size}; {signed}")


@app.command("key")
def key_command() -> None:
    """The log's verifier key (C2SP signed-note vkey), for witnesses and receipt checkers."""
    out.print(_log_key(get_engine()).vkey, markup=False)


@witness_app.command("add")
def witness_add(
    client: Annotated[str, typer.Option("--client", help="The witness's client id.")],
    key: Annotated[str, typer.Option("--key", help="Its verifier key (name+keyid+base64).")],
) -> None:
    """Register a recipient's witness key (it prints it: `leerid sp log witness-key`)."""
    from leerid.idp.store.tlog.witnesses import add_witness

    witness = add_witness(get_engine(), None, client, key)
    out.print(f"witness {witness.name} registered for client {witness.client_id}", markup=False)


@witness_app.command("list")
def witness_list(as_json: JsonOption = False) -> None:
    """The registered witnesses (the disabled ones too)."""
    from leerid.idp.store.tlog.witnesses import list_witnesses

    witnesses = list_witnesses(get_engine(create=False))
    if as_json:
        out.print(json.dumps([w.as_json() for w in witnesses], indent=2), markup=False)
        return
    if not witnesses:
        out.print("no witnesses registered (leerid log witness add --client ID --key VKEY)")
        return
    table = Table("name", "client", "added", "disabled", "key")
    for w in witnesses:
        disabled = "" if w.disabled_at is None else w.disabled_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(w.name, w.client_id, w.added_at.strftime("%Y-%m-%d %H:%M"), disabled, w.vkey)
    print_table(out, table)


@witness_app.command("disable")
def witness_disable(name: Annotated[str, typer.Argument(help="The witness's name.")]) -> None:
    """Accept no more cosignatures from a witness (those received stay published)."""
    from leerid.idp.store.tlog.witnesses import disable_witness

    witness = disable_witness(get_engine(), name)
    out.print(f"witness {witness.name} disabled", markup=False)


@app.command("check-receipt")
def check_receipt_command(
    file: Annotated[Path, typer.Argument(help="The receipt (bewijs-….json).")],
    key: Annotated[
        str | None,
        typer.Option(
            help="DOV's log verifier key to trust (`leerid log key`, the pupil's page, or "
            "the provider's discovery document). Without it nothing is declared valid."
        ),
    ] = None,
    witness: Annotated[
        list[str] | None,
        typer.Option(
            help="A witness's verifier key to trust, as the witness publishes it "
            "(repeatable); only cosignatures by these keys count."
        ),
    ] = None,
) -> None:
    """Check a pupil's receipt offline: the entry, its proof, DOV's signature and the
    pinned witnesses' cosignatures. Exit 0 when valid, 1 when a check failed, 3 when every
    check passed but --key was not given (DOV's key not compared)."""
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LeeridError(f"cannot read {file}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LeeridError(
            f"{file} is not a receipt (not JSON: {exc}); give the downloaded bewijs-….json file"
        ) from None
    from leerid.transparency.receipt import check_receipt

    checked = check_receipt(document, trusted_log_vkey=key, trusted_witnesses=witness or ())
    for ok, line in checked.lines:
        out.print(f"{'✓' if ok else '✗'} {line}", markup=False)
    if not checked.ok:
        err.print("[bold red]this receipt does NOT prove the entry[/]")
        raise typer.Exit(1)
    if not checked.pinned:
        err.print(
            "DOV's key was not compared: the checks hold only against the key inside the "
            "receipt, which DOV wrote itself. Run again with --key '<DOV's key>' (shown on "
            "the pupil's page, or `leerid log key`); not declared valid."
        )
        raise typer.Exit(3)
    out.print("this receipt is valid")
