"""Art. 4 at DOV: which organisations are LeerID service providers, and the prior notice of an
onward recipient.

"In het bijzonder is het niet toegelaten dat de Dienstenleverancier de gegevens zoals vermeld
in artikel 3 meedeelt aan andere dienstenleveranciers die (willen) aansluiten op Leer_ID."
DOV's client registry knows each client's organisation by KBO number; a recipient asks at
``POST /op/v1/service-providers/lookup`` and announces an onward recipient with a
``doorgifte`` notice. A real provider on loopback, on each backend.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text

from leerid.idp.store.clients import get_client, list_clients
from leerid.idp.store.notices import list_notices
from leerid.schema import alembic_config, load_all_models, upgrade
from leerid.store.base import Base
from leerid.store.engine import make_engine
from leerid.testing import seeding
from tests.conftest import Leerid
from tests.idp_server import PROTOCOL_FILE, PROTOCOL_ID, REDIRECT_URI, RunningIdp

LARS_KBO = "0473.721.472"  # the recipient of the seed's protocol
OTHER_KBO = "0202.239.951"
FREE_KBO = "0207.451.227"  # a valid number no client or protocol names
RECIPIENT = {
    "name": "Stad Gent",
    "kbo": "BE0207451227",
    "purpose": "Leerlingenvervoer",
    "legal_basis": "Decreet",
}


def _post(idp: RunningIdp, path: str, form: dict[str, str], *, auth: bool = True) -> httpx.Response:
    credentials = (idp.client_id, idp.client_secret) if auth else None
    return httpx.post(f"{idp.issuer}/v1/{path}", data=form, auth=credentials, timeout=10)


def _ask(idp: RunningIdp, kbo: str) -> httpx.Response:
    return _post(idp, "service-providers/lookup", {"kbo": kbo})


def test_dov_says_who_is_a_leerid_service_provider(idp: RunningIdp) -> None:
    engine = make_engine(idp.database_url)
    seeding.register_client(
        engine, protocol_id=PROTOCOL_ID, redirect_uris=[REDIRECT_URI], name="Ander", kbo=OTHER_KBO
    )
    seeding.register_client(  # disabled, or not in force yet: still one "die (willen) aansluiten"
        engine, protocol_id="nog-niet-ondertekend", redirect_uris=[REDIRECT_URI], kbo="0417497106"
    )
    engine.dispose()
    for asked, shown, answer in (
        (OTHER_KBO, OTHER_KBO, True),  # another client's organisation
        ("BE0417497106", "0417.497.106", True),  # a client whose protocol is not stored
        (LARS_KBO.replace(".", ""), LARS_KBO, True),  # the asking client's own organisation
        (FREE_KBO, FREE_KBO, False),
    ):
        response = _ask(idp, asked)
        assert response.status_code == 200, response.text
        assert response.json() == {"kbo": shown, "leerid_service_provider": answer}
        assert response.headers["cache-control"] == "no-store"


def test_the_lookup_needs_a_client_and_a_valid_kbo(idp: RunningIdp) -> None:
    anonymous = _post(idp, "service-providers/lookup", {"kbo": FREE_KBO}, auth=False)
    assert anonymous.status_code == 401
    for bad, words in (
        ("", "kbo: an enterprise number (KBO) must be 10 digits"),
        ("0207.451.228", "kbo: an enterprise number (KBO) 0207451228 fails its check digits"),
        ("x" * 17, "kbo"),
    ):
        response = _ask(idp, bad)
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["error"] == "invalid_request" and words in body["error_description"]


def test_a_doorgifte_notice_keeps_its_recipient_and_bad_ones_are_refused(
    idp: RunningIdp, leerid: Leerid
) -> None:
    base = {"kind": "doorgifte", "text": "Voorafgaande melding"}
    for form, words in (
        (base, "onward_recipient: a JSON object"),
        ({**base, "onward_recipient": "{"}, "onward_recipient must be a JSON object"),
        (
            {**base, "onward_recipient": json.dumps({**RECIPIENT, "kbo": "123"})},
            "onward_recipient.kbo",
        ),
        (
            {**base, "onward_recipient": json.dumps({**RECIPIENT, "purpose": " "})},
            "onward_recipient.purpose is required",
        ),
        (
            {**base, "onward_recipient": json.dumps({**RECIPIENT, "extra": "x"})},
            "onward_recipient.extra is not a field",
        ),
        (
            {"kind": "wetgeving", "text": "x", "onward_recipient": json.dumps(RECIPIENT)},
            "only a doorgifte notice carries an onward_recipient",
        ),
    ):
        response = _post(idp, "notices", form)
        assert response.status_code == 400, response.text
        assert words in response.json()["error_description"]
    response = _post(idp, "notices", {**base, "onward_recipient": json.dumps(RECIPIENT)})
    assert response.status_code == 201, response.text
    engine = make_engine(idp.database_url)
    (notice,) = [n for n in list_notices(engine) if n.id == int(response.json()["id"])]
    engine.dispose()
    assert notice.kind == "doorgifte"
    assert notice.onward_recipient == {**RECIPIENT, "kbo": FREE_KBO}
    code, err = leerid(["notices", "list", "--json"], {"LEERID_DATABASE_URL": idp.database_url})
    assert code == 0, err


def test_clients_add_takes_the_kbo_or_the_protocols_recipient(
    idp: RunningIdp, leerid: Leerid
) -> None:
    env = {"LEERID_DATABASE_URL": idp.database_url}
    add = ["clients", "add", "--name", "X", "--protocol", PROTOCOL_ID]
    add += ["--redirect-uri", REDIRECT_URI]
    code, err = leerid([*add, "--kbo", "0473.721.473"], env)
    assert code == 1 and "--kbo '0473.721.473'" in err and "check digits" in err
    engine = make_engine(idp.database_url)
    client_id, _ = seeding.register_client(
        engine, protocol_id=PROTOCOL_ID, redirect_uris=[REDIRECT_URI], kbo="BE0202239951"
    )
    assert get_client(engine, client_id).public_view()["kbo"] == OTHER_KBO
    code, err = leerid(add, env)
    assert code == 0, err
    assert [c.kbo for c in list_clients(engine) if c.name == "X"] == [LARS_KBO]
    engine.dispose()


def test_the_migration_fills_existing_clients_from_their_protocol(engine: Engine) -> None:
    """0011_idp_onward: ``idp_client.kbo`` and ``idp_notice.onward_recipient`` as the model
    says; a client registered before it gets its protocol's recipient's number."""
    load_all_models()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "kbo" in repr(d) or "onward" in repr(d)] == []
    # Stored with today's code (a version appends its transparency-log entry, issue 12), then
    # the schema goes back to before 0011: the protocol's row stays.
    seeding.store_protocol(engine, PROTOCOL_FILE)
    command.downgrade(alembic_config(engine), "0010_idp_report_directions")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO idp_client (client_id, name, protocol_id, redirect_uris, "
                "post_logout_redirect_uris, auth_method, id_token_alg, created_at) VALUES "
                "('oud', 'Oud', :p, '[]', '[]', 'client_secret_basic', 'RS256', :at)"
            ),
            {"p": PROTOCOL_ID, "at": dt.datetime.now(dt.UTC)},
        )
    upgrade(engine)
    assert get_client(engine, "oud").kbo == LARS_KBO
