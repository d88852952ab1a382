"""``leerid registry retention``: DOV's retention of pupils without an enrolment (art. 3)."""

from __future__ import annotations

import json

import typer

from leerid.registry.retention import BATCH, RetentionCounts, policy_from_env, run_retention
from leerid.schema import ACCOUNT_TABLES, get_engine

__all__ = ["retention", "retention_lines"]


def retention_lines(counts: RetentionCounts, policy: str) -> list[str]:
    """The run's counts as an operator reads them."""
    would = "would be " if counts.dry_run else ""
    return [
        f"pupils' retention (art. 3: {policy})"
        + (", dry run: nothing changed" if counts.dry_run else ""),
        f"retired: {counts.retired} pupils {would}retired (no login, no disclosure from now on)",
        f"revived: {counts.revived} retired pupils {would}revived by an enrolment",
        f"waiting: {counts.waiting} retired pupils in their grace period",
        f"deleted: {counts.deleted} pupils {would}deleted"
        + ("" if counts.dry_run else f" with {counts.accounts_deleted} accounts")
        + " (an account-purged event to each recipient that received them)",
        f"batches: {counts.transactions} transactions of at most {BATCH:,} pupils, "
        f"the longest {counts.longest_batch_ms:.0f} ms",
    ]


def retention(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Count what would happen; change nothing."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
    batch: int = typer.Option(BATCH, "--batch", min=1, max=BATCH, help="Pupils per transaction."),
) -> None:
    """Retire pupils without an enrolment for 3 years; delete them after the grace period.

    Art. 3: a pupil with no enrolment running and none ended within LEERID_RETENTION_PUPILS
    (default P3Y) is retired: none of its accounts logs in or is disclosed. After
    LEERID_RETENTION_GRACE (default P30D) it is deleted with all its accounts, and each
    recipient that received it gets an account-purged event; an enrolment revives it before.
    Run it daily; logins and imports go on meanwhile (batches of at most 1,000 pupils).
    """
    policy = policy_from_env()
    engine = get_engine(create=False)
    counts = run_retention(
        engine, policy, batch=batch, dry_run=dry_run, account_tables=ACCOUNT_TABLES
    )
    if as_json:
        typer.echo(
            json.dumps(
                {**counts.as_json(), "period": str(policy.period), "grace": str(policy.grace)}
            )
        )
        return
    typer.echo("\n".join(retention_lines(counts, str(policy))))
