"""The retention's schema: migrations 0010 match the models, and the SQL search is the rule."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, inspect

from leerid.registry.models import Enrolment, Pupil, Registration
from leerid.registry.retention import RetentionPolicy, Verdict, decide
from leerid.registry.retention.queries import load_facts, retire_candidates
from leerid.schema import alembic_config, load_all_models
from leerid.store.base import Base

TABLES = ("pupil", "idp_disclosure", "activation_code")


def test_the_migrations_match_the_models(engine: Engine) -> None:
    load_all_models()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if any(t in repr(d) for t in TABLES)] == []
    assert "ix_pupil_retired_at" in {i["name"] for i in inspect(engine).get_indexes("pupil")}


def test_the_migrations_go_down(engine: Engine) -> None:
    command.downgrade(alembic_config(engine), "0009_dov_changes")
    command.downgrade(alembic_config(engine), "0008_idp_protocol_endings")  # below 0010
    assert "retired_at" not in {c["name"] for c in inspect(engine).get_columns("pupil")}
    names = {i["name"] for i in inspect(engine).get_indexes("idp_disclosure")}
    assert "ix_idp_disclosure_outcome_at" not in names


NOW = dt.datetime(2026, 9, 1, 9, 0, tzinfo=dt.UTC)
days = st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2028, 12, 31))
pupils = st.lists(
    st.tuples(
        days,  # registered on
        st.lists(st.lists(st.one_of(st.none(), days), max_size=3), max_size=2),  # registrations
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pupils)
def test_the_search_finds_exactly_whom_the_rule_retires(
    engine: Engine, drawn: list[tuple[dt.date, list[list[dt.date | None]]]]
) -> None:
    """The SQL narrows the search; ``rule.decide`` decides: the two must agree."""
    with engine.begin() as conn:
        for table in (Enrolment, Registration, Pupil):
            conn.execute(delete(table))
        for n, (registered, registrations) in enumerate(drawn, 1):
            created = dt.datetime.combine(registered, dt.time(10), dt.UTC)
            conn.execute(
                insert(Pupil).values(
                    id=n,
                    naam="N",
                    voornaam="V",
                    geboortedatum=dt.date(2010, 1, 1),
                    created_at=created,
                )
            )
            for r, ends in enumerate(registrations):
                referte = f"R{n}-{r}"
                conn.execute(
                    insert(Registration).values(
                        referte=referte,
                        pupil_id=n,
                        naam="N",
                        voornaam="V",
                        geboortedatum=dt.date(2010, 1, 1),
                        digest="d",
                    )
                )
                for end in ends:
                    begin = (end or registered) - dt.timedelta(days=100)
                    conn.execute(
                        insert(Enrolment).values(
                            referte=referte,
                            instellingsnummer="012345",
                            administratieve_groep="000001",
                            begindatum=begin,
                            einddatum=end,
                        )
                    )
    policy = RetentionPolicy()
    with engine.connect() as conn:
        found = set(conn.scalars(retire_candidates(policy, NOW, 0, 1000)))
        facts = load_facts(conn, list(range(1, len(drawn) + 1)))
    expected = {pid for pid, f in facts.items() if decide(f, NOW, policy) is Verdict.RETIRE}
    assert found == expected
