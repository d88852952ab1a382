"""Words on the portal's pages that the code chooses (Dutch, for pupils and CLB staff)."""

from __future__ import annotations

LOGGED_OUT = "Je bent afgemeld. Wil je verder, meld je dan opnieuw aan."
STAFF_LOGGED_OUT = "Je bent afgemeld als medewerker."

# Art. 9: the breach is kept when the e-mail fails; the DPO must still warn the other party.
BREACH_MAIL_FAILED = (
    "{what}, maar de e-mail aan de DPO van de andere partij is niet verstuurd "
    "(de mailserver was niet bereikbaar of weigerde het bericht). Verwittig die DPO zelf, "
    "binnen 72 uur na de vaststelling, en vraag de beheerder de mailinstellingen na te kijken. "
    "Daarna verstuurt een update van dit lek de melding opnieuw."
)
BREACH_NO_DPO_ADDRESS = (
    "{what}, maar er is geen e-mailadres van de DPO van de andere partij ingesteld, dus er is "
    "niets verstuurd. Verwittig die DPO zelf en vraag de beheerder het adres in te stellen."
)
