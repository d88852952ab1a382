"""Art. 8 and 11 on the provider: after DOV's termination or an end by law, nothing is disclosed.

The nodes cache protocols for a minute here: the end must count at once on every node all
the same (it is read on every request until seen).
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import Engine, inspect

from leerid.idp.store.disclosures import list_disclosures
from leerid.idp.store.endings import find_ending
from leerid.protocol.parties import PartyRole
from leerid.protocol.status_changes import EndGround, StatusChange, StatusChangeKind, with_ending
from leerid.store.engine import make_engine, session_scope
from leerid.testing.relying_party import token_form
from tests.conftest import run_leerid
from tests.idp.flow import Browser, RelyingParty, full_login, query
from tests.idp_server import REDIRECT_URI, running_idp, start_idp

PROTOCOL_ID = "dov-lars-glce-2024"
SEED_SIGNATURES = (  # the 2024 PDF's two signatures (docs/between-the-parties.md)
    ("recipient", "Stefan Grielens", "2024-02-29T09:31:28+01:00"),
    ("dov", "Ann Verhaegen", "2024-03-25T14:40:38+01:00"),
)
LONG_CACHE = {"LEERID_CACHE_SECONDS": "60"}


def _refused_page(page: httpx.Response, word: str) -> None:
    """The page of a protocol not in force (art. 11): 403, the status named, no login form."""
    assert page.status_code == 403 and "location" not in page.headers
    assert word in page.text and 'name="password"' not in page.text


def test_termination_stops_authorization_token_and_userinfo_at_once_on_two_nodes(
    database_url: str, leerid_env: dict[str, str]
) -> None:
    with running_idp(database_url, more_env=LONG_CACHE) as one:
        two = start_idp(database_url, more_env={"LEERID_ISSUER": one.issuer, **LONG_CACHE})
        try:
            rp, _, auth, location = full_login(one)  # a code issued while in force
            token = rp.fetch_token(location, auth.verifier)
            _, _, auth2, location2 = full_login(one)
            browser = Browser()
            for node in (one, two):  # both nodes have the protocol in their cache
                form_page = browser.open(
                    rp.authorization().url.replace(one.base_url, node.base_url)
                )
                assert form_page.status_code == 200  # a login form, posted after the end below

            done = run_leerid(
                [
                    "protocol",
                    "terminate",
                    PROTOCOL_ID,
                    "--reason",
                    "Art. 4 geschonden",
                    "--operator",
                    "dpo-dov",
                ],
                leerid_env,
            )
            assert done.returncode == 0, done.stderr
            assert done.stdout.startswith(f"terminated: {PROTOCOL_ID} (sanction)")

            for node in (one, two):  # no sleep: the cache does not hide the end
                page = Browser().open(rp.authorization().url.replace(one.base_url, node.base_url))
                _refused_page(page, "beëindigd")
                info = httpx.get(
                    f"{node.base_url}/op/v1/userinfo",
                    headers={"Authorization": f"Bearer {token['access_token']}"},
                )
                assert info.status_code == 401 and "protocol_terminated" in info.text
            _refused_page(
                browser.provider_login(form_page, one.username, one.password), "beëindigd"
            )
            form = token_form(query(location2)["code"], REDIRECT_URI, auth2.verifier)
            answer = httpx.post(
                f"{two.base_url}/op/v1/token", auth=(one.client_id, one.client_secret), data=form
            )
            assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
            assert "id_token" not in answer.text
        finally:
            two.stop()
    engine = make_engine(database_url)
    records = list_disclosures(engine, account_uuid=one.pupil.account_uuid)
    assert {r.reason for r in records if r.outcome == "refused"} >= {"protocol_terminated"}
    with session_scope(engine) as session:
        ending = find_ending(session, PROTOCOL_ID)
    # Recorded for the notice of point 3: who, when, why; not yet notified.
    assert ending is not None and ending.operator == "dpo-dov" and ending.notified_at is None
    assert ending.by_party is not None and ending.by_party.value == "discloser"
    engine.dispose()


def test_an_end_by_law_stops_authorization(database_url: str, leerid_env: dict[str, str]) -> None:
    with running_idp(database_url, more_env=LONG_CACHE) as idp:
        rp = RelyingParty(idp)
        assert Browser().open(rp.authorization().url).status_code == 200
        done = run_leerid(
            ["protocol", "end", PROTOCOL_ID, "--ground", "legal-basis", "--operator", "jurist"],
            leerid_env,
        )
        assert done.returncode == 0, done.stderr
        _refused_page(Browser().open(rp.authorization().url), "afgelopen")


@pytest.mark.parametrize("ground", ["term", "legal-basis"])
def test_end_with_each_ground_is_recorded_and_listed(
    ground: str, leerid_env: dict[str, str], database_url: str
) -> None:
    from tests.idp_server import PROTOCOL_FILE

    assert run_leerid(["protocol", "add", str(PROTOCOL_FILE)], leerid_env).returncode == 0
    for party, signer, at in SEED_SIGNATURES:  # art. 11: in force once both attested
        attested = run_leerid(
            [
                *("protocol", "attest", PROTOCOL_ID, "--version", "1", "--party", party),
                *("--signer", signer, "--signed-at", at, "--document-sha256", "ab" * 32),
                *("--operator", "jurist"),
            ],
            leerid_env,
        )
        assert attested.returncode == 0, attested.stderr
    done = run_leerid(
        [
            "protocol",
            "end",
            PROTOCOL_ID,
            "--ground",
            ground,
            "--operator",
            "jurist",
            "--at",
            "2031-09-01",
        ],
        leerid_env,
    )
    assert done.returncode == 0, done.stderr
    assert f"ended: {PROTOCOL_ID} ({ground}) from 2031-09-01T00:00:00+02:00" in done.stdout
    before = run_leerid(["protocol", "list", "--at", "2031-08-31T23:59:59"], leerid_env)
    after = run_leerid(["protocol", "list", "--at", "2031-09-01"], leerid_env)
    assert before.stdout.splitlines()[1].split()[3] == "in_force"
    assert after.stdout.splitlines()[1].split()[3] == "ended"
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        ending = find_ending(session, PROTOCOL_ID)
    engine.dispose()
    assert ending is not None and ending.ground == ground and ending.by_party is None
    assert "art. 11" in ending.reason.lower()


def test_refusals(leerid_env: dict[str, str]) -> None:
    """Every refused ending says why and what to do; nothing is recorded by a refusal."""
    from tests.idp_server import PROTOCOL_FILE

    def refused(args: list[str], code: int = 1) -> str:
        result = run_leerid(["protocol", *args], leerid_env)
        assert result.returncode == code, (result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        return result.stderr

    assert run_leerid(["protocol", "add", str(PROTOCOL_FILE)], leerid_env).returncode == 0
    assert "not stored" in refused(
        ["terminate", "other-protocol", "--reason", "r", "--operator", "o"]
    )
    assert "must not be empty" in refused(
        ["terminate", PROTOCOL_ID, "--reason", " ", "--operator", "o"]
    )
    assert "not a date or moment" in refused(
        ["end", PROTOCOL_ID, "--ground", "term", "--operator", "o", "--at", "morgen"]
    )
    assert "--ground" in refused(
        ["end", PROTOCOL_ID, "--ground", "suspended", "--operator", "o"], 2
    )
    first = run_leerid(
        ["protocol", "terminate", PROTOCOL_ID, "--reason", "Art. 4", "--operator", "dpo"],
        leerid_env,
    )
    assert first.returncode == 0, first.stderr
    again = refused(["end", PROTOCOL_ID, "--ground", "term", "--operator", "o"])
    assert "already terminated" in again and "an end is final" in again


def test_migration_matches_the_model_and_downgrades(engine: Engine) -> None:
    """Migration 0008_idp_protocol_endings creates exactly ``ProtocolEnding``'s table."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from leerid.schema import alembic_config, load_all_models
    from leerid.store.base import Base

    load_all_models()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "protocol_ending" in repr(d)] == []
    # to the revision before it by name: "@-1" counts from the branch head, which later
    # revisions on top of it (0010_idp_retention) move
    command.downgrade(alembic_config(engine), "0007_idp_report_codes")
    assert "protocol_ending" not in inspect(engine).get_table_names()


def test_the_earlier_end_stands() -> None:
    """Every end is final: an end in the file before the recorded one stands, and vice versa."""
    early = StatusChange(
        kind=StatusChangeKind.TERMINATED,
        effective=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        reason="art. 8",
        by=PartyRole.DISCLOSER,
    )
    late = StatusChange(
        kind=StatusChangeKind.ENDED,
        effective=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        reason="art. 11",
        ground=EndGround.TERM,
    )
    assert with_ending((early,), late) == (early,)
    assert with_ending((late,), early) == (early,)
    assert with_ending((), late) == (late,)
