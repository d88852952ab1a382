"""The kit's rules as plain functions: the enrolment gate, claim shapes, clocks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.protocol import IsoDuration
from leerid.sp.kit.breaches import breach_clock
from leerid.sp.kit.enrolment_gate import enrolment_gate
from leerid.sp.kit.login_claims import ClaimError, read_login
from leerid.sp.kit.retention import retention_cutoff

school = st.from_regex(r"^[0-9]{6}$", fullmatch=True)  # ASCII digits only (point 3)


@given(st.lists(school, max_size=5), st.sets(school, max_size=5))
def test_gate_admits_exactly_when_an_enrolment_is_in_a_partner_school(
    orgcodes: list[str], partners: set[str]
) -> None:
    """Preamble D, art. 3."""
    decision = enrolment_gate(orgcodes, partners)
    assert decision.admitted == bool(set(orgcodes) & partners)
    if not orgcodes:
        assert decision.reason == "no_enrolment"
    assert set(decision.matching_schools) == set(orgcodes) & partners


def test_ov_claims_are_read_as_a_string_or_an_array() -> None:
    as_strings = read_login(
        {
            "sub": "a",
            "ov_account_uuid": "a",
            "ov_leerid_uuid": "L",
            "ov_orgcode": "012345",
            "ov_historiek_account_uuid": "old",
        }
    )
    as_arrays = read_login(
        {
            "sub": "a",
            "ov_account_uuid": ["a"],
            "ov_leerid_uuid": ["L"],
            "ov_orgcode": ["012345"],
            "ov_historiek_account_uuid": ["old"],
        }
    )
    assert as_strings == as_arrays
    assert as_strings.pupil_key == "L" and as_strings.key_kind == "leer_id_uuid"
    unidentified = read_login({"sub": "a", "ov_account_uuid": "a", "ov_orgcode": []})
    assert unidentified.pupil_key == "a" and unidentified.key_kind == "account_uuid"
    with pytest.raises(ClaimError):
        read_login({"sub": "a", "ov_account_uuid": "a", "ov_leerid_uuid": ["L1", "L2"]})
    with pytest.raises(ClaimError):
        read_login({"ov_orgcode": "012345"})


def test_retention_cutoff_is_three_calendar_years() -> None:
    """Art. 3: inactive accounts are deleted after three years."""
    now = dt.datetime(2027, 3, 1, 12, tzinfo=dt.UTC)
    assert retention_cutoff(IsoDuration.parse("P3Y"), now) == dt.datetime(
        2024, 3, 1, 12, tzinfo=dt.UTC
    )


def test_breach_clock_runs_72_hours_from_discovery() -> None:
    """GDPR art. 33.1."""
    found = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    clock = breach_clock(found, found + dt.timedelta(hours=70))
    assert clock.deadline == found + dt.timedelta(hours=72)
    assert clock.hours_left == 2.0 and not clock.overdue
    assert breach_clock(found, found + dt.timedelta(hours=73)).overdue


@pytest.mark.parametrize(
    "text", ["00091501119", "rrn 00.09.15-011.19 klopt niet", "00 09 15 011 19"]
)
def test_free_text_never_carries_an_insz(text: str) -> None:
    """Art. 3: no decretal basis for the INSZ at LARS, so staff cannot write one down."""
    from leerid.errors import LeeridError
    from leerid.sp.kit.free_text import refuse_insz

    with pytest.raises(LeeridError, match="national register number"):
        refuse_insz(text, "comment")
    assert refuse_insz("naam gewijzigd in 2026, school 012345", "x")


def test_the_kit_never_imports_the_identity_provider_or_the_registry() -> None:
    """House rule: a service provider talks to the identity provider over HTTP only."""
    import ast
    from pathlib import Path

    import leerid.sp

    for path in Path(leerid.sp.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(("leerid.idp", "leerid.registry")), (path, name)


def test_session_cookie_is_sealed_and_host_bound_under_https() -> None:
    import os

    from starlette.requests import Request
    from starlette.responses import Response

    from leerid.sp.portal.browser_session import SessionSealer

    sealer = SessionSealer(os.urandom(32), secure=True)
    response = Response()
    sealer.write(response, {"pupil": "k"})
    header = response.headers["set-cookie"]
    assert header.startswith("__Host-sp_sessie=") and "Secure" in header and "HttpOnly" in header
    assert "samesite=lax" in header.lower() and "Path=/" in header
    value = header.split(";")[0].split("=", 1)[1]
    assert "pupil" not in value  # encrypted, not just signed

    def request(cookie: str) -> Request:
        return Request({"type": "http", "headers": [(b"cookie", cookie.encode())]})

    assert sealer.read(request(f"__Host-sp_sessie={value}"))["pupil"] == "k"
    tampered = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert sealer.read(request(f"__Host-sp_sessie={tampered}")) == {}
    other = SessionSealer(os.urandom(32), secure=True)
    assert other.read(request(f"__Host-sp_sessie={value}")) == {}
