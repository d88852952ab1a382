"""Fixtures of the service provider's tests: a configuration file and a provider on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from leerid.sp.kit.need_to_know import seal_ref
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.store.engine import dispose_engines
from leerid.testing.protocol_confirmation import confirm_local_protocol

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "protocols" / "dov-lars-glce-2024.yaml"
PARTNER = "012345"
BOUND_ON = dt.date(2024, 3, 1)
"""The day test staff signed the confidentiality pledge and followed the training (art. 6)."""


def add_bound_staff(
    provider: ServiceProvider,
    username: str,
    password: str,
    role: str = "toegangscontrole",
    *,
    schools: tuple[str, ...] = (PARTNER,),
    profile: str | None = None,
) -> None:
    """A member of staff bound by confidentiality and trained (art. 6), serving ``schools``
    (art. 4): the one who may see pupils' data."""
    add_staff(
        provider.engine,
        provider.protocol,
        username,
        password,
        role,
        confidentiality_signed_on=BOUND_ON,
        awareness_trained_on=BOUND_ON,
        function_profile=profile,
        schools=schools,
    )


def write_config(
    folder: Path,
    database_url: str,
    *,
    issuer: str = "http://127.0.0.1:9/op",
    client_id: str = "lars-test",
    redirect_uri: str = "http://127.0.0.1:9/callback",
    auth: str = 'auth_method = "client_secret_post"\nclient_secret_env = "LARS_TEST_SECRET"',
    schools: tuple[str, ...] = (PARTNER,),
    smtp_port: int = 9,
    public_url: str = "http://127.0.0.1:9",
    purge_interval_hours: float = 0,
    poll_interval: float = 30,
    extra: str = "",
) -> Path:
    """A provider configuration in ``folder`` (paths absolute, secret file inside folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "lars.toml"
    school_list = ", ".join(f'"{s}"' for s in schools)
    path.write_text(
        f"""
[provider]
issuer = "{issuer}"
client_id = "{client_id}"
redirect_uri = "{redirect_uri}"
post_logout_redirect_uri = "{public_url}/"
{auth}

[protocol]
file = "{PROTOCOL}"

[partner_schools]
instellingsnummers = [{school_list}]

[storage]
database_url = "{database_url}"

[portal]
name = "LARS"
public_url = "{public_url}"
secret_file = "secret.json"
purge_interval_hours = {purge_interval_hours}

[processing]
processors = ["Hoster NV"]

[events]
poll_interval = {poll_interval}
max_age = "P90D"

[mail]
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
sender = "dpo@lars.example"
other_party_dpo = "dpo@ond.example"
"""
        + extra,
        encoding="utf-8",
    )
    return path


def ref_for(provider: ServiceProvider, username: str, pupil_key: str) -> str:
    """What a staff page posts for a pupil: a reference sealed for ``username`` (art. 4)."""
    return seal_ref(provider.secrets.session_key, username, pupil_key)


@pytest.fixture
def sp_config(database_url: str, tmp_path: Path) -> Path:
    return write_config(tmp_path / "sp", database_url)


@pytest.fixture
def provider(sp_config: Path) -> Iterator[ServiceProvider]:
    sp = ServiceProvider(load_settings(sp_config))
    confirm_local_protocol(sp)  # art. 11: the version both signed, as DOV announces it
    yield sp
    sp.engine.dispose()
    dispose_engines()


@pytest.fixture
def bare_provider(sp_config: Path) -> Iterator[ServiceProvider]:
    """A provider that never heard from the Department (no signed protocol version)."""
    sp = ServiceProvider(load_settings(sp_config))
    yield sp
    sp.engine.dispose()
    dispose_engines()
