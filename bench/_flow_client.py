"""The driver of ``bench/side_by_side.py``: complete code flows against any OpenID provider.

One flow is what a pupil's browser and a service provider do together, whatever the provider:
the authorization request (PKCE S256, ``state``, ``nonce``), the redirects the provider sends
(followed here, one by one, on the provider's origin), its login form when one comes (filled
with a username and a password), the code from the redirect to the client (``state`` and,
when present, ``iss`` checked: RFC 9207), the token request (client_secret_basic and the code
verifier), the ID token verified as a client would (joserfc: RS256 only, the key by ``kid``
from the JWKS fetched once, ``iss``, ``aud``, ``nonce``, ``exp``) and userinfo with the access
token (its ``sub`` equal to the ID token's). The endpoints come from the provider's discovery
document. Each simulated browser is its own aiohttp session with its own cookie jar; the
relying party's back-channel calls share one session; keep-alive everywhere.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import aiohttp
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from leerid.errors import LeeridError
from leerid.testing.browser import forms
from leerid.testing.relying_party import basic_auth, pkce_pair, token_form, verify_id_token

REDIRECT_URI = "http://127.0.0.1/cb"
SCOPE = "openid profile ov_leerling"
MAX_HOPS = 8  # redirects and forms within one flow
MAX_FLOWS_PER_BROWSER = 1_000_000
TIMEOUT = aiohttp.ClientTimeout(total=30)


class FlowError(Exception):
    """A step of a flow that did not succeed; ``kind`` names the step."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Target:
    """A provider under test: its endpoints (from discovery), its client, its login form."""

    name: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str
    jwks_uri: str
    client_id: str
    client_secret: str
    login_field: str  # the name of the username input of its login form
    password: str
    usernames: list[str]  # one account per browser


async def discover(issuer: str, **fields: Any) -> Target:
    """A ``Target`` from ``{issuer}/.well-known/openid-configuration`` and ``fields``."""
    url = f"{issuer}/.well-known/openid-configuration"
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http, http.get(url) as answer:
        if answer.status != 200:
            raise LeeridError(f"{issuer}: discovery answered {answer.status}")
        document = await answer.json()
    endpoints = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
    return Target(issuer=document["issuer"], **{k: document[k] for k in endpoints}, **fields)


@dataclass
class Run:
    """The figures of one timed run."""

    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # one message per kind of error

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    @property
    def error_share(self) -> float:
        failed = sum(self.errors.values())
        return failed / (failed + len(self.latencies)) if failed else 0.0

    def percentile(self, p: float) -> float:
        """Milliseconds; NaN without a flow."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def count(self, error: Exception) -> None:
        kind = error.kind if isinstance(error, FlowError) else type(error).__name__
        self.errors[kind] += 1
        self.examples.setdefault(kind, str(error)[:300])


class Client:
    """The relying party: its back-channel session and the provider's keys (fetched once)."""

    def __init__(self, target: Target, http: aiohttp.ClientSession, keys: KeySet) -> None:
        self.target, self.http, self.keys = target, http, keys

    @classmethod
    async def open(cls, target: Target, browsers: int) -> Client:
        connector = aiohttp.TCPConnector(limit=browsers, force_close=False)
        http = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), timeout=TIMEOUT
        )
        try:
            async with http.get(target.jwks_uri) as answer:
                keys = KeySet.import_key_set(await answer.json())
        except BaseException:
            await http.close()
            raise
        return cls(target, http, keys)

    async def redeem(self, code: str, verifier: str, nonce: str) -> None:
        """Token request, ID token verification, userinfo."""
        t = self.target
        headers = basic_auth(t.client_id, t.client_secret)
        form = token_form(code, REDIRECT_URI, verifier)
        async with self.http.post(t.token_endpoint, data=form, headers=headers) as answer:
            if answer.status != 200:
                raise FlowError("token", f"token: {answer.status} {(await answer.text())[:200]}")
            tokens = await answer.json()
        try:
            header, claims = verify_id_token(
                tokens["id_token"], self.keys, t.issuer, t.client_id, nonce
            )
        except (JoseError, LeeridError, ValueError, KeyError) as exc:
            raise FlowError("id_token", f"ID token: {type(exc).__name__}: {exc}") from None
        if header.get("alg") != "RS256":
            raise FlowError("id_token", f"ID token: alg {header.get('alg')!r}, not RS256")
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        async with self.http.get(t.userinfo_endpoint, headers=bearer) as answer:
            info = await answer.json() if answer.status == 200 else {}
            if info.get("sub") != claims["sub"]:
                raise FlowError("userinfo", f"userinfo: {answer.status}, sub {info.get('sub')!r}")


def new_browser() -> aiohttp.ClientSession:
    """A browser: its own session, connection and cookie jar (cookies of 127.0.0.1 too)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1),
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        timeout=TIMEOUT,
    )


def _code(location: str, target: Target, state: str) -> str:
    """The code of the authorization response, after ``state`` and ``iss`` (RFC 9207)."""
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    if params.get("state") != state or "code" not in params:
        raise FlowError("code", f"authorization response without the code or state: {location}")
    if "iss" in params and params["iss"] != target.issuer:
        raise FlowError("code", f"authorization response from issuer {params['iss']!r}")
    return params["code"]


async def _login(
    browser: aiohttp.ClientSession, url: str, page: str, target: Target, username: str
) -> aiohttp.ClientResponse:
    """Fill and post the login form of ``page`` (its hidden fields, username, password)."""
    posted = [f for f in forms(page) if f.method.lower() == "post"]
    if not posted:
        raise FlowError("login", f"no login form at {url}")
    fields = {**posted[0].hidden, target.login_field: username, "password": target.password}
    action = urljoin(url, posted[0].action or url)
    return await browser.post(action, data=fields, allow_redirects=False)


async def authorize(
    browser: aiohttp.ClientSession, target: Target, username: str | None, challenge: str
) -> tuple[str, str, str]:
    """(redirect to the client, state, nonce): the browser's part of a flow.

    ``username`` None: single sign-on is expected (a login form is an error).
    """
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    params = {
        "response_type": "code",
        "client_id": target.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    url = f"{target.authorization_endpoint}?{urlencode(params)}"
    answer = await browser.get(url, allow_redirects=False)
    for _hop in range(MAX_HOPS):
        async with answer:
            if answer.status in (302, 303):
                location = urljoin(url, answer.headers["Location"])
                if location.startswith(REDIRECT_URI + "?"):
                    return location, state, nonce
                url = location
                answer = await browser.get(url, allow_redirects=False)
                continue
            page = await answer.text()
            if answer.status != 200 or username is None:
                kind = "sso" if username is None else "auth"
                raise FlowError(kind, f"{url.split('?')[0]}: {answer.status} {page[:200]}")
        answer = await _login(browser, url, page, target, username)
        username = None  # one login per flow
    raise FlowError("auth", f"more than {MAX_HOPS} redirects and forms")


async def one_flow(browser: aiohttp.ClientSession, client: Client, username: str | None) -> None:
    """One complete flow (``username`` None: on the browser's single sign-on session)."""
    verifier, challenge = pkce_pair()
    location, state, nonce = await authorize(browser, client.target, username, challenge)
    await client.redeem(_code(location, client.target, state), verifier, nonce)


FAILURES = (FlowError, aiohttp.ClientError, OSError, TimeoutError, ValueError, KeyError)


async def drive(
    target: Target,
    scenario: str,
    browsers: int,
    duration: float,
    started: Callable[[], object] | None = None,
) -> Run:
    """``browsers`` browsers doing flows for ``duration`` seconds; ``sso``: each logs in first.

    In ``login`` (and ``owasp``) every flow starts from an empty cookie jar and logs in with
    the browser's own account. ``started`` is called when the timed part begins.
    """
    run = Run(duration)
    client = await Client.open(target, browsers)
    sessions = [new_browser() for _ in range(browsers)]
    try:
        if scenario == "sso":
            logins = [one_flow(b, client, target.usernames[i]) for i, b in enumerate(sessions)]
            for outcome in await asyncio.gather(*logins, return_exceptions=True):
                if isinstance(outcome, BaseException):
                    raise LeeridError(f"{target.name}: the SSO login failed: {outcome}")
        if started is not None:
            started()
        stop_at = time.monotonic() + duration

        async def browse(i: int, browser: aiohttp.ClientSession) -> None:
            username = None if scenario == "sso" else target.usernames[i]
            for _ in range(MAX_FLOWS_PER_BROWSER):
                began = time.monotonic()
                if began >= stop_at:
                    return
                if username is not None:
                    browser.cookie_jar.clear()
                try:
                    await one_flow(browser, client, username)
                except FAILURES as exc:
                    run.count(exc)
                    continue
                ended = time.monotonic()
                if ended <= stop_at:
                    run.latencies.append(ended - began)

        await asyncio.gather(*(browse(i, b) for i, b in enumerate(sessions)))
    finally:
        for session in [*sessions, client.http]:
            await session.close()
    return run
