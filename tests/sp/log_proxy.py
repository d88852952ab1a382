"""A real HTTP reverse proxy in front of DOV, on loopback, that can fail chosen paths.

DOV runs with its issuer at the proxy (as behind any reverse proxy), so the portal, the
browser and the witness all reach DOV through it. A test sets a rule for a path ending
(``/v1/log/proof/consistency``): an answer of its own (a status, a body), or a wait until
the test lets the request through; everything else is passed to DOV unchanged. Nothing of
leerid is replaced: the proxy is an HTTP server, DOV and the portal are the real ones.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leerid.testing.servers import serve_in_thread

Rule = Callable[[Request], Awaitable[Response | None]]
"""What the proxy answers for a request, or None to pass it to DOV."""

HOP_BY_HOP = {b"connection", b"content-length", b"transfer-encoding", b"content-encoding"}


class LogProxy:
    """The proxy's rules (by path ending) and where DOV listens."""

    def __init__(self) -> None:
        self.upstream = ""
        self.rules: dict[str, Rule] = {}
        self.seen: list[str] = []

    def fail(self, path: str, status: int, only: Callable[[Request], bool] | None = None) -> None:
        """Answer ``status`` (a JSON error) to requests ending in ``path`` (those ``only``
        picks, when given)."""

        async def answer(request: Request) -> Response | None:
            if only is not None and not only(request):
                return None
            body = {"error": "server_error" if status >= 500 else "invalid_request"}
            body["error_description"] = f"the proxy answers {status} for this test"
            return Response(json.dumps(body), status, media_type="application/json")

        self.rules[path] = answer

    def hold(self, path: str, arrived: threading.Event, go: threading.Event) -> None:
        """Keep the next request ending in ``path`` waiting (``arrived`` set) until ``go`` is
        set, then answer it with the rule set for ``path`` by then, or pass it to DOV. Later
        requests for ``path`` are not held."""

        async def wait(request: Request) -> Response | None:
            del self.rules[path]
            arrived.set()
            await asyncio.to_thread(go.wait, 60)
            after = self.rules.get(path)
            return None if after is None else await after(request)

        self.rules[path] = wait

    def serve(self, path: str, status: int, body: str, media_type: str) -> None:
        """Answer every request ending in ``path`` with ``body``."""

        async def answer(_request: Request) -> Response:
            return Response(body, status, media_type=media_type)

        self.rules[path] = answer

    def clear(self) -> None:
        self.rules.clear()

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        self.seen.append(path)
        for ending, rule in list(self.rules.items()):
            if path.endswith(ending):
                answer = await rule(request)
                if answer is not None:
                    return answer
        return await self._forward(request)

    async def _forward(self, request: Request) -> Response:
        url = self.upstream + request.url.path
        if request.url.query:
            url += "?" + request.url.query
        headers = [
            (k, v) for k, v in request.headers.raw if k.lower() not in {b"host", *HOP_BY_HOP}
        ]
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.request(
                request.method, url, content=await request.body(), headers=headers
            )
        response = Response(answer.content, answer.status_code)
        response.raw_headers += [
            (k, v) for k, v in answer.headers.raw if k.lower() not in HOP_BY_HOP
        ]
        return response


@contextmanager
def log_proxy() -> Iterator[tuple[LogProxy, str]]:
    """A running proxy (its upstream set by the caller once DOV runs) and its base URL."""
    proxy = LogProxy()
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
    route = Route("/{path:path}", proxy.handle, methods=methods)
    with serve_in_thread(lambda _base: Starlette(routes=[route])) as (base, _app):
        yield proxy, base
