"""The INSZ: a Belgian national register number or BIS number, and the birth date it encodes.

``YYMMDD SSS CC``: ``CC = 97 - (YYMMDDSSS mod 97)``, with ``2`` put before the nine digits
for people born in 2000 or later. BIS numbers add 20 or 40 to the month; month and day may
be ``00`` when unknown. ``stdnum.be.ssn`` is the reference: this module gives the same
answers (a property test checks it on many numbers) in about a tenth of the time, which
matters when 1.2 million registrations are checked at every import.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["InszCheck", "check_insz", "compact_insz", "insz_check_digits"]

_UNKNOWN_DATE = frozenset({"000001", "002001", "004001"})
_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_SEPARATORS = str.maketrans("", "", " -.")


class InszCheck:
    """The outcome of checking one INSZ: valid or not, and the birth date it encodes."""

    __slots__ = ("birth_date", "valid", "year")

    def __init__(self, valid: bool, year: int | None = None, birth_date: dt.date | None = None):
        self.valid = valid
        self.year = year
        self.birth_date = birth_date  # set only when the number encodes a full date


_INVALID = InszCheck(False)


def compact_insz(value: str) -> str:
    """The INSZ without the usual separators (spaces, dots, dashes) and surrounding space."""
    return value.translate(_SEPARATORS).strip()


def insz_check_digits(first_nine: str, born_2000_or_later: bool) -> str:
    """The two check digits of an INSZ whose first nine digits are ``first_nine``."""
    base = int(("2" if born_2000_or_later else "") + first_nine)
    return f"{97 - base % 97:02d}"


def check_insz(number: str, today: dt.date | None = None) -> InszCheck:
    """Check an 11-digit INSZ (national register or BIS number) as ``stdnum.be.ssn`` does.

    The 2000+ rule is tried only for years not in the future (as stdnum does); a BIS number
    has month 20..32 or 40..52; a national register number 00..12.
    """
    if len(number) != 11 or not number.isdigit() or not number.isascii() or int(number) <= 0:
        return _INVALID
    nine = int(number[:9])
    check = int(number[9:])
    if 97 - nine % 97 == check:
        century = 1900
    elif (
        int(number[:2]) + 2000 <= (today or dt.date.today()).year
        and 97 - (2_000_000_000 + nine) % 97 == check
    ):
        century = 2000
    else:
        return _INVALID
    encoded_month = int(number[2:4])
    if not (encoded_month <= 12 or 20 <= encoded_month <= 32 or 40 <= encoded_month <= 52):
        return _INVALID
    if number[:6] in _UNKNOWN_DATE:
        return InszCheck(True)
    year = int(number[:2]) + century
    month = encoded_month % 20
    day = int(number[4:6])
    last_day = _DAYS_IN_MONTH[month] if month else 0
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        last_day = 29
    if month == 0 or day == 0 or day > last_day:
        return InszCheck(True, year)
    return InszCheck(True, year, dt.date(year, month, day))
