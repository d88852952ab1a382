"""Free text that staff or pupils write never carries an INSZ: one check for every field.

Every free-text field of the kit and the portal (the purpose of a view, a dossier entry, a
data-quality report's comment, a breach's description, categories, measures and updates)
goes through :func:`refuse_insz` in the kit function that stores it, so the web form, the
CLI and any other caller get the same rule. The error says in Dutch (for the portal) and in
English (for the CLI) which field holds it and what to do.
"""

from __future__ import annotations

from leerid.duties.breach_register import LABELS as BREACH_FIELDS
from leerid.errors import LeeridError
from leerid.insz_text import looks_like_insz

# field → (Dutch label on the portal, English label in the CLI); the breach register's own
# fields are labelled where the register is (leerid.duties.breach_register)
FIELDS = {
    **BREACH_FIELDS,
    "purpose": ("het doel van de inzage", "the purpose"),
    "dossier": ("de activiteit", "the dossier entry"),
    "comment": ("de toelichting", "the comment"),
    "text": ("de tekst", "--text"),
    "risk": ("het risico", "--risk"),
    "owner": ("de eigenaar", "--owner"),
}


class InszInFreeTextError(LeeridError):
    """A free-text field holds what looks like a national register number (INSZ)."""

    def __init__(self, field: str) -> None:
        dutch, english = FIELDS.get(field, (field, field))
        super().__init__(
            f"{english} contains what looks like a national register number; leave it out "
            "(the pupil is identified by the key)"
        )
        self.field = field
        self.dutch = (
            f"In {dutch} staat iets dat op een rijksregisternummer (INSZ) lijkt. Laat dat "
            "nummer weg en verstuur opnieuw: de leerling is al aangeduid met de sleutel, en "
            "het rijksregisternummer mag hier niet bewaard worden (protocol art. 3)."
        )


def refuse_insz(text: str, field: str) -> str:
    """Art. 3: LARS has no decretal basis for the INSZ, so it is never written down here."""
    if looks_like_insz(text):
        raise InszInFreeTextError(field)
    return text


def dutch_message(exc: LeeridError) -> str:
    """The text of ``exc`` for a Dutch page (the kit's other errors are written for the CLI)."""
    return exc.dutch if isinstance(exc, InszInFreeTextError) else exc.message
