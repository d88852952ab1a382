"""The identity rules of issue 2 §5 on plain data (no database): one book is a whole registry."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from leerid.registry.identities import (
    AccountState,
    IdentityBook,
    Incoming,
    Outcome,
    Rejection,
    apply_registration,
    mint_uuid,
    registration_digest,
)
from tests.registry.conftest import national_number

BORN = dt.date(2010, 5, 17)
BIS = national_number(BORN, 33, bis=True)
NN = national_number(BORN, 33)
OTHER = national_number(dt.date(2011, 1, 2), 44)


def new_book() -> IdentityBook:
    counter = itertools.count(1)
    return IdentityBook({}, {}, {}, next_pupil_id=lambda: next(counter))


def reg(referte: str, insz: str | None, naam: str = "Peeters") -> Incoming:
    digest = registration_digest(referte, insz, naam, "An", BORN)
    return Incoming(referte, insz, naam, "An", BORN, digest)


def pupil_of(book: IdentityBook, referte: str) -> int:
    return book.registrations[referte].pupil_id


def test_first_insz_mints_a_random_leer_id_uuid() -> None:
    book = new_book()
    assert apply_registration(book, reg("R1", NN)) is Outcome.CREATED
    pupil = book.pupils[pupil_of(book, "R1")]
    assert pupil.insz == NN and pupil.leer_id_uuid is not None
    assert uuid.UUID(pupil.leer_id_uuid).version == 4
    assert [a.status for a in pupil.accounts.values()] == ["permanent"]
    other = new_book()
    apply_registration(other, reg("R1", NN))
    assert other.pupils[pupil_of(other, "R1")].leer_id_uuid != pupil.leer_id_uuid  # random


def test_several_registrations_with_one_insz_are_one_pupil() -> None:
    book = new_book()
    apply_registration(book, reg("R1", NN))
    apply_registration(book, reg("R2", NN, naam="Peeters-Janssens"))
    assert pupil_of(book, "R1") == pupil_of(book, "R2")
    assert book.changes.leer_id_uuids_minted == 1
    assert book.changes.new_pupils[pupil_of(book, "R1")][2] == "Peeters-Janssens"


def test_unidentified_pupil_gets_a_temporary_account_only() -> None:
    book = new_book()
    apply_registration(book, reg("R1", None))
    pupil = book.pupils[pupil_of(book, "R1")]
    assert pupil.leer_id_uuid is None
    assert [a.status for a in pupil.accounts.values()] == ["temporary"]


def test_identification_retires_the_temporary_account_into_history() -> None:
    book = new_book()
    apply_registration(book, reg("R1", None))
    pupil_id = pupil_of(book, "R1")
    (temporary,) = book.pupils[pupil_id].accounts
    book.pupils[pupil_id].accounts[temporary].has_credential = True  # the school issued one
    assert apply_registration(book, reg("R1", NN)) is Outcome.UPDATED
    pupil = book.pupils[pupil_of(book, "R1")]
    assert pupil.leer_id_uuid is not None and pupil.insz == NN
    statuses = {a: s.status for a, s in pupil.accounts.items()}
    assert statuses[temporary] == "retired"
    (permanent,) = [a for a, s in statuses.items() if s == "permanent"]
    assert book.changes.credential_moves == [(temporary, permanent)]


def test_identification_joins_the_pupil_that_already_has_the_insz() -> None:
    book = new_book()
    apply_registration(book, reg("R1", NN))
    known = book.pupils[pupil_of(book, "R1")]
    (permanent,) = known.accounts
    known.accounts[permanent] = AccountState("permanent", True)  # has its own credentials
    apply_registration(book, reg("R2", None))
    unidentified = pupil_of(book, "R2")
    (temporary,) = book.pupils[unidentified].accounts
    book.pupils[unidentified].accounts[temporary].has_credential = True
    apply_registration(book, reg("R2", NN))
    assert pupil_of(book, "R2") == known.pupil_id
    assert known.accounts[temporary].status == "retired"
    assert book.changes.credential_moves == []  # the permanent account keeps its own
    assert unidentified in book.changes.deleted_pupils
    assert book.changes.leer_id_uuids_minted == 1


def test_insz_change_keeps_the_leer_id_uuid_and_the_old_number() -> None:
    book = new_book()
    apply_registration(book, reg("R1", BIS))
    pupil = book.pupils[pupil_of(book, "R1")]
    before = pupil.leer_id_uuid
    assert apply_registration(book, reg("R1", NN)) is Outcome.UPDATED
    assert pupil.leer_id_uuid == before and pupil.insz == NN
    assert book.changes.insz_history == [(pupil.pupil_id, BIS)]
    apply_registration(book, reg("R9", BIS))  # the old number still finds the pupil
    assert pupil_of(book, "R9") == pupil.pupil_id


def test_insz_of_another_pupil_is_rejected() -> None:
    book = new_book()
    apply_registration(book, reg("R1", NN))
    apply_registration(book, reg("R2", OTHER))
    outcome = apply_registration(book, reg("R2", NN))
    assert isinstance(outcome, Rejection) and outcome.column == "insz"
    assert "leerid registry merge" in outcome.reason
    assert pupil_of(book, "R2") != pupil_of(book, "R1")


def test_an_identified_registration_never_loses_its_insz() -> None:
    book = new_book()
    apply_registration(book, reg("R1", NN))
    outcome = apply_registration(book, reg("R1", None))
    assert isinstance(outcome, Rejection) and outcome.column == "insz"


def test_unchanged_registration_changes_nothing() -> None:
    book = new_book()
    apply_registration(book, reg("R1", NN))
    minted = dict(book.changes.new_accounts)
    assert apply_registration(book, reg("R1", NN)) is Outcome.UNCHANGED
    assert book.changes.new_accounts == minted


def test_minted_uuids_are_version_4() -> None:
    values = {mint_uuid() for _ in range(1000)}
    assert len(values) == 1000
    assert all(uuid.UUID(v).version == 4 and uuid.UUID(v).variant == uuid.RFC_4122 for v in values)


INSZS = [national_number(dt.date(2009, 1, 1) + dt.timedelta(days=i), 7) for i in range(4)]
REGISTRATIONS = st.tuples(
    st.sampled_from(["R1", "R2", "R3", "R4", "R5"]),
    st.sampled_from([None, *INSZS]),
    st.sampled_from(["Peeters", "Claes"]),
)


@settings(max_examples=300)
@given(st.lists(REGISTRATIONS, max_size=30))
def test_identifiers_are_never_reused_or_changed(events: list[tuple[str, str | None, str]]) -> None:
    """Over any sequence of imports: an INSZ has one pupil, a leer_id_uuid never changes or
    moves to another INSZ, every minted uuid is new, and an account never loses its pupil's
    history."""
    book = new_book()
    leer_id_of_insz: dict[str, str] = {}
    accounts_seen: set[str] = set()
    for referte, insz, naam in events:
        outcome = apply_registration(book, reg(referte, insz, naam))
        owners = {p.insz: p for p in book.pupils.values() if p.insz is not None}
        for number, pupil in owners.items():
            assert book.insz_owner[number] == pupil.pupil_id
        for pupil in book.pupils.values():
            if pupil.leer_id_uuid is not None:
                assert pupil.insz is not None
        for number, first in list(leer_id_of_insz.items()):
            pupil = book.pupils[book.insz_owner[number]]
            assert pupil.leer_id_uuid == first  # never changed
        for number, pupil in owners.items():
            assert pupil.leer_id_uuid is not None
            leer_id_of_insz.setdefault(number, pupil.leer_id_uuid)
        all_accounts = [a for p in book.pupils.values() for a in p.accounts]
        assert len(all_accounts) == len(set(all_accounts))
        assert accounts_seen <= set(all_accounts)  # an account never disappears
        accounts_seen = set(all_accounts)
        if not isinstance(outcome, Rejection):
            pupil = book.pupils[book.registrations[referte].pupil_id]
            assert pupil.insz == insz or (
                insz is not None and book.insz_owner[insz] == pupil.pupil_id
            )
    minted = list(book.changes.new_accounts) + [
        p.leer_id_uuid for p in book.pupils.values() if p.leer_id_uuid
    ]
    assert len(minted) == len(set(minted))


def test_a_forked_process_mints_other_uuids() -> None:
    """UUIDs come from a pool of random bytes: a forked child must not repeat its parent's."""
    import os

    mint_uuid()  # the parent's pool is filled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write, mint_uuid().encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    assert child != mint_uuid()
