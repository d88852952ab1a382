"""Setting up a provider: its client key, its configuration file, its first staff.

Used by ``make demo`` and documented in docs/service-provider.md. Registering the client at
the identity provider is the provider's own step (``leerid clients add``, or ACM/IDM's
registration): this kit never reaches into the identity provider's database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from leerid.sp.kit.keys import generate_client_key
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff


@dataclass(frozen=True)
class StaffSeed:
    username: str
    role: str
    password: str
    bound_on: dt.date | None = None
    """Art. 6: the day the pledge was signed and the training followed (the demo's: today)."""


def write_client_key(folder: Path) -> Path:
    """A new private_key_jwt key in ``folder``; returns the public JWKS to register."""
    public = folder / "client-jwks.json"
    generate_client_key(folder / "client-key.jwk", public)
    return public


def write_config(
    folder: Path,
    *,
    issuer: str,
    client_id: str,
    protocol_file: Path,
    partner_schools: list[str],
    port: int = 8001,
    database_url: str | None = None,
    other_party_dpo: str = "dpo@ond.vlaanderen.be",
    smtp_port: int = 25,
) -> Path:
    """``folder/lars.toml`` for a portal on 127.0.0.1:``port`` (client key in ``folder``)."""
    url = f"http://127.0.0.1:{port}"
    schools = ", ".join(f'"{s}"' for s in partner_schools)
    storage = f'database_url = "{database_url}"' if database_url else ""
    path = folder / "lars.toml"
    path.write_text(
        f"""[provider]
issuer = "{issuer}"
client_id = "{client_id}"
redirect_uri = "{url}/callback"
post_logout_redirect_uri = "{url}/"
auth_method = "private_key_jwt"
private_key_file = "client-key.jwk"

[protocol]
file = "{protocol_file.resolve()}"

[partner_schools]
instellingsnummers = [{schools}]

[storage]
{storage}

[portal]
name = "LARS"
public_url = "{url}"
secret_file = "secret.json"

[app]
name = "GLCE"

[mail]
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
sender = "dpo@lars.example"
other_party_dpo = "{other_party_dpo}"
""",
        encoding="utf-8",
    )
    return path


def add_staff_accounts(config: Path, staff: list[StaffSeed]) -> None:
    """Create staff accounts (roles of the protocol) in the provider's database."""
    provider = ServiceProvider(load_settings(config))
    try:
        for member in staff:
            add_staff(
                provider.engine,
                provider.protocol,
                member.username,
                member.password,
                member.role,
                confidentiality_signed_on=member.bound_on,
                awareness_trained_on=member.bound_on,
                schools=provider.settings.partner_schools,  # art. 4: every school served
            )
    finally:
        provider.engine.dispose()
