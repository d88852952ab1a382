"""The edge of both web servers: every parameter from outside is checked before a handler.

``EdgeGuard`` (ASGI middleware) reads what a request brings and refuses it, with the answer
the server's ``refuse`` callback makes for that path, when:

- the body is larger than ``max_body`` bytes (413; the body is not read further);
- the query string or a form body (``application/x-www-form-urlencoded`` or
  ``multipart/form-data``) is not UTF-8, cannot be parsed, or has too many fields;
- a parameter name or value breaks its ``Rule``: longer than its limit, or holding a control
  character — C0 (U+0000 to U+001F; tab, line feed and carriage return only in free-text
  fields), DEL (U+007F) or C1 (U+0080 to U+009F) — or, for the identifiers RFC 6749 Appendix A
  defines as ``VSCHAR``, anything outside printable ASCII (U+0020 to U+007E);
- the ``Authorization`` header is not printable ASCII (RFC 9110 §11.6.2) or too long.

Each server keeps its table of rules (``leerid.idp.web.parameters``,
``leerid.sp.portal.parameters``;
documented in docs/identity-provider.md and docs/service-provider.md). Values that arrive
inside another value (a Basic header's client id, a JWT's ``sub``) are checked by the
handler that unpacks them, with ``Rules.check``. Nothing here echoes a refused value.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["EdgeGuard", "Problem", "Rule", "Rules", "is_clean"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_EXCEPT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NOT_VSCHAR = re.compile(r"[^\x20-\x7e]")
"""RFC 6749 Appendix A: VSCHAR = %x20-7E."""

NAME_LIMIT = 64
"""Characters of a parameter's name."""
HEADER_LIMIT = 8192
"""Characters of the ``Authorization`` header."""


def is_clean(value: str, limit: int) -> bool:
    """``value`` is at most ``limit`` characters and holds no control character."""
    return len(value) <= limit and _CONTROL.search(value) is None


@dataclass(frozen=True)
class Rule:
    """What one parameter may hold."""

    limit: int
    free_text: bool = False
    """Tab, line feed and carriage return are allowed (text typed in a text area)."""
    vschar: bool = False
    """Printable ASCII only (RFC 6749 Appendix A: ``client_id``, ``state``, ``code``…)."""


@dataclass(frozen=True)
class Problem:
    """Why a request was refused; never the refused value itself."""

    name: str
    """The parameter (or ``body``, ``query``, ``request``, ``Authorization``)."""
    kind: str
    """``control`` | ``too_long`` | ``not_vschar`` | ``not_utf8`` | ``malformed`` |
    ``too_many`` | ``too_large``"""
    limit: int = 0
    status: int = 400

    def describe(self) -> str:
        """English, printable ASCII without quotes (RFC 6749 §5.2 ``error_description``)."""
        what = {
            "control": "contains a control character",
            "too_long": f"is longer than {self.limit} characters",
            "not_vschar": "must be printable ASCII (RFC 6749 Appendix A)",
            "not_utf8": "is not UTF-8",
            "malformed": "cannot be parsed",
            "too_many": f"has more than {self.limit} fields",
            "too_large": f"is larger than {self.limit} bytes",
        }[self.kind]
        whole = ("body", "query", "request", "Authorization")
        subject = self.name if self.name in whole else f"parameter {self.name}"
        return _NOT_VSCHAR.sub("?", f"{subject} {what}").replace('"', "?").replace("\\", "?")


@dataclass(frozen=True)
class Rules:
    """A server's table: a rule per parameter name, ``default`` for any other name."""

    table: Mapping[str, Rule]
    default: Rule = field(default_factory=lambda: Rule(2048))
    max_fields: int = 64

    def check(self, name: str, value: str) -> Problem | None:
        """The problem with parameter ``name`` holding ``value``, or None."""
        rule = self.table.get(name, self.default)
        if len(value) > rule.limit:
            return Problem(name, "too_long", rule.limit)
        if rule.vschar:
            bad = _NOT_VSCHAR.search(value)
            if bad is not None:
                return Problem(name, "control" if _CONTROL.match(bad.group()) else "not_vschar")
        elif (_CONTROL_EXCEPT_LINES if rule.free_text else _CONTROL).search(value):
            return Problem(name, "control")
        return None

    def first_problem(
        self, items: Iterable[tuple[str, str]], first: tuple[str, ...] = ()
    ) -> Problem | None:
        """The first problem among ``items``, those named in ``first`` checked first."""
        pairs = list(items)
        if len(pairs) > self.max_fields:
            return Problem("request", "too_many", self.max_fields)
        ordered = [p for n in first for p in pairs if p[0] == n] + pairs
        for name, value in ordered:
            if len(name) > NAME_LIMIT or _CONTROL.search(name):
                return Problem(_NOT_VSCHAR.sub("?", name[:NAME_LIMIT]), "malformed")
            problem = self.check(name, value)
            if problem is not None:
                return problem
        return None

    def with_rules(self, more: Mapping[str, Rule]) -> Rules:
        """This table with ``more`` added or replacing entries."""
        return Rules({**self.table, **more}, self.default, self.max_fields)


def _pairs(raw: bytes, what: str) -> list[tuple[str, str]] | Problem:
    try:
        return parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict"
        )
    except UnicodeDecodeError:
        return Problem(what, "not_utf8")


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


async def _multipart(
    headers: Headers, body: bytes, rules: Rules
) -> list[tuple[str, str]] | Problem:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    parser = MultiPartParser(
        headers, stream(), max_files=0, max_fields=rules.max_fields, max_part_size=len(body) + 1
    )
    try:
        form = await parser.parse()
    except MultiPartException:
        return Problem("body", "malformed")
    try:
        return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    finally:
        await form.close()


Refuse = Callable[[Scope, Problem], Response]


class EdgeGuard:
    """Checks query, form body and ``Authorization`` of every HTTP request (see the module).

    ``rules_for(path)`` gives the table for a path, or None where the handler checks the
    parameters itself (the body size and the header are checked all the same);
    ``refuse(scope, problem)`` makes the path's normal error answer.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        rules_for: Callable[[str], Rules | None],
        refuse: Refuse,
        max_body: int,
    ) -> None:
        self.app = app
        self.rules_for = rules_for
        self.refuse = refuse
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        rules = self.rules_for(scope["path"])
        problem = _header_problem(headers)
        if problem is None and rules is not None and scope.get("query_string"):
            pairs = _pairs(scope["query_string"], "query")
            problem = pairs if isinstance(pairs, Problem) else rules.first_problem(pairs)
        body: bytes | None = None
        if problem is None and _has_body(headers):
            read = await self._read_body(headers, receive)
            if isinstance(read, Problem):
                problem = read
            else:
                body = read
                if rules is not None:
                    problem = await _form_problem(headers, body, rules)
        if problem is not None:
            await self.refuse(scope, problem)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive) if body is not None else receive, send)

    async def _read_body(self, headers: Headers, receive: Receive) -> bytes | Problem:
        too_large = Problem("body", "too_large", self.max_body, status=413)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return (length is not None and length != "0") or "transfer-encoding" in headers


def _header_problem(headers: Headers) -> Problem | None:
    value = headers.get("authorization")
    if value is None:
        return None
    if len(value) > HEADER_LIMIT:
        return Problem("Authorization", "too_long", HEADER_LIMIT)
    if _NOT_VSCHAR.search(value):  # RFC 9110 §11.6.2, RFC 7235 token68: printable ASCII
        return Problem("Authorization", "control")
    return None


async def _form_problem(headers: Headers, body: bytes, rules: Rules) -> Problem | None:
    media = _media_type(headers)
    if media == "application/x-www-form-urlencoded":
        pairs = _pairs(body, "body")
    elif media == "multipart/form-data":
        pairs = await _multipart(headers, body, rules)
    else:
        return None  # not a form: the handler refuses what it cannot read
    return pairs if isinstance(pairs, Problem) else rules.first_problem(pairs)


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    """A ``receive`` that hands the body read by the guard to the application once."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
