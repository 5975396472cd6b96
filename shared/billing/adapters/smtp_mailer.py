"""SMTP delivery through any relay (STARTTLS, implicit TLS or plain), stdlib smtplib.

Works with SendGrid, Mailgun, SES, Gmail... on any port (587, 465, 25, 2525). Every failure becomes a
`DeliveryFailed` whose `permanent` flag says whether retrying the same message can help; the password
never appears in a repr, a log line or an exception text.
"""

from __future__ import annotations

import base64
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from typing import Mapping

from billing.errors import ConfigurationError, UpstreamError

SECURITY = ("starttls", "ssl", "none")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class DeliveryFailed(UpstreamError):
    """The relay did not take the message; permanent failures will not succeed on retry."""

    def __init__(self, detail: str, permanent: bool):
        super().__init__(detail)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send; the password never appears in repr or errors."""

    host: str
    port: int = 587
    security: str = "starttls"  # "starttls" | "ssl" | "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = ""
    reply_to: str | None = None
    timeout: float = 20.0
    verify_tls: bool = True
    ca_file: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "SmtpConfig | None":
        """SMTP_* variables -> config; None when SMTP_HOST is unset (email off)."""

        def get(name: str) -> str | None:
            value = (env.get(name) or "").strip()
            return value or None

        host = get("SMTP_HOST")
        if not host:
            return None
        security = (get("SMTP_SECURITY") or "starttls").lower()
        if security not in SECURITY:
            raise ConfigurationError(f"SMTP_SECURITY must be one of {', '.join(SECURITY)}, got {security!r}")
        raw_port = get("SMTP_PORT")
        try:
            port = int(raw_port) if raw_port else DEFAULT_PORTS[security]
        except ValueError:
            raise ConfigurationError(f"SMTP_PORT must be an integer, got {raw_port!r}") from None
        if not 0 < port < 65536:
            raise ConfigurationError(f"SMTP_PORT must be between 1 and 65535, got {port}")
        raw_timeout = get("SMTP_TIMEOUT")
        try:
            timeout = float(raw_timeout) if raw_timeout else 20.0
        except ValueError:
            raise ConfigurationError(f"SMTP_TIMEOUT must be a number of seconds, got {raw_timeout!r}") from None
        if not timeout > 0:
            raise ConfigurationError(f"SMTP_TIMEOUT must be positive, got {raw_timeout!r}")
        raw_verify = (get("SMTP_VERIFY_TLS") or "true").lower()
        if raw_verify not in _TRUE + _FALSE:
            raise ConfigurationError(f"SMTP_VERIFY_TLS must be true or false, got {raw_verify!r}")
        sender = get("SMTP_FROM")
        if not sender or not _address(sender):
            raise ConfigurationError(f"SMTP_FROM must be an email address, got {sender!r}")
        reply_to = get("SMTP_REPLY_TO")
        if reply_to and not _address(reply_to):
            raise ConfigurationError(f"SMTP_REPLY_TO must be an email address, got {reply_to!r}")
        username, password = get("SMTP_USERNAME"), env.get("SMTP_PASSWORD") or None
        if username and not password:
            raise ConfigurationError("SMTP_USERNAME is set but SMTP_PASSWORD is empty")
        raw_plain = (get("SMTP_ALLOW_PLAINTEXT_AUTH") or "false").lower()
        if raw_plain not in _TRUE + _FALSE:
            raise ConfigurationError(f"SMTP_ALLOW_PLAINTEXT_AUTH must be true or false, got {raw_plain!r}")
        if security == "none" and username and raw_plain not in _TRUE:
            raise ConfigurationError(
                "SMTP_SECURITY=none with SMTP_USERNAME would send the password in clear: use starttls or ssl, "
                "or set SMTP_ALLOW_PLAINTEXT_AUTH=true for a relay on a trusted network")
        ca_file = get("SMTP_CA_FILE")
        if ca_file and not os.path.isfile(ca_file):
            raise ConfigurationError(f"SMTP_CA_FILE {ca_file!r} is not a readable file")
        return cls(
            host=host, port=port, security=security, username=username, password=password, sender=sender,
            reply_to=reply_to, timeout=timeout, verify_tls=raw_verify in _TRUE, ca_file=ca_file,
        )

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise ConfigurationError(f"SMTP security must be one of {', '.join(SECURITY)}, got {self.security!r}")

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

    def __repr__(self) -> str:
        return f"SmtpMailer({self.config!r})"

    def send(self, message: EmailMessage) -> str:
        """Hand the message to the relay; returns its Message-ID. Raises DeliveryFailed."""
        cfg = self.config
        envelope_from = _address(cfg.sender)
        if not envelope_from:
            raise DeliveryFailed(f"sender {cfg.sender!r} is not an email address", True)
        if "Message-ID" not in message:
            message["Message-ID"] = make_msgid(domain=envelope_from.rpartition("@")[2] or None)
        if "Date" not in message:
            message["Date"] = formatdate(usegmt=True)
        recipients = _recipients(message)
        if not recipients:
            raise DeliveryFailed("the message has no recipients (To/Cc/Bcc are empty)", True)
        try:
            context = cfg.tls_context() if cfg.security != "none" else None
        except (OSError, ValueError) as exc:
            raise DeliveryFailed(f"cannot load TLS settings (SMTP_CA_FILE {cfg.ca_file!r}): {exc}", True) from None

        where = f"{cfg.host}:{cfg.port}"
        stage = "connect"
        try:
            client: smtplib.SMTP
            if cfg.security == "ssl":
                client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
            else:
                client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            try:
                stage = "EHLO"
                client.ehlo()
                if cfg.security == "starttls":
                    stage = "STARTTLS"
                    if not client.has_extn("starttls"):
                        raise DeliveryFailed(f"SMTP server {where} does not offer STARTTLS; "
                                             "set SMTP_SECURITY=ssl or none to match the relay", True)
                    client.starttls(context=context)
                    client.ehlo()
                if cfg.username:
                    stage = "AUTH"
                    client.login(cfg.username, cfg.password or "")
                stage = "send"
                refused = client.send_message(message, from_addr=envelope_from, to_addrs=recipients)
            finally:
                try:
                    client.quit()
                except (smtplib.SMTPException, OSError):
                    client.close()
        except DeliveryFailed:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryFailed(self._scrub(
                f"SMTP authentication failed at {where} for user {cfg.username!r}: "
                f"{exc.smtp_code} {_text(exc.smtp_error)}"), True) from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()] or [550]
            raise DeliveryFailed(self._scrub(f"recipient refused by {where}: {_refusals(exc.recipients)}"),
                                 all(_permanent(c) for c in codes)) from None
        except smtplib.SMTPSenderRefused as exc:
            raise DeliveryFailed(self._scrub(
                f"sender {_text(exc.sender)} refused by {where}: {exc.smtp_code} {_text(exc.smtp_error)}"),
                _permanent(exc.smtp_code)) from None
        except smtplib.SMTPDataError as exc:
            raise DeliveryFailed(self._scrub(
                f"message rejected by {where}: {exc.smtp_code} {_text(exc.smtp_error)}"),
                _permanent(exc.smtp_code)) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(self._scrub(
                f"SMTP server {where} answered {exc.smtp_code} {_text(exc.smtp_error)} during {stage}"),
                _permanent(exc.smtp_code)) from None
        except smtplib.SMTPNotSupportedError as exc:
            if stage == "AUTH":
                detail = (f"SMTP server {where} does not offer AUTH on this connection; check SMTP_SECURITY "
                          "(most relays offer AUTH only after STARTTLS) or unset SMTP_USERNAME")
            else:
                detail = f"SMTP server {where} does not support what {stage} needs: {exc}"
            raise DeliveryFailed(self._scrub(detail), True) from None
        except smtplib.SMTPServerDisconnected as exc:
            if "timed out" in str(exc):  # smtplib turns a read timeout into a disconnect
                raise DeliveryFailed(f"SMTP server {where} timed out during {stage} (after {cfg.timeout:g} s)"
                                     f"{_security_hint(cfg, stage)}", False) from None
            raise DeliveryFailed(self._scrub(
                f"SMTP server {where} closed the connection during {stage}: {exc}"), False) from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryFailed(
                f"could not verify the TLS certificate of SMTP server {where}: {exc.verify_message or exc} "
                "(set SMTP_CA_FILE, or SMTP_VERIFY_TLS=false for a trusted private relay)", True) from None
        except TimeoutError:
            raise DeliveryFailed(f"SMTP server {where} timed out during {stage} "
                                 f"(after {cfg.timeout:g} s){_security_hint(cfg, stage)}", False) from None
        except UnicodeError:
            raise DeliveryFailed(f"non-ASCII SMTP credentials or addresses are not accepted by {where}", True) from None
        except (smtplib.SMTPException, OSError) as exc:
            if stage == "connect":
                detail = f"could not reach SMTP server {where}: {type(exc).__name__}: {exc}"
            else:
                detail = f"SMTP error with {where} during {stage}: {type(exc).__name__}: {exc}"
            if isinstance(exc, ssl.SSLError):
                detail += _security_hint(cfg, "connect")
            raise DeliveryFailed(self._scrub(detail), False) from None
        if refused:
            raise DeliveryFailed(self._scrub(
                f"some recipients were refused by {where}, message not delivered to them: {_refusals(refused)}"), True)
        return str(message["Message-ID"])

    def _scrub(self, text: str) -> str:
        """Belt and braces: a server that echoes credentials must not leak them into our errors/logs."""
        secret = self.config.password
        if not secret:
            return text
        forms = {secret, base64.b64encode(secret.encode("utf-8", "replace")).decode()}
        user = self.config.username or ""
        forms.add(base64.b64encode(f"\0{user}\0{secret}".encode("utf-8", "replace")).decode())
        for form in sorted(forms, key=len, reverse=True):
            if form:
                text = text.replace(form, "***")
        return text


def _security_hint(cfg: SmtpConfig, stage: str) -> str:
    """A TLS mode that does not match the port shows up as a hang or a handshake error: say so."""
    if stage not in ("connect", "EHLO"):
        return ""
    if cfg.security != "ssl" and cfg.port == 465:
        return " (port 465 usually needs SMTP_SECURITY=ssl)"
    if cfg.security == "ssl" and cfg.port != 465:
        return f" (port {cfg.port} usually needs SMTP_SECURITY=starttls; ssl is implicit TLS, as on port 465)"
    return ""


def _address(value: str | None) -> str:
    """'Name <a@b.example>' or 'a@b.example' -> 'a@b.example'; '' when it is not an address."""
    if not value or "\n" in value or "\r" in value:
        return ""
    _, addr = parseaddr(value)
    local, at, domain = addr.rpartition("@")
    return addr if at and local and domain and " " not in addr else ""


def _recipients(message: EmailMessage) -> list[str]:
    """Envelope recipients from To, Cc and Bcc (send_message strips Bcc from what it sends)."""
    headers = [str(v) for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    seen: list[str] = []
    for _, addr in getaddresses(headers):
        if addr and addr not in seen:
            seen.append(addr)
    return seen


def _refusals(refused: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in refused.items())


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _permanent(code: int) -> bool:
    return 500 <= code < 600
