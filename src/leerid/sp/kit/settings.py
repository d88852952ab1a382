"""The service provider's configuration: one TOML file, read once, checked with clear errors.

Paths in the file are relative to the file's folder. Secrets (a client secret, an SMTP
password) are never written in the file itself: the file names an environment variable or a
file that holds them.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leerid import config
from leerid.duties.mail import MailSettings
from leerid.errors import ConfigurationError
from leerid.processors import Processor, parse_processors
from leerid.protocol import IsoDuration
from leerid.sp.kit.dossier_settings import DossierSettings, parse_dossier
from leerid.sp.kit.log_settings import LogSettings, parse_log
from leerid.sp.kit.orgcode import normalise_orgcode
from leerid.sp.kit.profiles import Profile, parse_profiles
from leerid.sp.kit.pupil_app import PupilApp, parse_app

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
AUTH_METHODS = ("private_key_jwt", "client_secret_basic", "client_secret_post")
RESPONSE_MODES = ("query", "form_post")
"""How the provider returns the login's answer: the query (default) or a POST (OAuth 2.0
Form Post Response Mode); ACM/IDM offers both, leerid form_post for ``acm`` clients."""
USERINFO_SUB = ("optional", "required")
"""Whether userinfo must carry ``sub`` (OIDC Core §5.3.2): ``optional`` (default) accepts
an answer without it, as ACM/IDM was seen to give for LeerID accounts; one that is present
and differs from the ID token's is refused either way."""


@dataclass(frozen=True)
class StaffLoginSettings:
    """Issue 8 §10: the staff login throttle, per account and per address.

    An account locks after ``account_lock_after`` failures within an hour; an address only
    after ``address_lock_after`` (a CLB office of a few dozen staff behind one NAT address
    stays far below it), and addresses inside ``office_ranges`` are never locked as such.
    """

    account_lock_after: int = 5
    address_lock_after: int = 100
    lock_minutes: int = 15
    office_ranges: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True)
class EventsSettings:
    """Issue 10 point 4: how the kit follows the Department's events (RFC 8936 poll).

    ``poll_interval`` seconds between two polls of ``leerid sp serve`` (0: no poller);
    ``max_age`` the oldest SET accepted (ISO 8601 duration), also how long applied ``jti``
    values are kept: the Department keeps an unacknowledged SET that long.
    """

    poll_interval: float = 30.0
    max_age: str = "P90D"


def _events(table: dict[str, Any], where: str) -> EventsSettings:
    interval = _get(table, "poll_interval", float, where, 30.0)
    if interval < 0:
        raise ConfigurationError(f"{where}: poll_interval must be 0 (no poller) or more seconds")
    max_age = _get(table, "max_age", str, where, "P90D")
    try:
        IsoDuration.parse(max_age)
    except ValueError as exc:
        raise ConfigurationError(f"{where}: max_age: {exc}") from None
    return EventsSettings(poll_interval=interval, max_age=max_age)


def _staff_login(table: dict[str, Any], where: str) -> StaffLoginSettings:
    default = StaffLoginSettings()
    numbers = {}
    for key in ("account_lock_after", "address_lock_after", "lock_minutes"):
        value = _get(table, key, int, where, getattr(default, key))
        if isinstance(value, bool) or value < 1:
            raise ConfigurationError(f"{where}: {key} must be a whole number of at least 1")
        numbers[key] = value
    ranges = []
    for text in _get(table, "office_ranges", list, where, []):
        try:
            ranges.append(ipaddress.ip_network(str(text), strict=False))
        except ValueError:
            raise ConfigurationError(
                f"{where}: office_ranges: {text!r} is not an address range; write it as "
                'CIDR, e.g. "192.0.2.0/24" or "2001:db8::/48"'
            ) from None
    return StaffLoginSettings(**numbers, office_ranges=tuple(ranges))


@dataclass(frozen=True)
class SPSettings:
    """Everything the kit needs to run one service provider."""

    path: Path
    issuer: str
    client_id: str
    redirect_uri: str
    auth_method: str = "private_key_jwt"
    private_key_file: Path | None = None
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    scopes: tuple[str, ...] = ("openid", "profile", "ov_leerling")
    post_logout_redirect_uri: str | None = None
    response_mode: str = "query"
    """``[provider] response_mode``: ``query`` or ``form_post`` (RESPONSE_MODES)."""
    userinfo_sub: str = "optional"
    """``[provider] userinfo_sub``: ``optional`` or ``required`` (USERINFO_SUB)."""
    protocol_file: Path | None = None
    partner_schools: frozenset[str] = frozenset()
    database_url: str = ""
    secret_file: Path = Path()
    name: str = "LARS"
    public_url: str = "http://127.0.0.1:8001"
    privacy_log_keep: str = "P2Y"
    purge_interval_hours: float = 24.0
    processors: tuple[str, ...] = ()
    """The processors' names (GDPR art. 28), as the evidence lists them."""
    processor_list: tuple[Processor, ...] = ()
    """Art. 6, 9: ``[[processors]]`` (name, purpose, location, since), sent to DOV."""
    dov_dpo_email: str | None = None
    """Art. 9: ``[dov] dpo_email``, where notices are e-mailed (default: [mail] other_party_dpo)."""
    mail: MailSettings = field(default_factory=MailSettings)
    staff_login: StaffLoginSettings = field(default_factory=StaffLoginSettings)
    events: EventsSettings = field(default_factory=EventsSettings)
    app: PupilApp | None = None
    """Title and preamble: the pupil-facing app (``[app]``, e.g. GLCE), and who runs it."""
    dossier: DossierSettings = field(default_factory=DossierSettings)
    profiles: tuple[Profile, ...] = ()
    """Art. 4, second indent: ``[profiles.ID]``, the functions and what each sees."""
    log: LogSettings = field(default_factory=LogSettings)
    """Issue 12 §3: ``[log]``, witnessing DOV's transparency log."""

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` whenever the portal is served over https."""
        return self.public_url.startswith("https://")

    def client_secret(self) -> str:
        """The client secret, read from the named environment variable or file."""
        if self.client_secret_env:
            value = os.environ.get(self.client_secret_env, "")
            if not value:
                raise ConfigurationError(
                    f"{self.path}: [provider] client_secret_env names "
                    f"${self.client_secret_env}, which is not set; export it first"
                )
            return value
        if self.client_secret_file:
            return _read(self.client_secret_file, "client_secret_file", self.path).strip()
        raise ConfigurationError(
            f"{self.path}: [provider] auth_method {self.auth_method} needs client_secret_env "
            "or client_secret_file"
        )


def _read(path: Path, key: str, source: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(
            f"{source}: {key} = {str(path)!r} cannot be read ({exc.strerror}); fix the path"
        ) from None


def _get(table: dict[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    value = table.get(key, default)
    if value is None:
        return None
    if kind is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, kind):
        raise ConfigurationError(f"{where}: {key} must be a {kind.__name__}, not {value!r}")
    return value


def _required(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{where}: {key} is required (a non-empty text); add it")
    return value.strip()


def demo_config() -> Path:
    """Where ``leerid demo`` writes LARS's configuration."""
    return config.leerid_home() / "demo" / "lars" / "lars.toml"


def find_config(given: Path | None) -> tuple[Path, str]:
    """The configuration to use and why: ``--config``, ``$LEERID_SP_CONFIG``, ``./lars.toml``,
    then the demo's; a clear error naming every place looked at when there is none."""
    if given is not None:
        return given, "--config"
    from_env = os.environ.get("LEERID_SP_CONFIG", "").strip()
    if from_env:
        return Path(from_env), "$LEERID_SP_CONFIG"
    for candidate, why in ((Path("lars.toml"), "./lars.toml"), (demo_config(), "the demo's")):
        if candidate.is_file():
            return candidate, why
    raise ConfigurationError(
        "no configuration found: give --config FILE, set $LEERID_SP_CONFIG, put lars.toml in "
        f"this folder, or run `leerid demo` (writes {demo_config()}); see examples/lars.toml"
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the configuration {path} ({exc.strerror}); pass --config FILE "
            "(see examples/lars.toml)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML ({exc}); fix the line named") from None


Relative = Callable[[str | None], Path | None]


def _auth(provider: dict[str, Any], where: str, rel: Relative) -> dict[str, Any]:
    """[provider]: how the client authenticates, and its scopes (checked first)."""
    auth_method = _get(provider, "auth_method", str, where, "private_key_jwt")
    if auth_method not in AUTH_METHODS:
        raise ConfigurationError(
            f"{where}: auth_method {auth_method!r} is not supported; use one of "
            + ", ".join(AUTH_METHODS)
        )
    private_key_file = rel(_get(provider, "private_key_file", str, where))
    if auth_method == "private_key_jwt" and private_key_file is None:
        raise ConfigurationError(f"{where}: private_key_jwt needs private_key_file (a JWK)")
    scopes = tuple(_get(provider, "scopes", list, where, ["openid", "profile", "ov_leerling"]))
    if "openid" not in scopes:
        raise ConfigurationError(f"{where}: scopes must contain 'openid'")
    return {"auth_method": auth_method, "private_key_file": private_key_file, "scopes": scopes}


def _partner_schools(table: dict[str, Any], path: Path) -> frozenset[str]:
    schools: list[str] = []
    for school in _get(table, "instellingsnummers", list, path.name, []):
        code = normalise_orgcode(school)  # "12345" and 12345 both mean "012345"
        if code is None:
            raise ConfigurationError(
                f"{path} [partner_schools] instellingsnummers: {school!r} is not an "
                'instellingsnummer (at most 6 digits); write it as text, e.g. "012345"'
            )
        schools.append(code)
    return frozenset(schools)


def _choice(
    provider: dict[str, Any], key: str, choices: tuple[str, ...], default: str, where: str
) -> str:
    """``[provider] key``: one of ``choices`` (``default`` when absent), or a message that
    names the key and the choices."""
    value = _get(provider, key, str, where, default)
    if value not in choices:
        raise ConfigurationError(
            f"{where}: {key} {value!r} is not supported; use "
            + " or ".join(f'"{c}"' for c in choices)
        )
    return str(value)


def _client(provider: dict[str, Any], where: str, rel: Relative) -> dict[str, Any]:
    """[provider]: the issuer and this client's registration at it."""
    return {
        "response_mode": _choice(provider, "response_mode", RESPONSE_MODES, "query", where),
        "userinfo_sub": _choice(provider, "userinfo_sub", USERINFO_SUB, "optional", where),
        "issuer": _required(provider, "issuer", where).rstrip("/"),
        "client_id": _required(provider, "client_id", where),
        "redirect_uri": _required(provider, "redirect_uri", where),
        "client_secret_env": _get(provider, "client_secret_env", str, where),
        "client_secret_file": rel(_get(provider, "client_secret_file", str, where)),
        "post_logout_redirect_uri": _get(provider, "post_logout_redirect_uri", str, where),
    }


def _mail(mail: dict[str, Any], where: str) -> MailSettings:
    return MailSettings(
        smtp_host=_get(mail, "smtp_host", str, where, "127.0.0.1"),
        smtp_port=_get(mail, "smtp_port", int, where, 25),
        starttls=_get(mail, "starttls", bool, where, False),
        username=_get(mail, "username", str, where),
        password_env=(env := _get(mail, "password_env", str, where)),
        read_password=lambda: os.environ.get(env or "", ""),
        sender=_get(mail, "sender", str, where, "dpo@lars.invalid"),
        other_party_dpo=_get(mail, "other_party_dpo", str, where),
    )


def _processors(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Art. 6: ``[[processors]]`` tables (name, purpose, location, since), or the older
    ``[processing] processors`` list of names (enough for the evidence, not for a notice)."""
    names = tuple(_get(data.get("processing", {}), "processors", list, path.name, []))
    tables = data.get("processors", [])
    if not isinstance(tables, list):
        raise ConfigurationError(
            f"{path}: processors must be [[processors]] tables (name, purpose, location, since)"
        )
    listed = parse_processors(tables, f"{path} [[processors]]")
    if listed and names and {n.casefold() for n in names} != {p.name.casefold() for p in listed}:
        raise ConfigurationError(
            f"{path}: [processing] processors and [[processors]] name different processors; "
            "keep only [[processors]]"
        )
    return {"processors": tuple(p.name for p in listed) or names, "processor_list": listed}


def load_settings(path: Path | str) -> SPSettings:
    """Read and check the TOML file at ``path`` (errors name the file, the table and the key)."""
    path = Path(path).resolve()
    data = _read_toml(path)
    base = path.parent

    def rel(value: str | None) -> Path | None:
        return None if value is None else (base / value).resolve()

    provider = data.get("provider", {})
    auth = _auth(provider, f"{path} [provider]", rel)
    client = _client(provider, f"{path} [provider]", rel)
    mail = _mail(data.get("mail", {}), f"{path} [mail]")
    schools = _partner_schools(data.get("partner_schools", {}), path)
    portal = data.get("portal", {})
    home = config.leerid_home()
    name = _get(portal, "name", str, f"{path} [portal]", "LARS")
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "sp"
    return SPSettings(
        path=path,
        **client,
        **auth,
        protocol_file=rel(_get(data.get("protocol", {}), "file", str, f"{path} [protocol]")),
        partner_schools=schools,
        database_url=_get(data.get("storage", {}), "database_url", str, f"{path} [storage]")
        or os.environ.get("LEERID_SP_DATABASE_URL", "")
        or f"sqlite:///{home / f'sp-{slug}.db'}",
        secret_file=rel(_get(portal, "secret_file", str, f"{path} [portal]"))
        or home / f"sp-{slug}.secret.json",
        name=name,
        public_url=_get(portal, "public_url", str, f"{path} [portal]", "http://127.0.0.1:8001"),
        privacy_log_keep=_get(
            data.get("privacy_log", {}), "keep", str, f"{path} [privacy_log]", "P2Y"
        ),
        purge_interval_hours=_get(portal, "purge_interval_hours", float, path.name, 24.0),
        **_processors(data, path),
        dov_dpo_email=_get(data.get("dov", {}), "dpo_email", str, f"{path} [dov]")
        or _get(data.get("mail", {}), "other_party_dpo", str, f"{path} [mail]"),
        staff_login=_staff_login(data.get("staff_login", {}), f"{path} [staff_login]"),
        mail=mail,
        events=_events(data.get("events", {}), f"{path} [events]"),
        app=parse_app(data.get("app"), path),
        dossier=parse_dossier(data.get("dossier", {}), path),
        profiles=parse_profiles(data.get("profiles"), path),
        log=parse_log(data.get("log", {}), path, client["client_id"], mail.sender),
    )
