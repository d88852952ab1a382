"""Issue 12 §1: a pupil's pseudonym differs from entry to entry, so the public log does not
link a pupil's disclosures to different services; DOV, with its secret, still finds them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.transparency.entries import (
    EntryError,
    LogEntry,
    decode_entry,
    disclosure_entry,
    entry_concerns,
    event_entry,
)

AT = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
SECRET = b"s" * 32


def disclosure(secret: bytes, identifier: str | None, client: str = "lars-app") -> LogEntry:
    return disclosure_entry(
        at=AT,
        client_id=client,
        endpoint="userinfo",
        protocol_id="P-1",
        protocol_hash="h",
        claims=["given_name"],
        outcome="released",
        reason=None,
        pupil_secret=secret,
        pupil_identifier=identifier,
    )


def test_two_entries_of_one_pupil_carry_different_pseudonyms() -> None:
    first = disclosure(SECRET, "account-1", "lars-app")
    second = disclosure(SECRET, "account-1", "other-app")
    assert first.fields["pupil"] != second.fields["pupil"]
    assert "account-1" not in first.encode().decode()


def test_dov_finds_a_pupils_entries_and_no_one_elses() -> None:
    mine = [disclosure(SECRET, "account-1", c) for c in ("lars-app", "other-app")]
    event = event_entry(
        at=AT,
        client_id="lars-app",
        event="merge",
        jti="j1",
        protocol_id=None,
        pupil_secret=SECRET,
        pupil_identifiers=["leer-id-1", "account-1"],
    )
    others = [disclosure(SECRET, "account-2"), disclosure(SECRET, None)]
    for entry in [*mine, event]:
        decoded = decode_entry(entry.encode())  # as read back from the public log
        assert entry_concerns(SECRET, decoded, ["account-1"])
        assert entry_concerns(SECRET, decoded, ["unknown", "account-1"])
        assert not entry_concerns(b"t" * 32, decoded, ["account-1"])
    assert entry_concerns(SECRET, event, ["leer-id-1"])
    for entry in others:
        assert not entry_concerns(SECRET, entry, ["account-1"])


def test_a_pupil_without_the_secret_is_refused() -> None:
    with pytest.raises(EntryError, match="needs the pseudonym secret"):
        disclosure_entry(
            at=AT,
            client_id="c",
            endpoint="token",
            protocol_id=None,
            protocol_hash=None,
            claims=(),
            outcome="released",
            reason=None,
            pupil_identifier="account-1",
        )


@given(
    secret=st.binary(min_size=32, max_size=32),
    identifier=st.uuids().map(str),
    other=st.uuids().map(str),
)
def test_without_the_secret_a_pseudonym_does_not_repeat(
    secret: bytes, identifier: str, other: str
) -> None:
    """What an outsider sees of one pupil's entries: no pseudonym in common, and none equal
    to one an outsider could compute with another key from the identifier it knows."""
    entries = [disclosure(secret, identifier) for _ in range(3)]
    seen = [str(entry.fields["pupil"]) for entry in entries]
    assert len(set(seen)) == len(seen)
    guess = disclosure(b"\0" * 32, identifier)
    assert str(guess.fields["pupil"]) not in seen
    assert all(not entry_concerns(secret, entry, [other]) for entry in entries)
