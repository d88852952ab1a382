"""The ``leerid registry`` and ``leerid accounts`` commands, run as a user runs them."""

from __future__ import annotations

import datetime as dt
import filecmp
import json
import os
from pathlib import Path

from sqlalchemy import text

from leerid.cli.registry import view_json
from leerid.registry.lookup import PupilView, find_pupil
from leerid.schema import get_engine
from leerid.store.engine import session_scope
from tests.conftest import run_leerid
from tests.registry.conftest import national_number, write_folder

TODAY = dt.date.today()
SEPT = f"{TODAY.year if TODAY.month >= 9 else TODAY.year - 1}-09-01"
A = national_number(dt.date(2012, 3, 31), 17)
B = national_number(dt.date(2013, 4, 1), 21)
SHOW_KEYS = {
    "leer_id_uuid",
    "insz",
    "naam",
    "voornaam",
    "referten",
    "accounts",
    "historiek_account_uuid",
    "instellingsnummers",
    "insz_history",
}


def show(env: dict[str, str], *key: str) -> dict[str, object]:
    result = run_leerid(["registry", "show", *key, "--json"], env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == SHOW_KEYS
    return data  # type: ignore[no-any-return]


def test_generate_is_reproducible(tmp_path: Path) -> None:
    env = {**os.environ, "LEERID_HOME": str(tmp_path / "home")}
    for name in ("a", "b"):
        args = ["--pupils", "40", "--seed", "5", "--out", str(tmp_path / name)]
        result = run_leerid(["registry", "generate", *args], env)
        assert result.returncode == 0, result.stderr
    for name in ("leerlingen.csv", "inschrijvingen.csv"):
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False)


def lookup(env: dict[str, str], **key: str) -> PupilView:
    with session_scope(get_engine(env["LEERID_DATABASE_URL"])) as session:
        found = find_pupil(session, on=TODAY, **key)
    assert found is not None
    return found


def test_import_show_accounts_merge(tmp_path: Path, leerid_env: dict[str, str]) -> None:
    folder = write_folder(
        tmp_path / "in",
        [["R1", A, "Peeters", "An", "2012-03-31"], ["R2", B, "Peeters", "Ann", "2013-04-01"]],
        [["R1", "012345", "000001", SEPT, ""], ["R2", "054321", "000001", SEPT, ""]],
    )
    result = run_leerid(["registry", "import", str(folder)], leerid_env)
    assert result.returncode == 0, result.stderr
    assert "registrations created:   2" in result.stdout

    first = show(leerid_env, "--insz", A)
    assert first["insz"] == A and first["instellingsnummers"] == ["012345"]
    assert first["referten"] == ["R1"] and first["naam"] == "Peeters"
    before = show(leerid_env, "--referte", "R1", "--on", "2000-01-01")
    assert before["instellingsnummers"] == []

    created = run_leerid(
        ["accounts", "create", "--leerid-uuid", str(first["leer_id_uuid"])], leerid_env
    )
    assert created.returncode == 0, created.stderr
    extra = created.stdout.strip()
    assert (extra, "permanent") in lookup(leerid_env, account_uuid=extra).accounts

    second = view_json(lookup(leerid_env, referte="R2"))
    merged = run_leerid(
        [
            "registry", "merge", "--keep", str(first["leer_id_uuid"]),
            "--absorb", str(second["leer_id_uuid"]), "--operator", "helpdesk-7",
            "--reason", "ticket 1234: one child, two numbers",
        ],
        leerid_env,
    )  # fmt: skip
    assert merged.returncode == 0, merged.stderr
    after = view_json(lookup(leerid_env, leer_id_uuid=str(second["leer_id_uuid"])))
    assert after["leer_id_uuid"] == first["leer_id_uuid"]
    assert after["referten"] == ["R1", "R2"] and after["insz_history"] == [B]
    assert after["instellingsnummers"] == ["012345", "054321"]
    with get_engine(leerid_env["LEERID_DATABASE_URL"]).connect() as conn:
        record = conn.execute(
            text("SELECT kept_leer_id_uuid, absorbed_leer_id_uuid, operator FROM merge_record")
        ).one()
    assert tuple(record) == (first["leer_id_uuid"], second["leer_id_uuid"], "helpdesk-7")

    stats = run_leerid(["registry", "stats", "--json"], leerid_env)
    assert stats.returncode == 0, stats.stderr
    counts = json.loads(stats.stdout)
    assert (counts["pupils"], counts["identified"], counts["schools"]) == (1, 1, 2)


def test_errors_are_clear_and_have_the_right_exit_status(tmp_path: Path) -> None:
    """Messages, not tracebacks (on the embedded database: the backend plays no part)."""
    leerid_env = {
        **os.environ,
        "LEERID_HOME": str(tmp_path / "home"),
        "LEERID_DATABASE_URL": f"sqlite:///{tmp_path / 'leerid.db'}",
    }
    assert run_leerid(["db", "upgrade"], leerid_env).returncode == 0  # reads never create it
    unknown = run_leerid(["registry", "show", "--referte", "NOPE", "--json"], leerid_env)
    assert unknown.returncode == 1 and "no pupil found for --referte" in unknown.stderr
    two_keys = run_leerid(["registry", "show", "--referte", "R", "--insz", A], leerid_env)
    assert two_keys.returncode == 1 and "exactly one" in two_keys.stderr
    no_pupil = run_leerid(["accounts", "create", "--leerid-uuid", "nope"], leerid_env)
    assert no_pupil.returncode == 1 and "no identified pupil" in no_pupil.stderr
    folder = write_folder(
        tmp_path / "in",
        [["R1", A, "Peeters", "An"]],
        pupil_header=("referte", "insz", "naam", "voornaam"),
    )
    missing = run_leerid(["registry", "import", str(folder)], leerid_env)
    assert missing.returncode == 2
    assert "leerlingen.csv" in missing.stderr and "'geboortedatum'" in missing.stderr
    for result in (unknown, two_keys, no_pupil, missing):
        assert "Traceback" not in result.stderr
