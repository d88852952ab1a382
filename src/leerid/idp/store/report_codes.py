"""Art. 7: the short code of a data-quality report, one identifier on both sides.

The Department assigns it when the report arrives (``DQ-7K3M``) and returns it; LARS shows
it, and the Department's DPO types it in ``leerid reports close``. Four characters of
Crockford's base32 (no I, L, O, U: nothing to misread), longer after repeated clashes.
"""

from __future__ import annotations

import re
import secrets

PREFIX = "DQ-"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MISREAD = str.maketrans({"O": "0", "I": "1", "L": "1"})
_CODE = re.compile(rf"^{PREFIX}[{ALPHABET}]{{4,8}}$")


def new_code(attempt: int = 0) -> str:
    """A random code; from the fourth attempt on, two characters longer (fewer clashes)."""
    length = 4 if attempt < 3 else 6
    while True:  # never "DQ…": typed without its prefix, "DQ1B1S" would read as "DQ-1B1S"
        body = "".join(secrets.choice(ALPHABET) for _ in range(length))
        if not body.startswith("DQ"):
            return PREFIX + body


def normalise_code(text: str) -> str | None:
    """A code as a person may type it (``dq-7k3m``, ``7K3M``, ``DQ 7K3O``) in its stored
    form, or None when it cannot be one."""
    bare = re.sub(r"[\s-]", "", text.upper())
    bare = bare.removeprefix("DQ").translate(_MISREAD)
    code = PREFIX + bare
    return code if _CODE.match(code) else None
