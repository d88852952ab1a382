"""The hot statements' raw libpq path on PostgreSQL (autocommit connections) against the
ordinary ``Connection.execute``: same rows, same row counts, same errors, same outages."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from leerid.idp.store._fast_path import HotStatement
from leerid.store import make_engine
from leerid.store.outage import outage_class
from tests.conftest import PG_URL, fresh_database

META = MetaData()


def _probe(name: str) -> Table:
    return Table(
        name,
        META,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("label", String, unique=True),
        Column("note", Text),
        Column("at", DateTime(timezone=True)),
        Column("day", Date),
        Column("flag", Boolean),
        Column("big", BigInteger),
        Column("blob", LargeBinary),
    )


RAW, PLAIN = _probe("probe_raw"), _probe("probe_plain")
"""Two tables with the same content: the raw path writes one, ``Connection.execute`` the
other, so a write's effect on its table is compared with the same write's on the other."""

_REFUSE = """
CREATE FUNCTION probe_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.note = 'refuse' THEN RAISE EXCEPTION 'probe row refused'; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER probe_raw_refuse BEFORE INSERT ON probe_raw
  FOR EACH ROW EXECUTE FUNCTION probe_refuse();
CREATE TRIGGER probe_plain_refuse BEFORE INSERT ON probe_plain
  FOR EACH ROW EXECUTE FUNCTION probe_refuse();
"""

IDS = itertools.count(1)


def _autocommit_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.autocommit = True  # as the provider's autocommit pools do


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Engine]]:
    """(an autocommit pool, a transactional pool) on a fresh schema with the probe tables."""
    if not PG_URL:
        pytest.skip("needs LEERID_TEST_DATABASE_URL (PostgreSQL)")
    with fresh_database("postgresql", tmp_path_factory.mktemp("fast")) as url:
        plain = make_engine(url)
        autocommit = make_engine(url)
        event.listen(autocommit, "connect", _autocommit_on_connect)
        META.create_all(plain)
        with plain.begin() as conn:
            conn.exec_driver_sql(_REFUSE)
        yield autocommit, plain
        autocommit.dispose()
        plain.dispose()


def _row(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": next(IDS), "label": None, "note": None, "at": None}
    base.update({"day": None, "flag": None, "big": None, "blob": None})
    return base | values


def _outcome(result: Any) -> tuple[int, Any, tuple[str, ...] | None]:
    row = result.first() if getattr(result, "returns_rows", True) else None
    fields = None if row is None else tuple(row._fields)
    return result.rowcount, None if row is None else tuple(row), fields


def _prepared_names(conn: Connection) -> set[str]:
    names = conn.exec_driver_sql("SELECT name FROM pg_prepared_statements").scalars()
    return {name for name in names if name.startswith("leerid_hot_")}


def _both(
    engines: tuple[Engine, Engine], make: Callable[[Table], Any], params: dict[str, Any]
) -> tuple[Any, Any]:
    """The outcome of ``make(RAW)`` through ``HotStatement`` (raw path) and of
    ``make(PLAIN)`` through ``Connection.execute``, with the same values."""
    autocommit, _ = engines
    with autocommit.connect() as conn:
        raw = _outcome(HotStatement(make(RAW))(conn, params))
        assert _prepared_names(conn), "the statement did not go through the raw path"
        counted = conn.execution_options(preserve_rowcount=True)  # kept after the cursor closes
        plain = _outcome(counted.execute(make(PLAIN), params))
    return raw, plain


TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
VALUES = st.fixed_dictionaries(
    {
        "label": st.none() | TEXT,
        "note": st.none() | TEXT,
        "at": st.none()
        | st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1), timezones=st.just(dt.UTC)),
        "day": st.none() | st.dates(),
        "flag": st.none() | st.booleans(),
        "big": st.none() | st.integers(-(2**63), 2**63 - 1),
        "blob": st.none() | st.binary(),
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=VALUES)
@example(
    values={
        "label": "it's a \\ back'slash \"quoted\" ünïcødé 🎓 %s %(x)s $1",
        "note": "",
        "at": dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
        "day": dt.date(2024, 2, 29),
        "flag": False,
        "big": 0,
        "blob": b"\x00\\x'",
    }
)
def test_an_insert_and_its_select_give_what_sqlalchemy_gives(
    engines: tuple[Engine, Engine], values: dict[str, Any]
) -> None:
    row = _row(**values)
    if row["label"] is not None:
        row["label"] += f"#{row['id']}"  # unique
    inserted = _both(engines, insert, row)
    assert inserted[0] == inserted[1] == (1, None, None)
    read = _both(
        engines, lambda t: select(t).where(t.c.id == bindparam("b_id")), {"b_id": row["id"]}
    )
    assert read[0] == read[1]
    assert read[0][1] == tuple(row.values())


def _insert_if_new(t: Table) -> Any:
    """A conditional INSERT … SELECT, as a code's insert while its session lives."""
    values = select(bindparam("n_id", type_=Integer), bindparam("n_label", type_=String))
    return insert(t).from_select(
        ["id", "label"],
        values.where(~select(t.c.id).where(t.c.label == bindparam("n_label")).exists()),
    )


def _consume(t: Table) -> Any:
    """An UPDATE … RETURNING of a row still unused, as the code exchange's."""
    return (
        update(t)
        .where(t.c.id == bindparam("b_id"), t.c.at.is_(None))
        .values(at=bindparam("b_at"))
        .returning(t.c.id, t.c.at, t.c.note)
    )


def test_each_kind_of_hot_statement_gives_what_sqlalchemy_gives(
    engines: tuple[Engine, Engine],
) -> None:
    first, second = _row(label="first", note="a"), _row(label="second", note="b")
    for row in (first, second):
        _both(engines, insert, row)
    at = dt.datetime(2026, 11, 30, 20, 0, tzinfo=dt.UTC)
    new = {"n_id": next(IDS), "n_label": "third"}
    unused = {"b_id": first["id"], "b_at": at}
    kinds: list[tuple[Callable[[Table], Any], dict[str, Any]]] = [
        (_insert_if_new, new),  # a code only while its session lives: once, then not
        (_insert_if_new, new),
        (_consume, unused),  # the exchange: a row still unused, then none
        (_consume, unused),
        # a read with an aggregate, one with no row, a write of several rows
        (
            lambda t: select(
                func.count().label("n"), func.max(t.c.note), literal(7).label("seven")
            ).where(t.c.label.between("first", "second")),
            {},
        ),
        (lambda t: select(t.c.id).where(t.c.label == bindparam("b_label")), {"b_label": "none"}),
        (lambda t: update(t).where(t.c.note.between("a", "b")).values(flag=True), {}),
    ]
    for make, params in kinds:
        raw, plain = _both(engines, make, params)
        assert raw == plain


def test_a_repeated_parameter_and_a_percent_sign_keep_their_meaning(
    engines: tuple[Engine, Engine],
) -> None:
    statement = text("SELECT :a AS x, '50%' AS pct, :b AS y, :a || '%%' AS z")
    statement = statement.bindparams(bindparam("a", type_=String), bindparam("b", type_=String))
    autocommit, _ = engines
    with autocommit.connect() as conn:
        row = HotStatement(statement)(conn, {"a": "p", "b": "q"}).first()
        assert _prepared_names(conn)
        assert tuple(row) == tuple(conn.execute(statement, {"a": "p", "b": "q"}).one())
    assert (row.x, row.pct, row.y) == ("p", "50%", "q")


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({"label": "taken"}, psycopg.errors.UniqueViolation),
        ({"note": "refuse"}, psycopg.errors.RaiseException),
    ],
)
def test_a_refused_statement_raises_psycopgs_own_error(
    engines: tuple[Engine, Engine], values: dict[str, Any], error: type[Exception]
) -> None:
    autocommit, plain = engines
    statement = HotStatement(insert(RAW))
    with autocommit.connect() as conn:
        statement(conn, _row(label="taken") if "label" in values else _row())
        with pytest.raises(error) as raw:
            statement(conn, _row(**values))
        assert _prepared_names(conn)
        assert statement(conn, _row()).rowcount == 1  # the connection is still usable
    with plain.connect() as conn, pytest.raises(error) as cursor:  # in a transaction
        statement(conn, _row(**values))
    assert str(raw.value).splitlines()[0] == str(cursor.value).splitlines()[0]
    assert outage_class(raw.value) is None


def test_deallocate_all_then_the_next_call_prepares_again(
    engines: tuple[Engine, Engine],
) -> None:
    autocommit, _ = engines
    statement = HotStatement(select(RAW.c.id).where(RAW.c.id == bindparam("b_id")))
    row = _row()
    with autocommit.connect() as conn:
        HotStatement(insert(RAW))(conn, row)
        assert statement(conn, {"b_id": row["id"]}).first() == (row["id"],)
        conn.exec_driver_sql("DEALLOCATE ALL")
        assert not _prepared_names(conn)
        assert statement(conn, {"b_id": row["id"]}).first() == (row["id"],)
        assert _prepared_names(conn)


def test_a_killed_backend_is_an_outage_and_the_pool_renews(
    engines: tuple[Engine, Engine],
) -> None:
    autocommit, _ = engines
    statement = HotStatement(select(RAW.c.id).where(RAW.c.id == bindparam("b_id")))
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with autocommit.connect() as conn:
            statement(conn, {"b_id": 0})
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            with pytest.raises(psycopg.OperationalError) as lost:
                statement(conn, {"b_id": 0})
            assert outage_class(lost.value) == "database unreachable"
            assert conn.invalidated
    finally:
        admin.dispose()
    with autocommit.connect() as conn:  # a fresh connection, the statement prepared anew
        assert statement(conn, {"b_id": 0}).first() is None
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() != pid


def test_in_a_transaction_the_statement_runs_in_it(engines: tuple[Engine, Engine]) -> None:
    _, plain = engines
    row = _row(label="rolled back")
    read = HotStatement(select(RAW.c.label).where(RAW.c.id == bindparam("b_id")))
    with plain.connect() as conn:
        with conn.begin() as transaction:
            assert HotStatement(insert(RAW))(conn, row).rowcount == 1
            assert read(conn, {"b_id": row["id"]}).first() == ("rolled back",)
            transaction.rollback()
        assert read(conn, {"b_id": row["id"]}).first() is None
        assert not _prepared_names(conn)


def test_sqlite_is_unchanged(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'probe.db'}")
    META.create_all(engine)
    row = _row(label="lite", at=dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC), flag=True)
    with engine.begin() as conn:
        assert HotStatement(insert(RAW))(conn, row).rowcount == 1
        got = HotStatement(select(RAW.c.label, RAW.c.flag))(conn, {}).first()
    assert tuple(got) == ("lite", True)
    engine.dispose()
