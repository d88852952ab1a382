"""Issue 4 §6 (two servers on one database serve one login) and §5 (no personal data or
tokens in the logs), plus the client commands."""

from __future__ import annotations

import re

import httpx
import pytest

from leerid.errors import LeeridError
from leerid.idp.store.clients import add_client
from leerid.store.engine import make_engine
from leerid.testing.browser import hidden_fields
from tests.conftest import run_leerid
from tests.idp.flow import Browser, RelyingParty, full_login, query
from tests.idp_server import offline_client, running_idp, start_idp


def test_two_servers_on_one_database_serve_one_login(database_url: str) -> None:
    """Two nodes of one issuer: login form from one, posted to two; token on one; userinfo
    and single sign-on on two."""
    with running_idp(database_url) as one:
        two = start_idp(database_url, more_env={"LEERID_ISSUER": one.issuer})
        try:
            rp = RelyingParty(one)
            browser = Browser()  # cookies are per host, not per port: both nodes see them
            auth = rp.authorization()
            page = browser.open(auth.url)
            assert page.status_code == 200
            form = hidden_fields(page.text)
            fields = {name: form[name] for name in ("request", "csrf_token")}
            done = browser.http.post(
                f"{two.base_url}/op/v1/login",
                data={**fields, "username": one.username, "password": one.password},
            )
            assert done.status_code == 303, done.text
            location = done.headers["location"]
            assert query(location)["iss"] == one.issuer
            token = rp.fetch_token(location, auth.verifier)  # on server one
            rp.verify_id_token(token["id_token"], auth.nonce)
            info = httpx.get(
                f"{two.base_url}/op/v1/userinfo",
                headers={"Authorization": f"Bearer {token['access_token']}"},
            )
            assert info.status_code == 200 and info.json()["sub"] == one.pupil.account_uuid
            sso = browser.open(
                rp.authorization(prompt="none").url.replace(one.base_url, two.base_url)
            )
            code = query(sso.headers["location"])["code"]
            exchanged = httpx.post(
                f"{one.base_url}/op/v1/token",
                auth=(one.client_id, one.client_secret),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": one.redirect_uri,
                    "code_verifier": "x" * 43,
                },
            )
            assert exchanged.json()["error"] == "invalid_grant"  # wrong verifier, found code
            again = httpx.post(
                f"{two.base_url}/op/v1/token",
                auth=(one.client_id, one.client_secret),
                data={
                    "grant_type": "authorization_code",
                    "code": query(location)["code"],
                    "redirect_uri": one.redirect_uri,
                    "code_verifier": auth.verifier,
                },
            )
            assert again.json()["error"] == "invalid_grant"  # reuse seen by the other node
        finally:
            two.stop()


def test_no_insz_names_or_tokens_in_the_logs(database_url: str) -> None:
    with running_idp(database_url, more_env={"LEERID_LOG_LEVEL": "info"}) as idp:
        client_id, secret = offline_client(database_url)  # art. 5: the seed allows no refresh
        rp = RelyingParty(
            idp,
            client_id=client_id,
            client_secret=secret,
            scope="openid profile ov_leerling offline_access",
        )
        browser = Browser()
        auth = rp.authorization()
        page = browser.open(auth.url)
        browser.provider_login(page, idp.username, "wrong password")
        page = browser.open(auth.url)
        done = browser.provider_login(page, idp.username, idp.password)
        location = done.headers["location"]
        token = rp.fetch_token(location, auth.verifier)
        rp.oauth.get(rp.discovery["userinfo_endpoint"])
        rp.oauth.refresh_token(rp.discovery["token_endpoint"], refresh_token=token["refresh_token"])
        httpx.get(f"{idp.base_url}/metrics")
        log = idp.server.log_text()
        secrets = [
            idp.pupil.insz,
            idp.pupil.naam,
            idp.pupil.voornaam,
            idp.password,
            query(location)["code"],
            token["access_token"],
            token["refresh_token"],
            token["id_token"],
            idp.client_secret,
            secret,
        ]
        # the log must hold the flow, or the scan below would prove nothing
        assert "login ok" in log and "login refused" in log and "/op/v1/token" in log
        for secret in secrets:
            assert secret not in log


def test_client_commands(leerid_env: dict[str, str], database_url: str) -> None:
    from tests.idp_server import store_protocol

    protocol_id = store_protocol(database_url)
    added = run_leerid(
        [
            "clients",
            "add",
            "--name",
            "Smartschool",
            "--protocol",
            protocol_id,
            "--redirect-uri",
            "https://app.example/cb",
            "--auth",
            "client_secret_post",
        ],
        leerid_env,
    )
    assert added.returncode == 0, added.stderr
    client_id = re.search(r"client_id: (\S+)", added.stdout).group(1)  # type: ignore[union-attr]
    secret = re.search(r"client_secret: (\S+)", added.stdout).group(1)  # type: ignore[union-attr]
    shown = run_leerid(["clients", "show", client_id], leerid_env)
    assert shown.returncode == 0 and secret not in shown.stdout
    assert "client_secret_post" in shown.stdout
    assert run_leerid(["clients", "disable", client_id], leerid_env).returncode == 0
    listed = run_leerid(["clients", "list"], leerid_env)
    assert client_id in listed.stdout and "disabled" in listed.stdout
    bad = run_leerid(
        [
            "clients",
            "add",
            "--name",
            "X",
            "--protocol",
            "no-such-protocol",
            "--redirect-uri",
            "https://app.example/cb",
        ],
        leerid_env,
    )
    assert bad.returncode == 1 and "not stored" in bad.stderr and "Traceback" not in bad.stderr
    with pytest.raises(LeeridError, match="https"):  # RFC 6749 §3.1.2.1, checked directly
        add_client(
            make_engine(database_url),
            name="X",
            protocol_id=protocol_id,
            redirect_uris=["http://app.example/cb"],
        )


def test_the_server_recovers_when_its_database_connections_are_cut(database_url: str) -> None:
    """A database restart (its connections terminated) costs a few requests, not the node."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server connection to lose")
    import uuid

    from sqlalchemy import create_engine, text

    name = f"leerid-idp-{uuid.uuid4().hex[:8]}"
    with running_idp(f"{database_url}&application_name={name}") as idp:
        full_login(idp)
        admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            cut = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar()
        admin.dispose()
        assert cut and cut >= 1
        outcomes = []
        for _ in range(5):  # a request or two may fail while the pools find their dead links
            try:
                full_login(idp)
                outcomes.append("ok")
                break
            except AssertionError:
                outcomes.append("failed")
        assert outcomes[-1] == "ok" and len(outcomes) <= 3, outcomes
        full_login(idp)  # and the next flow works at once
        log = idp.server.log_text()
        assert idp.username not in log and idp.pupil.insz not in log
