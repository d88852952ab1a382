"""Issue 12 §1: protocol versions, signatures, endings and the SETs DOV sends are log entries,
appended in the transaction that records them, fail closed; no entry names a pupil in clear.

The real ``leerid`` commands (``protocol add``, ``attest``, ``terminate``, ``events
publish``) and a real provider on loopback, on both backends.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.idp.store.disclosures import DisclosureEntry
from leerid.idp.store.events import SecurityEvent
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.protocol import content_hash, load_protocol
from leerid.registry.changes import Change, ChangeKind, record_change
from leerid.store.engine import make_engine
from leerid.transparency.entries import EntryError, decode_entry, event_entry, pupil_pseudonym
from leerid.transparency.rfc9162 import leaf_hash
from tests.conftest import Leerid
from tests.idp.events_kit import drain, events_token
from tests.idp.flow import full_login
from tests.idp.tlog_append_kit import log_entries, pupil_key, refusing_log
from tests.idp_server import PROTOCOL_FILE, RunningIdp, offline_protocol_file

PROTOCOL_ID = load_protocol(PROTOCOL_FILE).id


def _kinds(database_url: str, kind: str) -> list[dict[str, object]]:
    engine = make_engine(database_url)
    try:
        return [e.document() for e in log_entries(engine).values() if e.kind == kind]
    finally:
        engine.dispose()


def test_protocol_commands_append_their_entries_or_record_nothing(
    leerid: Leerid, leerid_env: dict[str, str], database_url: str
) -> None:
    code, err = leerid(["protocol", "add", str(PROTOCOL_FILE), "--operator", "op-dov"], leerid_env)
    assert code == 0, err
    digest = content_hash(load_protocol(PROTOCOL_FILE))
    (version,) = _kinds(database_url, "protocol_version")
    assert (version["protocol"], version["protocol_hash"], version["version"]) == (
        PROTOCOL_ID,
        digest,
        1,
    )
    attest = ["protocol", "attest", PROTOCOL_ID, "--version", "1", "--party", "dov"]
    attest += ["--signer", "Ann Verhaegen", "--signed-at", "2024-03-25"]
    attest += ["--document-sha256", hashlib.sha256(b"pdf").hexdigest(), "--operator", "op-dov"]
    code, err = leerid(attest, leerid_env)
    assert code == 0, err
    (signature,) = _kinds(database_url, "protocol_signature")
    assert signature["party"] == "discloser" and signature["method"] == "attestation"
    assert signature["protocol_hash"] == digest and signature["key"] is None
    terminate = ["protocol", "terminate", PROTOCOL_ID, "--reason", "Art. 4 geschonden"]
    code, err = leerid([*terminate, "--operator", "dpo-dov"], leerid_env)
    assert code == 0, err
    (ending,) = _kinds(database_url, "protocol_ending")
    assert ending["protocol"] == PROTOCOL_ID and ending["cause"] == "terminated/sanction"
    assert dt.datetime.fromisoformat(str(ending["effective"])) <= dt.datetime.now(dt.UTC)

    engine = make_engine(database_url)
    with refusing_log(engine):
        code, err = leerid(["protocol", "add", str(offline_protocol_file())], leerid_env)
    assert code == 2 and "transparency log refused its entry" in err, err
    code, err = leerid(["protocol", "list"], leerid_env)
    bodies = _bodies(engine)
    engine.dispose()
    assert code == 0 and len(_kinds(database_url, "protocol_version")) == 1
    assert not any(b"Verhaegen" in body or b"geschonden" in body for body in bodies)


def _bodies(engine: Engine) -> list[bytes]:
    with engine.connect() as conn:
        return [bytes(b) for b in conn.scalars(select(TlogEntry.body))]


def _change(database_url: str, idp: RunningIdp) -> None:
    """A change about the seeded pupil, which the seeded client received (art. 3)."""
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        pupil = idp.pupil
        record_change(
            session,
            Change(
                ChangeKind.ACCOUNT_DELETED,
                leer_id_uuid=pupil.leer_id_uuid,
                account_uuids=(pupil.account_uuid,),
                payload={"account_uuid": pupil.account_uuid},
            ),
        )
    engine.dispose()


def _jtis(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        found = set(conn.scalars(select(SecurityEvent.jti)))
    engine.dispose()
    return found


def test_each_published_set_appends_an_event_entry_or_is_not_published(
    leerid: Leerid, idp: RunningIdp, tmp_path: Path
) -> None:
    env = {"LEERID_DATABASE_URL": idp.database_url, "LEERID_HOME": str(tmp_path)}
    publish = ["events", "publish", "--issuer", idp.issuer]
    rp, _, auth, location = full_login(idp)
    rp.fetch_token(location, auth.verifier)  # the client receives the pupil
    _change(idp.database_url, idp)
    engine = make_engine(idp.database_url)
    with refusing_log(engine):
        code, err = leerid(publish, env)
        assert code == 2 and "transparency log refused its entry" in err, err
        assert not _jtis(idp.database_url)
        token = events_token(idp)
        assert drain(idp, token) == []  # a poll publishes too: nothing without its entry
    code, err = leerid(publish, env)
    assert code == 0, err
    secret = pupil_key(engine)
    jtis = _jtis(idp.database_url)
    events = {str(e["jti"]): e for e in _kinds(idp.database_url, "event")}
    assert jtis and set(events) == jtis
    deleted = [e for e in events.values() if str(e["event"]).endswith("account-deleted")]
    assert len(deleted) == 1 and deleted[0]["client"] == idp.client_id
    assert deleted[0]["protocol"] == idp.seed.protocol_id
    pupil = idp.pupil
    assert deleted[0]["pupils"] == sorted(
        {
            pupil_pseudonym(secret, str(deleted[0]["id"]), key)
            for key in (pupil.account_uuid, pupil.leer_id_uuid)
        }
    )
    assert {claims["jti"] for claims in drain(idp, token)} == jtis
    bodies = b"\n".join(_bodies(engine))
    engine.dispose()
    for secret_text in (pupil.account_uuid, pupil.leer_id_uuid, pupil.insz, pupil.naam):
        assert secret_text.encode() not in bodies  # issue 12 §1: no personal data
    for part in (pupil.voornaam, pupil.username, pupil.insz[:6]):
        assert part.encode() not in bodies


@given(
    claims=st.lists(st.sampled_from(["sub", "given_name", "family_name", "ov_leerling"])),
    account=st.none() | st.uuids().map(str),
    leer_id=st.none() | st.uuids().map(str),
    outcome=st.sampled_from(["released", "refused"]),
    reason=st.sampled_from([None, "wrong_password", "protocol_terminated", "not_enrolled"]),
)
def test_a_record_and_its_entry_say_the_same(
    claims: list[str], account: str | None, leer_id: str | None, outcome: str, reason: str | None
) -> None:
    """Issue 12 §1: one moment, the same claim names and client, the leaf hash the record
    keeps, the pupil as the pseudonym of the Account_uuid, else the Leer_id_uuid."""
    secret = b"k" * 32
    entry = DisclosureEntry("client-1", "token", iter(claims), "p", None, leer_id, account)
    entry = replace(entry, outcome=outcome, reason=reason)  # claims: an iterable read once
    rows = entry.rows(secret)
    decoded = decode_entry(rows.entry["body"])
    assert rows.record["log_leaf"] == rows.leaf == leaf_hash(rows.entry["body"])
    assert decoded.at == rows.record["at"]
    assert decoded.fields["claims"] == rows.record["claims"].split() == sorted(set(claims))
    assert (decoded.fields["client"], decoded.fields["outcome"]) == ("client-1", outcome)
    key = account or leer_id
    assert decoded.fields["pupil"] == (key and pupil_pseudonym(secret, decoded.id, key))
    for identifier in (account, leer_id):
        assert identifier is None or identifier.encode() not in rows.entry["body"]


_HEX16 = st.binary(min_size=16, max_size=16).map(bytes.hex)


@example(jti="ab12345678901cdef0123456789abcde", client="x-12.34.56-789.01", digest="1" * 11)
@given(
    jti=_HEX16,
    client=_HEX16 | st.from_regex(r"[A-Za-z0-9_-]{43}", fullmatch=True),
    digest=st.binary(min_size=32, max_size=32).map(bytes.hex),
)
def test_random_ids_and_hashes_are_never_taken_for_an_insz(
    jti: str, client: str, digest: str
) -> None:
    """A SET's hex ``jti``, a client id and a content hash may hold 11 digits in a row by
    chance; refusing their entries would refuse logins and events at random (fail closed)."""
    now = dt.datetime.now(dt.UTC)
    event_entry(
        at=now,
        client_id=client,
        event="e",
        jti=jti,
        protocol_id="p",
        pupil_secret=b"k" * 32,
        pupil_identifiers=[jti],
    )
    rows = DisclosureEntry(client, "token", ["sub"], "p", digest, None, jti).rows(b"k" * 32)
    assert decode_entry(rows.entry["body"]).fields["client"] == client


def test_an_insz_in_a_text_field_is_still_refused() -> None:
    entry = DisclosureEntry("c", "login", (), None, None, None, "a", "refused", "12.09.15-123.45")
    with pytest.raises(EntryError, match="hold no INSZ"):
        entry.rows(b"k" * 32)
