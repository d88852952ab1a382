"""Count the rows a test's database writes, with row triggers (SQLite and PostgreSQL).

Every table gets a trigger that notes each INSERT, UPDATE and DELETE in a side table
``write_log``, so the count does not depend on how the code under test sends its SQL
(SQLAlchemy, or compiled text straight on the psycopg connection).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, inspect, text

_PG_FUNCTION = """
CREATE FUNCTION log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO write_log (tbl, op) VALUES (TG_TABLE_NAME, TG_OP);
  RETURN NULL;
END $$
"""


def install_write_log(engine: Engine) -> None:
    """A row trigger on every table of the schema, writing to ``write_log``."""
    tables = [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE write_log (tbl VARCHAR(64) NOT NULL, op VARCHAR(8) NOT NULL)")
        )
        if conn.dialect.name == "postgresql":
            conn.execute(text(_PG_FUNCTION))
        for table in tables:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text(
                        f'CREATE TRIGGER log_write AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
                        "FOR EACH ROW EXECUTE FUNCTION log_write()"
                    )
                )
                continue
            for op in ("INSERT", "UPDATE", "DELETE"):
                conn.execute(
                    text(
                        f'CREATE TRIGGER "log_{op}_{table}" AFTER {op} ON "{table}" '
                        f"BEGIN INSERT INTO write_log (tbl, op) VALUES ('{table}', '{op}'); END"
                    )
                )


def take_writes(engine: Engine) -> Counter[str]:
    """The writes logged since the last call, as ``"OP table"`` counts; the log is emptied."""
    with engine.begin() as conn:
        rows = conn.execute(text("SELECT op, tbl FROM write_log")).all()
        conn.execute(text("DELETE FROM write_log"))
    return Counter(f"{op} {tbl}" for op, tbl in rows)
