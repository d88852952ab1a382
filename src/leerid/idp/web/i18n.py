"""The texts of the pages: Dutch by default, English with ``ui_locales=en`` (OIDC Core §3.1.2.1)."""

from __future__ import annotations

__all__ = ["TEXTS", "choose_language"]

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "skip_to_content": "Naar de inhoud",
        "footer": "LeerID — aanmelden voor leerlingen van het Vlaamse onderwijs",
        "login_title": "Aanmelden met LeerID",
        "login_intro": "Meld je aan om verder te gaan naar {client}.",
        "username": "Gebruikersnaam",
        "username_hint": "Die kreeg je van je school.",
        "password": "Wachtwoord",
        "submit": "Aanmelden",
        "first_login": "Eerste keer? Kies je wachtwoord met de activatiecode van je school.",
        "error_summary": "Er ging iets mis",
        "error_credentials": "Deze combinatie van gebruikersnaam en wachtwoord klopt niet. "
        "Controleer ze en probeer opnieuw.",
        "error_username_missing": "Vul je gebruikersnaam in.",
        "error_password_missing": "Vul je wachtwoord in.",
        "error_throttled": "Te veel mislukte pogingen. Probeer opnieuw na {time}.",
        "error_title": "Aanmelden kan nu niet",
        "error_unavailable": "LeerID is even niet bereikbaar. Wacht een minuutje en probeer "
        "dan opnieuw.",
        "error_expired": "Deze aanmeldpagina is verlopen. Ga terug naar de toepassing en "
        "probeer opnieuw.",
        "error_csrf": "Deze aanmeldpagina hoort niet bij deze browser. Ga terug naar de "
        "toepassing en probeer opnieuw.",
        "error_unknown_client": "De toepassing die je hierheen stuurde is niet bekend bij "
        "LeerID. Meld dit aan de toepassing.",
        "error_redirect_uri": "De toepassing vraagt een terugkeeradres dat niet bij LeerID "
        "is geregistreerd. Meld dit aan de toepassing.",
        "error_protocol": "LeerID mag geen gegevens aan {client} doorgeven: het protocol "
        "met deze toepassing is {status}.",
        "error_bad_request": "Het verzoek van de toepassing is ongeldig: {detail}",
        "error_parameter": "Deze aanvraag kan LeerID niet lezen: {name} {reason}. Ga terug "
        "naar de toepassing en probeer opnieuw; lukt het weer niet, meld het dan aan de "
        "toepassing.",
        "error_form_too_large": "Wat je verstuurde is te groot. Ga terug en probeer opnieuw "
        "met een kortere tekst.",
        "reason_control": "bevat een teken dat niet toegelaten is",
        "reason_too_long": "is langer dan {limit} tekens",
        "reason_not_vschar": "bevat een teken dat niet toegelaten is",
        "reason_not_utf8": "is geen geldige tekst (UTF-8)",
        "reason_malformed": "is onleesbaar",
        "reason_too_many": "heeft meer dan {limit} velden",
        "logged_out_title": "Je bent afgemeld",
        "logged_out_text": "Je bent afgemeld bij LeerID. Je mag dit venster sluiten.",
        "logout_error": "Dit afmeldverzoek is ongeldig: {detail}",
        "logout_confirm_title": "Afmelden bij LeerID?",
        "logout_confirm_text": "Een toepassing vraagt om je af te melden bij LeerID. Wil je "
        "afmelden?",
        "logout_confirm_button": "Ja, afmelden",
        "status_not_stored": "niet geregistreerd",
        "status_draft": "nog een ontwerp",
        "status_advised": "nog niet ondertekend",
        "status_signed": "nog niet door beide partijen ondertekend",
        "status_terminated": "beëindigd",
        "status_ended": "afgelopen",
    },
    "en": {
        "skip_to_content": "Skip to content",
        "footer": "LeerID — sign-in for pupils of Flemish education",
        "login_title": "Sign in with LeerID",
        "login_intro": "Sign in to continue to {client}.",
        "username": "Username",
        "username_hint": "You received it from your school.",
        "password": "Password",
        "submit": "Sign in",
        "first_login": "First time? Choose your password with the activation code from your "
        "school.",
        "error_summary": "Something went wrong",
        "error_credentials": "This username and password do not match. Check them and try again.",
        "error_username_missing": "Enter your username.",
        "error_password_missing": "Enter your password.",
        "error_throttled": "Too many failed attempts. Try again after {time}.",
        "error_title": "Signing in is not possible now",
        "error_unavailable": "LeerID cannot be reached for a moment. Wait a minute, then try "
        "again.",
        "error_expired": "This sign-in page has expired. Go back to the application and try again.",
        "error_csrf": "This sign-in page does not belong to this browser. Go back to the "
        "application and try again.",
        "error_unknown_client": "The application that sent you here is not known to LeerID. "
        "Please tell the application.",
        "error_redirect_uri": "The application asks for a return address that is not "
        "registered with LeerID. Please tell the application.",
        "error_protocol": "LeerID may not pass data to {client}: the protocol with this "
        "application is {status}.",
        "error_bad_request": "The application's request is invalid: {detail}",
        "error_parameter": "LeerID cannot read this request: {name} {reason}. Go back to the "
        "application and try again; if it fails again, please tell the application.",
        "error_form_too_large": "What you sent is too large. Go back and try again with a "
        "shorter text.",
        "reason_control": "contains a character that is not allowed",
        "reason_too_long": "is longer than {limit} characters",
        "reason_not_vschar": "contains a character that is not allowed",
        "reason_not_utf8": "is not valid text (UTF-8)",
        "reason_malformed": "cannot be read",
        "reason_too_many": "has more than {limit} fields",
        "logged_out_title": "You are signed out",
        "logged_out_text": "You are signed out of LeerID. You may close this window.",
        "logout_error": "This sign-out request is invalid: {detail}",
        "logout_confirm_title": "Sign out of LeerID?",
        "logout_confirm_text": "An application asks to sign you out of LeerID. Do you want "
        "to sign out?",
        "logout_confirm_button": "Yes, sign out",
        "status_not_stored": "not registered",
        "status_draft": "still a draft",
        "status_advised": "not signed yet",
        "status_signed": "not yet signed by both parties",
        "status_terminated": "terminated",
        "status_ended": "ended",
    },
}


def choose_language(ui_locales: str | None) -> str:
    """The first of the space-separated ``ui_locales`` we speak; Dutch otherwise."""
    for tag in (ui_locales or "").split():
        base = tag.split("-")[0].lower()
        if base in TEXTS:
            return base
    return "nl"
