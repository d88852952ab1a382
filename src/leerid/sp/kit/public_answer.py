"""A public resource of the provider as the relying party read it (its transparency log,
issue 12), and the refusal of one larger than its caller allows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from leerid.errors import LeeridError


class AnswerTooLargeError(LeeridError):
    """A public answer of the provider was larger than its caller allows."""


@dataclass(frozen=True)
class PublicAnswer:
    """A public resource of the provider as read: where, its status and body."""

    url: str
    status_code: int
    body: bytes

    def json(self) -> Any:
        """The body as JSON (``ValueError`` when it is not)."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")
