"""Issue 12 §1 at the provider: every disclosure is appended to the transparency log with
its record, and nothing is released when the log refuses the entry (fail closed).

A real provider on loopback (``leerid idp serve``), the kit's relying party (Authlib) and
browser, both backends. The log's refusal is the database's own: a trigger that raises on
every INSERT into ``idp_tlog_entry`` (``tlog_append_kit.refusing_log``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, func, select

from leerid.idp.store.models import Disclosure
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.store.engine import make_engine
from leerid.testing.relying_party import token_form
from leerid.transparency.entries import LogEntry, entry_concerns
from leerid.transparency.receipt import from_b64url
from tests.idp.flow import Browser, RelyingParty, full_login, query
from tests.idp.tlog_append_kit import failures, log_entries, orphans, pupil_key, refusing_log
from tests.idp_server import RunningIdp, offline_client


@pytest.fixture
def observer(idp: RunningIdp) -> Iterator[Engine]:
    """The test's own engine on the provider's database."""
    engine = make_engine(idp.database_url)
    yield engine
    engine.dispose()


def _leaf(text: str) -> bytes:
    """A base64url leaf hash without padding, as the provider sends it."""
    return from_b64url(text, "leaf hash")


def _entry(engine: Engine, text: str) -> LogEntry:
    leaf = _leaf(text)
    assert len(leaf) == 32
    return log_entries(engine)[leaf]


def _records(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Disclosure)) or 0)


def _introspect(idp: RunningIdp, token: str) -> httpx.Response:
    return httpx.post(
        f"{idp.issuer}/v1/introspect",
        data={"token": token},
        auth=(idp.client_id, idp.client_secret),
        timeout=10,
    )


def _unavailable(answer: httpx.Response) -> None:
    """Issue 12 §1: 503 temporarily_unavailable, not cached, no token, no claim, no leaf."""
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "temporarily_unavailable"
    assert "transparency log" in answer.json()["error_description"]
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["retry-after"]
    assert "LeerID-Log-Leaf" not in answer.headers
    assert not {"access_token", "id_token", "sub"} & set(answer.json())


def test_every_release_names_its_entry_and_the_entry_names_no_one(
    idp: RunningIdp, observer: Engine
) -> None:
    rp, _, auth, location = full_login(idp)
    token = rp.fetch_token(location, auth.verifier)
    _header, claims = rp.verify_id_token(token["id_token"], auth.nonce)
    entry = _entry(observer, token["leerid_log_leaf"])  # RFC 6749 §5.1: an extra member
    with observer.connect() as conn:
        record = conn.execute(
            select(Disclosure).where(Disclosure.log_leaf == _leaf(token["leerid_log_leaf"]))
        ).one()
    assert entry.kind == "disclosure"
    assert entry.fields["endpoint"] == "token" and entry.fields["outcome"] == "released"
    assert entry.fields["client"] == idp.client_id == record.client_id
    assert entry.fields["protocol"] == idp.seed.protocol_id
    assert entry.fields["protocol_hash"] == record.protocol_hash is not None
    assert entry.fields["claims"] == record.claims.split() == sorted(claims.keys() - _JWT)
    assert record.account_uuid == idp.pupil.account_uuid
    secret, pupils = pupil_key(observer), [idp.pupil.account_uuid]
    assert entry_concerns(secret, entry, pupils)
    assert entry.at == record.at.replace(tzinfo=entry.at.tzinfo)

    info = rp.userinfo(token["access_token"])
    assert info.status_code == 200
    seen = _entry(observer, info.headers["LeerID-Log-Leaf"])
    assert seen.fields["endpoint"] == "userinfo" and entry_concerns(secret, seen, pupils)
    assert seen.fields["pupil"] != entry.fields["pupil"]  # unlinkable without the secret
    assert seen.fields["claims"] == sorted(info.json())

    answer = _introspect(idp, token["access_token"])
    assert answer.status_code == 200 and answer.json()["active"] is True
    seen = _entry(observer, answer.headers["LeerID-Log-Leaf"])
    assert (seen.fields["endpoint"], seen.fields["claims"]) == ("introspect", ["sub"])
    assert entry_concerns(secret, seen, pupils)
    assert orphans(observer)[0] == 0


_JWT = {"iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "acr", "sid", "azp"}
"""The ID token's own claims, which are not the pupil's data."""


def test_a_refused_entry_releases_nothing_and_the_same_code_works_afterwards(
    idp: RunningIdp, observer: Engine
) -> None:
    """Fail closed at the token endpoint; the exchange rolled back, so the code is unused
    (RFC 6749 §4.1.2 forbids a second use, and there was no first) and works later."""
    rp, _, auth, location = full_login(idp)
    before, counted = _records(observer), failures(idp.base_url)
    with refusing_log(observer):
        answer = httpx.post(
            rp.discovery["token_endpoint"],
            data=token_form(query(location)["code"], idp.redirect_uri, auth.verifier),
            auth=(idp.client_id, idp.client_secret),
            timeout=10,
        )
        _unavailable(answer)
        with pytest.raises(httpx.HTTPStatusError) as refused:  # the relying party (Authlib)
            rp.fetch_token(location, auth.verifier)
        _unavailable(refused.value.response)
        assert _records(observer) == before
        assert failures(idp.base_url) == counted + 2
    token = rp.fetch_token(location, auth.verifier)
    assert rp.verify_id_token(token["id_token"], auth.nonce)[1]["sub"]
    assert _entry(observer, token["leerid_log_leaf"]).fields["endpoint"] == "token"
    assert _records(observer) == before + 1
    assert orphans(observer)[0] == 0


def test_userinfo_and_introspection_release_nothing_without_their_entry(
    idp: RunningIdp, observer: Engine
) -> None:
    rp, _, auth, location = full_login(idp)
    access = rp.fetch_token(location, auth.verifier)["access_token"]
    before, counted = _records(observer), failures(idp.base_url)
    with refusing_log(observer):
        _unavailable(rp.userinfo(access))
        _unavailable(_introspect(idp, access))
        assert failures(idp.base_url) == counted + 2
    assert _records(observer) == before
    info = rp.userinfo(access)
    assert info.status_code == 200 and info.json()["sub"] == idp.pupil.account_uuid
    assert _introspect(idp, access).headers["LeerID-Log-Leaf"]
    assert orphans(observer) == (0, before + 2)


def _log_counts(engine: Engine) -> tuple[int, int]:
    """(entries in the log, entries appended and not yet integrated: leerid_tlog_pending)."""
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(TlogEntry))
        pending = conn.scalar(
            select(func.count()).select_from(TlogEntry).where(TlogEntry.idx.is_(None))
        )
    return int(total or 0), int(pending or 0)


def test_a_refused_login_leaves_the_log_as_an_unknown_username_does(
    idp: RunningIdp, observer: Engine
) -> None:
    """Issue 12 §1 logs disclosures; a refused login releases nothing. Were a wrong password
    logged and an unknown username not, anyone watching the public log would learn which
    usernames exist. Both leave the log unchanged; the wrong password is kept in DOV's
    private disclosure log only (issue 4 §5), without a leaf."""
    rp = RelyingParty(idp)
    for _ in range(400):  # what the seed appended, integrated first: nothing pending
        before = _log_counts(observer)
        if before[1] == 0:
            break
        time.sleep(0.05)
    assert before[1] == 0
    for username in ("nobody-by-this-name", idp.username):
        browser = Browser()
        page = browser.provider_login(browser.open(rp.authorization().url), username, "no")
        assert page.status_code == 200 and 'name="password"' in page.text
        if username == "nobody-by-this-name":
            assert _log_counts(observer) == before
    for _ in range(100):  # the record is written in the background, after the answer
        with observer.connect() as conn:
            logins = conn.execute(
                select(Disclosure.log_leaf, Disclosure.reason).where(Disclosure.endpoint == "login")
            ).all()
        if logins:
            break
        httpx.get(f"{idp.base_url}/healthz", timeout=10)
    assert [tuple(row) for row in logins] == [(None, "wrong_password")]
    assert _log_counts(observer) == before
    assert orphans(observer)[0] == 0


def test_a_refresh_rotation_fails_closed_and_the_refresh_token_stays_usable(
    idp: RunningIdp, observer: Engine
) -> None:
    """RFC 6749 §6 in one transaction with the entry: refused, nothing rotated."""
    client_id, secret = offline_client(idp.database_url)
    rp = RelyingParty(
        idp, client_id=client_id, client_secret=secret, scope="openid ov_leerling offline_access"
    )
    rp, _, auth, location = full_login(idp, rp)
    first = rp.fetch_token(location, auth.verifier)  # a transaction on both backends
    assert _entry(observer, first["leerid_log_leaf"]).fields["client"] == client_id
    form = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    with refusing_log(observer):
        answer = httpx.post(
            rp.discovery["token_endpoint"], data=form, auth=(client_id, secret), timeout=10
        )
        _unavailable(answer)
    again = httpx.post(
        rp.discovery["token_endpoint"], data=form, auth=(client_id, secret), timeout=10
    )
    assert again.status_code == 200, again.text  # not a reuse: the refused one was undone
    body = again.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert _entry(observer, body["leerid_log_leaf"]).fields["endpoint"] == "token"
    assert orphans(observer)[0] == 0
