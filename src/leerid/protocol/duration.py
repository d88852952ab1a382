"""ISO 8601 durations (``P3Y``) as calendar values, for the retention periods of art. 3.

A retention period of three years ends on the same calendar day three years later, not after
``3 * 365`` days: years and months are kept apart from days and added on the calendar.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_PATTERN = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
PATTERN_TEXT = _PATTERN.pattern


@dataclass(frozen=True)
class IsoDuration:
    """A non-negative ISO 8601 duration with calendar parts (years, months) kept apart."""

    years: int = 0
    months: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, text: str) -> IsoDuration:
        """Parse ``P3Y``, ``P18M``, ``P2W``, ``P1DT12H``; raise ``ValueError`` otherwise."""
        match = _PATTERN.match(text.strip())
        if match is None:
            raise ValueError(
                f"{text!r} is not an ISO 8601 duration; write for example P3Y (3 years), "
                "P6M (6 months) or P30D (30 days)"
            )
        parts = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
        return cls(
            years=parts["years"],
            months=parts["months"],
            days=parts["days"] + 7 * parts["weeks"],
            hours=parts["hours"],
            minutes=parts["minutes"],
            seconds=parts["seconds"],
        )

    def __str__(self) -> str:
        date = "".join(
            f"{v}{u}" for v, u in ((self.years, "Y"), (self.months, "M"), (self.days, "D")) if v
        )
        time = "".join(
            f"{v}{u}" for v, u in ((self.hours, "H"), (self.minutes, "M"), (self.seconds, "S")) if v
        )
        text = "P" + date + (f"T{time}" if time else "")
        return text if text != "P" else "P0D"

    def after(self, moment: dt.datetime) -> dt.datetime:
        """The moment this duration after ``moment``, adding years and months on the calendar.

        A day that does not exist in the target month (29 February) becomes its last day.
        """
        return self._shift(moment, 1)

    def before(self, moment: dt.datetime) -> dt.datetime:
        """The moment this duration before ``moment`` (the cut-off for a retention sweep)."""
        return self._shift(moment, -1)

    def _shift(self, moment: dt.datetime, sign: int) -> dt.datetime:
        month_index = moment.month - 1 + sign * (self.months + 12 * self.years)
        year = moment.year + month_index // 12
        month = month_index % 12 + 1
        day = min(moment.day, calendar.monthrange(year, month)[1])
        shifted = moment.replace(year=year, month=month, day=day)
        return shifted + sign * dt.timedelta(
            days=self.days, hours=self.hours, minutes=self.minutes, seconds=self.seconds
        )

    def dutch(self) -> str:
        """The duration in Dutch words (``3 jaar``, ``6 maanden``) for the rendered text."""
        words = []
        for value, one, many in (
            (self.years, "jaar", "jaar"),
            (self.months, "maand", "maanden"),
            (self.days, "dag", "dagen"),
            (self.hours, "uur", "uur"),
            (self.minutes, "minuut", "minuten"),
            (self.seconds, "seconde", "seconden"),
        ):
            if value:
                words.append(f"{value} {one if value == 1 else many}")
        return " en ".join(words) if words else "0 dagen"


def _coerce(value: Any) -> Any:
    if isinstance(value, IsoDuration):
        return value
    if isinstance(value, str):
        return IsoDuration.parse(value)
    raise ValueError("expected an ISO 8601 duration as text, for example P3Y")


Duration = Annotated[
    IsoDuration,
    BeforeValidator(_coerce),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": PATTERN_TEXT, "examples": ["P3Y"]}),
]
"""A pydantic field type: ISO 8601 text in the file, an ``IsoDuration`` in the model."""
