"""Seed a LeerID database through the real code paths: importer, protocol store, activation.

A registry comes from DISCIMUS files read by the real importer; a protocol version is stored
as ``leerid protocol add`` stores it; a client is registered as ``leerid clients add`` does;
a pupil gets a password the way a school and a pupil give one: the school's one-time
activation code (``leerid accounts issue`` / ``reset``), then the activation that checks the
code, uses it once and stores the password's hash. Nothing here writes a password itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.errors import LeeridError
from leerid.idp.login.activation_codes import (
    IssuedCredential,
    codes_match,
    complete_activation,
    find_activation,
    issue_for_school,
    reset_code,
)
from leerid.idp.login.passwords import OWASP, Argon2Parameters, PasswordHasher
from leerid.idp.store.clients import add_client
from leerid.idp.store.protocols import add_protocol, attest_signature_block
from leerid.protocol import load_protocol
from leerid.registry.generate import generate_registry
from leerid.registry.importer import ImportSummary, import_registry
from leerid.registry.models import Credential, Enrolment

__all__ = [
    "activate",
    "give_password",
    "hash_password",
    "issue_code",
    "issue_codes",
    "register_client",
    "schools",
    "seed_registry",
    "store_protocol",
]


def seed_registry(
    engine: Engine, folder: Path, pupils: int, *, seed: int = 0, unidentified_share: float = 0.02
) -> ImportSummary:
    """Generate synthetic DISCIMUS files in ``folder`` and import them (the real importer)."""
    generate_registry(folder, pupils, seed=seed, unidentified_share=unidentified_share)
    return import_registry(engine, folder)


def schools(engine: Engine) -> list[str]:
    """The instellingsnummers with enrolments, in order."""
    with Session(engine) as session:
        found = session.scalars(select(Enrolment.instellingsnummer).distinct())
        return sorted(found)


def store_protocol(engine: Engine, path: Path, *, attest: bool = True) -> str:
    """Store a protocol file as ``leerid protocol add`` does; its protocol id.

    Art. 11: with ``attest`` (the default) the file's signature block is recorded as both
    parties' attestations, as ``leerid protocol attest`` would, by operator "testing kit",
    so the version is in force from the later signature as the file says.
    """
    with Session(engine) as session, session.begin():
        text = path.read_text(encoding="utf-8")
        stored = add_protocol(session, load_protocol(path), text, added_by="testing kit")
        if attest:
            attest_signature_block(session, stored, "testing kit")
        return stored.protocol_id


def register_client(
    engine: Engine, *, protocol_id: str, redirect_uris: Sequence[str], **options: Any
) -> tuple[str, str]:
    """Register a client (``options`` as ``leerid clients add``): its id and secret ('' if none)."""
    options.setdefault("name", "LARS (test)")
    client, secret = add_client(
        engine, protocol_id=protocol_id, redirect_uris=list(redirect_uris), **options
    )
    return client.client_id, secret or ""


def issue_codes(engine: Engine, instellingsnummers: Iterable[str]) -> list[IssuedCredential]:
    """``leerid accounts issue`` for each school: usernames and activation codes."""
    now = dt.datetime.now(dt.UTC)
    issued: list[IssuedCredential] = []
    with Session(engine) as session, session.begin():
        for school in instellingsnummers:
            issued += issue_for_school(session, school, now.date(), now)
    return issued


def issue_code(engine: Engine, account_uuid: str, username: str) -> IssuedCredential:
    """A chosen username for an account and a fresh activation code (``accounts reset``)."""
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session, session.begin():
        if session.get(Credential, account_uuid) is None:
            session.add(Credential(account_uuid=account_uuid, username=username, created_at=now))
            session.flush()
        return reset_code(session, account_uuid, now)


def hash_password(password: str, parameters: Argon2Parameters = OWASP) -> str:
    """The password's hash as the provider stores it (Argon2id at ``parameters``)."""
    hasher = PasswordHasher(parameters, concurrency=1)
    try:
        return hasher.hash_sync(password)
    finally:
        hasher.close()


def activate(engine: Engine, codes: Iterable[tuple[str, str, str]]) -> None:
    """Activate (username, code, password hash) triples, as ``/op/v1/activate`` completes one:
    the code must match, it is used once, and the hash becomes the password."""
    with engine.begin() as conn:
        for username, code, password_hash in codes:
            found = find_activation(conn, username)
            if found is None or not codes_match(found.code_hash, found.account_uuid, code):
                raise LeeridError(f"{username}: no such activation code")
            if not complete_activation(conn, found, password_hash):
                raise LeeridError(f"{username}: the activation code was used meanwhile")


def give_password(
    engine: Engine,
    account_uuid: str,
    username: str,
    password: str,
    parameters: Argon2Parameters = OWASP,
) -> None:
    """Username, activation code, activation: the account logs in with ``password``."""
    issued = issue_code(engine, account_uuid, username)
    activate(engine, [(issued.username, issued.code, hash_password(password, parameters))])


def add_console_staff(
    engine: Engine,
    username: str,
    password: str,
    role: str,
    *,
    dated: bool = True,
    parameters: Argon2Parameters = OWASP,
) -> None:
    """A console account (``/beheer``) as ``leerid beheer staff add`` makes one; ``dated``:
    with both art. 6 dates recorded as today (Brussels)."""
    from leerid.idp.store.console.staff import add_staff, set_dates
    from leerid.protocol.lifecycle import BRUSSELS

    account = add_staff(engine, username, hash_password(password, parameters), role, actor="seed")
    if dated:
        today = dt.datetime.now(BRUSSELS).date()
        set_dates(engine, account.username, confidentiality=today, training=today, actor="seed")
