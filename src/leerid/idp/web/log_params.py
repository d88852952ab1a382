"""The query parameters of DOV's log endpoints, checked strictly, and the hash encoding.

Issue 12: bad input is a 400 with the reason. Indexes and sizes are whole numbers written
with digits only (no sign, no spaces, at most 19 digits); a hash is base64url without
padding (RFC 4648 §5), 43 characters for 32 bytes, as everywhere leerid writes a hash
outside a signed note. A parameter given twice is refused, not guessed at.
"""

from __future__ import annotations

import re

from starlette.datastructures import QueryParams

from leerid.errors import LeeridError
from leerid.transparency.receipt import from_b64url

__all__ = ["ParameterError", "leaf_hash_param", "tile_request", "whole"]

_DIGITS = re.compile(r"[0-9]{1,19}")
_B64URL_HASH = re.compile(r"[A-Za-z0-9_-]{43}")
_MAX = 2**63 - 1
"""Indexes and sizes are stored as BIGINT."""


class ParameterError(LeeridError):
    """A query parameter that is missing, given twice or not of its form (HTTP 400)."""


def _one(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise ParameterError(f"parameter {name} is given {len(values)} times; give it once")
    return values[0] if values else None


def whole(params: QueryParams, name: str, *, required: bool = False) -> int | None:
    """Parameter ``name`` as a whole number of at least 0 (None when absent and optional)."""
    raw = _one(params, name)
    if raw is None or raw == "":
        if required:
            raise ParameterError(f"parameter {name} is required: a whole number of at least 0")
        return None
    if raw.startswith("-") and _DIGITS.fullmatch(raw[1:]):
        raise ParameterError(f"parameter {name} is negative; give a whole number of at least 0")
    if not _DIGITS.fullmatch(raw) or int(raw) > _MAX:
        raise ParameterError(
            f"parameter {name} must be a whole number of at least 0 written in digits (at most 19)"
        )
    return int(raw)


def leaf_hash_param(params: QueryParams, name: str = "hash") -> bytes | None:
    """Parameter ``name`` as a 32-byte hash in base64url without padding (None if absent)."""
    raw = _one(params, name)
    if raw is None:
        return None
    if not _B64URL_HASH.fullmatch(raw):
        raise ParameterError(
            f"parameter {name} must be a SHA-256 leaf hash in base64url without padding "
            "(43 characters of A-Z a-z 0-9 - _), such as the LeerID-Log-Leaf header"
        )
    try:
        return from_b64url(raw, f"parameter {name}")
    except ValueError as exc:  # the last character carries bits beyond the 256th
        raise ParameterError(f"{exc}: a hash has one spelling") from None


_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")
_MAX_ELEMENTS = 7
"""C2SP tlog-tiles: a tile index is below 2**63 (19 digits), so 7 elements of 3 digits."""


def tile_request(path: str) -> tuple[int | None, int, int | None]:
    """C2SP tlog-tiles: ``<L>/<N>[.p/<W>]`` or ``entries/<N>[.p/<W>]`` as (level, or None
    for an entry bundle; tile index; partial width, or None for a full tile). ``<N>`` is in
    3-digit elements, all but the last prefixed with ``x``; no leading zeroes elsewhere."""
    width = None
    if ".p/" in path:
        path, _, raw_width = path.partition(".p/")
        if not _WIDTH.fullmatch(raw_width) or not 1 <= int(raw_width) <= 255:
            raise ParameterError(f"partial width {raw_width!r}: a number from 1 to 255")
        width = int(raw_width)
    head, _, number = path.partition("/")
    if head == "entries":
        level = None
    elif _LEVEL.fullmatch(head) and int(head) <= 63:
        level = int(head)
    else:
        raise ParameterError(f"tile level {head!r}: a number from 0 to 63, or 'entries'")
    elements = number.split("/")
    if len(elements) > _MAX_ELEMENTS:
        raise ParameterError(
            f"tile index: at most {_MAX_ELEMENTS} 3-digit elements (C2SP tlog-tiles: an index "
            f"below 2**63 needs no more); this one has {len(elements)}"
        )
    if not all(re.fullmatch(r"x[0-9]{3}", e) for e in elements[:-1]) or not re.fullmatch(
        r"[0-9]{3}", elements[-1]
    ):
        raise ParameterError(
            f"tile index {number!r}: 3-digit elements, all but the last prefixed with x "
            "(1234067 is x001/x234/067)"
        )
    return level, int("".join(e.removeprefix("x") for e in elements)), width
