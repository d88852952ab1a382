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

# Art. 6: the privacy log's actions, as the DPO reads them on the page (the code stays in
# the log itself and in `leerid sp log show`)
ACTIONS = {
    "bewaartermijn_verwijdering": "Verwijderd na de bewaartermijn",
    "geschiedenis_overgenomen": "Geschiedenis van het dossier overgenomen na samenvoeging",
    "gebeurtenis_geweigerd": "Bericht van het Departement geweigerd (niet toegepast)",
    "gebeurtenis_ontvangen": "Bericht van het Departement ontvangen",
    "leerlingen_samengevoegd": "Twee leerlingen samengevoegd door het Departement",
    "melding_status": "Antwoord van het Departement op een melding",
    "protocol_beeindigd": "Einde van het protocol ontvangen",
    "protocol_niet_in_de_pas": "Protocol niet in de pas: versie niet overgenomen",
    "protocolversie_ontvangen": "Ondertekende protocolversie ontvangen",
    "verwijderd_bij_departement": "Verwijderd omdat het Departement de account verwijderde",
    "datalek_bijgewerkt": "Gegevenslek bijgewerkt",
    "datalek_gemeld": "Gegevenslek gemeld aan de andere DPO",
    "datalek_geregistreerd": "Gegevenslek geregistreerd",
    "dossier_aangevuld": "Activiteit geregistreerd",
    "identificatie": "Tijdelijke account gekoppeld aan de leerling",
    "inzageverzoek": "Leerling downloadde eigen gegevens",
    "leerling_bekeken": "Leerling bekeken",
    "melding_gegevenskwaliteit": "Foutieve gegevens gemeld",
    "melding_door_leerling": "Leerling meldde zelf foutieve gegevens",
    "overzicht_bekeken": "Lijst van leerlingen bekeken",
    "leerlingen_gezocht": "Leerlingen gezocht (binnen de eigen scholen)",
    "personeel_bijgewerkt": "Medewerker bijgewerkt (functie, scholen of datums)",
    "personeel_toegevoegd": "Medewerker toegevoegd",
    "personeel_uitgeschakeld": "Medewerker uitgeschakeld",
    "personeel_wachtwoord": "Nieuw wachtwoord voor een medewerker",
    "toegang_buiten_scope": "Leerling buiten de eigen scholen geweigerd",
    "toegang_geweigerd": "Toegang geweigerd",
    "dossier_bewaartermijn_verwijdering": "Dossier verwijderd na zijn eigen bewaartermijn",
    "inzage_dpo": "DPO zocht op wie een dossier bekeek (inzageverzoek)",
    "privacylog_export": "DPO exporteerde het privacylog als CSV-bestand (pseudoniemen)",
    "risico_geregistreerd": "Risico met maatregel geregistreerd",
    "doorgifte": "Gegevens doorgegeven aan een vooraf bij het Departement gemelde ontvanger",
    "doorgifte_geweigerd": "Doorgifte aan een ontvanger geweigerd",
    "doorgegeven": "Gegevens van deze leerling doorgegeven aan een gemelde ontvanger",
    "logboek_alarm": "Alarm over het logboek van het Departement (bewijs bewaard)",
}

# Art. 3: the attributes in words a pupil and a CLB counsellor use
ATTRIBUTES = {
    "given_name": "Voornaam",
    "family_name": "Naam",
    "ov_leerid_uuid": "Leerlingensleutel",
    "ov_account_uuid": "Accountnummer",
    "sub": "Aanmeldcode bij LeerID (sub)",  # issue 14: an opaque sub is not the account
    "ov_historiek_account_uuid": "Vorige accountnummers",
    "ov_orgcode": "School (instellingsnummer)",
    "rrn": "Rijksregisternummer",
}

# Art. 7: a report's status on the pages (the Department answers "open" or "gesloten")
REPORT_STATUS = {"niet_verzonden": "nog niet verzonden", "open": "open", "gesloten": "gesloten"}

REPORT_NOT_SENT = (
    "De melding is bewaard, maar het Departement heeft ze niet ontvangen (LeerID was niet "
    "bereikbaar of weigerde ze). Probeer het later opnieuw; blijft het mislukken, verwittig "
    "dan de beheerder van LARS."
)

# GDPR art. 15 for a 12-year-old: the data LARS received, in the pupil's own words
PUPIL_WORDS = {
    "given_name": "je voornaam",
    "family_name": "je familienaam",
    "ov_leerid_uuid": "je leerlingennummer bij LeerID",
    "ov_account_uuid": "je accountnummer bij LeerID",
    "sub": "de code waarmee LeerID je aanmelding aanduidt",  # not always the account (issue 14)
    "ov_historiek_account_uuid": "je vroegere accountnummers bij LeerID",
    "ov_orgcode": "het nummer van je school",
    "rrn": "je rijksregisternummer",
}

# Art. 7: what is wrong with a data item, in words a 12-year-old uses (the protocol's word)
PUPIL_PROBLEMS = {
    "foutief": "Het is fout",
    "onnauwkeurig": "Het is niet helemaal juist",
    "onvolledig": "Er ontbreekt een stukje",
    "ontbrekend": "Het staat er niet",
    "verouderd": "Het was vroeger juist, nu niet meer",
    "overtollig": "Het hoort er niet bij",
}
PUPIL_REPORT_LIMIT = 1000  # characters the pupil may write (the Department takes 2000)
PUPIL_REPORT_EMPTY = "Schrijf kort wat er niet klopt. Zo weet LeerID wat het moet nakijken."
PUPIL_REPORT_TOO_LONG = (
    f"Je uitleg is langer dan {PUPIL_REPORT_LIMIT} tekens. Maak hem korter en verstuur opnieuw."
)
PUPIL_REPORT_INSZ = (
    "In je uitleg staat een nummer dat op een rijksregisternummer lijkt. Laat dat nummer weg "
    "en verstuur opnieuw. LARS mag dat nummer niet bewaren, en LeerID weet al wie je bent."
)
PUPIL_REPORT_SENT = (
    "Je melding heeft de code {code}. LARS stuurde ze meteen naar LeerID (het Departement "
    "Onderwijs en Vorming). Daar kijken ze je gegevens na en verbeteren ze wat fout is. Bij je "
    "volgende aanmelding krijgt LARS dan de juiste gegevens. Op je pagina zie je of je melding "
    "nog open is. Noteer de code als je er later iets over wilt vragen."
)
PUPIL_REPORT_NOT_SENT = (
    "Je melding is bewaard bij LARS, maar LeerID kon ze nu niet ontvangen. Op je pagina staat "
    "ze als 'nog niet verzonden'. De medewerkers van LARS zien ze in hun lijst van meldingen."
)
PUPIL_REPORT_REFUSED = "LeerID nam je melding niet aan: {reason}"
