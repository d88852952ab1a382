"""The portal's guard and handlers called alone: no server, no database (art. 4, CSRF)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from leerid.protocol import content_hash, in_force_from, load_protocol
from leerid.sp.kit.models import StaffAccount
from leerid.sp.kit.signed_protocol import ProtocolState, SignedVersion
from leerid.sp.kit.staff import permissions
from leerid.sp.portal import dpo_pages, guard, page_texts, pupil_pages, staff_pages
from leerid.sp.portal.browser_session import SessionSealer
from leerid.sp.portal.guard import Refused, StaffPost, Visitor
from leerid.sp.portal.state import Portal
from tests.sp.conftest import PROTOCOL

CSRF = "the-token-of-this-session"
ACCOUNTS: dict[str, str] = {"dora": "dpo", "mia": "medewerker", "tom": "toegangscontrole"}


@pytest.fixture(scope="module")
def portal() -> Portal:
    """A portal over a stand-in provider: the real protocol and sealer, no engine."""
    protocol = load_protocol(PROTOCOL)
    start = in_force_from(protocol)
    assert start is not None
    signed = SignedVersion(protocol.id, 1, content_hash(protocol), start, protocol)
    state = ProtocolState(protocol, signed, out_of_step=None, ending=None)
    provider = SimpleNamespace(
        engine=None,
        protocol=protocol,
        protocol_state=lambda: state,
        settings=SimpleNamespace(name="LARS", profiles=()),
        permissions=lambda role: permissions(protocol, role),
    )
    sealer = SessionSealer(b"k" * 32, secure=False)
    return Portal(provider=provider, rp=None, sealer=sealer, throttle=None, names={}, events=None)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def accounts(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The staff table, as the guard reads it: username → role (a missing name: disabled)."""
    table = dict(ACCOUNTS)

    def get_staff(_engine: object, username: str) -> StaffAccount | None:
        role = table.get(username)
        if role is None:
            return None
        bound = dt.date(2024, 3, 1)  # art. 6: pledge signed and training followed
        return StaffAccount(
            username=username,
            role=role,
            active=True,
            confidentiality_signed_on=bound,
            awareness_trained_on=bound,
        )

    monkeypatch.setattr(guard, "get_staff", get_staff)
    return table


def request(portal: Portal, session: dict[str, Any] | None, form: str = "") -> Request:
    """A POST as the browser sends it: the sealed session cookie and a urlencoded form."""
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    if session is not None:
        sealed = Response()
        portal.sealer.write(sealed, session)
        cookie = sealed.headers["set-cookie"].split(";")[0]
        headers.append((b"cookie", cookie.encode()))
    body = form.encode()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/personeel",
        "headers": headers,
        "query_string": b"",
        "app": SimpleNamespace(state=SimpleNamespace(portal=portal)),
    }
    return Request(scope, receive)


def session_of(portal: Portal, answer: Response) -> dict[str, Any]:
    """The session the answer seals into its cookie."""
    cookie = answer.headers["set-cookie"].split(";")[0]
    scope = {"type": "http", "headers": [(b"cookie", cookie.encode())]}
    return portal.sealer.read(Request(scope))


def refusal(dependency: Callable[[Request], Awaitable[Any]], req: Request) -> Response:
    with pytest.raises(Refused) as caught:
        asyncio.run(dependency(req))
    return caught.value.response


def staff_session(name: str, role: str) -> dict[str, Any]:
    return {"staff": name, "role": role, "csrf": CSRF}


def test_no_session_goes_to_the_staff_login_and_keeps_no_cookie(portal: Portal) -> None:
    answer = refusal(guard.staff(), request(portal, None))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/personeel/aanmelden"
    assert "set-cookie" not in answer.headers


def test_a_pupil_session_is_no_staff_session(portal: Portal) -> None:
    answer = refusal(guard.staff(), request(portal, {"pupil": "p1", "csrf": CSRF}))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/personeel/aanmelden"


def test_a_disabled_account_counts_at_once_and_its_cookie_is_cleared(
    portal: Portal, accounts: dict[str, str]
) -> None:
    del accounts["dora"]
    answer = refusal(guard.staff(log_access=True), request(portal, staff_session("dora", "dpo")))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/personeel/aanmelden"
    assert 'sp_sessie=""' in answer.headers["set-cookie"]


@pytest.mark.parametrize(
    ("name", "pupil_data", "log_access"),
    [("mia", True, False), ("mia", False, True), ("dora", True, False), ("tom", False, True)],
)
def test_a_role_without_the_right_gets_403(
    portal: Portal, name: str, pupil_data: bool, log_access: bool
) -> None:
    dependency = guard.staff(pupil_data=pupil_data, log_access=log_access)
    answer = refusal(dependency, request(portal, staff_session(name, ACCOUNTS[name])))
    assert answer.status_code == 403
    assert b"Geen toegang" in answer.body
    assert b"protocol art. 4" in answer.body


def test_the_role_is_read_from_the_database_not_from_the_cookie(portal: Portal) -> None:
    forged = staff_session("mia", "dpo")  # the cookie claims the DPO's role
    answer = refusal(guard.staff(log_access=True), request(portal, forged))
    assert answer.status_code == 403


def test_the_right_role_passes_with_the_database_role(portal: Portal) -> None:
    who = asyncio.run(guard.staff(log_access=True)(request(portal, staff_session("dora", "x"))))
    assert (who.username, who.role) == ("dora", "dpo")


def test_a_staff_form_without_the_session_token_is_refused(portal: Portal) -> None:
    for form in ("", "csrf=", "csrf=another-token", f"csrf={CSRF}x"):
        req = request(portal, staff_session("dora", "dpo"), form)
        answer = refusal(guard.staff_post(log_access=True), req)
        assert answer.status_code == 403, form
        assert b"Het formulier was verlopen." in answer.body


def test_the_role_is_checked_before_the_token(portal: Portal) -> None:
    req = request(portal, staff_session("mia", "medewerker"), f"csrf={CSRF}")
    answer = refusal(guard.staff_post(log_access=True), req)
    assert answer.status_code == 403
    assert b"Geen toegang" in answer.body


def test_a_staff_form_with_the_token_passes(portal: Portal) -> None:
    req = request(portal, staff_session("tom", "toegangscontrole"), f"csrf={CSRF}&sleutel=k1")
    posted = asyncio.run(guard.staff_post(pupil_data=True)(req))
    assert isinstance(posted, StaffPost)
    assert posted.form == {"csrf": CSRF, "sleutel": "k1"}
    assert posted.username == "tom"


def test_a_pupil_post_needs_a_pupil_and_the_token(portal: Portal) -> None:
    for session, form in (
        (None, f"csrf={CSRF}"),
        ({"csrf": CSRF}, f"csrf={CSRF}"),  # no pupil in the session
        ({"pupil": "p1", "csrf": CSRF}, "csrf=forged"),
    ):
        answer = refusal(guard.pupil_post, request(portal, session, form))
        assert answer.status_code == 403
        assert b"Deze aanvraag is niet geldig." in answer.body
    posted = asyncio.run(
        guard.pupil_post(request(portal, {"pupil": "p1", "csrf": CSRF}, f"csrf={CSRF}"))
    )
    assert posted.session["pupil"] == "p1"


def test_a_logout_needs_the_token_only(portal: Portal) -> None:
    answer = refusal(guard.signed_post, request(portal, {"csrf": CSRF}, "csrf=forged"))
    assert answer.status_code == 403
    posted = asyncio.run(guard.signed_post(request(portal, {"csrf": CSRF}, f"csrf={CSRF}")))
    assert isinstance(posted, Visitor)


def test_the_staff_logout_handler_keeps_no_identity(portal: Portal) -> None:
    answer = asyncio.run(
        staff_pages.staff_logout(portal, Visitor(staff_session("dora", "dpo"), {}))
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    kept = session_of(portal, answer)
    assert "staff" not in kept and "role" not in kept
    assert kept["flash"] == page_texts.STAFF_LOGGED_OUT


def test_the_home_handler_sends_a_logged_in_pupil_to_their_data(portal: Portal) -> None:
    answer = asyncio.run(pupil_pages.home(portal, {"pupil": "p1"}))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/mijn-gegevens"


@pytest.mark.parametrize("number", ["abc", "1234567890", "-1", "1e3"])
def test_a_breach_number_that_is_no_number_is_a_page_not_json(portal: Portal, number: str) -> None:
    posted = StaffPost(staff_session("dora", "dpo"), "dora", "dpo", {"csrf": CSRF})
    answer = asyncio.run(dpo_pages.staff_breach_update(portal, posted, number))
    assert answer.status_code == 404
    assert b"Geen gegevenslek met dit nummer." in answer.body
