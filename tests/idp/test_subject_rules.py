"""Issue 14 point 2: the opaque ``sub``'s rule over many accounts, and its secret shared by
every node and kept across restarts (both backends)."""

from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leerid.idp.app import create_app
from leerid.idp.oauth.subject import Subjects, opaque_sub
from leerid.idp.settings import IdpSettings

FORTY_HEX = re.compile(r"[0-9a-f]{40}")
SECRET = bytes(range(32))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.uuids(), min_size=1, max_size=50, unique=True))
def test_every_account_gets_its_own_40_hex_sub_never_its_account_uuid(
    accounts: list[uuid.UUID],
) -> None:
    subjects = Subjects(SECRET)
    subs = [subjects.sub("opaque", str(a)) for a in accounts]
    assert all(FORTY_HEX.fullmatch(s) for s in subs)
    assert len(set(subs)) == len(accounts)  # distinct
    assert not {str(a) for a in accounts} & set(subs)
    assert not {a.hex for a in accounts} & {s[:32] for s in subs}
    assert subs == [subjects.sub("opaque", str(a)) for a in accounts]  # stable
    assert [subjects.sub("account_uuid", str(a)) for a in accounts] == [str(a) for a in accounts]


@given(st.uuids(), st.binary(min_size=32, max_size=32))
def test_the_sub_depends_on_the_secret(account: uuid.UUID, other: bytes) -> None:
    """Nobody without DOV's secret computes the sub from the account_uuid."""
    if other != SECRET:
        assert opaque_sub(other, str(account)) != opaque_sub(SECRET, str(account))


@given(st.uuids(), st.uuids())
def test_a_hint_names_only_its_own_account(one: uuid.UUID, two: uuid.UUID) -> None:
    subjects = Subjects(SECRET)
    sub = subjects.sub("opaque", str(one))
    assert subjects.names("opaque", str(one), sub)
    assert subjects.names("opaque", str(two), sub) is (one == two)
    assert not subjects.names("account_uuid", str(one), sub)
    assert subjects.names("account_uuid", str(one), str(one))


def test_a_short_secret_or_an_unknown_subject_type_is_refused() -> None:
    with pytest.raises(ValueError, match="128 bits"):
        Subjects(b"short")
    with pytest.raises(ValueError, match="pairwise"):
        Subjects(SECRET).sub("pairwise", str(uuid.uuid4()))


def test_two_nodes_and_a_restart_make_the_same_sub(database_url: str) -> None:
    """Two ``create_app`` on one database share the secret; a later start (a restart, its
    pools gone) reads it back. Over HTTP: ``test_subject.py``, a second node."""
    account = str(uuid.uuid4())
    one = create_app(IdpSettings(database_url=database_url)).state.idp
    two = create_app(IdpSettings(database_url=database_url)).state.idp
    assert one.subjects.sub("opaque", account) == two.subjects.sub("opaque", account)
    one.engine.dispose()
    two.engine.dispose()
    later = create_app(IdpSettings(database_url=database_url)).state.idp
    assert later.subjects.sub("opaque", account) == one.subjects.sub("opaque", account)
    assert FORTY_HEX.fullmatch(later.subjects.sub("opaque", account))
    later.engine.dispose()
