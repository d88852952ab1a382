"""Issue 12 §2 and §6: pending entries integrated in batches into the tiled tree, checkpoints
signed while entries arrive, one integrator by lease; on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text, update

from leerid.idp.store.tlog.checkpoints import checkpoint_at, cosigned_note, newest_checkpoint
from leerid.idp.store.tlog.integrate import integrate_once, integrate_pending
from leerid.idp.store.tlog.lease import release_lease, take_lease
from leerid.idp.store.tlog.tables import TlogState, TlogTile
from leerid.idp.store.tlog.tree import stored_tree
from leerid.store.engine import make_engine
from leerid.transparency.checkpoint import open_checkpoint
from leerid.transparency.note import Verifier
from leerid.transparency.rfc9162 import (
    EMPTY_ROOT,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from leerid.transparency.tiles import right_edge
from tests.idp import tlog_kit


def test_pending_entries_get_consecutive_indexes_and_the_reference_root(engine: Engine) -> None:
    """Issue 12 §6: idx 0..n-1 in the order of seq, tiles giving the RFC 9162 root."""
    bodies = tlog_kit.append(engine, 300)
    signer = tlog_kit.signer(engine)
    done = integrate_pending(engine, signer, batch=128, checkpoint_every=0)
    assert (done.integrated, done.size, done.checkpoint) == (300, 300, 300)
    stored = tlog_kit.leaves_by_index(engine)
    assert [i for i, _ in stored] == list(range(300))
    leaves = [leaf for _, leaf in stored]
    from leerid.transparency.rfc9162 import leaf_hash

    assert leaves == [leaf_hash(b) for b in bodies]  # seq order: the order they were written
    assert done.root == root_from_leaves(leaves)
    with engine.connect() as conn:
        tree = stored_tree(conn)
        assert tree.size == 300 and tree.root() == done.root
        state = conn.execute(select(TlogState.size, TlogState.root)).one()
        assert (state.size, bytes(state.root)) == (300, done.root)
        widths = dict(conn.execute(select(TlogTile.level, text("length(hashes)"))).all())
    assert widths == {0: (300 - 256) * 32, 1: 32}  # tile 0/000 full, 0/001 partial, 1/000


def test_the_checkpoint_is_signed_by_the_log_key_over_the_root(engine: Engine) -> None:
    """Issue 12 §2: a C2SP checkpoint note of origin, size and root, DOV's Ed25519 key."""
    tlog_kit.append(engine, 5)
    signer = tlog_kit.signer(engine)
    done = integrate_once(engine, signer, checkpoint_every=0)
    with engine.connect() as conn:
        stored = newest_checkpoint(conn)
        note = cosigned_note(conn)
    assert stored is not None and note == stored.note  # no cosignature yet
    checkpoint, _ = open_checkpoint(note, Verifier.from_vkey(signer.vkey))
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == (
        tlog_kit.ORIGIN,
        5,
        done.root,
    )
    assert note.startswith(f"{tlog_kit.ORIGIN}\n5\n")


def test_no_checkpoint_while_idle_nor_before_the_interval(engine: Engine) -> None:
    """Issue 12 §2: every second while entries arrive; nothing when nothing arrives."""
    signer = tlog_kit.signer(engine)
    assert integrate_once(engine, signer, checkpoint_every=0).checkpoint is None  # empty log
    tlog_kit.append(engine, 3)
    assert integrate_once(engine, signer, checkpoint_every=3600).checkpoint == 3  # the first
    tlog_kit.append(engine, 2)
    later = integrate_once(engine, signer, checkpoint_every=3600)
    assert (later.integrated, later.size, later.checkpoint) == (2, 5, None)  # too soon
    assert integrate_once(engine, signer, checkpoint_every=0).checkpoint == 5  # due: signed
    assert integrate_once(engine, signer, checkpoint_every=0).checkpoint is None  # idle
    with engine.connect() as conn:
        assert checkpoint_at(conn, 3) is not None and checkpoint_at(conn, 4) is None


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(rounds=st.lists(st.tuples(st.integers(0, 300), st.integers(1, 300)), min_size=1, max_size=4))
def test_any_split_into_rounds_and_batches_gives_the_same_tree(
    engine: Engine, rounds: list[tuple[int, int]]
) -> None:
    """Every checkpoint's root is the reference root of that many leaves, and proofs from
    the stored tiles verify against the checkpoints (RFC 9162 §2.1.3, §2.1.4)."""
    with engine.begin() as conn:
        for table in ("idp_tlog_entry", "idp_tlog_tile", "idp_tlog_checkpoint"):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(update(TlogState).values(size=0, root=EMPTY_ROOT))
    signer = tlog_kit.signer(engine)
    for count, batch in rounds:
        tlog_kit.append(engine, count)
        integrate_pending(engine, signer, batch=batch, checkpoint_every=0)
    leaves = [leaf for _, leaf in tlog_kit.leaves_by_index(engine)]
    assert len(leaves) == sum(count for count, _ in rounds)
    with engine.connect() as conn:
        sizes = conn.execute(text("SELECT size, root FROM idp_tlog_checkpoint ORDER BY size")).all()
        for size, root in sizes:
            assert bytes(root) == root_from_leaves(leaves[:size])
            tree = stored_tree(conn, size)
            for index in {0, size // 2, size - 1}:
                proof = tree.inclusion_proof(index)
                verify_inclusion(leaves[index], index, size, proof, bytes(root))
        for (old, old_root), (new, new_root) in itertools.pairwise(sizes):
            proof = stored_tree(conn, new).consistency_proof(old)
            verify_consistency(old, new, bytes(old_root), bytes(new_root), proof)


def test_the_lease_has_one_holder_until_it_runs_out_or_is_given_up(engine: Engine) -> None:
    """Issue 12 §6: one conditional UPDATE elects one integrator; the others take over when
    its lease has run out (here: set in the past) or when it gives the lease up."""
    assert take_lease(engine, "node-a", 30)
    assert not take_lease(engine, "node-b", 30)
    assert take_lease(engine, "node-a", 30)  # renewed
    with engine.begin() as conn:
        conn.execute(text("UPDATE idp_tlog_state SET lease_until = :past"), {"past": "2000-01-01"})
    assert take_lease(engine, "node-b", 30)  # a (killed) holder's lease ran out
    assert not take_lease(engine, "node-a", 30)
    release_lease(engine, "node-a")  # not the holder: changes nothing
    assert not take_lease(engine, "node-a", 30)
    release_lease(engine, "node-b")
    assert take_lease(engine, "node-a", 30)


def test_two_integrators_at_once_never_give_an_index_twice(
    engine: Engine, database_url: str
) -> None:
    """Issue 12 §6: two nodes that both believe they hold the lease, integrating at the same
    time through their own pools: the row lock makes them take turns, no gap, no double."""
    tlog_kit.append(engine, 2000)
    signer = tlog_kit.signer(engine)
    engines = [make_engine(database_url) for _ in range(2)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def integrate(node: Engine) -> None:
        try:
            start.wait()
            for _ in range(20):
                integrate_once(node, signer, batch=97, checkpoint_every=0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=integrate, args=(node,)) for node in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for node in engines:
        node.dispose()
    assert not errors, errors
    integrate_pending(engine, signer, checkpoint_every=0)
    leaves = tlog_kit.leaves_by_index(engine)
    assert [i for i, _ in leaves] == list(range(2000)) and tlog_kit.pending(engine) == 0
    with engine.connect() as conn:
        assert stored_tree(conn).root() == root_from_leaves([leaf for _, leaf in leaves])


@pytest.mark.parametrize("size", [255, 256, 257, 65535])
def test_right_edge_tiles_are_all_stored(engine: Engine, size: int) -> None:
    """C2SP tlog-tiles: after integration the right edge of the tree is stored, so the next
    batch (and every proof) finds what it reads."""
    tlog_kit.append(engine, size)
    integrate_pending(engine, tlog_kit.signer(engine), checkpoint_every=0)
    with engine.connect() as conn:
        keys = {
            (int(level), int(idx))
            for level, idx in conn.execute(select(TlogTile.level, TlogTile.idx))
        }
    assert right_edge(size) <= keys


def test_the_loop_of_two_nodes_one_integrates_the_other_stands_by(engine: Engine) -> None:
    """Issue 12 §6: each node's round; the holder integrates and sets the gauges, the other
    stands by until the holder stops and gives the lease up."""
    from prometheus_client import REGISTRY

    from leerid.idp.store.tlog.integrator import Integrator

    one = Integrator(engine, tlog_kit.ORIGIN, interval=0.05, lease=30)
    two = Integrator(engine, tlog_kit.ORIGIN, interval=0.05, lease=30)
    tlog_kit.append(engine, 10)
    assert one.round() == "integrated"
    assert two.round() == "standby"
    assert one.round() == "idle"
    one._gauges()
    assert REGISTRY.get_sample_value("leerid_tlog_size") == 10
    assert REGISTRY.get_sample_value("leerid_tlog_pending") == 0
    one.stop()  # never started: gives the lease up all the same
    tlog_kit.append(engine, 1)
    assert two.round() == "integrated"
    with engine.connect() as conn:
        assert newest_checkpoint(conn) is not None


def test_a_node_loaded_under_another_origin_never_signs_a_second_log(engine: Engine) -> None:
    """C2SP tlog-checkpoint: one log, one origin. Two nodes that loaded their key before the
    first checkpoint, each with its own derived origin: the first signs, the other refuses
    (under the state lock, nothing integrated), gives the lease up and, its origin derived,
    signs under the log's origin from its next round; an explicit other origin is refused."""
    from leerid.errors import ConfigurationError
    from leerid.idp.store.tlog.integrate import OriginMismatchError
    from leerid.idp.store.tlog.integrator import Integrator

    other = Integrator(engine, "elsewhere.test/log", origin_set=False, interval=0, lease=30)
    assert other.signer().name == "elsewhere.test/log"  # loaded before any checkpoint
    pinned = Integrator(engine, "elsewhere.test/log", origin_set=True, interval=0, lease=30)
    assert pinned.signer().name == "elsewhere.test/log"
    tlog_kit.append(engine, 3)
    integrate_once(engine, tlog_kit.signer(engine), checkpoint_every=0)  # the first node
    tlog_kit.append(engine, 2)
    with pytest.raises(OriginMismatchError, match="the log's checkpoints are of"):
        integrate_once(engine, other.signer(), checkpoint_every=0)
    assert tlog_kit.pending(engine) == 2  # rolled back with the refused checkpoint
    with pytest.raises(OriginMismatchError):
        pinned.round()
    assert take_lease(engine, "a third node", 30)  # given up
    release_lease(engine, "a third node")
    with pytest.raises(ConfigurationError, match="origin never changes"):
        pinned.round()  # an explicit origin stays refused
    release_lease(engine, pinned.me)
    with pytest.raises(OriginMismatchError):
        other.round()  # its key was loaded under its own origin: refused, loaded again
    assert other.round() == "integrated"  # derived: yields to the stored origin
    with engine.connect() as conn:
        newest = newest_checkpoint(conn)
        origins = set(conn.execute(text("SELECT note FROM idp_tlog_checkpoint")).scalars())
    assert newest is not None and newest.size == 5
    assert {note.split("\n", 1)[0] for note in origins} == {tlog_kit.ORIGIN}
