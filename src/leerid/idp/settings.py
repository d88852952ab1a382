"""The identity provider's settings: issuer, database, lifetimes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from leerid import config
from leerid.errors import ConfigurationError
from leerid.idp.login.throttle import ThrottlePolicy

DEFAULT_ISSUER = "http://127.0.0.1:8000/op"


def default_issuer(host: str, port: int) -> str:
    """The issuer when ``LEERID_ISSUER`` is unset: the address ``idp serve`` listens on.

    A wildcard host (``0.0.0.0``, ``::``) is not an address a browser can use, so the issuer
    then names the loopback address; set ``LEERID_ISSUER`` for any other name.
    """
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - a name for the wildcard, not a bind
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/op"


def issuer_port_warning(issuer: str, port: int) -> str | None:
    """One line when an explicit issuer names another port than the one the server uses.

    An issuer without a port (https on 443, http on 80) is what a site behind a reverse
    proxy looks like, so it gets no warning; nor does one that names the listening port.
    """
    named = urlsplit(issuer).port
    if named is None or named == port:
        return None
    return (
        f"warning: LEERID_ISSUER {issuer} names port {named}, but this server listens on "
        f"port {port}: clients will be sent to port {named}. Unless a proxy forwards {named} "
        f"to {port}, set LEERID_ISSUER to match or unset it (then it follows --port)."
    )


@dataclass(frozen=True)
class IdpSettings:
    """What ``create_app`` needs; lifetimes in seconds."""

    issuer: str = DEFAULT_ISSUER
    database_url: str = field(default_factory=config.database_url)
    code_lifetime: int = 30
    """Issue 4 §2 (ACM): codes are exchanged within 30 seconds."""
    access_token_lifetime: int = 3600
    """Issue 4 §2 (ACM): access tokens live one hour."""
    id_token_lifetime: int = 3600
    refresh_token_lifetime: int = 30 * 24 * 3600
    session_lifetime: int = 8 * 3600
    """One school day of single sign-on."""
    login_form_lifetime: int = 1800
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy.from_env)
    """Issue 8 §10: the login throttle's numbers, from ``LEERID_THROTTLE_*`` (docs/login.md)."""
    cache_seconds: float = 5.0
    """Clients, protocols and keys are cached this long per process, so that a rotation or a
    disabled client reaches every worker and node within a few seconds."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.issuer)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.query
            or parts.fragment
        ):
            raise ConfigurationError(
                f"LEERID_ISSUER={self.issuer!r} is not a valid issuer: use an http(s) URL "
                "without query or fragment, such as https://leerid.example/op"
            )
        if self.issuer.endswith("/"):
            object.__setattr__(self, "issuer", self.issuer.rstrip("/"))

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` when the issuer is served over https."""
        return self.issuer.startswith("https://")

    @property
    def path(self) -> str:
        """The issuer's path (``/op``): every endpoint lives under it."""
        return urlsplit(self.issuer).path.rstrip("/")

    def endpoint(self, name: str) -> str:
        """The absolute URL of endpoint ``name`` (e.g. ``v1/token``)."""
        return f"{self.issuer}/{name}"

    @classmethod
    def from_env(cls) -> IdpSettings:
        """Settings from ``LEERID_ISSUER``, ``LEERID_DATABASE_URL``, ``LEERID_CACHE_SECONDS``."""
        raw = os.environ.get("LEERID_CACHE_SECONDS", "").strip()
        try:
            cache = float(raw) if raw else 5.0
        except ValueError:
            raise ConfigurationError(
                f"LEERID_CACHE_SECONDS={raw!r} is not a number of seconds; unset it or give one"
            ) from None
        return cls(
            issuer=os.environ.get("LEERID_ISSUER", DEFAULT_ISSUER).strip() or DEFAULT_ISSUER,
            cache_seconds=cache,
        )
