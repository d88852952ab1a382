"""The identity provider's settings: every environment variable it reads, read here at start.

``IdpSettings.from_env`` (and the defaults of ``IdpSettings``) read ``LEERID_ISSUER``,
``LEERID_CACHE_SECONDS``, ``LEERID_THROTTLE_*``, ``LEERID_ARGON2_*``,
``LEERID_HASH_CONCURRENCY``, ``LEERID_ACR``, ``LEERID_DB_THREADS``, ``LEERID_LOG_LEVEL``,
``LEERID_DOV_PROCESSORS_FILE``, ``LEERID_TLOG_*`` (the transparency log), ``LEERID_MAIL_*``
(the breach e-mail to a recipient's DPO) and ``PROMETHEUS_MULTIPROC_DIR``; the database URL
comes from ``leerid.config``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from leerid import config
from leerid.duties.mail import MailSettings
from leerid.errors import ConfigurationError
from leerid.idp.login.throttle import ThrottlePolicy

__all__ = [
    "DEFAULT_ACR",
    "DEFAULT_ISSUER",
    "OWASP_ARGON2",
    "IdpSettings",
    "argon2_from_env",
    "default_issuer",
    "default_tlog_origin",
    "explicit_issuer",
    "hash_concurrency_from_env",
    "hash_concurrency_per_worker",
    "issuer_port_warning",
    "log_level_from_env",
    "mail_from_env",
    "metrics_dir_from_env",
    "throttle_policy_from_env",
    "tlog_origin_from_env",
]

DEFAULT_ISSUER = "http://127.0.0.1:8000/op"
DEFAULT_ACR = "urn:be:vlaanderen:authmech:password"
"""The ``acr`` of a LeerID password login, in ACM/IDM's namespace of means
(``urn:be:vlaanderen:authmech:<means>``): ``password`` is ACM's public URN for a username and
password kept by the provider (level 10, no second factor), which is what a LeerID login is.
An integration dossier may name another URN: ``LEERID_ACR`` (issue 14 §4)."""
_ORIGIN = re.compile(r"[\x21-\x2a\x2c-\x7e]{1,200}")
"""C2SP signed-note: a key name is non-empty printable ASCII without spaces or '+'."""
_ARGON2 = ("LEERID_ARGON2_MEMORY_KIB", "LEERID_ARGON2_TIME_COST", "LEERID_ARGON2_PARALLELISM")
OWASP_ARGON2 = (19456, 2, 1)
"""OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB, 2 iterations, 1 degree of
parallelism (``leerid.idp.login.passwords.OWASP``)."""


def _env_int(name: str, default: int, least: int = 1) -> int:
    """``$name`` as a whole number of at least ``least``, or ``default`` when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name}={raw!r} is not a whole number; unset it or give one"
        ) from None
    if value < least:
        raise ConfigurationError(f"{name}={value} must be at least {least}")
    return value


def _env_seconds(name: str, default: float, least: float) -> float:
    """``$name`` as a number of seconds of at least ``least``, or ``default`` when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(
            f"{name}={raw!r} is not a number of seconds; unset it or give one such as {default}"
        ) from None
    if not value >= least:  # also refuses nan
        raise ConfigurationError(f"{name}={raw} must be at least {least} seconds")
    return value


def _env_count(name: str, default: int) -> int:
    """``$LEERID_THROTTLE_<name>``: a whole number of at least 1, or ``default`` when unset."""
    variable = f"LEERID_THROTTLE_{name}"
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(
            f"{variable}={raw!r} is not a whole number of at least 1; unset it or give one "
            f"(default {default}, see docs/login.md)"
        )
    return int(raw)


def throttle_policy_from_env() -> ThrottlePolicy:
    """The defaults, with the numbers a school's network may need changed (issue 8 §10).

    ``LEERID_THROTTLE_ACCOUNT_LOCK_AFTER`` (10), ``LEERID_THROTTLE_ADDRESS_LOCK_AFTER``
    (500), ``LEERID_THROTTLE_ADDRESS_FREE_FAILURES`` (30) and
    ``LEERID_THROTTLE_LOCK_MINUTES`` (15); see docs/login.md.
    """
    default = ThrottlePolicy()
    return ThrottlePolicy(
        account_lock_after=_env_count("ACCOUNT_LOCK_AFTER", default.account_lock_after),
        address_lock_after=_env_count("ADDRESS_LOCK_AFTER", default.address_lock_after),
        address_free_failures=_env_count("ADDRESS_FREE_FAILURES", default.address_free_failures),
        lock_base=timedelta(minutes=_env_count("LOCK_MINUTES", 15)),
    )


def argon2_from_env() -> tuple[int, int, int]:
    """(memory KiB, time cost, parallelism) from ``LEERID_ARGON2_*`` (OWASP's by default)."""
    memory, time_cost, parallelism = (
        _env_int(name, default) for name, default in zip(_ARGON2, OWASP_ARGON2, strict=True)
    )
    return memory, time_cost, parallelism


def hash_concurrency_from_env() -> int:
    """Hashes at the same time in this process: ``$LEERID_HASH_CONCURRENCY`` or one per core."""
    return _env_int("LEERID_HASH_CONCURRENCY", os.cpu_count() or 1)


def hash_concurrency_per_worker(workers: int) -> int:
    """Issue 4 §4: ``$LEERID_HASH_CONCURRENCY`` if set, else the cores shared by ``workers``."""
    return _env_int("LEERID_HASH_CONCURRENCY", max(1, (os.cpu_count() or 1) // max(1, workers)))


_MAIL_PASSWORD = "LEERID_MAIL_PASSWORD"  # noqa: S105 (the variable's name, not a password)


def mail_from_env() -> MailSettings:
    """Art. 9: how DOV mails a breach to a recipient's DPO, from ``LEERID_MAIL_SMTP_HOST``
    (127.0.0.1), ``LEERID_MAIL_SMTP_PORT`` (25), ``LEERID_MAIL_STARTTLS`` (1 = on),
    ``LEERID_MAIL_USERNAME``, ``LEERID_MAIL_PASSWORD``, ``LEERID_MAIL_SENDER`` and
    ``LEERID_MAIL_OTHER_PARTY_DPO`` (used only when the client's protocol names no DPO
    e-mail address in the recipient's ``dpo.contact``)."""
    return MailSettings(
        smtp_host=os.environ.get("LEERID_MAIL_SMTP_HOST", "").strip() or "127.0.0.1",
        smtp_port=_env_int("LEERID_MAIL_SMTP_PORT", 25),
        starttls=os.environ.get("LEERID_MAIL_STARTTLS", "0").strip() == "1",
        username=os.environ.get("LEERID_MAIL_USERNAME", "").strip() or None,
        password_env=_MAIL_PASSWORD,
        read_password=lambda: os.environ.get(_MAIL_PASSWORD, ""),
        sender=os.environ.get("LEERID_MAIL_SENDER", "").strip() or "dpo@dov.invalid",
        other_party_dpo=os.environ.get("LEERID_MAIL_OTHER_PARTY_DPO", "").strip() or None,
        dpo_setting="DPO e-mail address (dpo.contact of the recipient in the client's protocol, "
        "or LEERID_MAIL_OTHER_PARTY_DPO)",
        smtp_setting="LEERID_MAIL_SMTP_HOST/PORT",
    )


def explicit_issuer() -> str:
    """``$LEERID_ISSUER`` as set ("" when unset: ``idp serve`` then derives one)."""
    return os.environ.get("LEERID_ISSUER", "").strip()


def tlog_origin_from_env() -> str:
    """``$LEERID_TLOG_ORIGIN`` as set ("" when unset: derived from the issuer)."""
    return os.environ.get("LEERID_TLOG_ORIGIN", "").strip()


def default_tlog_origin(issuer: str) -> str:
    """C2SP tlog-tiles: the checkpoint origin is the log's URL prefix without the scheme and
    without a trailing slash: ``https://leerid.example/op`` gives ``leerid.example/op/log``."""
    parts = urlsplit(issuer)
    return f"{parts.netloc}{parts.path.rstrip('/')}/log"


def log_level_from_env() -> str:
    """``$LEERID_LOG_LEVEL`` ("" when unset)."""
    return os.environ.get("LEERID_LOG_LEVEL", "")


def metrics_dir_from_env() -> str:
    """``$PROMETHEUS_MULTIPROC_DIR`` ("" when unset: the metrics of this process only)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


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
    throttle: ThrottlePolicy = field(default_factory=throttle_policy_from_env)
    """Issue 8 §10: the login throttle's numbers, from ``LEERID_THROTTLE_*`` (docs/login.md)."""
    cache_seconds: float = 5.0
    """Clients, protocols and keys are cached this long per process, so that a rotation or a
    disabled client reaches every worker and node within a few seconds."""
    acr: str = field(default_factory=lambda: os.environ.get("LEERID_ACR", DEFAULT_ACR))
    """The ``acr`` of a password login (``LEERID_ACR``)."""
    db_threads: bool = field(
        default_factory=lambda: os.environ.get("LEERID_DB_THREADS", "0") == "1"
    )
    """``LEERID_DB_THREADS=1``: database work in worker threads (see ``IdpContext.run``)."""
    throttle_secret: str = field(
        default_factory=lambda: os.environ.get("LEERID_THROTTLE_SECRET", ""), repr=False
    )
    """``LEERID_THROTTLE_SECRET``, the key of the throttle's counters ("" = one kept in the
    database)."""
    argon2: tuple[int, int, int] = field(default_factory=argon2_from_env)
    """Argon2id (memory KiB, time cost, parallelism) from ``LEERID_ARGON2_*``."""
    hash_concurrency: int = field(default_factory=hash_concurrency_from_env)
    log_level: str = field(default_factory=lambda: log_level_from_env() or "warning")
    metrics_dir: str = field(default_factory=metrics_dir_from_env)
    """``PROMETHEUS_MULTIPROC_DIR``: /metrics adds up the workers' files when set."""
    events_long_poll: float = field(
        default_factory=lambda: _env_int("LEERID_EVENTS_LONG_POLL_SECONDS", 20)
    )
    """RFC 8936 §2.4.1: how long a poll without ``returnImmediately`` waits for new SETs
    (``LEERID_EVENTS_LONG_POLL_SECONDS``, default 20)."""
    events_redeliver: int = field(
        default_factory=lambda: _env_int("LEERID_EVENTS_REDELIVER_SECONDS", 30, least=0)
    )
    """RFC 8936 §2.4: a SET delivered and not acknowledged is delivered again once this many
    seconds have passed since its first delivery (``LEERID_EVENTS_REDELIVER_SECONDS``,
    default 30; 0 = on every poll), so a recipient may fetch the next SETs while it applies
    the last ones."""
    processors_file: str = field(
        default_factory=lambda: os.environ.get("LEERID_DOV_PROCESSORS_FILE", "").strip()
    )
    """Art. 6: ``LEERID_DOV_PROCESSORS_FILE``, the TOML or JSON file of DOV's processors that
    ``POST /op/v1/notices/processors`` answers a recipient with ("" = none published)."""
    tlog_origin: str = field(default_factory=tlog_origin_from_env)
    """Issue 12: the transparency log's checkpoint origin and key name (C2SP tlog-checkpoint),
    ``LEERID_TLOG_ORIGIN``; "" = the issuer without its scheme, plus ``/log``. A log's origin
    never changes: a new origin is a new log."""
    tlog_origin_set: bool = field(init=False, default=False)
    """Whether the origin was given (``LEERID_TLOG_ORIGIN``) rather than derived: a given
    origin that is not the stored checkpoints' is refused, a derived one yields to them."""
    tlog_interval: float = field(
        default_factory=lambda: _env_seconds("LEERID_TLOG_INTERVAL", 1.0, least=0.05)
    )
    """Issue 12 §2 and §6: seconds between two integrations of pending entries (a checkpoint
    is signed after each one that grew the tree), ``LEERID_TLOG_INTERVAL``, default 1."""
    tlog_lease: float = field(
        default_factory=lambda: _env_seconds("LEERID_TLOG_LEASE", 5.0, least=0.1)
    )
    """Issue 12 §6: seconds the elected integrator holds its lease without renewing it (the
    others take over after that), ``LEERID_TLOG_LEASE``, default 5."""
    key_rotation_days: int = field(
        default_factory=lambda: _env_int("LEERID_KEY_ROTATION_DAYS", 30, least=0)
    )
    """Issue 14 §4: signing keys rotate by themselves every this many days
    (``LEERID_KEY_ROTATION_DAYS``, default 30; 0: only by ``leerid keys rotate``)."""
    key_rotation_seconds: float = field(
        default_factory=lambda: _env_seconds("LEERID_KEY_ROTATION_SECONDS", 0.0, least=0.0)
    )
    """The rotation period in seconds, instead of ``key_rotation_days`` when set and not 0
    (``LEERID_KEY_ROTATION_SECONDS``): for tests and rehearsals, a period of seconds;
    ``key_rotation_period`` is what the provider uses."""
    jwks_max_age: int = field(
        default_factory=lambda: _env_int("LEERID_JWKS_MAX_AGE", 21500, least=0)
    )
    """Issue 14 §4: ``Cache-Control: max-age`` of the key set, as ACM/IDM (21500 s),
    ``LEERID_JWKS_MAX_AGE``."""
    key_publish_ahead: int = field(
        default_factory=lambda: _env_int("LEERID_KEY_PUBLISH_AHEAD_SECONDS", 2 * 21500)
    )
    """Issue 14 §4: a next key is in the published key set this long before it signs, so a
    client that cached the key set (``jwks_max_age``) knows it already
    (``LEERID_KEY_PUBLISH_AHEAD_SECONDS``, default 43000; more than ``jwks_max_age``)."""

    mail: MailSettings = field(default_factory=mail_from_env)
    """Art. 9: the SMTP settings of DOV's breach e-mail (``LEERID_MAIL_*``)."""

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
        object.__setattr__(self, "tlog_origin_set", bool(self.tlog_origin))
        if not self.tlog_origin:
            object.__setattr__(self, "tlog_origin", default_tlog_origin(self.issuer))
        if not _ORIGIN.fullmatch(self.tlog_origin):
            raise ConfigurationError(
                f"LEERID_TLOG_ORIGIN={self.tlog_origin!r} is not a log origin: use the log's "
                "URL without scheme, printable ASCII without spaces or '+', such as "
                "leerid.example/op/log (C2SP tlog-checkpoint, signed-note key names)"
            )
        if self.tlog_lease <= self.tlog_interval:
            raise ConfigurationError(
                f"LEERID_TLOG_LEASE ({self.tlog_lease} s) must be longer than "
                f"LEERID_TLOG_INTERVAL ({self.tlog_interval} s): the integrator renews its "
                "lease once per interval"
            )

        period = self.key_rotation_period
        if period and period <= self.key_publish_ahead:
            raise ConfigurationError(
                f"the key rotation period ({period:g} s, LEERID_KEY_ROTATION_DAYS or "
                "LEERID_KEY_ROTATION_SECONDS) must be longer than "
                f"LEERID_KEY_PUBLISH_AHEAD_SECONDS ({self.key_publish_ahead}): a next key is "
                "published that long before it signs"
            )
        if self.key_publish_ahead <= self.jwks_max_age + self.cache_seconds:
            raise ConfigurationError(  # a node shows a new key once its own key cache refreshed
                f"LEERID_KEY_PUBLISH_AHEAD_SECONDS ({self.key_publish_ahead}) must be longer "
                f"than LEERID_JWKS_MAX_AGE ({self.jwks_max_age}) plus LEERID_CACHE_SECONDS "
                f"({self.cache_seconds:g}): a node publishes a new key only once its key cache "
                "refreshed, and a client that cached the key set must see it before it signs"
            )

    @property
    def key_rotation_period(self) -> float:
        """Issue 14 §4: seconds between two automatic key rotations (0: only by hand)."""
        return self.key_rotation_seconds or self.key_rotation_days * 86400.0

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
