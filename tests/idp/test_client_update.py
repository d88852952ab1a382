"""Review of issue 14: ``leerid clients update`` changes a client's profile, ``sub`` and API
scopes, keeps what is not given, and warns that a new ``sub`` changes every pupil's ``sub``."""

from __future__ import annotations

import json

from sqlalchemy import Engine

from leerid.idp.oauth.profiles import EVENTS_SCOPE, NOTICES_SCOPE
from leerid.idp.store.clients import add_client, get_client
from leerid.store.engine import make_engine
from tests.conftest import run_leerid_here
from tests.idp_server import REDIRECT_URI, store_protocol


def test_clients_update_changes_what_is_given_and_warns_about_sub(
    leerid_env: dict[str, str], database_url: str
) -> None:
    protocol_id = store_protocol(database_url)
    engine: Engine = make_engine(database_url)
    client, _ = add_client(
        engine, name="LARS", protocol_id=protocol_id, redirect_uris=[REDIRECT_URI]
    )
    cid = client.client_id
    assert (client.profile, client.subject) == ("strict", "account_uuid")
    moved = run_leerid_here(["clients", "update", cid, "--profile", "acm"], leerid_env)
    assert moved.returncode == 0, moved.stderr
    assert "warning" not in moved.stderr  # the sub it had stays: no pupil's sub changes
    assert (get_client(engine, cid).profile, get_client(engine, cid).subject) == (
        "acm",
        "account_uuid",
    )
    opaque = run_leerid_here(
        ["clients", "update", cid, "--sub", "opaque", "--api-scope", EVENTS_SCOPE], leerid_env
    )
    assert opaque.returncode == 0, opaque.stderr
    assert "every pupil's sub" in opaque.stderr and "ov_account_uuid" in opaque.stderr
    assert "sub opaque" in opaque.stdout
    shown = json.loads(run_leerid_here(["clients", "show", cid], leerid_env).stdout)
    assert (shown["profile"], shown["subject"]) == ("acm", "opaque")
    assert shown["api_scopes"] == [EVENTS_SCOPE]
    more = run_leerid_here(
        ["clients", "update", cid, "--api-scope", EVENTS_SCOPE, "--api-scope", NOTICES_SCOPE],
        leerid_env,
    )
    assert more.returncode == 0 and "warning" not in more.stderr
    assert get_client(engine, cid).api_scopes == (EVENTS_SCOPE, NOTICES_SCOPE)
    for wrong, words in (
        (["--sub", "insz"], "--sub 'insz' is not known"),
        (["--profile", "loose"], "--profile 'loose' is not known"),
        (["--api-scope", "leerid:all"], "not an API of DOV"),
    ):
        refused = run_leerid_here(["clients", "update", cid, *wrong], leerid_env)
        assert refused.returncode != 0 and words in refused.stderr, refused.stderr
    unknown = run_leerid_here(["clients", "update", "nobody", "--sub", "opaque"], leerid_env)
    assert unknown.returncode != 0 and "no client 'nobody'" in unknown.stderr
    assert get_client(engine, cid).subject == "opaque"  # a refusal changed nothing
    engine.dispose()
