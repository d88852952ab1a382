"""Keep the values a database echoes in its errors out of log lines.

PostgreSQL's error messages carry the values they are about: ``DETAIL:  Key (insz)=(…)
already exists``, ``DETAIL:  Failing row contains (…)`` (a whole row: names, an INSZ),
``CONTEXT:  COPY pupil, line 3, column insz: "…"``, ``invalid input syntax for type uuid:
"…"``. SQLAlchemy hides a statement's parameters (``hide_parameters``), not the server's
words, and uvicorn logs an unexpected exception with its message. ``WithholdDatabaseValues``,
on the handlers of the servers' loggers, keeps what went wrong and withholds those values.

No logging library does this for PostgreSQL's messages, so it is written here.
"""

from __future__ import annotations

import logging
import re

__all__ = ["SERVER_LOGGERS", "WithholdDatabaseValues", "install", "withhold"]

WITHHELD = "(withheld: it may hold personal data)"
SERVER_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "leerid")
"""The loggers whose handlers write the servers' lines (root, uvicorn's, ours)."""

# A DETAIL or CONTEXT line names the values (the key, the failing row, the COPY field).
_DETAIL = re.compile(r"^(\s*(?:DETAIL|CONTEXT):\s*).*$", re.MULTILINE)
# The primary message of a value the server could not read quotes that value.
_BAD_INPUT = re.compile(r'(invalid input (?:syntax|value) for [^:\n]*: )"[^\n]*"')


def withhold(text: str) -> str:
    """``text`` with the values of PostgreSQL's error details withheld (privacy: no INSZ,
    name or token in any log line)."""
    if "DETAIL:" not in text and "CONTEXT:" not in text and "invalid input" not in text:
        return text
    return _BAD_INPUT.sub(rf'\1"{WITHHELD}"', _DETAIL.sub(rf"\1{WITHHELD}", text))


class WithholdDatabaseValues(logging.Filter):
    """A handler's filter: the record's message and its exception's text withheld."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = withhold(record.exc_text)
        message = record.getMessage()
        kept = withhold(message)
        if kept != message:
            record.msg, record.args = kept, None
        return True


def install(names: tuple[str, ...] = SERVER_LOGGERS) -> None:
    """The filter on every handler of the loggers ``names`` (once each)."""
    for name in names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, WithholdDatabaseValues) for f in handler.filters):
                handler.addFilter(WithholdDatabaseValues())
