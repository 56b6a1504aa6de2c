"""Sending one e-mail through the configured SMTP server (``smtp_*`` settings)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from territoria.errors import DeliveryFailed
from territoria.settings import Settings

__all__ = ["build_email", "send_email"]


def build_email(
    settings: Settings, *, to: str, subject: str, text: str, html: str | None
) -> EmailMessage:
    """Return the message: plain text, and HTML as its alternative when given, with a
    ``Message-ID`` in the sender's domain and a ``Date``."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    # a title with a line break would be a header injection: e-mail headers are one line
    message["Subject"] = " ".join(subject.split())
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = settings.smtp_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


def send_email(
    settings: Settings, *, to: str, subject: str, text: str, html: str | None = None
) -> None:
    """Send one e-mail.

    Raises
    ------
    DeliveryFailed
        ``permanent`` when the server refuses the message or the address for good (5xx
        reply), not when it cannot be reached, times out or answers "try later" (4xx).
    """
    message = build_email(settings, to=to, subject=subject, text=text, html=html)
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    where = f"le serveur SMTP {host}:{port}"
    try:
        client: smtplib.SMTP
        if settings.smtp_ssl:
            client = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            client.ehlo()
            secure = settings.smtp_ssl
            if settings.smtp_starttls and not secure and client.has_extn("starttls"):
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
                secure = True
            if settings.smtp_user and not secure:  # never a password in clear
                raise DeliveryFailed(
                    f"{where} n'offre ni STARTTLS ni SSL : l'identifiant n'est pas envoyé en "
                    "clair (réglez TERRITORIA_SMTP_SSL, ou un serveur avec STARTTLS)",
                    permanent=False,
                )
            if settings.smtp_user:
                client.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        code = codes[0] if codes else None
        raise DeliveryFailed(
            f"{where} a refusé l'adresse {to!r} : {exc.recipients}",
            permanent=bool(code and code >= 500),
            status=code,
        ) from None
    except smtplib.SMTPAuthenticationError as exc:  # the settings are wrong: fixable, retry
        raise DeliveryFailed(
            f"{where} a refusé l'identifiant {settings.smtp_user!r} ({exc.smtp_code}) : "
            "vérifiez TERRITORIA_SMTP_USER et TERRITORIA_SMTP_PASSWORD",
            permanent=False,
            status=exc.smtp_code,
        ) from None
    except smtplib.SMTPResponseException as exc:
        text_reply = (
            exc.smtp_error.decode(errors="replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        raise DeliveryFailed(
            f"{where} a répondu {exc.smtp_code} {text_reply}",
            permanent=exc.smtp_code >= 500,
            status=exc.smtp_code,
        ) from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, unreachable, timed out, TLS
        raise DeliveryFailed(
            f"{where} est injoignable : {type(exc).__name__} : {exc}", permanent=False
        ) from None
