"""``leerid protocol keys|sign|attest|verify``: art. 11, signed versions at DOV."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from leerid.errors import LeeridError
from leerid.protocol.lifecycle import BRUSSELS, brussels, in_force_from, start_of_day, status
from leerid.protocol.signing import (
    public_jwk,
    sign,
    signing_payload,
    token_header,
    verify_signature,
)

PARTIES = {"dov": "discloser", "discloser": "discloser", "recipient": "recipient"}
PARTY_HELP = "dov (the discloser) or recipient."
_IN_FORCE_NOTICE = (
    "both parties signed version {version}: every client of the protocol is told "
    "(protocol-version-in-force; leerid events list)"
)
keys_app = typer.Typer(help="The parties' public signing keys (art. 11).", no_args_is_help=True)


def os_user() -> str:
    """The default operator: the name of the OS user running the command."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _party(text: str) -> str:
    party = PARTIES.get(text.strip().lower())
    if party is None:
        raise LeeridError(f"--party {text!r}: write dov or recipient")
    return party


def _jwk_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LeeridError(f"cannot read {path} ({exc.strerror}); give a JWK file") from None
    except ValueError:
        raise LeeridError(f"{path} is not JSON; give a JWK (RFC 7517) as JSON") from None
    if not isinstance(data, dict):
        raise LeeridError(f"{path} is not one JWK (a JSON object)")
    return data


def _moment(text: str, option: str = "--signed-at") -> tuple[dt.datetime, bool]:
    """Art. 11: a day (counted from its start in Brussels) or a moment; (moment, day_only)."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
            return start_of_day(dt.date.fromisoformat(text.strip())), True
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise LeeridError(
            f"{option} {text!r}: write a day (2024-03-25) or a moment (2024-03-25T14:40:38+01:00)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=BRUSSELS)), False


def _version(session: Session, protocol_id: str, version: int) -> Any:
    from leerid.idp.store.protocols import protocol_versions

    versions = {v.version: v for v in protocol_versions(session, protocol_id)}
    if version not in versions:
        known = ", ".join(str(v) for v in versions) or "none"
        raise LeeridError(
            f"protocol {protocol_id} has no version {version} (stored: {known}); "
            "see leerid protocol verify ID"
        )
    return versions[version]


@keys_app.command("add")
def keys_add(
    party: Annotated[str, typer.Option("--party", help=PARTY_HELP)],
    jwk: Annotated[Path, typer.Option("--jwk", help="The party's public key (JWK, JSON).")],
    protocol: Annotated[
        str | None, typer.Option("--protocol", help="Only for this protocol id.")
    ] = None,
    expires: Annotated[
        str | None, typer.Option("--expires", help="Signatures from this day on are refused.")
    ] = None,
    operator: Annotated[str | None, typer.Option("--operator", help="Default: OS user.")] = None,
) -> None:
    """Register a party's public signing key (RSA, EC P-256 or Ed25519; never private)."""
    from leerid.idp.store.signatures import add_key
    from leerid.schema import get_engine
    from leerid.store.engine import session_scope

    role, public = _party(party), public_jwk(_jwk_file(jwk))
    until = None if expires is None else _moment(expires, "--expires")[0]
    with session_scope(get_engine()) as session:
        row = add_key(
            session,
            public,
            party=role,
            added_by=operator or os_user(),
            protocol_id=protocol,
            expires_at=until,
        )
        kid, alg = row.kid, row.alg
    typer.echo(f"registered: {role} key {kid} ({alg})")


@keys_app.command("list")
def keys_list() -> None:
    """Every registered key: party, kid, algorithm, protocol, who added it and when."""
    from sqlalchemy import select

    from leerid.idp.store.signatures import ProtocolKey
    from leerid.schema import get_engine
    from leerid.store.engine import session_scope

    with session_scope(get_engine(create=False)) as session:
        for row in session.scalars(select(ProtocolKey).order_by(ProtocolKey.id)):
            typer.echo(
                f"{row.party:<10} {row.kid}  {row.alg:<5} {row.protocol_id or '*'}  "
                f"added by {row.added_by} at {row.added_at.isoformat(timespec='seconds')}"
            )


def _record_jws(session: Session, stored: Any, party: str, token: str, operator: str) -> str:
    """Verify ``token`` against the registered key of ``party``; store it only if valid."""
    from leerid.idp.store.signatures import expectation, record, registered_key

    try:
        kid = token_header(token).get("kid")
    except ValueError:
        kid = None
    kid = str(kid) if kid else None
    expected = expectation(
        session, stored.protocol_id, stored.version, stored.content_hash, party, kid
    )
    verdict = verify_signature(token, expected)
    if not verdict.valid or verdict.signed_at is None:
        other = "discloser" if party == "recipient" else "recipient"
        if expected.key is None and registered_key(session, kid, other, stored.protocol_id):
            raise LeeridError(
                f"signature refused: key {kid} is registered for {other}, not {party}"
            )
        raise LeeridError(f"signature refused: {verdict.reason}")
    record(
        session,
        protocol_id=stored.protocol_id,
        version=stored.version,
        content_hash=stored.content_hash,
        party=party,
        kind="jws",
        signer=verdict.signer or "",
        signed_at=verdict.signed_at,
        day_only=False,
        jws=token,
        kid=kid,
        operator=operator,
    )
    return f"{party} signed version {stored.version} (sha256 {stored.content_hash})"


def sign_command(
    protocol_id: Annotated[str, typer.Argument(help="The protocol id.")],
    version: Annotated[int, typer.Option("--version", help="The stored version number.")],
    party: Annotated[str, typer.Option("--party", help=PARTY_HELP)],
    key: Annotated[
        Path | None, typer.Option("--key", help="The party's private key (JWK) to sign with.")
    ] = None,
    jws_file: Annotated[
        Path | None, typer.Option("--jws", help="Record a compact JWS the party made itself.")
    ] = None,
    signer: Annotated[str | None, typer.Option("--signer", help="Default: OS user.")] = None,
) -> None:
    """Sign a version's content hash (JWS: RS256, ES256 or EdDSA by the key) and record it."""
    from leerid.schema import get_engine
    from leerid.store.engine import session_scope

    role = _party(party)
    if (key is None) == (jws_file is None):
        raise LeeridError("give --key FILE (sign here) or --jws FILE (signed elsewhere)")
    from leerid.idp.store.event_sources import note_version_signed, version_signed

    with session_scope(get_engine()) as session:
        stored = _version(session, protocol_id, version)
        before = version_signed(session, protocol_id, version)
        if jws_file is not None:
            token = _read(jws_file).strip()
        else:
            assert key is not None
            payload = signing_payload(
                stored.protocol_id,
                stored.version,
                stored.content_hash,
                role,
                signer or os_user(),
                dt.datetime.now(dt.UTC).replace(microsecond=0),
            )
            token = sign(payload, _jwk_file(key))
        said = _record_jws(session, stored, role, token, os_user())
        told = note_version_signed(session, protocol_id, version, before)  # art. 11
    typer.echo(f"signed: {said}")
    if told:
        typer.echo(_IN_FORCE_NOTICE.format(version=version))


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LeeridError(f"cannot read {path} ({exc.strerror})") from None


def attest_command(
    protocol_id: Annotated[str, typer.Argument(help="The protocol id.")],
    version: Annotated[int, typer.Option("--version", help="The stored version number.")],
    party: Annotated[str, typer.Option("--party", help=PARTY_HELP)],
    signer: Annotated[str, typer.Option("--signer", help="Who signed the document.")],
    signed_at: Annotated[
        str, typer.Option("--signed-at", help="The day (2024-03-25) or moment of signature.")
    ],
    document_sha256: Annotated[
        str, typer.Option("--document-sha256", help="SHA-256 (hex) of the signed document.")
    ],
    operator: Annotated[str, typer.Option("--operator", help="Who records this.")],
) -> None:
    """Record a signature made outside leerid (e.g. the 2024 PDF), by a named operator."""
    from leerid.idp.store.event_sources import note_version_signed, version_signed
    from leerid.idp.store.signatures import record
    from leerid.schema import get_engine
    from leerid.store.engine import session_scope

    role, (moment, day_only) = _party(party), _moment(signed_at)
    digest = document_sha256.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise LeeridError("--document-sha256: 64 hex digits (sha256sum FILE)")
    if moment > dt.datetime.now(dt.UTC):
        raise LeeridError(f"--signed-at {signed_at} is in the future; record it once signed")
    if not operator.strip() or not signer.strip():
        raise LeeridError("--operator and --signer must name a person")
    with session_scope(get_engine()) as session:
        stored = _version(session, protocol_id, version)
        before = version_signed(session, protocol_id, version)
        record(
            session,
            protocol_id=stored.protocol_id,
            version=stored.version,
            content_hash=stored.content_hash,
            party=role,
            kind="attestation",
            signer=signer.strip(),
            signed_at=moment,
            day_only=day_only,
            document_sha256=digest,
            operator=operator.strip(),
        )
        told = note_version_signed(session, protocol_id, version, before)  # art. 11
    typer.echo(f"attested: {role} signed version {version} on {signed_at} ({operator})")
    if told:
        typer.echo(_IN_FORCE_NOTICE.format(version=version))


def verify_command(
    protocol_id: Annotated[str, typer.Argument(help="The protocol id.")],
) -> None:
    """Every version, its hash, each signature valid or not and why, and the one in force."""
    from leerid.idp.store.protocols import bound_version, protocol_versions
    from leerid.idp.store.signatures import judged_signatures
    from leerid.schema import get_engine
    from leerid.store.engine import session_scope

    now = dt.datetime.now(dt.UTC)
    with session_scope(get_engine(create=False)) as session:
        versions = protocol_versions(session, protocol_id)
        if not versions:
            raise LeeridError(f"protocol {protocol_id} is not stored (leerid protocol list)")
        hashes = {v.version: v.content_hash for v in versions}
        judged = judged_signatures(session, protocol_id, hashes)
        bound = bound_version(session, protocol_id, now)
        notices = protocol_notices(session, protocol_id)
    for line in notices:
        typer.echo(line)
    for v in versions:
        typer.echo(
            f"version {v.version}  sha256 {v.content_hash}  added "
            f"{v.added_at.isoformat(timespec='seconds')} by {v.added_by or 'unknown'}"
        )
        for j in (j for j in judged if j.version == v.version):
            mark = "valid" if j.verdict.valid else f"INVALID: {j.verdict.reason}"
            typer.echo(
                f"  {j.party:<10} {j.kind:<11} {j.signer} at "
                f"{brussels(j.effective).isoformat(timespec='seconds')} (by {j.operator}): {mark}"
            )
    start = None if bound is None else in_force_from(bound.protocol)
    if bound is None or start is None or status(bound.protocol, now).value != "in_force":
        typer.echo("in force: none (both parties' valid signatures are needed, art. 11)")
        return
    since = brussels(start).isoformat(timespec="seconds")
    typer.echo(f"in force: version {bound.version} since {since}")


def protocol_notices(session: Session, protocol_id: str) -> list[str]:
    """Art. 8, 11: for an ended protocol, whether each client acknowledged the notice."""
    from leerid.idp.store.endings import find_ending
    from leerid.idp.store.event_sources import ending_notices

    if find_ending(session, protocol_id) is None:
        return []
    lines = []
    for notice in ending_notices(session, protocol_id):
        when = (
            ""
            if notice.acked_at is None
            else f" at {brussels(notice.acked_at).isoformat(timespec='seconds')}"
        )
        lines.append(f"notice of the end to client {notice.client_id}: {notice.state}{when}")
    return lines


def register_signing(app: typer.Typer) -> None:
    """Add the commands of art. 11 to ``leerid protocol``."""
    app.add_typer(keys_app, name="keys")
    app.command("sign")(sign_command)
    app.command("attest")(attest_command)
    app.command("verify")(verify_command)
