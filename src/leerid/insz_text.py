"""Art. 3: what looks like an INSZ in free text, one rule for the kit and the Department.

A free-text field (a comment, a notice, a pupil's description of an error) never carries a
national register or BIS number: the pupil is named by a key (Leer_id_uuid, Account_uuid).
The kit (``leerid.sp.kit.free_text``) and the provider (data-quality reports, notices, the
pupil's page) refuse such text with this one pattern.
"""

from __future__ import annotations

import re

__all__ = ["INSZ_LIKE", "looks_like_insz"]

INSZ_LIKE = re.compile(r"(?<!\d)\d{2}[.\s-]?\d{2}[.\s-]?\d{2}[.\s-]?\d{3}[.\s-]?\d{2}(?!\d)")
"""11 digits, written together or as YY.MM.DD-SSS.CC with dots, dashes or spaces."""


def looks_like_insz(text: str) -> bool:
    """Whether ``text`` holds something that looks like an INSZ (art. 3: leave it out)."""
    return INSZ_LIKE.search(text) is not None
