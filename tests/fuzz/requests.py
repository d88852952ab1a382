"""What the fuzz suite sends, and what every answer must satisfy (issue 8, the guard).

A request is built from a route, parameters (query or form body, urlencoded or multipart,
sometimes with raw bytes that are not UTF-8), an ``Authorization`` and a ``Host`` header and
cookies. Each parameter is left out, valid, or hostile: control characters (NUL above all),
overlong values around the documented limits, Unicode, and HTML probes.

Every answer must hold: no 5xx; no traceback in the server's log; a ``Location`` only to an
allowed place (the server's own origin or a relative path, a registered redirect URI, the
provider's endpoints for the portal), never one built from ``Host``; no probe reflected
unescaped in HTML; no FastAPI default JSON error (``{"detail": …}``) on a known route.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("LEERID_FUZZ_EXAMPLES", "10"))
"""Examples per fuzzed route and backend; raise it for a long run (e.g. 500)."""
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PROBES = ('"><fz-probe>', "<script>fz-probe</script>", "fz-probe' onfocus='x")
"""HTML probes: none may come back unescaped in a page."""
CONTROLS = ["\x00", "\x00", "\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9f"]
SPECIAL = [
    "\x00",
    "%00",
    "a\x00b",
    "\r\n",
    "\t",
    " ",
    "",
    "é",
    "\u202e",
    "\ufeff",
    "💥",
    "\\",
    "'",
    "../../etc/passwd",
    "{{7*7}}",
    "99999999999999999999",
    "-1",
    *PROBES,
]
LENGTHS = [65, 81, 129, 257, 513, 1025, 2048, 2049, 4097, 8193, 40000]
RAW = ["%FF", "%C0%80", "%ED%A0%80", "%E2%82", "%"]
"""Percent-escapes that are not UTF-8 (an overlong NUL, a surrogate, a cut sequence)."""


def hostile() -> st.SearchStrategy[str]:
    """A value meant to break a parameter."""
    short = st.text(max_size=12)
    return st.one_of(
        st.tuples(short, st.sampled_from(CONTROLS), short).map("".join),
        st.sampled_from(SPECIAL),
        st.text(max_size=40),
        st.sampled_from(LENGTHS).map(lambda n: "A" * n),
    )


Valid = str | None | st.SearchStrategy[str]
"""A parameter's valid value, none, or a strategy for values worth trying besides."""


def value(valid: Valid) -> st.SearchStrategy[str | None]:
    """Left out, valid (when there is a valid value) or hostile."""
    options: list[st.SearchStrategy[str | None]] = [st.none(), hostile()]
    if isinstance(valid, str):
        options.insert(1, st.just(valid))
    elif valid is not None:
        options.insert(1, valid)
    return st.one_of(options)


def parameters(valid: Mapping[str, Valid]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Each named parameter left out, valid or hostile, plus up to two strange extra ones."""
    names = list(valid)
    extra_name = st.one_of(st.sampled_from([*names, "x", "a\x00", "__duplicated__"]), st.text())
    extra = st.lists(st.tuples(extra_name, hostile()), max_size=2)
    return st.tuples(st.tuples(*(value(valid[n]) for n in names)), extra).map(
        lambda t: [(n, v) for n, v in zip(names, t[0], strict=True) if v is not None] + t[1]
    )


def header_value() -> st.SearchStrategy[bytes]:
    """What an HTTP client can put in a header: printable ASCII, tab and obs-text bytes."""
    return st.one_of(
        st.binary(max_size=60).map(
            lambda b: bytes(c for c in b if c == 9 or 0x20 <= c <= 0x7E or c >= 0x80)
        ),
        st.sampled_from(LENGTHS).map(lambda n: b"A" * n),
    )


def host() -> st.SearchStrategy[bytes | None]:
    """The ``Host`` header: the server's own (None), another site, or junk."""
    return st.one_of(
        st.none(),
        st.sampled_from([b"evil.example", b"evil.example:443", b"[::1]", b"a/b?c", b""]),
        header_value(),
    )


def basic(client_id: str, secret: str) -> bytes:
    """RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic."""
    pair = f"{urlencode({'': client_id})[1:]}:{urlencode({'': secret})[1:]}"
    return b"Basic " + base64.b64encode(pair.encode())


def raw_basic(client_id: str, secret: str) -> bytes:
    """Basic as ``curl -u ID:SECRET`` sends it (not form-encoded first)."""
    return b"Basic " + base64.b64encode(f"{client_id}:{secret}".encode())


def unsigned_jwt(claims: dict[str, object]) -> str:
    """A JWT-shaped value whose signature is junk: its ``sub`` is read before any check."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = part(json.dumps({"alg": "RS256", "kid": "x"}).encode())
    return f"{header}.{part(json.dumps(claims).encode())}.{part(b'junk')}"


def authorization(valid: Mapping[str, bytes]) -> st.SearchStrategy[bytes | None]:
    """No header, one of the valid ones, a Basic or Bearer with hostile content, or junk."""
    pair = st.tuples(hostile(), hostile())
    return st.one_of(
        st.none(),
        st.sampled_from(sorted(valid.values())) if valid else st.none(),
        pair.map(lambda p: basic(*p)),
        pair.map(lambda p: raw_basic(*p)),
        header_value().map(lambda v: b"Bearer " + v),
        header_value(),
    )


@dataclass
class Sent:
    """One request of the fuzzer."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    form: list[tuple[str, str]] | None = None
    multipart: bool = False
    raw: str = ""
    """Appended to the query (GET) or body (POST) as it is: escapes that are not UTF-8."""
    host: bytes | None = None
    authorization: bytes | None = None
    cookies: Mapping[str, str] = field(default_factory=dict)

    def values(self) -> list[str]:
        """Every text the request carried (to look for reflections)."""
        pairs = self.query + (self.form or [])
        extra = [self.authorization.decode("latin-1")] if self.authorization else []
        return [p for pair in pairs for p in pair] + extra


def send(http: httpx.Client, base: str, sent: Sent) -> httpx.Response:
    """``sent`` to the server at ``base``, without following redirects."""
    url = base + sent.path
    query = urlencode(sent.query)
    if sent.method == "GET" and sent.raw:
        query = f"{query}&x={sent.raw}" if query else f"x={sent.raw}"
    if query:
        url = f"{url}?{query}"
    headers: dict[str, bytes] = {}
    if sent.host is not None:
        headers["Host"] = sent.host
    if sent.authorization is not None:
        headers["Authorization"] = sent.authorization
    if sent.cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in sent.cookies.items()).encode()
    if sent.method == "GET":
        return http.request("GET", url, headers=headers)
    form = sent.form or []
    if sent.multipart:
        files = [(name, (None, text.encode("utf-8", "surrogatepass"))) for name, text in form]
        return http.request("POST", url, headers=headers, files=files or [("x", (None, b""))])
    body = urlencode(form)
    if sent.raw:
        body = f"{body}&x={sent.raw}" if body else f"x={sent.raw}"
    headers["Content-Type"] = b"application/x-www-form-urlencoded"
    return http.request("POST", url, headers=headers, content=body.encode())


class ServerLog:
    """The part of a server's log written since the last look."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    def new(self) -> str:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            data = log.read()
        self.offset += len(data)
        return data.decode("utf-8", "replace")


def local_location(location: str, origin: str) -> bool:
    """A relative path of this site, or an absolute URL on ``origin``."""
    if location.startswith("/"):
        return not location.startswith(("//", "/\\"))
    parts = urlsplit(location)
    return f"{parts.scheme}://{parts.netloc}" == origin and not location.startswith("//")


def at(location: str, target: str) -> bool:
    """``location`` is ``target`` itself or ``target`` with a query."""
    return location == target or location.startswith(target + ("&" if "?" in target else "?"))


def check(
    response: httpx.Response,
    sent: Sent,
    log: ServerLog,
    allowed: Callable[[str], bool],
    *,
    known_route: bool = True,
) -> None:
    """The rules every answer keeps (see the module)."""
    said = f"{sent.method} {sent.path} -> {response.status_code}: {response.text[:300]!r}"
    written = log.new()
    assert response.status_code < 500, said
    assert "Traceback" not in written and "Exception in ASGI" not in written, written
    location = response.headers.get("location")
    if location is not None:
        assert allowed(location), f"redirect to {location[:200]!r} after {said}"
    if known_route and response.headers.get("content-type", "").startswith("application/json"):
        assert not response.text.startswith('{"detail"'), said
    if response.headers.get("content-type", "").startswith("text/html"):
        for probe in PROBES:
            if any(probe in v for v in sent.values()):
                assert probe not in response.text, f"{probe!r} reflected: {said}"


def exercise(
    data: st.DataObject,
    base: str,
    method: str,
    path: str,
    pairs: list[tuple[str, str]],
    log: ServerLog,
    allowed: Callable[[str], bool],
    *,
    cookies: Mapping[str, str],
    authorization: bytes | None = None,
) -> None:
    """Draw the rest of a request (trailing slash, encoding, raw escape, ``Host``), send it
    to ``base`` and ``check`` the answer."""
    slash = data.draw(st.sampled_from(["", "", "", "/"]), "trailing slash")
    sent = Sent(
        method,
        path + slash,
        query=pairs if method == "GET" else [],
        form=pairs if method == "POST" else None,
        multipart=method == "POST" and data.draw(st.booleans(), "multipart"),
        raw=data.draw(st.one_of(st.just(""), st.sampled_from(RAW)), "raw escape"),
        host=data.draw(st.one_of(st.none(), st.just(b"evil.example"), header_value()), "Host"),
        authorization=authorization,
        cookies=cookies,
    )
    with httpx.Client(follow_redirects=False, timeout=60) as http:
        try:
            response = send(http, base, sent)
        except (httpx.LocalProtocolError, httpx.InvalidURL):  # what the client will not send
            return
    check(response, sent, log, allowed, known_route=not slash)
