"""Names as the staff's search compares them (art. 4, second indent: search within the scope).

A search by name ignores case and accents ("celine" finds "Céline"). SQLite and PostgreSQL
fold text differently (and PostgreSQL's ``unaccent`` is an extension), so the kit folds in
Python, once, when the last-login record is written: ``sp_pupil.search_name`` holds the
folded given and family name of the last login (art. 3: overwritten at each login, gone with
the record), and a search is a ``LIKE`` per word in the database.
"""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case- and accent-free: "Céline" and "CELINE" both become "celine"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_key(given: str | None, family: str | None) -> str | None:
    """What ``sp_pupil.search_name`` holds for these names (None without a name)."""
    return fold(f"{given or ''} {family or ''}").strip() or None
