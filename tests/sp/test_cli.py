"""``leerid sp ...`` as a user runs it, on the test database: in this process, and as a real
process where its exit status and standard error are the subject."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import create_engine, insert, text

from leerid.protocol import load_protocol
from leerid.sp.kit.throttle import TABLE
from tests.conftest import BACKENDS, run_leerid, run_leerid_here
from tests.sp.conftest import PROTOCOL, write_config
from tests.sp.test_store import drop_append_only_trigger


def test_sp_commands(database_url: str, tmp_path: Path, leerid_env: dict[str, str]) -> None:
    config = write_config(tmp_path / "sp", database_url)
    env = {**leerid_env, "LEERID_SP_CONFIG": str(config)}

    added = run_leerid_here(
        [
            "sp",
            "staff",
            "add",
            "clb.een",
            "--role",
            "toegangscontrole",
            "--password-stdin",
            "--confidentiality-signed",
            "2026-01-05",
        ],
        env,
        input_text="een-lang-wachtwoord\n",
    )
    assert added.returncode == 0, added.stderr
    bad_role = run_leerid(  # a real process: its exit status and message
        ["sp", "staff", "add", "x.y", "--role", "beheerder", "--password-stdin"],
        env,
        input_text="een-lang-wachtwoord\n",
    )
    assert bad_role.returncode == 1
    assert "toegangscontrole" in bad_role.stderr and "Traceback" not in bad_role.stderr
    listed = run_leerid_here(["sp", "staff", "list"], env)
    assert "clb.een" in listed.stdout and "toegangscontrole" in listed.stdout

    dry = run_leerid_here(["sp", "purge", "--dry-run"], env)
    assert dry.returncode == 0 and "would delete 0 pupil(s)" in dry.stdout
    engine = create_engine(database_url)
    with engine.begin() as conn:  # a staff login throttle row whose window ended long ago
        spent = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
        conn.execute(
            insert(TABLE).values(
                key="k", scope="account", failures=1, last_failure_at=spent, pending=0
            )
        )
    purged = run_leerid_here(["sp", "purge"], env)
    assert purged.returncode == 0, purged.stderr
    assert "deleted 1 spent staff login throttle row(s)" in purged.stdout

    added_breach = run_leerid_here(
        [
            "sp",
            "breaches",
            "add",
            "--discovered",
            "2026-11-01T08:00",
            "--description",
            "Mail verkeerd verzonden",
            "--categories",
            "naam",
            "--pupils",
            "3",
            "--measures",
            "Ontvanger gevraagd te wissen",
            "--no-notify",
        ],
        env,
    )
    assert added_breach.returncode == 0, added_breach.stderr
    breaches = run_leerid_here(["sp", "breaches", "list"], env)
    assert "overdue" in breaches.stdout and "open" in breaches.stdout

    verified = run_leerid_here(["sp", "log", "verify"], env)
    assert verified.returncode == 0 and "intact" in verified.stdout

    out = tmp_path / "bewijs.html"
    evidence = run_leerid_here(["sp", "evidence", "--out", str(out)], env)
    assert evidence.returncode == 0, evidence.stderr
    html = out.read_text(encoding="utf-8")
    for measure in load_protocol(PROTOCOL).security_measures:
        assert f'id="{measure.id}"' in html
    assert "Hoster NV" in html and "toegangscontrole: 1" in html

    drop_append_only_trigger(engine)  # someone with rights over the schema alters an entry
    with engine.begin() as conn:
        conn.execute(text("UPDATE sp_privacy_log SET actor = 'iemand' WHERE seq = 1"))
    engine.dispose()
    broken = run_leerid_here(["sp", "log", "verify"], env)
    assert broken.returncode == 1 and "entry 1 was altered" in broken.stdout


@pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)  # the subject: the file
def test_a_broken_configuration_is_named_without_traceback(
    tmp_path: Path, leerid_env: dict[str, str]
) -> None:
    config = tmp_path / "lars.toml"
    config.write_text('[provider]\nissuer = "http://x/op"\n', encoding="utf-8")
    result = run_leerid(["sp", "purge", "--config", str(config)], leerid_env)  # a real process
    assert result.returncode == 2
    assert "needs private_key_file" in result.stderr and "Traceback" not in result.stderr
    config.write_text(
        '[provider]\nissuer="http://x/op"\nclient_id="c"\nredirect_uri="http://x/cb"\n'
        'private_key_file="k.jwk"\n[partner_schools]\ninstellingsnummers=["12a45"]\n',
        encoding="utf-8",
    )
    result = run_leerid_here(["sp", "purge", "--config", str(config)], leerid_env)
    assert result.returncode == 2 and "'12a45' is not an instellingsnummer" in result.stderr
