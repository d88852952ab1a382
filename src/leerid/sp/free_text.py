"""Free text typed by staff (a purpose, a report's comment) never carries an INSZ."""

from __future__ import annotations

import re

from leerid.errors import LeeridError

# 11 digits, written together or as YY.MM.DD-SSS.CC with dots, dashes or spaces
_INSZ_LIKE = re.compile(r"(?<!\d)\d{2}[.\s-]?\d{2}[.\s-]?\d{2}[.\s-]?\d{3}[.\s-]?\d{2}(?!\d)")


def refuse_insz(text: str, field: str) -> str:
    """Art. 3: LARS has no decretal basis for the INSZ, so it is never written down here."""
    if _INSZ_LIKE.search(text):
        raise LeeridError(
            f"{field} contains what looks like a national register number; leave it out "
            "(the pupil is identified by the key)"
        )
    return text
