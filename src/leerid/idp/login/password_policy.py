"""What a pupil's new password must be: long enough, not the username, not a common one.

Issue 4 §4: the pupil chooses a password at activation (minimum length, not the username,
checked against a list of common passwords). NIST SP 800-63B §5.1.1.2 shapes the rest: no
composition rules (no "one digit, one capital"), long passwords and spaces allowed, and a
check against values known to be commonly used. The rules are plain functions; the list is
``common_passwords.txt`` beside this module.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

__all__ = [
    "MAX_LENGTH",
    "MIN_LENGTH",
    "PasswordProblem",
    "Problem",
    "check_new_password",
    "common_passwords",
    "is_common",
]

MIN_LENGTH = 10
"""Ten characters: NIST SP 800-63B §5.1.1.2 asks at least 8; a short phrase is easy to type."""
MAX_LENGTH = 128
"""NIST SP 800-63B §5.1.1.2: allow at least 64; a bound keeps hashing cost predictable."""
MIN_DISTINCT = 4
"""``aaaaaaaaaa`` and ``1212121212`` are long but guessed at once."""

_LIST = Path(__file__).with_name("common_passwords.txt")
_LOOKALIKES = str.maketrans({"@": "a", "4": "a", "0": "o", "3": "e", "1": "i", "$": "s", "5": "s"})
_DECORATION = "0123456789!?.,;:-_+*#&%$@()[]{}'\"/\\|~^ "


class Problem(StrEnum):
    """Why a new password is refused; the page turns each into a sentence per language."""

    MISSING = "missing"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    CONTAINS_USERNAME = "contains_username"
    COMMON = "common"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class PasswordProblem:
    """One problem, tied to the form field it is about."""

    field: str  # "password" or "password_confirm"
    problem: Problem


@cache
def common_passwords() -> frozenset[str]:
    """The refused passwords, lower case (read once per process)."""
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold() for line in lines if line.strip() and not line.startswith("#")
    )


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _without_suffixes(text: str) -> list[str]:
    """``text`` and every shorter form of it without some of its trailing digits and symbols."""
    cuts = [text]
    end = len(text)
    while end > 0 and text[end - 1] in _DECORATION:
        end -= 1
        cuts.append(text[:end])
    return cuts


def is_common(password: str, common: frozenset[str] | None = None) -> bool:
    """Whether ``password`` is on the list, also once decorated (``voetbal2024!``, ``P@ssw0rd``).

    The password is compared in lower case and without accents, as is, with the digits and
    symbols around it stripped, and with look-alike characters (``@`` for ``a``) read back.
    """
    common = common_passwords() if common is None else common
    folded = _fold(password)
    if len(set(folded)) < MIN_DISTINCT:
        return True
    candidates: set[str] = set()
    for base in (folded, folded.strip(_DECORATION), folded.replace(" ", "")):
        for cut in _without_suffixes(base):
            candidates |= {cut, cut.translate(_LOOKALIKES)}
    return any(c in common for c in candidates if c)


def check_new_password(
    password: str, confirmation: str, username: str, common: frozenset[str] | None = None
) -> list[PasswordProblem]:
    """Every problem with a new password, each tied to its field; empty when it is good."""
    problems: list[PasswordProblem] = []
    if not password:
        problems.append(PasswordProblem("password", Problem.MISSING))
    elif len(password) < MIN_LENGTH:
        problems.append(PasswordProblem("password", Problem.TOO_SHORT))
    elif len(password) > MAX_LENGTH:
        problems.append(PasswordProblem("password", Problem.TOO_LONG))
    elif username.strip() and _fold(username.strip()) in _fold(password):
        problems.append(PasswordProblem("password", Problem.CONTAINS_USERNAME))
    elif is_common(password, common):
        problems.append(PasswordProblem("password", Problem.COMMON))
    if password and confirmation != password:
        problems.append(PasswordProblem("password_confirm", Problem.MISMATCH))
    return problems
