"""Title and preamble: LARS is reached "via de app GLCE"; an app run by another party is a
processor (art. 6, m-verwerkers), and the recipient's register lists it and the onward
recipients DOV was told of (art. 4)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from leerid.errors import ConfigurationError
from leerid.sp.kit.models import OnwardRecipient
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.pupil_app import PupilApp
from leerid.sp.kit.recipient_register import recipient_register
from leerid.sp.kit.settings import load_settings
from leerid.store.engine import dispose_engines, session_scope
from tests.conftest import run_leerid
from tests.sp.conftest import write_config

HOSTER = """
[[processors]]
name = "Hoster NV"
purpose = "hosting van LARS"
location = "Brussel, BE"
since = 2024-03-01
"""

APP_OPERATOR = """
[[processors]]
name = "App Bouwers BV"
purpose = "beheer van de app GLCE"
location = "Gent, BE"
since = 2024-03-01
"""


def _config(tmp_path: Path, database_url: str, extra: str) -> Path:
    path = write_config(tmp_path / "sp", database_url)
    text = path.read_text(encoding="utf-8").replace('processors = ["Hoster NV"]', "")
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_the_client_is_named_as_the_seed_names_it() -> None:
    assert PupilApp("GLCE").client_name("LARS") == "LARS via de app GLCE"


def test_an_app_run_by_another_party_must_be_a_processor(tmp_path: Path, database_url: str) -> None:
    config = _config(
        tmp_path, database_url, HOSTER + '\n[app]\nname = "GLCE"\noperator = "App Bouwers BV"\n'
    )
    with pytest.raises(ConfigurationError) as caught:
        ServiceProvider(load_settings(config))
    message = str(caught.value)
    assert "[app] operator" in message and "[[processors]]" in message
    assert str(config) in message and "m-verwerkers" in message


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('[app]\noperator = "X"\n', "name is required"),
        ('[app]\nname = "GLCE"\ncolour = "blue"\n', "unknown key 'colour'"),
        ('[app]\nname = "GLCE"\noperator = ""\n', "operator must be"),
    ],
)
def test_a_wrong_app_table_names_file_table_and_key(
    tmp_path: Path, database_url: str, table: str, expected: str
) -> None:
    config = _config(tmp_path, database_url, HOSTER + "\n" + table)
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert expected in str(caught.value) and f"{config} [app]" in str(caught.value)


def test_the_register_lists_the_app_operator_and_notified_onward_recipients(
    tmp_path: Path, database_url: str
) -> None:
    config = _config(
        tmp_path,
        database_url,
        HOSTER + APP_OPERATOR + '\n[app]\nname = "GLCE"\noperator = "App Bouwers BV"\n',
    )
    provider = ServiceProvider(load_settings(config))
    try:
        now = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
        with session_scope(provider.engine) as session:
            for name, kbo, notified, is_sp in (
                ("Stad Gent", "0207.451.227", now, False),  # notified: listed
                ("Nog Niet Gemeld", "0403.170.701", None, None),  # not notified: not listed
                ("Een Leverancier", "0417.497.106", now, True),  # a LeerID provider: never
            ):
                session.add(
                    OnwardRecipient(
                        name=name,
                        kbo=kbo,
                        purpose="leerplichtopvolging",
                        legal_basis="decreet leerlingenbegeleiding",
                        created_by="dpo",
                        created_at=now,
                        notified_at=notified,
                        leerid_service_provider=is_sp,
                    )
                )
        record = json.loads(recipient_register(provider, "json"))["records"][0]
        recipients = record["recipients"]
        assert any(
            r.startswith("verwerker: App Bouwers BV") and r.endswith("beheert de app GLCE")
            for r in recipients
        )
        assert any(r.startswith("verwerker: Hoster NV") for r in recipients)
        onward = [r for r in recipients if r.startswith("verdere mededeling (art. 4)")]
        assert len(onward) == 1 and "Stad Gent (KBO 0207.451.227)" in onward[0]
        assert "vooraf gemeld aan DOV op 2026-05-01" in onward[0]
        assert any("nooit aan andere dienstenleveranciers" in r for r in recipients)
    finally:
        provider.engine.dispose()
        dispose_engines()


def test_the_register_command(
    tmp_path: Path, database_url: str, leerid_env: dict[str, str]
) -> None:
    config = _config(tmp_path, database_url, HOSTER + '\n[app]\nname = "GLCE"\n')
    ServiceProvider(load_settings(config)).engine.dispose()  # its database exists
    dispose_engines()
    env = {**leerid_env, "LEERID_SP_CONFIG": str(config)}
    shown = run_leerid(["sp", "register"], env)
    assert shown.returncode == 0, shown.stderr
    assert "Register van verwerkingsactiviteiten" in shown.stdout
    assert "verwerker: Hoster NV" in shown.stdout
    wrong = run_leerid(["sp", "register", "--format", "pdf"], env)
    assert wrong.returncode == 1 and "--format 'pdf'" in wrong.stderr
    assert "Traceback" not in wrong.stderr
