"""SMTP delivery through any relay (STARTTLS, implicit TLS or plain), stdlib smtplib."""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Mapping

from billing.errors import BillingError, ConfigurationError

SECURITY = ("starttls", "ssl", "none")


class DeliveryFailed(BillingError):
    """The relay did not take the message; permanent failures will not succeed on retry."""

    http_status = 502

    def __init__(self, detail: str, permanent: bool):
        super().__init__(detail)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send; the password never appears in repr or errors."""

    host: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = ""
    reply_to: str | None = None
    timeout: float = 20.0
    verify_tls: bool = True
    ca_file: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "SmtpConfig | None":
        host = env.get("SMTP_HOST")
        if not host:
            return None
        security = env.get("SMTP_SECURITY", "starttls").lower()
        if security not in SECURITY:
            raise ConfigurationError(f"SMTP_SECURITY must be one of {', '.join(SECURITY)}, got {security!r}")
        default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
        try:
            port = int(env.get("SMTP_PORT") or default_port)
            timeout = float(env.get("SMTP_TIMEOUT") or 20)
        except ValueError:
            raise ConfigurationError("SMTP_PORT must be an integer and SMTP_TIMEOUT a number") from None
        sender = env.get("SMTP_FROM", "")
        if "@" not in sender:
            raise ConfigurationError(f"SMTP_FROM must be an email address, got {sender!r}")
        return cls(
            host=host, port=port, security=security, username=env.get("SMTP_USERNAME") or None,
            password=env.get("SMTP_PASSWORD") or None, sender=sender, reply_to=env.get("SMTP_REPLY_TO") or None,
            timeout=timeout, verify_tls=env.get("SMTP_VERIFY_TLS", "true").lower() not in ("0", "false", "no"),
            ca_file=env.get("SMTP_CA_FILE") or None,
        )

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


class SmtpMailer:
    """Sends one message per connection (monthly volumes are small); always closes it."""

    def __init__(self, config: SmtpConfig):
        self.config = config

    def send(self, message: EmailMessage) -> str:
        cfg = self.config
        if "Message-ID" not in message:
            message["Message-ID"] = make_msgid(domain=cfg.sender.rsplit("@", 1)[-1] or None)
        recipients = [a.strip() for a in (message.get_all("To", []) + message.get_all("Cc", [])) if a.strip()]
        try:
            if cfg.security == "ssl":
                client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=cfg.tls_context())
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            try:
                client.ehlo()
                if cfg.security == "starttls":
                    client.starttls(context=cfg.tls_context())
                    client.ehlo()
                if cfg.username:
                    client.login(cfg.username, cfg.password or "")
                refused = client.send_message(message, from_addr=cfg.sender, to_addrs=recipients)
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(f"SMTP authentication failed for user {cfg.username!r}: {exc.smtp_code}", True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            detail = "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in exc.recipients.items())
            raise DeliveryFailed(f"recipient refused: {detail}", _permanent(min(c for c, _ in exc.recipients.values()))) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP server answered {exc.smtp_code} {_text(exc.smtp_error)}", _permanent(exc.smtp_code)) from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, socket.timeout, ConnectionError, OSError) as exc:
            raise DeliveryFailed(f"could not reach SMTP server {cfg.host}:{cfg.port}: {type(exc).__name__}: {exc}", False) from None
        except smtplib.SMTPException as exc:
            raise DeliveryFailed(f"SMTP error: {type(exc).__name__}", False) from None
        if refused:
            detail = "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in refused.items())
            raise DeliveryFailed(f"some recipients were refused: {detail}", True)
        return message["Message-ID"]


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _permanent(code: int) -> bool:
    return 500 <= code < 600
