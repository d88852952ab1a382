"""``/op/v1/activate``: a pupil turns the school's activation code into a password.

Issue 4 §4: the pupil gives the username and the one-time activation code from the school
and chooses a password (minimum length, not the username, not a common password). The page
is Dutch (English with ``ui_locales=en``), works without JavaScript, ties every error to its
field, and is protected against CSRF like the login form: the form must return the token
of this browser's cookie, which is also sealed into the form.

No enumeration: an unknown username, a wrong code and a used code get one answer, after the
same work (one query, one hash comparison) and through the same login throttle. Only a
pupil who holds the right code learns that it has expired.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import Counter
from starlette.responses import Response

from leerid.idp.context import CSRF_COOKIE, IdpContext, get_context
from leerid.idp.login.activation_codes import Activation, code_hash, codes_match
from leerid.idp.login.password_policy import MIN_LENGTH, Problem, check_new_password
from leerid.idp.login.throttle import lock_end_text
from leerid.idp.metrics import CODE_CHECKS
from leerid.idp.web.i18n import choose_language
from leerid.idp.web.login import client_address
from leerid.idp.web.login_return import carried_login_url

__all__ = ["ACTIVATION_TEXTS", "router"]

router = APIRouter()

ACTIVATIONS = Counter("leerid_activations_total", "Activation attempts", ["outcome"])
"""outcome: activated | refused_code | expired | weak_password | throttled | csrf"""

FORM_LIFETIME = 1800
_DUMMY_HASH = code_hash("", "0000-0000-0000-0000")

ACTIVATION_TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Je LeerID-account activeren",
        "intro": "Je school gaf je een gebruikersnaam en een activatiecode. Vul ze in en kies "
        "een wachtwoord. Daarna meld je je altijd aan met je gebruikersnaam en dat wachtwoord.",
        "username": "Gebruikersnaam",
        "username_hint": "Zoals op het briefje van je school, bijvoorbeeld emma.p1234.",
        "code": "Activatiecode",
        "code_hint": "16 tekens, bijvoorbeeld K7QH-3MZP-X9TA-2WRC. Streepjes mag je weglaten.",
        "password": "Nieuw wachtwoord",
        "password_hint": "Minstens {min} tekens. Tip: een zinnetje van een paar woorden is "
        "makkelijk te onthouden en moeilijk te raden.",
        "password_confirm": "Herhaal je nieuwe wachtwoord",
        "submit": "Account activeren",
        "error_summary": "Controleer het formulier",
        "username_missing": "Vul je gebruikersnaam in.",
        "code_missing": "Vul je activatiecode in.",
        "code_wrong": "Deze gebruikersnaam en activatiecode horen niet bij elkaar, of de code "
        "werd al gebruikt. Controleer ze, of vraag je school een nieuwe code.",
        "code_expired": "Deze activatiecode is verlopen (ze is 30 dagen geldig). Vraag je "
        "school een nieuwe code.",
        "throttled": "Te veel mislukte pogingen. Probeer opnieuw na {time}.",
        Problem.MISSING: "Kies een wachtwoord.",
        Problem.TOO_SHORT: "Je wachtwoord is te kort: gebruik minstens {min} tekens.",
        Problem.TOO_LONG: "Je wachtwoord is te lang: gebruik hoogstens 128 tekens.",
        Problem.CONTAINS_USERNAME: "Je wachtwoord mag je gebruikersnaam niet bevatten.",
        Problem.COMMON: "Dit wachtwoord is te makkelijk te raden: het staat op een lijst van "
        "veelgebruikte wachtwoorden. Kies iets anders, bijvoorbeeld een zinnetje.",
        Problem.MISMATCH: "De twee wachtwoorden zijn niet gelijk. Typ hetzelfde wachtwoord "
        "twee keer.",
        "expired_form": "Deze pagina was te lang open. Vul het formulier opnieuw in.",
        "csrf": "Dit formulier hoort niet bij deze browser. Open de activatiepagina opnieuw.",
        "done_title": "Je account is klaar",
        "done_text": "Je wachtwoord is ingesteld. Meld je voortaan aan met je gebruikersnaam "
        "{username} en je nieuwe wachtwoord. De activatiecode werkt niet meer.",
        "done_login": "Meld je nu aan",
        "done_elsewhere": "Ga terug naar de toepassing van je school (bijvoorbeeld LARS) en "
        "kies daar \u201cAanmelden met LeerID\u201d.",
    },
    "en": {
        "title": "Activate your LeerID account",
        "intro": "Your school gave you a username and an activation code. Enter them and "
        "choose a password. From then on you sign in with your username and that password.",
        "username": "Username",
        "username_hint": "As on the note from your school, for example emma.p1234.",
        "code": "Activation code",
        "code_hint": "16 characters, for example K7QH-3MZP-X9TA-2WRC. You may leave out the "
        "dashes.",
        "password": "New password",
        "password_hint": "At least {min} characters. Tip: a short sentence of a few words is "
        "easy to remember and hard to guess.",
        "password_confirm": "Repeat your new password",
        "submit": "Activate account",
        "error_summary": "Check the form",
        "username_missing": "Enter your username.",
        "code_missing": "Enter your activation code.",
        "code_wrong": "This username and activation code do not belong together, or the code "
        "was used already. Check them, or ask your school for a new code.",
        "code_expired": "This activation code has expired (it is valid for 30 days). Ask your "
        "school for a new code.",
        "throttled": "Too many failed attempts. Try again after {time}.",
        Problem.MISSING: "Choose a password.",
        Problem.TOO_SHORT: "Your password is too short: use at least {min} characters.",
        Problem.TOO_LONG: "Your password is too long: use at most 128 characters.",
        Problem.CONTAINS_USERNAME: "Your password must not contain your username.",
        Problem.COMMON: "This password is too easy to guess: it is on a list of commonly used "
        "passwords. Choose something else, such as a short sentence.",
        Problem.MISMATCH: "The two passwords are not the same. Type the same password twice.",
        "expired_form": "This page was open too long. Please fill in the form again.",
        "csrf": "This form does not belong to this browser. Open the activation page again.",
        "done_title": "Your account is ready",
        "done_text": "Your password is set. From now on, sign in with your username {username} "
        "and your new password. The activation code no longer works.",
        "done_login": "Sign in now",
        "done_elsewhere": "Go back to your school's application (for example LARS) and choose "
        "\u201cSign in with LeerID\u201d there.",
    },
}

FIELDS = ("username", "code", "password", "password_confirm")


def _render(
    ctx: IdpContext,
    request: Request,
    lang: str,
    *,
    errors: dict[str, str] | None = None,
    username: str = "",
    code: str = "",
    notice: str = "",
    status_code: int = 200,
) -> Response:
    """The form, bound to this browser: the CSRF cookie's token, sealed into the form too."""
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    texts = ACTIVATION_TEXTS[lang]
    back = carried_login_url(ctx, request)
    response = ctx.pages.render(
        "activate.html",
        lang,
        status_code,
        a={k: v.format(min=MIN_LENGTH) if "{min}" in v else v for k, v in texts.items()},
        action=f"{ctx.settings.path}/v1/activate",
        form_state=ctx.sealer.seal(
            "activate", {"csrf": csrf, "lang": lang, "login_url": back}, FORM_LIFETIME
        ),
        csrf_token=csrf,
        errors={field: errors[field] for field in FIELDS if errors and field in errors},
        username=username,
        code=code,
        notice=notice,
    )
    if request.cookies.get(CSRF_COOKIE) != csrf:
        response.set_cookie(CSRF_COOKIE, csrf, **ctx.cookie_options())  # type: ignore[arg-type]
    return response


@router.get("/v1/activate")
async def activation_form(request: Request) -> Response:
    """The empty form, in the language of ``ui_locales``."""
    ctx = get_context(request)
    return _render(ctx, request, choose_language(request.query_params.get("ui_locales")))


def _csrf_ok(request: Request, state: dict[str, Any], sent: str) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sealed = str(state.get("csrf", ""))
    return bool(cookie) and (
        hmac.compare_digest(sent.encode(), cookie.encode())
        & hmac.compare_digest(sealed.encode(), cookie.encode())
    )


@router.post("/v1/activate")
async def activate(request: Request) -> Response:
    """Check the code, apply the password policy, store the new password's hash."""
    ctx = get_context(request)
    form = await request.form()
    field = {k: v for k, v in form.items() if isinstance(v, str)}
    lang = _open_state(ctx, request, field)
    if isinstance(lang, Response):
        return lang
    a = ACTIVATION_TEXTS[lang]
    username = field.get("username", "").strip().lower()[:64]
    code = field.get("code", "").strip()[:64]
    password = field.get("password", "")[:1024]
    errors = _form_errors(a, username, code, password, field.get("password_confirm", "")[:1024])
    if errors:
        if "password" in errors or "password_confirm" in errors:
            ACTIVATIONS.labels("weak_password").inc()
        return _render(
            ctx, request, lang, errors=errors, username=username, code=code, status_code=400
        )
    address = client_address(request)
    activation = await _checked_code(ctx, request, lang, username, code, address)
    if isinstance(activation, Response):
        return activation
    password_hash = await ctx.hasher.hash(password)
    if not await asyncio.to_thread(ctx.store.complete_activation, activation, password_hash):
        await ctx.throttle.release(username)
        ACTIVATIONS.labels("refused_code").inc()
        return _render(
            ctx, request, lang, errors={"code": a["code_wrong"]}, username=username, status_code=400
        )
    await ctx.throttle.record_success(username, address)
    ACTIVATIONS.labels("activated").inc()
    return ctx.pages.render(
        "activate_done.html",
        lang,
        a={**a, "done_text": a["done_text"].format(username=username)},
        login_hint=username,
        login_url=request.state.login_url,
    )


def _open_state(ctx: IdpContext, request: Request, field: dict[str, str]) -> str | Response:
    """The form's language from its sealed state, once the state and CSRF token check out."""
    state = ctx.sealer.open("activate", field.get("form_state"))
    lang = choose_language(request.query_params.get("ui_locales"))
    if state is None:
        ACTIVATIONS.labels("expired_form").inc()
        return _render(ctx, request, lang, notice=ACTIVATION_TEXTS[lang]["expired_form"])
    lang = str(state.get("lang", lang))
    request.state.login_url = str(state.get("login_url", ""))
    lang = lang if lang in ACTIVATION_TEXTS else "nl"
    if not _csrf_ok(request, state, field.get("csrf_token", "")):
        ACTIVATIONS.labels("csrf").inc()
        return ctx.pages.error(lang, ACTIVATION_TEXTS[lang]["csrf"], 403)
    return lang


def _form_errors(
    a: dict[Any, str], username: str, code: str, password: str, confirmation: str
) -> dict[str, str]:
    """The fields left empty and the password policy's problems (docs/login.md)."""
    errors: dict[str, str] = {}
    if not username:
        errors["username"] = a["username_missing"]
    if not code:
        errors["code"] = a["code_missing"]
    for problem in check_new_password(password, confirmation, username):
        errors.setdefault(problem.field, a[problem.problem].format(min=MIN_LENGTH))
    return errors


async def _checked_code(
    ctx: IdpContext, request: Request, lang: str, username: str, code: str, address: str
) -> Activation | Response:
    """The live activation of ``username`` if ``code`` is its code (throttled), else the form."""
    a = ACTIVATION_TEXTS[lang]
    verdict = await ctx.throttle.admit(username, address)  # issue 8 §5: reserved first
    if verdict.delay > 0:
        await asyncio.sleep(verdict.delay)
    if not verdict.allowed:
        ACTIVATIONS.labels("throttled").inc()
        until = lock_end_text(verdict.retry_after)
        errors = {"code": a["throttled"].format(time=until)}
        return _render(
            ctx, request, lang, errors=errors, username=username, code=code, status_code=429
        )
    activation = await asyncio.to_thread(ctx.store.find_activation, username)
    stored = activation.code_hash if activation else _DUMMY_HASH
    CODE_CHECKS.inc()
    matches = codes_match(stored, activation.account_uuid if activation else "", code)
    if activation is None or not matches:
        await ctx.throttle.record_failure(username, address)
        ACTIVATIONS.labels("refused_code").inc()
        return _render(
            ctx, request, lang, errors={"code": a["code_wrong"]}, username=username, status_code=400
        )
    if activation.expires_at <= dt.datetime.now(dt.UTC):
        await ctx.throttle.release(username)
        ACTIVATIONS.labels("expired").inc()
        errors = {"code": a["code_expired"]}
        return _render(ctx, request, lang, errors=errors, username=username, status_code=400)
    return activation
