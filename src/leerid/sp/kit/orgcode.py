"""Instellingsnummers (a school's number) as the kit compares them: six digits, always.

A claim, a configuration file or a form may drop the leading zeros (``12345`` for
``012345``, or a JSON/TOML number); the kit pads them back before any comparison.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"^\d{1,6}$")


def normalise_orgcode(value: object) -> str | None:
    """``value`` as a six-digit instellingsnummer, or None when it cannot be one.

    Art. 3 (ov_orgcode): surrounding spaces go, up to six digits are left-padded with
    zeros; anything else (letters, seven digits, a sign, a float, a boolean) is not one.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    if not _DIGITS.match(text) or not text.isascii():
        return None
    return text.zfill(6)
