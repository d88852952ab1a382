"""``/op/v1/mijn-gegevens``: the pupil sees who received their data, and reports an error.

Art. 7 ("al dan niet op basis van een mededeling van betrokkene(n)") and GDPR art. 15: after a
LeerID login (the SSO session of the browser; without one, the login form, then back here)
the pupil sees every release of their data to every service provider, under all their
accounts: which service, when (Brussels time), which data (in plain Dutch), under which
protocol version (linked to its text, ``protocol_text``), and, issue 12 §5, its "bewijs":
the download of its transparency-log receipt (``receipts``) once its entry is in a
checkpoint, and the command that checks a receipt with DOV's own log key pinned
(``leerid log check-receipt FILE --key '<vkey>'``: without ``--key`` it declares nothing
valid). A form reports an error in their own data: stored at DOV (source ``pupil``)
and passed on to each service provider that received that data item.

The forms are bound to this browser: the CSRF cookie, the form's field and the sealed form
state must agree, and the sealed state names the SSO session it was made for. Reports are
throttled per pupil. No name, key or text of the pupil goes in a log line.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from leerid.errors import LeeridError
from leerid.idp.context import CSRF_COOKIE, SESSION_COOKIE, IdpContext, SsoSession, get_context
from leerid.idp.oauth.errors import NO_STORE
from leerid.idp.release import today
from leerid.idp.store.my_data import READY, MyDisclosure
from leerid.idp.store.quality_reports import ATTRIBUTES, PROBLEMS
from leerid.idp.store.report_codes import normalise_code
from leerid.idp.store.report_directions import TooManyReportsError
from leerid.idp.store.tlog.append import leaf_text
from leerid.idp.web.i18n import TEXTS
from leerid.idp.web.log import log_metadata
from leerid.idp.web.login import Refusal, client_address, form_fields, verify_credentials
from leerid.idp.web.protocol_text import protocol_path
from leerid.insz_text import looks_like_insz
from leerid.protocol.lifecycle import BRUSSELS, MONTHS

__all__ = ["CLAIM_WORDS", "login_page", "router"]

router = APIRouter()
log = logging.getLogger(__name__)

CLAIM_WORDS = {
    "sub": "je accountnummer bij LeerID (een code)",
    "given_name": "je voornaam",
    "family_name": "je achternaam",
    "rrn": "je rijksregisternummer",
    "ov_leerid_uuid": "je LeerID-nummer (een code die alleen bij jou hoort)",
    "ov_account_uuid": "je accountnummer bij LeerID (een code)",
    "ov_historiek_account_uuid": "je oude accountnummers",
    "ov_orgcode": "het nummer van je school",
}
"""Claim names as a 12-year-old reads them (the report form offers the same words)."""
OPAQUE_SUB_WORDS = "een code voor jou, die niet je accountnummer is"
"""Issue 14 point 2: ``sub`` for a client that gets the opaque identifier, not the account."""
PROBLEM_WORDS = {
    "foutief": "Het is fout",
    "onnauwkeurig": "Het is niet helemaal juist",
    "onvolledig": "Er ontbreekt een stuk",
    "ontbrekend": "Het staat er niet",
    "verouderd": "Het was vroeger juist, nu niet meer",
    "overtollig": "Dit gegeven hoort er niet bij",
}
TEXT_LIMIT = 2000
EXPIRED = "Deze pagina is verlopen. Meld je opnieuw aan."
FOREIGN = (
    "Dit formulier hoort niet bij deze browser of is verlopen. Open je gegevens opnieuw en "
    "probeer nog eens."
)
_FORM = "mine-form"
_LOGIN = "mine-login"


def _path(ctx: IdpContext) -> str:
    return f"{ctx.settings.path}/v1/mijn-gegevens"


def _when(moment: dt.datetime) -> str:
    """A moment in Brussels time, as a pupil reads it: "3 maart 2026 om 09:30"."""
    local = moment.astimezone(BRUSSELS)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} om {local:%H:%M}"


def _csrf(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def _with_csrf(ctx: IdpContext, request: Request, response: Response, csrf: str) -> Response:
    if request.cookies.get(CSRF_COOKIE) != csrf:
        ctx.set_cookie(response, CSRF_COOKIE, csrf)
    return response


def _same(*values: str) -> bool:
    """Every value present and equal (constant-time comparisons)."""
    first = values[0].encode()
    return bool(first) and all(hmac.compare_digest(first, v.encode()) for v in values[1:])


def login_page(
    ctx: IdpContext,
    request: Request,
    errors: dict[str, str] | None = None,
    username: str = "",
    status_code: int = 200,
) -> Response:
    """The LeerID login form; after it the pupil comes back to this page."""
    csrf = _csrf(request)
    sealed = ctx.sealer.seal(_LOGIN, {"csrf": csrf}, ctx.settings.login_form_lifetime)
    response = ctx.pages.render(
        "login.html",
        "nl",
        status_code,
        intro="Meld je aan om te zien wie jouw gegevens kreeg.",
        action=f"{_path(ctx)}/aanmelden",
        first_login_url=f"{ctx.settings.path}/v1/activate",
        pending=sealed,
        csrf_token=csrf,
        errors=errors or {},
        username=username,
    )
    return _with_csrf(ctx, request, response, csrf)


@router.get("/v1/mijn-gegevens")
async def my_data(request: Request) -> Response:
    """The pupil's page, or the login form when this browser has no LeerID session."""
    ctx = get_context(request)
    session = await ctx.run(ctx.read_session, request)
    if session is None:
        return login_page(ctx, request)
    done = normalise_code(request.query_params.get("melding", ""))
    return await _page(ctx, request, session, done=done)


@router.post("/v1/mijn-gegevens/aanmelden")
async def my_data_login(request: Request) -> Response:
    """The login form of this page: the same password check as every LeerID login."""
    ctx = get_context(request)
    field = await form_fields(request)
    sealed = ctx.sealer.open(_LOGIN, field.get("request"))
    if sealed is None:
        return login_page(ctx, request, {"username": EXPIRED})
    if not _same(str(sealed.get("csrf", "")), field.get("csrf_token", ""), _csrf_cookie(request)):
        return ctx.pages.error("nl", FOREIGN, 403)
    t = TEXTS["nl"]
    username = field.get("username", "").strip().lower()[:64]
    password = field.get("password", "")[:1024]
    if not username or not password:
        errors = {}
        if not username:
            errors["username"] = t["error_username_missing"]
        if not password:
            errors["password"] = t["error_password_missing"]
        return login_page(ctx, request, errors, username)
    checked = await verify_credentials(ctx, username, password, client_address(request))
    if isinstance(checked, Refusal):
        log.info("own page login refused reason=%s", checked.reason)
        if checked.throttled_until is not None:
            text = t["error_throttled"].format(time=checked.throttled_until)
            return login_page(ctx, request, {"username": text}, username, 429)
        return login_page(ctx, request, {"username": t["error_credentials"]}, username)
    session = SsoSession(secrets.token_hex(16), checked, int(time.time()))
    response = RedirectResponse(_path(ctx), status_code=303, headers=NO_STORE)
    ctx.set_cookie(
        response, SESSION_COOKIE, ctx.seal_session(session), ctx.settings.session_lifetime
    )
    return response


def _csrf_cookie(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE, "")


def _receipt_path(ctx: IdpContext, leaf: bytes) -> str:
    """Where the receipt of the entry with leaf hash ``leaf`` is downloaded (base64url)."""
    return f"{_path(ctx)}/bewijs/{leaf_text(leaf)}"


def _claim_words(d: MyDisclosure, claim: str) -> str:
    """What ``claim`` of the release ``d`` was, in words; ``sub`` as the client got it."""
    if claim == "sub" and d.client_subject == "opaque":
        return OPAQUE_SUB_WORDS
    return CLAIM_WORDS.get(claim, claim)


def _row(ctx: IdpContext, d: MyDisclosure) -> dict[str, Any]:
    """One line of the page: which service, when, which data, under which protocol (with a
    link to its text), and its "bewijs" (issue 12 §5)."""
    pid, version = d.protocol_id, d.protocol_version
    return {
        "service": d.client_name,
        "when": _when(d.at),
        "iso": d.at.isoformat(),
        # ``sub`` and ``ov_account_uuid`` read alike: a pupil sees each phrase once
        "data": list(dict.fromkeys(_claim_words(d, c) for c in d.claims)),
        "protocol": f"{pid}, versie {version}" if pid and version else pid or "onbekend",
        "protocol_url": protocol_path(ctx.settings.path, pid, version) if pid and version else None,
        "proof": d.proof,
        "receipt_url": _receipt_path(ctx, d.log_leaf) if d.proof == READY and d.log_leaf else None,
    }


async def _page(
    ctx: IdpContext,
    request: Request,
    session: SsoSession,
    *,
    errors: dict[str, str] | None = None,
    sent: dict[str, str] | None = None,
    done: str | None = None,
    status_code: int = 200,
) -> Response:
    """The disclosures and the report form, bound to this session and browser."""
    found = await ctx.run(ctx.store.my_disclosures, session.account_uuid)
    csrf = _csrf(request)
    state = ctx.sealer.seal(_FORM, {"csrf": csrf, "sid": session.sid}, 3600)
    rows = [_row(ctx, d) for d in found]
    vkey = log_metadata(ctx)["leerid_log_vkey"]  # read once per process
    response = ctx.pages.render(
        "my_data.html",
        "nl",
        status_code,
        rows=rows,
        check_command=f"leerid log check-receipt bewijs.json --key '{vkey}'",
        action=f"{_path(ctx)}/melding",
        state=state,
        csrf_token=csrf,
        attributes=[(a, CLAIM_WORDS[a]) for a in ATTRIBUTES],
        problems=[(p, PROBLEM_WORDS[p]) for p in PROBLEMS],
        errors=errors or {},
        sent=sent or {},
        done=done,
        text_limit=TEXT_LIMIT,
    )
    return _with_csrf(ctx, request, response, csrf)


def _form_errors(attribute: str, problem: str, text: str) -> dict[str, str]:
    """What the pupil must fix in the report form, by field (Dutch, plain)."""
    errors = {}
    if attribute not in ATTRIBUTES:
        errors["attribute"] = "Kies welk gegeven niet klopt."
    if problem not in PROBLEMS:
        errors["problem"] = "Kies wat er mis is."
    if not text.strip():
        errors["text"] = "Schrijf kort wat er niet klopt."
    elif len(text) > TEXT_LIMIT:
        errors["text"] = f"Je uitleg is te lang: hoogstens {TEXT_LIMIT} tekens."
    elif looks_like_insz(text):  # art. 3: no INSZ in free text
        errors["text"] = (
            "In je uitleg staat iets dat op een rijksregisternummer lijkt. Laat dat nummer "
            "weg: we weten al wie je bent."
        )
    return errors


@router.post("/v1/mijn-gegevens/melding")
async def report_error(request: Request) -> Response:
    """Art. 7: the pupil reports an error in their own data."""
    ctx = get_context(request)
    session = await ctx.run(ctx.read_session, request)
    if session is None:
        return login_page(ctx, request)
    field = await form_fields(request)
    sealed = ctx.sealer.open(_FORM, field.get("form_state")) or {}
    if not (
        _same(str(sealed.get("csrf", "")), field.get("csrf_token", ""), _csrf_cookie(request))
        and _same(str(sealed.get("sid", "")), session.sid)
    ):
        return ctx.pages.error("nl", FOREIGN, 403)
    attribute, problem = field.get("attribute", ""), field.get("problem", "")
    text = field.get("text", "").strip()
    sent = {"attribute": attribute, "problem": problem, "text": text[:TEXT_LIMIT]}
    errors = _form_errors(attribute, problem, text)
    if errors:
        return await _page(ctx, request, session, errors=errors, sent=sent, status_code=400)
    pupil = await ctx.run(
        ctx.store.fetch_pupil, session.account_uuid, today(dt.datetime.now(dt.UTC))
    )
    if pupil is None:  # the account was retired since the login
        return login_page(ctx, request)
    key = pupil.leer_id_uuid or pupil.account_uuid
    try:
        view = await ctx.run(
            ctx.store.report_from_pupil, session.account_uuid, key, attribute, problem, text
        )
    except TooManyReportsError:
        errors = {"text": "Je stuurde al veel meldingen. Probeer het over een uur opnieuw."}
        return await _page(ctx, request, session, errors=errors, sent=sent, status_code=429)
    except LeeridError:
        errors = {"text": "Deze melding kunnen we niet bewaren. Kijk je uitleg na."}
        return await _page(ctx, request, session, errors=errors, sent=sent, status_code=400)
    log.info("pupil report stored forwarded=%d", len(view.forwarded_to))
    return RedirectResponse(f"{_path(ctx)}?melding={view.code}", 303, headers=NO_STORE)
