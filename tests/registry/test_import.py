"""The DISCIMUS import on a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from leerid.registry.discimus import ImportFileError
from leerid.registry.generate import generate_registry
from leerid.registry.importer import import_registry
from leerid.registry.lookup import find_pupil
from tests.registry.conftest import national_number, read_rejects, snapshot, write_folder

TODAY = dt.date.today()
SEPT = f"{TODAY.year if TODAY.month >= 9 else TODAY.year - 1}-09-01"
BORN = dt.date(2012, 3, 31)
NN = national_number(BORN, 17)
BIS = national_number(BORN, 18, bis=True)


def view(engine: Engine, on: dt.date = TODAY, **key: str):  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return find_pupil(session, on=on, **key)


def test_generated_registry_imports_and_reimport_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    generated = generate_registry(tmp_path / "in", 300, 7, seed=11, unidentified_share=0.1)
    first = import_registry(engine, tmp_path / "in")
    assert first.registrations_created == 300 and first.rejects == 0
    assert first.pupils_identified == 300 - generated.unidentified
    assert first.accounts_created == 300
    assert first.enrolments_written == generated.enrolments
    before = snapshot(engine)
    again = import_registry(engine, tmp_path / "in")
    assert (again.registrations_unchanged, again.registrations_created) == (300, 0)
    assert (again.registrations_updated, again.accounts_created) == (0, 0)
    assert snapshot(engine) == before  # nothing changed, nothing minted


def test_rejected_rows_go_to_the_rejects_file_and_the_rest_is_imported(
    engine: Engine, tmp_path: Path
) -> None:
    folder = write_folder(
        tmp_path / "in",
        [
            ["R1", NN, "Peeters", "An", BORN.isoformat()],
            ["R2", NN[:-1] + "0", "Claes", "Bo", BORN.isoformat()],  # bad check digits
            ["R3", "", "", "Cas", "2013-01-01"],  # empty naam
            ["R1", "", "Dubbel", "Dirk", "2013-01-01"],  # referte twice
            ["R4", "", "Janssens", "Eva", "2014-02-02"],
        ],
        [
            ["R1", "012345", "000001", SEPT, ""],
            ["R2", "012345", "000001", SEPT, ""],  # its pupil row was rejected
            ["R4", "12345", "000001", SEPT, ""],  # not 6 digits
            ["R4", "054321", "000002", SEPT, "2000-01-01"],  # einddatum before begindatum
            ["R9", "012345", "000001", SEPT, ""],  # unknown referte
        ],
    )
    summary = import_registry(engine, folder, tmp_path / "out" / "rejects.csv")
    rejects = read_rejects(tmp_path / "out" / "rejects.csv")
    got = {(r["bestand"], r["regel"], r["kolom"]) for r in rejects}
    assert got == {
        ("leerlingen.csv", "3", "insz"),
        ("leerlingen.csv", "4", "naam"),
        ("leerlingen.csv", "5", "referte"),
        ("inschrijvingen.csv", "3", "referte"),
        ("inschrijvingen.csv", "4", "instellingsnummer"),
        ("inschrijvingen.csv", "5", "einddatum"),
        ("inschrijvingen.csv", "6", "referte"),
    }
    assert all(r["reden"] for r in rejects)
    assert "leerlingen.csv regel 3" in next(
        r["reden"] for r in rejects if r["regel"] == "3" and r["bestand"] == "inschrijvingen.csv"
    )
    assert summary.rejects == 7 and summary.registrations_created == 2
    r1 = view(engine, referte="R1")
    assert r1 is not None and r1.naam == "Peeters" and r1.instellingsnummers == ("012345",)
    r4 = view(engine, referte="R4")
    assert r4 is not None and r4.instellingsnummers == ()
    assert view(engine, referte="R2") is None and view(engine, referte="R3") is None


def test_the_import_is_the_truth_for_the_refertes_it_carries(
    engine: Engine, tmp_path: Path
) -> None:
    write_folder(
        tmp_path / "a",
        [["R1", NN, "Peeters", "An", BORN.isoformat()], ["R2", "", "Claes", "Bo", "2013-01-01"]],
        [["R1", "111111", "000001", SEPT, ""], ["R2", "222222", "000001", SEPT, ""]],
    )
    import_registry(engine, tmp_path / "a")
    # R1 changes school; R2 is not in this import and stays as it was.
    write_folder(
        tmp_path / "b",
        [["R1", NN, "Peeters", "Anna", BORN.isoformat()]],
        [
            ["R1", "111111", "000001", SEPT, (TODAY - dt.timedelta(days=1)).isoformat()],
            ["R1", "333333", "000009", TODAY.isoformat(), ""],
        ],
    )
    summary = import_registry(engine, tmp_path / "b")
    assert (summary.registrations_updated, summary.registrations_created) == (1, 0)
    r1 = view(engine, referte="R1")
    assert r1 is not None and r1.voornaam == "Anna" and r1.instellingsnummers == ("333333",)
    earlier = view(engine, on=TODAY - dt.timedelta(days=1), referte="R1")
    assert earlier is not None and earlier.instellingsnummers == ("111111",)
    r2 = view(engine, referte="R2")
    assert r2 is not None and r2.instellingsnummers == ("222222",)
    # Only the enrolments change: the registration counts as updated; none left: none.
    write_folder(tmp_path / "c", [["R1", NN, "Peeters", "Anna", BORN.isoformat()]], [])
    summary = import_registry(engine, tmp_path / "c")
    assert (summary.registrations_updated, summary.registrations_unchanged) == (1, 0)
    r1 = view(engine, referte="R1")
    assert r1 is not None and r1.instellingsnummers == ()
    # Enrolments alone, for a referte the registry already knows.
    write_folder(tmp_path / "d", [], [["R2", "444444", "000001", SEPT, ""]])
    summary = import_registry(engine, tmp_path / "d")
    assert summary.rejects == 0 and summary.registrations_updated == 1
    r2 = view(engine, referte="R2")
    assert r2 is not None and r2.instellingsnummers == ("444444",)


def test_identification_across_imports_keeps_the_history(engine: Engine, tmp_path: Path) -> None:
    write_folder(tmp_path / "a", [["R1", "", "Peeters", "An", BORN.isoformat()]])
    import_registry(engine, tmp_path / "a")
    before = view(engine, referte="R1")
    assert before is not None and before.leer_id_uuid is None
    ((temporary, status),) = before.accounts
    assert status == "temporary"
    with engine.begin() as conn:  # the school handed out credentials for the temporary account
        conn.execute(
            text(
                "INSERT INTO credential (account_uuid, username, password_hash, created_at) "
                "VALUES (:a, 'an.peeters', 'x', CURRENT_TIMESTAMP)"
            ),
            {"a": temporary},
        )
    write_folder(tmp_path / "b", [["R1", BIS, "Peeters", "An", BORN.isoformat()]])
    summary = import_registry(engine, tmp_path / "b")
    assert (summary.pupils_identified, summary.accounts_retired) == (1, 1)
    after = view(engine, insz=BIS)
    assert after is not None and after.leer_id_uuid is not None
    assert after.historiek_account_uuid == (temporary,)
    (permanent,) = [a for a, s in after.accounts if s == "permanent"]
    with engine.connect() as conn:
        owner = conn.execute(
            text("SELECT account_uuid FROM credential WHERE username = 'an.peeters'")
        ).scalar_one()
    assert owner == permanent  # the credentials moved to the permanent account
    # BIS number replaced by the national register number: same leer_id_uuid.
    write_folder(tmp_path / "c", [["R1", NN, "Peeters", "An", BORN.isoformat()]])
    import_registry(engine, tmp_path / "c")
    changed = view(engine, insz=NN)
    assert changed is not None and changed.leer_id_uuid == after.leer_id_uuid
    assert changed.insz_history == (BIS,)
    old = view(engine, insz=BIS)
    assert old is not None and old.pupil_id == changed.pupil_id
    assert view(engine, account_uuid=temporary) == changed


def test_insz_of_another_pupil_is_rejected_with_a_reason(engine: Engine, tmp_path: Path) -> None:
    other = national_number(dt.date(2011, 6, 6), 5)
    write_folder(
        tmp_path / "a",
        [["R1", NN, "Peeters", "An", BORN.isoformat()], ["R2", other, "Claes", "Bo", "2011-06-06"]],
        [["R2", "222222", "000001", SEPT, ""]],
    )
    import_registry(engine, tmp_path / "a")
    before = snapshot(engine)
    write_folder(
        tmp_path / "b",
        [["R2", NN, "Claes", "Bo", BORN.isoformat()]],
        [["R2", "999999", "000001", SEPT, ""]],
    )
    summary = import_registry(engine, tmp_path / "b")
    (pupil_reject, enrolment_reject) = read_rejects(tmp_path / "b" / "rejects.csv")
    assert pupil_reject["kolom"] == "insz" and "merge" in pupil_reject["reden"]
    assert enrolment_reject["bestand"] == "inschrijvingen.csv"
    assert summary.rejects == 2
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("missing_file", "inschrijvingen.csv: file not found"),
        ("missing_column", "required column 'geboortedatum'"),
        ("not_utf8", "not valid UTF-8"),
    ],
)
def test_fatal_file_errors_import_nothing(
    engine: Engine, tmp_path: Path, damage: str, message: str
) -> None:
    folder = write_folder(
        tmp_path / "in",
        [["R1", NN, "Peeters", "An", BORN.isoformat()]] * 1
        + [["R2", "", "Claes", "Bo", "2013-01-01"]],
        [["R1", "111111", "000001", SEPT, ""]],
    )
    if damage == "missing_file":
        (folder / "inschrijvingen.csv").unlink()
    elif damage == "missing_column":
        write_folder(
            folder,
            [["R1", NN, "Peeters", "An"]],
            pupil_header=("insz", "referte", "naam", "voornaam", "extra"),
        )
    else:
        with open(folder / "inschrijvingen.csv", "ab") as f:
            f.write(b"R2,222222,000001,2026-09-01,\xff\xfe\n")
    with pytest.raises(ImportFileError) as caught:
        import_registry(engine, folder)
    assert message in caught.value.message and caught.value.exit_code == 2
    assert "nothing was imported" in caught.value.message.lower()
    assert not (folder / "rejects.csv").exists()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM registration")).scalar_one() == 0


def test_columns_in_any_order_with_extra_columns(engine: Engine, tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "in",
        [["x", "1999-01-01", "An", "Peeters", NN, "R1"]],
        [["", "R1", "012345", "", "000001", SEPT]],
        pupil_header=("geslacht", "geboortedatum", "voornaam", "naam", "insz", "referte"),
        enrolment_header=(
            "einddatum",
            "referte",
            "instellingsnummer",
            "opmerking",
            "administratieve_groep",
            "begindatum",
        ),
    )
    summary = import_registry(engine, folder)
    pupil_reject, _ = read_rejects(folder / "rejects.csv")
    assert pupil_reject["kolom"] == "geboortedatum"  # 1999 contradicts the INSZ: columns found
    assert summary.rejects == 2  # and its enrolment went with it


def test_enrolments_in_any_order_are_recognised_as_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    """Enrolments of one referte need not be on consecutive lines."""
    folder = write_folder(
        tmp_path / "in",
        [["R1", NN, "Peeters", "An", BORN.isoformat()], ["R2", "", "Claes", "Bo", "2013-01-01"]],
        [
            ["R1", "111111", "000001", SEPT, ""],
            ["R2", "222222", "000001", SEPT, ""],
            ["R1", "333333", "000001", SEPT, ""],
        ],
    )
    import_registry(engine, folder)
    r1 = view(engine, referte="R1")
    assert r1 is not None and r1.instellingsnummers == ("111111", "333333")
    before = snapshot(engine)
    again = import_registry(engine, folder)
    assert (again.registrations_unchanged, again.registrations_updated) == (2, 0)
    assert snapshot(engine) == before


def test_rejects_file_never_overwrites_an_input_file(engine: Engine, tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "in", [["R1", NN, "Peeters", "An", BORN.isoformat()]])
    with pytest.raises(ImportFileError, match="overwrite an input file"):
        import_registry(engine, folder, folder / "leerlingen.csv")
    assert (folder / "leerlingen.csv").read_text(encoding="utf-8").count("\n") == 2
