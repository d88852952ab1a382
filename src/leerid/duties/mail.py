"""Art. 9: the e-mail to the other party's DPO (and the Department's other notices).

Both parties send through plain SMTP (STARTTLS when set); the password is never written in a
configuration file, only the name of the environment variable that holds it.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from leerid.errors import LeeridError

__all__ = ["MailError", "MailSettings", "send_mail"]


@dataclass(frozen=True)
class MailSettings:
    """Where breach notifications go (art. 9: through the DPOs)."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    sender: str = "dpo@lars.invalid"
    other_party_dpo: str | None = None
    # how the party's configuration names the other DPO's address and the SMTP settings
    dpo_setting: str = "[mail] other_party_dpo"
    smtp_setting: str = "[mail]"

    # the party's settings module reads the variable ``password_env`` names, when it is used
    read_password: Callable[[], str] = field(default=lambda: "", repr=False, compare=False)

    def password(self) -> str:
        """The SMTP password, read from the environment variable the file names (or empty)."""
        return self.read_password()


class MailError(LeeridError):
    """The notification could not be sent; the breach stays recorded and can be re-sent."""


def send_mail(
    mail: MailSettings,
    subject: str,
    body: str,
    to: str | None = None,
    *,
    resend: str = "`leerid sp breaches update ID --notify`",
) -> None:
    """Art. 9: notify the other party's DPO by e-mail (``to``, default ``other_party_dpo``);
    ``resend`` is the command that sends it again once the settings are fixed."""
    to = to or mail.other_party_dpo
    if not to:
        raise MailError(
            f"no {mail.dpo_setting} in the configuration: set the address of the other "
            f"party's DPO, then run {resend}"
        )
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = to
    message["Subject"] = subject
    # RFC 5322 section 3.6: an origination date is required, a Message-ID expected
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=mail.sender.rpartition("@")[2] or None)
    message.set_content(body)
    try:
        with smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=15) as smtp:
            if mail.starttls:
                smtp.starttls()
            if mail.username:
                smtp.login(mail.username, mail.password())
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"cannot send the notification through {mail.smtp_host}:{mail.smtp_port} ({exc}); "
            f"the breach is recorded: fix {mail.smtp_setting} and run {resend}"
        ) from None
