"""The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2): checked, then frozen.

Pure rules: no database, no HTTP. The endpoint (``leerid.idp.web.authorization``) checks
client, ``redirect_uri`` and the protocol first; ``check_parameters`` then checks the rest
in this order, each failure an ``AuthorizationError`` sent back to the client by redirect:

1. no parameter twice (RFC 6749 §3.1); no ``request`` / ``request_uri`` (OIDC Core §6);
2. ``response_type=code`` (RFC 6749 §4.1.1, §4.1.2.1 ``unsupported_response_type``) and a
   ``response_mode`` the client's profile allows (``query``; ``acm`` also ``fragment`` and
   ``form_post``: ``leerid.idp.oauth.response_modes``);
3. ``openid`` in ``scope`` and only scopes the client's protocol allows (ACM/IDM: refused at
   once, before any login page; RFC 6749 §3.3); ``offline_access`` only under a protocol
   that allows disclosure without a login (art. 5; OIDC Core §11);
4. PKCE (RFC 7636): a ``code_challenge`` with method ``S256`` (§4.3: absent means
   ``plain``, which ``strict`` refuses; §4.2 the challenge's form). Under ``acm`` a
   confidential client may leave PKCE out, then only with a ``nonce`` (RFC 9700 §2.1.1,
   §4.5.3.2: the nonce protects against code injection instead), and may use ``plain``
   (issue 14 §1); a ``plain``
   challenge is kept as its S256 form (the verifier is the challenge, so
   ``S256(verifier) == S256(challenge)`` checks it), and public clients always need S256
   (RFC 9700 §2.1.1);
5. ``prompt`` (OIDC Core §3.1.2.1: known values, ``none`` alone), ``max_age`` (a whole number
   >= 0) and ``id_token_hint`` (an ID token of ours).

``AuthorizationRequest`` is what then waits for a login, sealed into the login form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from leerid.idp.oauth.errors import AuthorizationError
from leerid.idp.oauth.id_token import UnknownKeyError
from leerid.idp.oauth.profiles import STRICT, ClientProfile
from leerid.idp.oauth.response_modes import RESPONSE_MODES, check_response_mode
from leerid.idp.oauth.rfc7636 import s256, valid_challenge, valid_verifier

__all__ = [
    "DUPLICATED",
    "PROMPTS",
    "AuthorizationRequest",
    "CheckedParameters",
    "check_parameters",
    "needs_login",
]

PROMPTS = frozenset({"none", "login", "consent", "select_account"})
DUPLICATED = "__duplicated__"
"""The key under which the endpoint lists the parameters it received more than once."""

_REQUIRED = ("client_id", "redirect_uri", "scope", "lang", "csrf")
_OPTIONAL = ("state", "nonce", "code_challenge")


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A checked authorization request waiting for a login (sealed into the login form)."""

    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str | None
    """The S256 challenge (a ``plain`` one already hashed), None when PKCE was left out."""
    lang: str
    csrf: str
    response_mode: str = "query"
    """How the answer travels (``leerid.idp.oauth.response_modes``), kept across the login."""

    def sealable(self) -> dict[str, Any]:
        """The fields as a JSON object, for ``Sealer.seal``."""
        return asdict(self)

    @classmethod
    def from_sealed(cls, data: Mapping[str, Any] | None) -> AuthorizationRequest | None:
        """The request ``Sealer.open`` gave back, or None when it is absent or malformed."""
        if data is None:
            return None
        if not all(isinstance(data.get(name), str) for name in _REQUIRED):
            return None
        if not all(isinstance(data.get(name), str | None) for name in _OPTIONAL):
            return None
        fields: dict[str, Any] = {name: data.get(name) for name in _REQUIRED + _OPTIONAL}
        mode = data.get("response_mode", "query")
        if mode not in RESPONSE_MODES:
            return None
        return cls(**fields, response_mode=mode)

    def fits(self, rules: ClientProfile, confidential: bool = True) -> bool:
        """Whether the client's profile still allows this request (it may have changed while
        the login form was open): its response mode, and a challenge unless PKCE is optional."""
        optional = confidential and not rules.pkce_required_for_confidential
        pkce_ok = self.code_challenge is not None or optional
        return self.response_mode in rules.response_modes and pkce_ok

    def login_query(self) -> dict[str, str]:
        """The ``/v1/auth`` parameters that ask for this request again (no None values)."""
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": self.code_challenge,
            "code_challenge_method": None if self.code_challenge is None else "S256",
            "response_mode": None if self.response_mode == "query" else self.response_mode,
            "ui_locales": self.lang,
        }
        return {k: v for k, v in params.items() if v is not None}


@dataclass(frozen=True, slots=True)
class CheckedParameters:
    """What the checks found: the scopes (in order, once each), PKCE, prompt, max_age, hint,
    and the response mode."""

    scopes: tuple[str, ...]
    code_challenge: str | None
    prompts: frozenset[str]
    max_age: int | None
    hint_sub: str | None
    response_mode: str = "query"

    @property
    def scope(self) -> str:
        """The scopes as one space-separated string, each once, in the order asked."""
        return " ".join(self.scopes)


def check_parameters(
    params: Mapping[str, str],
    allowed_scopes: frozenset[str] | set[str],
    read_hint: Callable[[str], str | None],
    rules: ClientProfile = STRICT,
    *,
    confidential: bool = True,
) -> CheckedParameters:
    """The checks after client, redirect URI and protocol, in the order of the docstring.

    ``read_hint`` gives the ``sub`` of an ``id_token_hint`` issued by us, or None (or raises
    ``UnknownKeyError`` for a key we no longer store: treated as no hint); ``rules``
    is the client's profile; ``confidential`` whether it authenticates at the token endpoint.
    """
    _check_form(params)
    mode = check_response_mode(params, rules)
    scopes = _check_scopes(params, allowed_scopes)
    challenge = _check_pkce(params, rules, confidential)
    prompts = _check_prompt(params)
    max_age = _check_max_age(params)
    hint_sub: str | None = None
    if params.get("id_token_hint"):
        try:
            hint_sub = read_hint(params["id_token_hint"])
        except UnknownKeyError:  # a key gone since (a rotation): as no hint; a bad one refused
            hint_sub = None
        else:
            if hint_sub is None:
                raise AuthorizationError(
                    "invalid_request", "id_token_hint is not an ID token of ours"
                )
    return CheckedParameters(scopes, challenge, prompts, max_age, hint_sub, mode)


def needs_login(checked: CheckedParameters, session: tuple[str, int] | None, now: float) -> bool:
    """Whether a login page is needed; ``session`` is (account_uuid, auth_time) or None.

    OIDC Core §3.1.2.1: ``prompt=login``, a ``max_age`` passed since the login, or an
    ``id_token_hint`` for another pupil all ask for a new login.
    """
    if session is None or "login" in checked.prompts:
        return True
    account_uuid, auth_time = session
    if checked.max_age is not None and now - auth_time > checked.max_age:
        return True
    return checked.hint_sub is not None and checked.hint_sub != account_uuid


def _check_form(params: Mapping[str, str]) -> None:
    if params.get(DUPLICATED):
        raise AuthorizationError(
            "invalid_request", f"parameter {params[DUPLICATED]} appears more than once"
        )
    if "request" in params:
        raise AuthorizationError("request_not_supported", "request objects are not supported")
    if "request_uri" in params:
        raise AuthorizationError("request_uri_not_supported", "request_uri is not supported")
    response_type = params.get("response_type")
    if not response_type:
        raise AuthorizationError("invalid_request", "response_type is required")
    if response_type != "code":
        raise AuthorizationError(
            "unsupported_response_type", "only the authorization code flow (code) is supported"
        )


def _check_scopes(
    params: Mapping[str, str], allowed_scopes: frozenset[str] | set[str]
) -> tuple[str, ...]:
    scopes = params.get("scope", "").split()
    if "openid" not in scopes:
        raise AuthorizationError("invalid_scope", "the openid scope is required")
    not_allowed = sorted(set(scopes) - allowed_scopes)
    if not_allowed == ["offline_access"]:  # art. 5: data only at each login
        raise AuthorizationError(
            "invalid_scope",
            "scope offline_access is not allowed: the client's protocol discloses data only "
            "when the pupil logs in (art. 5), so no refresh tokens",
        )
    if not_allowed:  # ACM/IDM: refused at once, before any login page
        raise AuthorizationError(
            "invalid_scope",
            f"scope {' '.join(not_allowed)} is not allowed by the client's protocol",
        )
    return tuple(dict.fromkeys(scopes))


def _check_pkce(params: Mapping[str, str], rules: ClientProfile, confidential: bool) -> str | None:
    challenge = params.get("code_challenge")
    method = params.get("code_challenge_method", "plain")  # RFC 7636 §4.3: absent is plain
    optional = confidential and not rules.pkce_required_for_confidential
    methods = rules.pkce_methods if confidential else ("S256",)  # RFC 9700 §2.1.1
    if not challenge:
        if optional and "code_challenge_method" not in params:  # issue 14 §1: as ACM
            if not params.get("nonce"):  # RFC 9700 §2.1.1, §4.5.3.2: the nonce instead
                raise AuthorizationError(
                    "invalid_request",
                    "nonce is required when code_challenge is left out (PKCE or a nonce "
                    "protects against code injection, RFC 9700 §2.1.1): send a nonce, or "
                    "code_challenge with code_challenge_method S256",
                )
            return None
        raise AuthorizationError(
            "invalid_request", f"code_challenge is required (PKCE, {' or '.join(methods)})"
        )
    if method not in methods:
        raise AuthorizationError(
            "invalid_request",
            f"code_challenge_method must be {' or '.join(methods)} (profile {rules.name})",
        )
    if method == "plain":  # RFC 7636 §4.2: the plain challenge is the verifier itself
        if not valid_verifier(challenge):
            raise AuthorizationError(
                "invalid_request", "a plain code_challenge is 43 to 128 unreserved characters"
            )
        return s256(challenge)
    if not valid_challenge(challenge):
        raise AuthorizationError("invalid_request", "code_challenge is not a S256 challenge")
    return challenge


def _check_prompt(params: Mapping[str, str]) -> frozenset[str]:
    prompts = frozenset(params.get("prompt", "").split())
    if prompts - PROMPTS:
        raise AuthorizationError("invalid_request", "prompt has an unknown value")
    if "none" in prompts and len(prompts) > 1:
        raise AuthorizationError("invalid_request", "prompt=none cannot be combined")
    return prompts


def _check_max_age(params: Mapping[str, str]) -> int | None:
    if "max_age" not in params:
        return None
    try:
        max_age = int(params["max_age"])
    except ValueError:
        max_age = -1
    if max_age < 0:
        raise AuthorizationError("invalid_request", "max_age must be a whole number >= 0")
    return max_age
