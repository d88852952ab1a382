"""A fake ACM/IDM (the Department's OpenID provider), answering as its public documentation
shows, on loopback, for the kit's tests (issue 14 point 3).

Each answer follows one page of authenticatie.vlaanderen.be/docs/beveiligen-van-toepassingen/
integratie-methoden/ (``oidc/technische-info/`` unless said):

- ``GET /op/.well-known/openid-configuration``: "Discovery URL" (``oauth/technische-info/
  discovery-url``): the documented document, field for field, but for the host, plus the
  ``userinfo_endpoint`` the "Userinfo endpoint" page says discovery names. No
  ``scopes_supported`` ("Scopes & claims": per client, in the integratiedossier), no
  ``authorization_response_iss_parameter_supported`` (not documented: no RFC 9207 ``iss``).
- ``GET /op/v1/auth``: "Aanmelden" (client_id, redirect_uri registered beforehand,
  response_type ``code`` only, scope with ``openid``, state, nonce) and "Response Mode"
  (query by default, form_post, fragment). An unknown client or redirect URI gets an error
  page (never a redirect: RFC 6749 §4.1.2.1); a scope the client may not have is answered at
  once, before any login ("Scopes & claims"), as ``invalid_scope`` to the redirect URI.
- ``POST /op/v1/token``: ``client_secret_basic`` or ``client_secret_post``, as discovery
  lists; PKCE ``plain`` or ``S256`` (``code_challenge_methods_supported``); errors as
  RFC 6749 §5.2.
- The ID token: "Authenticatiemiddelen" (the example: ``acr`` an
  ``urn:be:vlaanderen:authmech:`` URN, ``at_hash``, ``aud``, ``azp``, ``kid``, a ``sub`` of 40
  characters: ACM's PersoonsID, not the account), signed RS256 (the only value of
  ``id_token_signing_alg_values_supported``) with a key made at start; the claims of each
  asked scope in the ID token ("Scopes & claims"); ``ov_*`` for the LeerID scope.
- ``GET /op/v1/userinfo``: "Userinfo endpoint", but without ``sub`` by default: what a public
  LeerID client met ("Leerid accounts do not provide a sub").
- ``GET /op/v1/keys``: the key set, ``Cache-Control: max-age=21500`` (what ACM sends).
- ``GET /op/v1/logout``: "Afmelden" (``oauth/technische-info/afmelden``): client_id with a
  post_logout_redirect_uri redirects there (with ``state``); without them, a page saying the
  logout is done.

Field names and example values only come from those pages; the code is ours. The login form
is the fake's own (ACM's depends on the means): ``username`` and ``password`` fields, so the
kit's scripted browser fills it in as it fills in LeerID's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

ACR_PASSWORD = "urn:be:vlaanderen:authmech:password"  # "Authenticatiemiddelen": CLDAP, level 10
KEYS_MAX_AGE = 21500
LEERID_SCOPE = "ov_leerling"
SCOPE_CLAIMS = {  # "Scopes & claims": which claims each scope releases
    "openid": (),
    "profile": ("given_name", "family_name"),
    LEERID_SCOPE: ("ov_account_uuid", "ov_leerid_uuid", "ov_orgcode", "ov_historiek_account_uuid"),
}


@dataclass
class AcmPupil:
    """A pupil as ACM knows one: credentials and the claims of the LeerID scope."""

    username: str
    password: str
    claims: dict[str, Any]


@dataclass
class AcmClient:
    """A client as its integratiedossier registers it."""

    client_id: str
    secret: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    scopes: frozenset[str] = frozenset({"openid", "profile", LEERID_SCOPE})


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    response_mode: str
    challenge: str | None
    method: str
    pupil: AcmPupil | None = None


@dataclass
class FakeAcm:
    """The provider's state; ``app()`` serves it. Test switches: ``userinfo_sub`` (None:
    leave ``sub`` out, as seen; else the value to send), ``answer_iss`` (sent as an RFC 9207
    ``iss`` with the answer, to forge one)."""

    base_url: str
    clients: dict[str, AcmClient] = field(default_factory=dict)
    pupils: dict[str, AcmPupil] = field(default_factory=dict)
    userinfo_sub: str | None = None
    answer_iss: str | None = None
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, auto_kid=True))
    _persons: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _requests: dict[str, _Grant] = field(default_factory=dict)
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _tokens: dict[str, _Grant] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/op"

    def person_id(self, pupil: AcmPupil) -> str:
        """ACM's ``sub``: its PersoonsID, 40 hex, not derivable from the account."""
        account = str(pupil.claims.get("ov_account_uuid", pupil.username))
        return hmac.new(self._persons, account.encode(), hashlib.sha256).hexdigest()[:40]

    # -- discovery and keys ---------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        op = self.issuer
        return {
            "authorization_endpoint": f"{op}/v1/auth",
            "end_session_endpoint": f"{op}/v1/logout",
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "issuer": op,
            "jwks_uri": f"{op}/v1/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "token_endpoint": f"{op}/v1/token",
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "introspection_endpoint": f"{op}/v1/introspect",
            "code_challenge_methods_supported": ["plain", "S256"],
            "userinfo_endpoint": f"{op}/v1/userinfo",
        }

    async def configuration(self, _request: Request) -> Response:
        return JSONResponse(self.discovery())

    async def keys(self, _request: Request) -> Response:
        public = self.key.as_dict(private=False)
        public.update(use="sig", alg="RS256")
        headers = {"Cache-Control": f"max-age={KEYS_MAX_AGE}"}
        return JSONResponse({"keys": [public]}, headers=headers)

    # -- the authorization endpoint -------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        client = self.clients.get(q.get("client_id", ""))
        if client is None or q.get("redirect_uri") not in client.redirect_uris:
            return _error_page("De toepassing of haar redirect URI is niet gekend.")
        mode = q.get("response_mode", "query")
        grant = _Grant(
            client_id=client.client_id,
            redirect_uri=q["redirect_uri"],
            scopes=tuple(q.get("scope", "").split()),
            state=q.get("state"),
            nonce=q.get("nonce"),
            response_mode=mode if mode in ("query", "fragment", "form_post") else "query",
            challenge=q.get("code_challenge"),
            method=q.get("code_challenge_method", "plain"),
        )
        error = self._refusal(grant, q.get("response_type", ""), mode)
        if error is not None:
            return self._answer(grant, {"error": error})
        handle = secrets.token_urlsafe(16)
        self._requests[handle] = grant
        return HTMLResponse(_LOGIN_PAGE.format(request=handle, message=""))

    def _refusal(self, grant: _Grant, response_type: str, mode: str) -> str | None:
        """Why the request is refused at once (an RFC 6749 §4.1.2.1 code), or None."""
        if response_type != "code":
            return "unsupported_response_type"
        if mode not in ("query", "fragment", "form_post"):
            return "invalid_request"
        if grant.challenge is not None and grant.method not in ("plain", "S256"):
            return "invalid_request"
        allowed = self.clients[grant.client_id].scopes
        if "openid" not in grant.scopes or not set(grant.scopes) <= allowed:
            return "invalid_scope"
        return None

    async def login(self, request: Request) -> Response:
        form = await request.form()
        grant = self._requests.get(str(form.get("request", "")))
        if grant is None:
            return _error_page("Deze aanmelding is verlopen. Begin opnieuw bij de toepassing.")
        pupil = self.pupils.get(str(form.get("username", "")))
        if pupil is None or not hmac.compare_digest(
            pupil.password.encode(), str(form.get("password", "")).encode()
        ):
            message = "<p>Gebruikersnaam of wachtwoord is niet juist.</p>"
            page = _LOGIN_PAGE.format(request=html.escape(str(form["request"])), message=message)
            return HTMLResponse(page, 200)
        del self._requests[str(form["request"])]
        grant.pupil = pupil
        code = secrets.token_urlsafe(32)
        self._codes[code] = grant
        return self._answer(grant, {"code": code})

    def _answer(self, grant: _Grant, params: dict[str, str]) -> Response:
        """The authorization response in the asked mode ("Response Mode")."""
        if grant.state is not None:
            params["state"] = grant.state
        if self.answer_iss is not None:
            params["iss"] = self.answer_iss
        if grant.response_mode == "form_post":
            inputs = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in params.items()
            )
            page = _FORM_POST_PAGE.format(action=html.escape(grant.redirect_uri), inputs=inputs)
            return HTMLResponse(page, headers={"Cache-Control": "no-store"})
        sep = "#" if grant.response_mode == "fragment" else "?"
        return RedirectResponse(f"{grant.redirect_uri}{sep}{urlencode(params)}", 302)

    # -- the token and userinfo endpoints -------------------------------------------------

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client = self._client_of(request, form)
        if client is None:
            return _token_error("invalid_client", 401)
        grant = self._codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code":
            return _token_error("unsupported_grant_type")
        if grant is None or grant.client_id != client.client_id or grant.pupil is None:
            return _token_error("invalid_grant")
        if form.get("redirect_uri") != grant.redirect_uri or not _pkce_ok(grant, form):
            return _token_error("invalid_grant")
        access_token = secrets.token_urlsafe(32)
        self._tokens[access_token] = grant
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": self._id_token(grant, grant.pupil, access_token),
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _client_of(self, request: Request, form: dict[str, str]) -> AcmClient | None:
        """``client_secret_basic`` (RFC 6749 §2.3.1) or ``client_secret_post``."""
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
        client = self.clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
            return None
        return client

    def _claims(self, grant: _Grant, pupil: AcmPupil) -> dict[str, Any]:
        names = {n for s in grant.scopes for n in SCOPE_CLAIMS.get(s, ())}
        return {k: v for k, v in pupil.claims.items() if k in names}

    def _id_token(self, grant: _Grant, pupil: AcmPupil, access_token: str) -> str:
        now = int(time.time())
        digest = hashlib.sha256(access_token.encode()).digest()[:16]
        claims = {
            **self._claims(grant, pupil),
            "acr": ACR_PASSWORD,
            "at_hash": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
            "aud": grant.client_id,
            "azp": grant.client_id,
            "exp": now + 3600,
            "iat": now,
            "iss": self.issuer,
            "sub": self.person_id(pupil),
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        header = {"alg": "RS256", "kid": self.key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self.key)

    async def userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        grant = self._tokens.get(header[7:]) if header.lower().startswith("bearer ") else None
        if grant is None or grant.pupil is None:
            challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            return JSONResponse({"error": "invalid_token"}, 401, headers=challenge)
        body = {**self._claims(grant, grant.pupil), "acr": ACR_PASSWORD}
        if self.userinfo_sub is not None:
            body["sub"] = self.userinfo_sub
        return JSONResponse(body)

    async def logout(self, request: Request) -> Response:
        q = request.query_params
        client = self.clients.get(q.get("client_id", ""))
        target = q.get("post_logout_redirect_uri")
        if client is not None and target in client.post_logout_redirect_uris:
            state = q.get("state")
            return RedirectResponse(target + (f"?{urlencode({'state': state})}" if state else ""))
        return HTMLResponse("<!doctype html><title>Afgemeld</title><p>U bent afgemeld.</p>")

    async def healthz(self, _request: Request) -> Response:
        return Response("ok")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/op/.well-known/openid-configuration", self.configuration),
                Route("/op/v1/keys", self.keys),
                Route("/op/v1/auth", self.authorize),
                Route("/op/v1/auth/login", self.login, methods=["POST"]),
                Route("/op/v1/token", self.token, methods=["POST"]),
                Route("/op/v1/userinfo", self.userinfo),
                Route("/op/v1/logout", self.logout),
                Route("/healthz", self.healthz),
            ]
        )


def _pkce_ok(grant: _Grant, form: dict[str, str]) -> bool:
    """RFC 7636 §4.6, ``plain`` or ``S256``; without a challenge, no verifier either."""
    verifier = form.get("code_verifier")
    if grant.challenge is None:
        return verifier is None
    if verifier is None:
        return False
    if grant.method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        verifier = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(verifier.encode(), grant.challenge.encode())


def _token_error(code: str, status: int = 400) -> Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = "Basic"
    return JSONResponse({"error": code}, status, headers=headers)


def _error_page(text: str) -> Response:
    page = f"<!doctype html><title>Fout</title><h1>Er is iets misgegaan</h1><p>{text}</p>"
    return HTMLResponse(page, 400)


_LOGIN_PAGE = """<!doctype html><title>Aanmelden</title>{message}
<form method="post" action="/op/v1/auth/login">
<input type="hidden" name="request" value="{request}">
<input name="username"><input type="password" name="password"><button>Aanmelden</button>
</form>"""

_FORM_POST_PAGE = """<!doctype html><title>Doorsturen</title>
<body onload="document.forms[0].submit()"><form method="post" action="{action}">{inputs}
<noscript><button>Verder</button></noscript></form></body>"""
