"""RFC 8936 poll of DOV's Security Event Tokens: delivery, acknowledgement, errors, refusals.

A real provider per module and backend; changes are recorded with the feed's own
``record_change`` (as DOV's commands do) and arrive as SETs verified with joserfc against the
provider's keys. Hypothesis checks the poll-body parser over many inputs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlalchemy.orm import Session

from leerid.idp.oauth.rfc8936 import ERROR_CODES, PollError, parse_poll
from leerid.idp.store.events import SecurityEvent
from leerid.registry.changes import Change, ChangeKind, record_change
from leerid.store.engine import make_engine
from tests.conftest import run_leerid
from tests.idp.events_kit import (
    drain,
    event_of,
    events_token,
    poll,
    poll_response,
    verified,
)
from tests.idp_server import RunningIdp, running_idp


@pytest.fixture(scope="module")
def idp(module_database_url: str) -> Iterator[RunningIdp]:
    """A provider whose long poll waits 3 s (``LEERID_EVENTS_LONG_POLL_SECONDS``) and that
    delivers an unacknowledged SET again on every poll (``LEERID_EVENTS_REDELIVER_SECONDS=0``;
    the default period is tested on its own)."""
    env = {"LEERID_EVENTS_LONG_POLL_SECONDS": "3", "LEERID_EVENTS_REDELIVER_SECONDS": "0"}
    with running_idp(module_database_url, more_env=env) as running:
        yield running


def _status_changes(idp: RunningIdp, count: int) -> list[str]:
    """Record ``count`` report-status changes addressed to the seeded client; their codes."""
    engine = make_engine(idp.database_url)
    codes = [f"DQ-{time.monotonic_ns() % 10**8:08d}{i}" for i in range(count)]
    with Session(engine) as session, session.begin():
        for code in codes:
            payload = {"code": code, "status": "gesloten", "resolution": "ok", "closed_at": None}
            record_change(
                session,
                Change(ChangeKind.QUALITY_REPORT_STATUS, client_id=idp.client_id, payload=payload),
            )
    engine.dispose()
    return codes


def test_first_poll_brings_the_version_in_force_then_nothing(idp: RunningIdp) -> None:
    token = events_token(idp)
    sets = drain(idp, token)
    kinds = [event_of(s)[0] for s in sets]
    assert "urn:leerid:event:protocol-version-in-force" in kinds
    version = next(event_of(s)[1] for s in sets if "version-in-force" in event_of(s)[0])
    assert version["protocol_id"] == idp.seed.protocol_id and version["version"] == 1
    assert {s["party"] for s in version["signatures"]} == {"discloser", "recipient"}
    assert "sub_id" not in sets[0] and sets[0]["txn"].isdigit()
    assert poll(idp, token) == {"sets": {}, "moreAvailable": False}


def test_redelivered_until_acknowledged_oldest_first_with_more_available(idp: RunningIdp) -> None:
    token = events_token(idp)
    drain(idp, token)
    codes = _status_changes(idp, 3)
    first = poll(idp, token, maxEvents=2)
    assert first["moreAvailable"] is True and len(first["sets"]) == 2
    again = poll(idp, token, maxEvents=2)
    assert list(again["sets"]) == list(first["sets"])  # not acknowledged: delivered again
    bodies = [event_of(verified(idp, s))[1] for s in first["sets"].values()]
    assert [b["code"] for b in bodies] == codes[:2]
    rest = poll(idp, token, ack=list(first["sets"]), maxEvents=2)
    assert len(rest["sets"]) == 1 and rest["moreAvailable"] is False
    (last,) = rest["sets"].values()
    assert event_of(verified(idp, last))[1]["code"] == codes[2]
    # maxEvents 0 acknowledges and fetches nothing.
    assert poll(idp, token, ack=list(rest["sets"]), maxEvents=0)["sets"] == {}
    assert poll(idp, token)["sets"] == {}


def test_a_delivered_set_comes_again_only_after_the_redelivery_period(
    module_database_url: str,
) -> None:
    """RFC 8936 §2.4: "after a period of time" (30 s by default) an unacknowledged SET is
    delivered again; before that the next poll brings the SETs after it, so a recipient can
    fetch while it applies."""
    with running_idp(module_database_url) as idp:
        token = events_token(idp)
        drain(idp, token)
        codes = _status_changes(idp, 3)
        first = poll(idp, token, maxEvents=2)
        assert len(first["sets"]) == 2 and first["moreAvailable"] is True
        following = poll(idp, token, maxEvents=2)  # the first two are in flight: the third
        assert [event_of(verified(idp, s))[1]["code"] for s in following["sets"].values()] == [
            codes[2]
        ]
        assert following["moreAvailable"] is False
        assert poll(idp, token)["sets"] == {}  # nothing new, nothing due again yet
        # the recipient could not process the first one: it asks for it back (leerid's
        # poll member); it is due at once, ahead of anything newer
        (back,) = list(first["sets"])[:1]
        poll(idp, token, leerid_redeliver=[back, "unknown-jti"], maxEvents=0)
        assert list(poll(idp, token)["sets"]) == [back]
        # a new sync of the recipient holds nothing from before: all it was sent comes again
        resumed = poll(idp, token, leerid_resend_unacknowledged=True)
        assert list(resumed["sets"]) == list(first["sets"]) + list(following["sets"])
        engine = make_engine(idp.database_url)
        with engine.begin() as conn:  # the period passed (moved back in the database)
            conn.execute(
                update(SecurityEvent)
                .where(SecurityEvent.jti.in_(list(first["sets"])))
                .values(redeliver_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
            )
        engine.dispose()
        again = poll(idp, token, ack=list(following["sets"]))
        assert list(again["sets"]) == list(first["sets"])  # oldest first, again
        poll(idp, token, ack=list(again["sets"]), maxEvents=0)
        assert poll(idp, token)["sets"] == {}


def test_set_errors_stop_redelivery_and_are_listed(idp: RunningIdp) -> None:
    token = events_token(idp)
    drain(idp, token)
    _status_changes(idp, 1)
    (jti,) = poll(idp, token)["sets"]
    errs = {jti: {"err": "invalid_audience", "description": "not for us"}}
    answer = poll(idp, token, setErrs=errs, ack=["unknown-jti", "0" * 32])  # §2.4.2: ignored
    assert answer["sets"] == {}
    env = {**os.environ, "LEERID_DATABASE_URL": idp.database_url}
    done = run_leerid(["events", "list", "--json"], env)
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    (line,) = [x for x in listed["sets"] if x["jti"] == jti]
    assert (line["state"], line["err"], line["description"]) == (
        "error",
        "invalid_audience",
        "not for us",
    )
    mine = next(c for c in listed["clients"] if c["client_id"] == idp.client_id)
    assert mine["errors"] >= 1 and mine["pending"] == 0


def test_another_client_cannot_acknowledge_my_sets(idp: RunningIdp) -> None:
    token = events_token(idp)
    drain(idp, token)
    _status_changes(idp, 1)
    (jti,) = poll(idp, token)["sets"]
    engine = make_engine(idp.database_url)
    from leerid.idp.store.clients import add_client

    other, secret = add_client(
        engine, name="Other", protocol_id=idp.seed.protocol_id, redirect_uris=["http://127.0.0.1/x"]
    )
    engine.dispose()
    assert secret is not None
    other_token = events_token(idp, other.client_id, secret)
    poll(idp, other_token, ack=[jti])  # RFC 8936 §2.4.2: another's jti is ignored silently
    assert list(poll(idp, token)["sets"]) == [jti]
    poll(idp, token, ack=[jti])


BAD_BODIES: list[Any] = [
    b"not json",
    b"[1, 2]",
    b"\xff\xfe",
    {"maxEvents": -1},
    {"maxEvents": 1001},
    {"maxEvents": "10"},
    {"leerid_redeliver": "not a list"},
    {"leerid_redeliver": [""]},
    {"leerid_resend_unacknowledged": "yes"},
    {"maxEvents": True},
    {"maxEvents": 1.5},
    {"returnImmediately": "yes"},
    {"ack": "abc"},
    {"ack": [1, 2]},
    {"ack": ["x" * 65]},
    {"ack": ["a"] * 1001},
    {"setErrs": []},
    {"setErrs": {"j": "bad"}},
    {"setErrs": {"j": {"err": "made_up", "description": "d"}}},
    {"setErrs": {"j": {"err": "invalid_key", "description": 5}}},
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_malformed_polls_answer_400_invalid_request(idp: RunningIdp, body: Any) -> None:
    answer = poll_response(idp, events_token(idp), body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["err"] == "invalid_request" and answer.json()["description"]


def test_a_poll_must_be_json(idp: RunningIdp) -> None:
    token = events_token(idp)
    form = httpx.post(
        f"{idp.issuer}/v1/events",
        data={"maxEvents": "1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert form.status_code == 400 and form.json()["err"] == "invalid_request"


def test_a_long_poll_waits_for_a_set_and_answers_when_one_comes(idp: RunningIdp) -> None:
    token = events_token(idp)
    drain(idp, token)
    started = time.monotonic()
    empty = poll_response(idp, token, {"returnImmediately": False})
    assert empty.json()["sets"] == {} and 2.5 < time.monotonic() - started < 8
    threading.Timer(1.0, _status_changes, (idp, 1)).start()
    started = time.monotonic()
    answer = poll_response(idp, token, {})  # returnImmediately defaults to false (§2.4.1)
    waited = time.monotonic() - started
    assert len(answer.json()["sets"]) == 1 and 0.8 < waited < 3, waited
    poll(idp, token, ack=list(answer.json()["sets"]))


# -- the parser, over many inputs ------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
_jti = st.text(min_size=1, max_size=64)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["maxEvents", "returnImmediately", "ack", "setErrs", "other"]),
        _json,
    )
)
def test_the_parser_accepts_exactly_the_valid_bodies(body: dict[str, Any]) -> None:
    """Any JSON body either parses to a request within the rules or is refused: no crash."""
    try:
        request = parse_poll(json.dumps(body).encode())
    except PollError as exc:
        assert exc.err == "invalid_request" and exc.description
        return
    assert 0 <= request.max_events <= 1000
    assert isinstance(request.return_immediately, bool)
    assert all(isinstance(j, str) and 0 < len(j) <= 64 for j in request.ack)
    assert all(e.err in ERROR_CODES for e in (request.set_errs or {}).values())


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 1000),
    st.booleans(),
    st.lists(_jti, max_size=20),
    st.dictionaries(
        _jti, st.tuples(st.sampled_from(sorted(ERROR_CODES)), st.text(max_size=50)), max_size=5
    ),
)
def test_valid_bodies_parse_to_what_they_say(
    max_events: int, immediately: bool, ack: list[str], errs: dict[str, tuple[str, str]]
) -> None:
    body = {
        "maxEvents": max_events,
        "returnImmediately": immediately,
        "ack": ack,
        "setErrs": {j: {"err": e, "description": d} for j, (e, d) in errs.items()},
    }
    request = parse_poll(json.dumps(body).encode())
    assert (request.max_events, request.return_immediately) == (max_events, immediately)
    assert list(request.ack) == ack
    assert {j: (e.err, e.description) for j, e in (request.set_errs or {}).items()} == errs


@given(st.binary(max_size=64))
def test_any_bytes_never_crash_the_parser(raw: bytes) -> None:
    with contextlib.suppress(PollError):
        parse_poll(raw)
