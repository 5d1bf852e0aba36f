"""The core's outbox channels: ``email`` over SMTP, and file channels for
development (``file``, and ``email``/``sms`` when nothing real is set up).

``CRM_SMTP_URL`` (``smtp://user:pass@host:587``, ``smtps://`` for implicit
TLS) turns on real e-mail; STARTTLS is used whenever the server offers it.
``CRM_SMTP_SENDER`` is the From address. Plugins and integrators add or
replace channels with ``crm_register_outbox_channels`` (an SMS gateway, say).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from urllib.parse import unquote, urlsplit

from crmcore.storage.rows import jsonable

if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.domain.outbox import OutboxMessage

Deliver = Callable[["OutboxMessage"], None]


def file_channel(directory: Path) -> Deliver:
    """One JSON file per message in ``directory``."""

    def deliver(message: "OutboxMessage") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        data = jsonable(dict(vars(message)))
        (directory / f"{message.id:08d}.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")

    return deliver


def smtp_channel(url: str, sender: str) -> Deliver:
    """Send ``message.body`` (and ``payload["html"]`` if present) to
    ``message.recipient`` through the SMTP server at ``url``."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"CRM_SMTP_URL: {url!r} is not smtp:// or smtps://")

    def deliver(message: "OutboxMessage") -> None:
        import smtplib
        from email.message import EmailMessage

        email = EmailMessage()
        email["From"] = message.payload.get("from") or sender
        email["To"] = message.recipient
        email["Subject"] = message.subject or ""
        email["Message-ID"] = f"<crm-outbox-{message.id}@{(sender.split('@') + ['crm'])[1]}>"
        email.set_content(message.body or "")
        if message.payload.get("html"):
            email.add_alternative(message.payload["html"], subtype="html")
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
        client_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
        with client_class(parts.hostname or "localhost", port, timeout=30) as client:
            client.ehlo()
            if parts.scheme == "smtp" and client.has_extn("starttls"):
                import ssl

                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if parts.username:
                client.login(unquote(parts.username), unquote(parts.password or ""))
            client.send_message(email)

    return deliver


def core_channels(crm: "CRM") -> dict[str, Deliver]:
    directory = Path(crm.config.outbox_dir)
    channels: dict[str, Deliver] = {
        "file": file_channel(directory),
        "email": file_channel(directory / "email"),
        "sms": file_channel(directory / "sms"),
    }
    if crm.config.smtp_url:
        channels["email"] = smtp_channel(crm.config.smtp_url, crm.config.smtp_sender)
    from crmcore.webhooks import CHANNEL, webhook_channel

    channels[CHANNEL] = webhook_channel(crm)  # signed HTTP POSTs to webhook subscriptions
    return channels
