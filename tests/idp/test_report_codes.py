"""Issue 8 point 19: a data-quality report has one short code, typed as a person types it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from leerid.errors import NotFoundError
from leerid.idp.store.quality_reports import close_report, list_reports, store_report
from leerid.idp.store.report_codes import ALPHABET, new_code, normalise_code
from leerid.schema import upgrade
from leerid.store.engine import make_engine


@given(st.integers(min_value=0, max_value=5), st.sampled_from(["", " ", "-"]), st.booleans())
def test_a_code_is_found_however_it_is_typed(attempt: int, sep: str, lower: bool) -> None:
    code = new_code(attempt)
    assert code.startswith("DQ-") and set(code[3:]) <= set(ALPHABET)
    typed = code[3:].replace("0", "O").replace("1", "l")
    for variant in (code, typed, f"dq{sep}{typed}", f"  {code.lower()} "):
        assert normalise_code(variant.lower() if lower else variant) == code
    assert normalise_code("1") is None and normalise_code(str(uuid.uuid4())) is None


def test_no_code_reads_as_another_when_typed_without_its_prefix() -> None:
    """A body "DQ…" typed bare would lose its first two characters (1 in 1,024 codes)."""
    codes = [new_code(attempt) for attempt in (0, 3) for _ in range(10_000)]
    assert all(normalise_code(code[3:]) == code for code in codes)


def test_close_takes_the_code_and_says_which_report(engine: Engine) -> None:
    pupil = str(uuid.uuid4())
    view = store_report(engine, "lars", pupil, "family_name", "foutief", "naam")
    assert list_reports(engine)[0].as_json()["id"] == view.code
    with pytest.raises(NotFoundError, match="DQ-7K3M"):
        close_report(engine, "1", "gecorrigeerd", "dpo")  # LARS's old local number
    closed = close_report(engine, view.code[3:].lower(), "gecorrigeerd", "dpo")
    assert closed.code == view.code and closed.status == "gesloten"


def test_the_migration_gives_existing_reports_a_code(database_url: str) -> None:
    old = make_engine(database_url)
    upgrade(old, "0005_idp_reports")
    with old.begin() as conn:
        for n in range(3):
            conn.execute(
                text(
                    "INSERT INTO idp_quality_report (id, client_id, pupil_key, attribute, "
                    "problem, comment, status, received_at) VALUES (:id, 'lars', :p, "
                    "'family_name', 'foutief', '', 'open', :at)"
                ),
                {"id": str(uuid.uuid4()), "p": str(n), "at": dt.datetime.now(dt.UTC)},
            )
    upgrade(old)
    codes = [r.code for r in list_reports(old)]
    assert len(set(codes)) == 3 and all(normalise_code(c) == c for c in codes)
    old.dispose()
