"""The relying party: OpenID Connect authorization code flow with PKCE, on Authlib's client.

Authlib (``AsyncOAuth2Client`` over httpx) builds the authorization URL with the S256 code
challenge (RFC 7636 section 4.2), exchanges the code, authenticates the client
(``private_key_jwt`` RFC 7523, or a secret) and validates the ID token's claims
(``CodeIDToken``: ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``azp``, ``at_hash``).
The kit adds what Authlib leaves to the application: discovery with the issuer check
(OIDC Discovery section 4.3), ``state`` bound to the browser, the RFC 9207 ``iss`` check on
the authorization response, signature verification with a strict algorithm allow-list and a
single key-set refetch on an unknown ``kid`` (OIDC Core section 10.1.1), userinfo whose
``sub``, when it has one, must match the ID token's (OIDC Core section 5.3.2), and ``ov_*``
claims read as a string or an array. Nothing here assumes this project's provider: any
issuer that publishes discovery (ACM/IDM included) works, switched by the issuer URL.

Userinfo without ``sub``: OIDC Core §5.3.2 requires it, ``[provider] userinfo_sub =
"required"`` holds the provider to that; ``"optional"`` (the default) accepts an answer
without it, since a public LeerID client found "Leerid accounts do not provide a sub" at
ACM/IDM, and what the check guards against (another person's claims substituted, §16.11)
cannot happen here: the access token comes from the token endpoint in the same answer as
the ID token, whose ``sub`` binds the login. A userinfo ``sub`` that is present and differs
is refused under both. The pupil is ``ov_account_uuid`` (``login_claims.read_login``).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from leerid.errors import LeeridError
from leerid.sp.kit._authlib import AsyncOAuth2Client
from leerid.sp.kit.keys import load_client_key
from leerid.sp.kit.log_received import (
    LEAF_HEADER,
    LEAF_MEMBER,
    Received,
    received_id_token,
    received_userinfo,
)
from leerid.sp.kit.public_answer import AnswerTooLargeError, PublicAnswer
from leerid.sp.kit.settings import SPSettings

log = logging.getLogger("leerid.sp.login")

ALLOWED_ALGS = ("RS256", "PS256", "ES256")  # never "none", never HMAC with a public key
LEEWAY = 60  # seconds of clock skew accepted on exp/iat
DISCOVERY_TTL = 3600.0
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")
"""RFC 6749 §4.1.2.1 and OIDC Core §3.1.2.6: error codes are short lower-case words."""


class LoginError(LeeridError):
    """The authorization response or the tokens did not pass a check; ``code`` says which."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PendingLogin:
    """What the browser's session remembers between the redirect and the callback."""

    state: str
    nonce: str
    code_verifier: str
    response_mode: str = "query"
    """How this login's answer must come back: ``query`` (a GET) or ``form_post`` (a POST)."""

    @classmethod
    def new(cls, response_mode: str = "query") -> PendingLogin:
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),  # RFC 7636 section 4.1: 43-128 chars
            response_mode=response_mode,
        )

    def answers(self, params: Mapping[str, str]) -> bool:
        """Whether ``params`` carry this login's ``state`` (RFC 6749 §10.12; constant time)."""
        return hmac.compare_digest(params.get("state", "").encode(), self.state.encode())


@dataclass(frozen=True)
class LoginResult:
    claims: dict[str, Any]
    access_token: str
    id_token: str
    received: tuple[Received, ...] = ()
    """Issue 12 §3: each disclosure of this login, with the leaf hash DOV named for it."""


ASSERTION_LIFETIME = 60  # seconds; ACM/IDM and this provider refuse more than 5 minutes


class ShortPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
    """RFC 7523 section 3 with a short ``exp`` (Authlib's default is an hour)."""

    def sign(self, auth: Any, token_endpoint: str) -> str:
        return str(
            private_key_jwt_sign(
                auth.client_secret,
                client_id=auth.client_id,
                token_endpoint=token_endpoint,
                alg=self.alg,
                expires_in=ASSERTION_LIFETIME,
            )
        )


class RelyingParty:
    """One client registration at one OpenID provider."""

    def __init__(self, settings: SPSettings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._http = http or httpx.AsyncClient(timeout=10.0)
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None
        self._client_key = (
            load_client_key(settings.private_key_file)
            if settings.auth_method == "private_key_jwt" and settings.private_key_file
            else None
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- discovery and keys ---------------------------------------------------------------

    async def metadata(self) -> dict[str, Any]:
        """OIDC Discovery section 4: the provider's metadata, cached for an hour."""
        if self._metadata is None or time.monotonic() - self._metadata_at > DISCOVERY_TTL:
            url = self.settings.issuer + "/.well-known/openid-configuration"
            data = await self._get_json(url, "discovery")
            if data.get("issuer") != self.settings.issuer:  # OIDC Discovery section 4.3
                raise LoginError(
                    "issuer_mismatch",
                    f"the discovery document at {url} names issuer {data.get('issuer')!r}, "
                    f"not {self.settings.issuer!r}; check [provider] issuer",
                )
            self._metadata, self._metadata_at = data, time.monotonic()
        return self._metadata

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LoginError(
                "provider_unreachable", f"cannot read the provider's {what} at {url}: {exc}"
            ) from None
        if not isinstance(data, dict):
            raise LoginError("provider_unreachable", f"the {what} at {url} is not an object")
        return data

    async def key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            meta = await self.metadata()
            self._keys = KeySet.import_key_set(
                await self._get_json(meta["jwks_uri"], "key set")  # type: ignore[arg-type]
            )
        return self._keys

    # -- the flow -------------------------------------------------------------------------

    def _client(self, meta: Mapping[str, Any]) -> AsyncOAuth2Client:
        s = self.settings
        secret: Any = self._client_key if s.auth_method == "private_key_jwt" else s.client_secret()
        client = AsyncOAuth2Client(
            client_id=s.client_id,
            client_secret=secret,
            scope=" ".join(s.scopes),
            redirect_uri=s.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=s.auth_method,
            timeout=10.0,
        )
        if s.auth_method == "private_key_jwt":
            # ACM/IDM clients put the issuer in the assertion's aud (RFC 7523 section 3)
            client.register_client_auth_method(ShortPrivateKeyJWT(self.settings.issuer))
        return client

    async def begin(self, extra: Mapping[str, str] | None = None) -> tuple[str, PendingLogin]:
        """The authorization URL to send the browser to, and what to remember."""
        meta = await self.metadata()
        mode = self.settings.response_mode
        pending = PendingLogin.new(mode)
        params = dict(extra or {})
        if mode != "query":  # the default of response_type=code: not sent (Multiple RT §2.1)
            offered = meta.get("response_modes_supported", ["query", "fragment"])
            if mode not in offered:  # OIDC Discovery §3: absent means query and fragment
                raise LoginError(
                    "response_mode_unsupported",
                    f"the provider does not offer response_mode {mode!r} (it lists "
                    f'{", ".join(offered)}); set [provider] response_mode = "query"',
                )
            params["response_mode"] = mode
        async with self._client(meta) as client:
            url, _ = client.create_authorization_url(
                meta["authorization_endpoint"],
                state=pending.state,
                nonce=pending.nonce,
                code_verifier=pending.code_verifier,
                **params,
            )
        return url, pending

    async def finish(self, params: Mapping[str, str], pending: PendingLogin) -> LoginResult:
        """Check the authorization response, exchange the code, validate the tokens."""
        meta = await self.metadata()
        if not pending.answers(params):  # RFC 6749 10.12
            raise LoginError("state_mismatch", "the login response does not belong to this browser")
        iss = params.get("iss")
        iss_expected = iss is not None or meta.get("authorization_response_iss_parameter_supported")
        if iss_expected and iss != self.settings.issuer:  # RFC 9207 section 2.4
            raise LoginError("iss_mismatch", "the login response comes from another issuer")
        if "error" in params:
            # The browser delivers this value: it reaches our logs only as a known code, so
            # that a crafted error cannot forge log lines or smuggle text into them.
            error = params["error"]
            known = error if _ERROR_CODE.fullmatch(error) else "invalid_error_response"
            raise LoginError(known, f"the provider answered {known}")
        code = params.get("code")
        if not code:
            raise LoginError("missing_code", "the login response carries no code")
        async with self._client(meta) as client:
            try:
                token = await client.fetch_token(
                    meta["token_endpoint"], code=code, code_verifier=pending.code_verifier
                )
            except Exception as exc:  # Authlib raises OAuthError or httpx errors
                # the class only: the text may quote the provider's answer (no token in logs)
                log.warning("code exchange failed (%s)", type(exc).__name__)
                raise LoginError("token_error", f"the code exchange failed: {exc}") from None
        access_token = str(token.get("access_token", ""))
        id_token = str(token.get("id_token", ""))
        if not access_token or not id_token:
            raise LoginError("token_error", "the token response lacks access_token or id_token")
        claims = await self.validate_id_token(id_token, pending.nonce, access_token)
        received = [received_id_token(claims, token.get(LEAF_MEMBER), dt.datetime.now(dt.UTC))]
        userinfo, leaf = await self._userinfo(access_token, claims["sub"])
        if userinfo:
            received.append(received_userinfo(userinfo, leaf, dt.datetime.now(dt.UTC)))
        merged = {**userinfo, **{k: v for k, v in claims.items() if k not in userinfo}}
        return LoginResult(merged, access_token, id_token, tuple(received))

    async def validate_id_token(
        self, id_token: str, nonce: str, access_token: str | None = None
    ) -> dict[str, Any]:
        """OIDC Core section 3.1.3.7: signature, then iss, aud, azp, exp, iat, nonce, at_hash."""
        meta = await self.metadata()
        offered = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        algs = [a for a in ALLOWED_ALGS if a in offered] or ["RS256"]
        try:
            try:
                decoded = jwt.decode(id_token, await self.key_set(), algorithms=algs)
            except InvalidKeyIdError:  # keys rotated: refetch once (OIDC Core 10.1.1)
                decoded = jwt.decode(id_token, await self.key_set(refresh=True), algorithms=algs)
            options: dict[str, Any] = {
                "iss": {"essential": True, "value": self.settings.issuer},
                "aud": {"essential": True, "value": self.settings.client_id},
                "nonce": {"essential": True},
            }
            params = {"nonce": nonce, "client_id": self.settings.client_id}
            if access_token:
                params["access_token"] = access_token
            checked = CodeIDToken(decoded.claims, decoded.header, options=options, params=params)
            checked.validate(now=int(time.time()), leeway=LEEWAY)
        except (JoseError, ValueError) as exc:
            raise LoginError("invalid_id_token", f"the ID token is not valid: {exc}") from None
        return dict(decoded.claims)

    async def userinfo(self, access_token: str, sub: str) -> dict[str, Any]:
        """OIDC Core §5.3: the claims of the userinfo endpoint (empty when there is none)."""
        return (await self._userinfo(access_token, sub))[0]

    async def _userinfo(self, access_token: str, sub: str) -> tuple[dict[str, Any], str | None]:
        """The userinfo claims and the ``LeerID-Log-Leaf`` header DOV sent with them."""
        meta = await self.metadata()
        endpoint = meta.get("userinfo_endpoint")
        if not endpoint:
            return {}, None
        try:
            response = await self._http.get(
                endpoint, headers={"Authorization": f"Bearer {access_token}"}
            )
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise LoginError("userinfo_error", f"userinfo failed: {exc}") from None
        if not isinstance(data, dict):
            raise LoginError("userinfo_error", "userinfo did not answer a JSON object")
        given = data.get("sub")
        if given is None and self.settings.userinfo_sub == "required":  # OIDC Core §5.3.2
            log.warning(
                'userinfo has no sub; [provider] userinfo_sub = "required" refuses it: '
                'set "optional" for a provider that leaves it out (ACM/IDM was seen to)'
            )
            raise LoginError("userinfo_without_sub", "userinfo's answer has no sub")
        # OIDC Core 5.3.2: a userinfo sub must be the ID token's; one left out is accepted
        # under "optional" (the access token binds the answer: see the module's docstring)
        if given is not None and (
            not isinstance(given, str) or not hmac.compare_digest(given.encode(), sub.encode())
        ):
            raise LoginError("userinfo_error", "userinfo's sub differs from the ID token's")
        return data, response.headers.get(LEAF_HEADER)

    async def logout_url(self, id_token: str | None) -> str | None:
        """RP-initiated logout at the provider, when it publishes an end-session endpoint."""
        meta = await self.metadata()
        endpoint = meta.get("end_session_endpoint")
        if not endpoint or not self.settings.post_logout_redirect_uri:
            return None
        query = {
            "client_id": self.settings.client_id,
            "post_logout_redirect_uri": self.settings.post_logout_redirect_uri,
        }
        if id_token:
            query["id_token_hint"] = id_token
        return str(httpx.URL(endpoint, params=query))

    # -- client-authenticated calls beyond the token endpoint -----------------------------

    async def post_authenticated(self, url: str, data: Mapping[str, str]) -> httpx.Response:
        """POST a form to ``url`` authenticated as this client (the same methods as at the
        token endpoint)."""
        s = self.settings
        form = dict(data)
        auth: httpx.Auth | None = None
        if s.auth_method == "private_key_jwt":
            form["client_id"] = s.client_id
            form["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            form["client_assertion"] = private_key_jwt_sign(
                self._client_key,
                client_id=s.client_id,
                token_endpoint=s.issuer,
                expires_in=ASSERTION_LIFETIME,
            )
        elif s.auth_method == "client_secret_basic":
            auth = httpx.BasicAuth(s.client_id, s.client_secret())
        else:
            form["client_id"] = s.client_id
            form["client_secret"] = s.client_secret()
        return await self._http.post(url, data=form, auth=auth or httpx.USE_CLIENT_DEFAULT)

    async def post_json(
        self, url: str, body: Mapping[str, Any], access_token: str
    ) -> httpx.Response:
        """POST a JSON body with ``Authorization: Bearer`` (the events poll, RFC 8936)."""
        headers = {"Authorization": f"Bearer {access_token}"}
        return await self._http.post(url, json=dict(body), headers=headers)

    async def get_public(
        self, url: str, params: Mapping[str, str | int] | None, limit: int
    ) -> PublicAnswer:
        """GET a public resource of the provider (its transparency log, issue 12), read as
        it streams and given up past ``limit`` bytes (``AnswerTooLargeError``): a log that
        answers without end cannot fill the kit's memory. Asked without compression, so
        the limit counts what is kept."""
        headers = {"Accept-Encoding": "identity"}
        async with self._http.stream(
            "GET", url, params=dict(params or {}), headers=headers
        ) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise AnswerTooLargeError(
                        f"the answer at {response.url} is over {limit} bytes; not read further"
                    )
            return PublicAnswer(str(response.url), response.status_code, bytes(body))

    async def get_bearer(self, url: str, access_token: str) -> httpx.Response:
        return await self._http.get(url, headers={"Authorization": f"Bearer {access_token}"})
