"""``leerid protocol``: check, render, register, add and list protocol files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from leerid.cli.protocol_ending import end, ended_protocol, parse_moment, terminate
from leerid.cli.protocol_signed import register_signing
from leerid.errors import LeeridError
from leerid.protocol import content_hash, status
from leerid.protocol.checks import check_protocol
from leerid.protocol.loading import LoadedProtocol, Problem, ProtocolError, read_document
from leerid.protocol.model import PartyRole
from leerid.protocol.register import RegisterFormat, render_register
from leerid.protocol.render import RenderFormat, render
from leerid.protocol.schema import json_schema_text

app = typer.Typer(
    help="Protocols as code: validate, publish, register and store data-sharing protocols.",
    no_args_is_help=True,
)

OUT_HELP = "Write here instead of stdout."
AT_HELP = "The moment to judge the status at (ISO 8601, e.g. 2024-04-01); default: now."


def _moment(text: str | None) -> dt.datetime:
    return dt.datetime.now(dt.UTC) if text is None else parse_moment(text)


def _write(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LeeridError(f"cannot write {out} ({exc.strerror}); choose another --out") from None
    typer.echo(f"wrote {out}", err=True)


@app.command()
def check(
    files: Annotated[list[Path], typer.Argument(help="Protocol files (YAML).")],
    at: Annotated[str | None, typer.Option("--at", help=AT_HELP)] = None,
) -> None:
    """Validate protocol files: errors exit 1, warnings (doubtful content) exit 0."""
    moment = _moment(at)
    errors: list[Problem] = []
    for file in files:
        try:
            loaded = read_document(file)
        except ProtocolError as exc:
            errors.extend(exc.problems)
            continue
        for warning in check_protocol(loaded, moment):
            typer.echo(f"warning: {warning}")
        protocol = loaded.protocol
        typer.echo(
            f"ok: {file}: {protocol.id} version {protocol.version}, "
            f"status {status(protocol, moment).value}, sha256 {content_hash(protocol)}"
        )
    if errors:
        raise ProtocolError(errors)


@app.command("render")
def render_command(
    file: Annotated[Path, typer.Argument(help="The protocol file (YAML).")],
    fmt: Annotated[RenderFormat, typer.Option("--format", help="html or md.")] = RenderFormat.HTML,
    out: Annotated[Path | None, typer.Option("--out", help=OUT_HELP)] = None,
) -> None:
    """The publication text (Dutch, Artikel 1 to 11): a standalone HTML page or Markdown."""
    _write(render(read_document(file).protocol, fmt), out)


def _protocol_files(directory: Path) -> list[LoadedProtocol]:
    if not directory.is_dir():
        raise LeeridError(f"{directory} is not a directory; give the folder of protocol files")
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise LeeridError(f"no protocol files (*.yaml, *.yml) in {directory}")
    loaded: list[LoadedProtocol] = []
    errors: list[Problem] = []
    for file in files:
        try:
            loaded.append(read_document(file))
        except ProtocolError as exc:
            errors.extend(exc.problems)
    if errors:
        raise ProtocolError(errors)
    ids = [d.protocol.id for d in loaded]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise LeeridError(
            f"protocol id(s) {', '.join(twice)} appear in more than one file of {directory}; "
            "keep one file per protocol"
        )
    return loaded


@app.command()
def register(
    directory: Annotated[Path, typer.Argument(help="The folder of protocol files.")],
    fmt: Annotated[
        RegisterFormat, typer.Option("--format", help="md, csv or json.")
    ] = RegisterFormat.MD,
    party: Annotated[
        PartyRole, typer.Option("--party", help="Whose register: recipient or discloser.")
    ] = PartyRole.RECIPIENT,
    out: Annotated[Path | None, typer.Option("--out", help=OUT_HELP)] = None,
    at: Annotated[str | None, typer.Option("--at", help=AT_HELP)] = None,
) -> None:
    """The record of processing activities (GDPR art. 30) from all protocol files in DIR."""
    protocols = [d.protocol for d in _protocol_files(directory)]
    _write(render_register(protocols, fmt, party, _moment(at)), out)


@app.command()
def add(
    file: Annotated[Path, typer.Argument(help="The protocol file (YAML).")],
    operator: Annotated[
        str | None, typer.Option("--operator", help="Who adds it; default: the OS user.")
    ] = None,
) -> None:
    """Store the protocol in the database; changed content becomes a new version.

    Art. 11: a stored version is in force only once both parties' signatures over its hash
    are recorded (``leerid protocol sign`` / ``attest``), never by the file's signature block.
    """
    from leerid.cli.protocol_signed import os_user
    from leerid.idp.store.protocols import add_protocol, protocol_versions
    from leerid.schema import get_engine
    from leerid.store.engine import session_scope

    loaded = read_document(file)
    digest = content_hash(loaded.protocol)
    with session_scope(get_engine()) as session:
        known = {v.content_hash for v in protocol_versions(session, loaded.protocol.id)}
        stored = add_protocol(session, loaded.protocol, loaded.text, operator or os_user())
    verb = "unchanged" if digest in known else "added"
    typer.echo(
        f"{verb}: {stored.protocol_id} version {stored.version}, sha256 {stored.content_hash}"
    )


@app.command("list")
def list_command(at: Annotated[str | None, typer.Option("--at", help=AT_HELP)] = None) -> None:
    """Every stored protocol version: id, version, hash, status (by recorded signatures)."""
    from leerid.cli.protocol_signed import protocol_notices
    from leerid.idp.store.protocols import bound_version, list_protocols, signed_versions
    from leerid.schema import get_engine
    from leerid.store.engine import session_scope

    moment = _moment(at)
    with session_scope(get_engine(create=False)) as session:
        ids = sorted({row.protocol_id for row in list_protocols(session)})
        stored = [v for i in ids for v in signed_versions(session, i)]
        bound = {i: bound_version(session, i, moment) for i in ids}
        ended = [ended_protocol(session, r.protocol) for r in stored]  # art. 8, 11
        notices = {i: protocol_notices(session, i) for i in ids}
    if not stored:
        typer.echo("no protocols stored; add one with: leerid protocol add FILE")
        return
    typer.echo(f"{'id':<32} {'version':>7}  {'sha256':<64}  {'status':<10}  added")
    for row, protocol in zip(stored, ended, strict=True):
        typer.echo(
            f"{row.protocol_id:<32} {row.version:>7}  {row.content_hash}  "
            f"{_listed_status(protocol, row.version, bound[row.protocol_id], moment):<10}  "
            f"{row.added_at.isoformat(timespec='seconds')}"
        )
    for protocol_id, lines in notices.items():
        for line in lines:
            typer.echo(f"{protocol_id}: {line}")


def _listed_status(protocol: Any, version: int, bound: Any, moment: dt.datetime) -> str:
    """Art. 11: an older version in force is ``replaced`` once a newer one is in force."""
    state = status(protocol, moment).value
    newer = bound is not None and bound.version > version
    if state == "in_force" and newer and status(bound.protocol, moment).value == "in_force":
        return "replaced"
    return str(state)


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option("--out", help=OUT_HELP)] = None,
) -> None:
    """The JSON Schema of protocol files (docs/protocol.schema.json)."""
    _write(json_schema_text(), out)


register_signing(app)  # keys, sign, attest, verify (art. 11)
# Art. 8 and 11: the end of a protocol, recorded by DOV (leerid.cli.protocol_ending).
app.command()(terminate)
app.command()(end)
