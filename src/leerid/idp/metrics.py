"""Prometheus metrics: logins, failures by reason, token issuance, latency.

With several workers (``leerid idp serve --workers N``) each process counts for itself; the
command sets ``PROMETHEUS_MULTIPROC_DIR`` (a fresh folder unless given) so that ``/metrics``
aggregates every worker's counts (prometheus_client multiprocess mode).
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

__all__ = [
    "AUTH_LATENCY",
    "CODE_ACCESS_TOKENS",
    "CODE_CHECKS",
    "CODE_ID_TOKENS",
    "CONTENT_TYPE_LATEST",
    "LOGINS",
    "LOGIN_FAILURES",
    "PASSWORD_CHECKS",
    "REQUEST_LATENCY",
    "SECRET_CHECKS",
    "SETS_ACKNOWLEDGED",
    "SETS_DELIVERED",
    "SETS_PUBLISHED",
    "SET_ERRORS",
    "SSO_LOGINS",
    "TLOG_APPEND_FAILURES",
    "TLOG_CHECKPOINT_AGE",
    "TLOG_INTEGRATED",
    "TLOG_INTEGRATIONS",
    "TLOG_PENDING",
    "TLOG_SIZE",
    "TOKENS",
    "TOKEN_LATENCY",
    "USERINFO_LATENCY",
    "render_metrics",
]

LOGINS = Counter("leerid_logins_total", "Successful authentications", ["method"])
"""method: password | sso"""
LOGIN_FAILURES = Counter("leerid_login_failures_total", "Refused logins", ["reason"])
SECRET_CHECKS = Counter(
    "leerid_secret_checks_total",
    "Passwords and activation codes compared with a stored hash (issue 8 §5: bounded per "
    "account by the login throttle, whatever the concurrency)",
    ["kind"],
)
"""kind: password | activation_code"""
TOKENS = Counter("leerid_tokens_issued_total", "Tokens issued", ["kind", "grant_type"])
AUTH_ERRORS = Counter("leerid_authorization_errors_total", "Authorization errors", ["error"])
TOKEN_ERRORS = Counter("leerid_token_errors_total", "Token endpoint errors", ["error"])
REQUEST_LATENCY = Histogram(
    "leerid_request_seconds",
    "Time to answer, by endpoint",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

SETS_PUBLISHED = Counter(
    "leerid_sets_published_total", "Security Event Tokens signed into the outbox (RFC 8417)"
)
SETS_DELIVERED = Counter(
    "leerid_sets_delivered_total", "SETs returned to pollers, redeliveries included (RFC 8936)"
)
SETS_ACKNOWLEDGED = Counter("leerid_sets_acknowledged_total", "SETs acknowledged by recipients")
SET_ERRORS = Counter(
    "leerid_set_errors_total", "SETs recipients rejected (setErrs, RFC 8936 §2.4.3)", ["err"]
)
TLOG_APPEND_FAILURES = Counter(
    "leerid_tlog_append_failures_total",
    "Writes refused because their transparency-log entry could not be appended (issue 12 "
    "§1: fail closed, nothing was released)",
)

# Issue 12: the transparency log. Every node's integrator loop sets the gauges once per round
# from the database (the values are the log's, not the node's: ``mostrecent`` over workers).
TLOG_SIZE = Gauge(
    "leerid_tlog_size", "Entries integrated into the log's tree", multiprocess_mode="mostrecent"
)
TLOG_PENDING = Gauge(
    "leerid_tlog_pending",
    "Entries appended and not yet integrated (given an index)",
    multiprocess_mode="mostrecent",
)
TLOG_CHECKPOINT_AGE = Gauge(
    "leerid_tlog_checkpoint_age_seconds",
    "Age of the newest signed checkpoint (grows while the log is idle; alert on it together "
    "with leerid_tlog_pending > 0)",
    multiprocess_mode="mostrecent",
)
TLOG_INTEGRATIONS = Counter(
    "leerid_tlog_integrations_total",
    "Integration rounds, by outcome (integrated: the tree grew; idle: nothing pending; "
    "standby: another node holds the lease; failed: an error, logged)",
    ["outcome"],
)
TLOG_INTEGRATED = Counter("leerid_tlog_integrated_total", "Entries given an index by this node")

# The hot path's labelled children, bound once (a ``labels()`` lookup per request costs a lock
# and a dictionary search; the counts are the same).
SSO_LOGINS = LOGINS.labels("sso")
AUTH_LATENCY = REQUEST_LATENCY.labels("auth")
TOKEN_LATENCY = REQUEST_LATENCY.labels("token")
USERINFO_LATENCY = REQUEST_LATENCY.labels("userinfo")
CODE_ACCESS_TOKENS = TOKENS.labels("access_token", "authorization_code")
CODE_ID_TOKENS = TOKENS.labels("id_token", "authorization_code")
PASSWORD_CHECKS = SECRET_CHECKS.labels("password")
CODE_CHECKS = SECRET_CHECKS.labels("activation_code")


def render_metrics(all_workers: bool) -> bytes:
    """The exposition text: of every worker in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``
    set, see ``IdpSettings.metrics_dir``), else of this process."""
    if all_workers:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return bytes(generate_latest(registry))
    return bytes(generate_latest())
