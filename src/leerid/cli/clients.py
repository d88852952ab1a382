"""``leerid clients``: register and manage relying parties."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from leerid import config
from leerid.errors import LeeridError
from leerid.idp.store.clients import (
    add_client,
    disable_client,
    get_client,
    list_clients,
    update_client,
)
from leerid.schema import get_engine

app = typer.Typer(
    help="Clients (service providers) of the identity provider.", no_args_is_help=True
)


def _read_jwks(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LeeridError(f"cannot read --jwks {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise LeeridError(
            f"--jwks {path}, line {exc.lineno}: not JSON ({exc.msg}); give a JSON key set"
        ) from None
    if not isinstance(data, dict):
        raise LeeridError(f'--jwks {path}: give a JSON key set {{"keys": [...]}}')
    return data


ProfileOption = Annotated[
    str,
    typer.Option(
        help="strict (leerid's rules) | acm (ACM/IDM's: form_post and fragment, PKCE "
        "optional for confidential clients, 10-minute assertions, logout at once); see "
        "docs/acm-compatibility.md"
    ),
]
SubOption = Annotated[
    str | None,
    typer.Option(
        help="What sub holds: account_uuid | opaque (40 hex per account, as ACM); "
        "default opaque under --profile acm, account_uuid otherwise"
    ),
]
ApiScopeOption = Annotated[
    list[str] | None,
    typer.Option(
        help="A DOV API the client may call with client_credentials (repeat): "
        "leerid:events, leerid:quality-reports, leerid:notices; default all three"
    ),
]


def _recipient_kbo(engine: Any, protocol: str, kbo: str | None) -> str | None:
    """The KBO given, or the stored protocol's recipient's (art. 4); the protocol must exist."""
    from leerid.idp.store.protocols import current_protocol
    from leerid.store.engine import session_scope

    with session_scope(engine) as session:
        stored = current_protocol(session, protocol)
        if stored is None:
            raise LeeridError(
                f"--protocol {protocol!r} is not stored; add it first with "
                "`leerid protocol add FILE` (`leerid protocol list` shows the stored ones)"
            )
        return kbo or stored.protocol.parties.recipient.enterprise_number


@app.command("add")
def add(
    name: Annotated[str, typer.Option(help="The service provider's name (login page).")],
    protocol: Annotated[str, typer.Option(help="The protocol id the client is bound to.")],
    redirect_uri: Annotated[list[str], typer.Option(help="A redirect URI (repeat for more).")],
    post_logout_redirect_uri: Annotated[
        list[str] | None, typer.Option(help="Where logout may return to (repeat for more).")
    ] = None,
    auth: Annotated[
        str, typer.Option(help="client_secret_basic | client_secret_post | private_key_jwt")
    ] = "client_secret_basic",
    jwks: Annotated[Path | None, typer.Option(help="JSON key set file (private_key_jwt).")] = None,
    jwks_uri: Annotated[
        str | None, typer.Option(help="URL of the key set (private_key_jwt).")
    ] = None,
    id_token_alg: Annotated[str, typer.Option(help="RS256 | ES256 | PS256")] = "RS256",  # noqa: S107
    kbo: Annotated[
        str | None,
        typer.Option(
            help="The organisation's KBO number (0123.456.789); default: the protocol's "
            "recipient (art. 4: who is a LeerID service provider)."
        ),
    ] = None,
    profile: ProfileOption = "strict",
    sub: SubOption = None,
    api_scope: ApiScopeOption = None,
) -> None:
    """Register a client; prints its id (and its secret, once)."""
    from leerid.idp.store.event_publisher import welcome_client
    from leerid.store.engine import session_scope

    engine = get_engine(config.database_url())
    kbo = _recipient_kbo(engine, protocol, kbo)
    client, secret = add_client(
        engine,
        name=name,
        protocol_id=protocol,
        redirect_uris=redirect_uri,
        post_logout_redirect_uris=post_logout_redirect_uri or [],
        auth_method=auth,
        jwks=_read_jwks(jwks) if jwks else None,
        jwks_uri=jwks_uri,
        id_token_alg=id_token_alg,
        kbo=kbo,
        profile=profile,
        subject=sub,
        api_scopes=api_scope,
    )
    with session_scope(engine) as session:  # art. 11: the client learns its version first
        welcome_client(session, client.client_id, protocol, dt.datetime.now(dt.UTC))
    typer.echo(f"client_id: {client.client_id}")
    if secret is not None:
        typer.echo(f"client_secret: {secret}")
        typer.echo("the secret is shown only now; only its SHA-256 is stored", err=True)


@app.command("update")
def update(
    client_id: Annotated[str, typer.Argument(help="The client id.")],
    profile: Annotated[
        str | None, typer.Option(help="strict | acm (see `clients add --help`); default: as is")
    ] = None,
    sub: Annotated[
        str | None,
        typer.Option(
            help="account_uuid | opaque; default: as is. Changes every pupil's sub at this "
            "client: it must then match its users again (by ov_account_uuid)"
        ),
    ] = None,
    api_scope: Annotated[
        list[str] | None,
        typer.Option(help="The DOV APIs it may call (repeat; replaces the list); default: as is"),
    ] = None,
) -> None:
    """Change a client's profile, sub or API scopes; prints what it is now."""
    engine = get_engine(config.database_url(), create=False)
    before = get_client(engine, client_id)
    client = update_client(engine, client_id, profile=profile, subject=sub, api_scopes=api_scope)
    if client.subject != before.subject:  # issue 14 §2: every pupil's sub at this client
        typer.echo(
            f"warning: sub changes from {before.subject} to {client.subject}: every pupil's "
            f"sub at client {client_id} is different from now on; the service provider must "
            "match its users by ov_account_uuid (docs/acm-compatibility.md)",
            err=True,
        )
    typer.echo(
        f"client {client_id}: profile {client.profile}, sub {client.subject}, "
        f"api scopes {' '.join(client.api_scopes) or '(none)'}"
    )


@app.command("list")
def list_() -> None:
    """Every client: id, name, KBO, protocol, authentication, state."""
    for c in list_clients(get_engine(config.database_url(), create=False)):
        state = "disabled" if c.disabled else "active"
        kbo = f"KBO {c.kbo}" if c.kbo else "KBO unknown"
        typer.echo(
            f"{c.client_id}  {c.name}  {kbo}  {c.protocol_id}  {c.auth_method}  "
            f"profile {c.profile}  {state}"
        )


@app.command()
def show(client_id: str = typer.Argument(..., help="The client id.")) -> None:
    """One client's registration as JSON (without its secret)."""
    client = get_client(get_engine(config.database_url(), create=False), client_id)
    typer.echo(json.dumps(client.public_view(), indent=2, ensure_ascii=False))


@app.command()
def disable(client_id: str = typer.Argument(..., help="The client id.")) -> None:
    """Stop a client: no more logins, tokens or userinfo for it."""
    disable_client(get_engine(config.database_url(), create=False), client_id)
    typer.echo(f"client {client_id} disabled")
