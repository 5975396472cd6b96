"""SmtpMailer against a real SMTP server (aiosmtpd) on loopback: plain, STARTTLS, implicit TLS, AUTH,
and every way delivery can fail. No network beyond 127.0.0.1; the whole file runs in a few seconds."""

from __future__ import annotations

import socket
import ssl
import threading
import uuid
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from billing.adapters.email_message import build_invoice_email
from billing.adapters.smtp_mailer import DeliveryFailed, SmtpConfig, SmtpMailer
from billing.errors import ConfigurationError

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
USER = "billing-relay"
PASSWORD = "pw-" + uuid.uuid4().hex[:10]
WRONG = "not-the-password-" + uuid.uuid4().hex[:6]
SENDER = "invoices@voxa.example"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
CSV = b"callId,durationSeconds\nc1,61\nc2,0\n"
INVOICE = {
    "invoiceNumber": "VD/25-26/00001", "invoiceDate": "2025-10-01", "dueDate": "2025-10-08",
    "companyId": "vysedeck",
    "billingPeriod": {"startDate": "2025-09-01T00:00:00", "endDate": "2025-09-30T23:59:59",
                      "month": "2025-09", "timezone": "Asia/Kolkata"},
    "supplier": {"legalName": "Voxa AI Private Limited", "supportEmail": "billing@voxa.example",
                 "bank": {"accountName": "Voxa AI Private Limited", "ifsc": "EXMP0000001", "upiId": "voxa@exmp"}},
    "recipient": {"legalName": "Vysedeck Technologies Private Limited", "billingEmail": "accounts@vysedeck.example"},
    "subtotal": 1524.0, "gstAmount": 274.32, "totalAmount": 1798.32,
    "amountInWords": "Indian Rupees One Thousand Seven Hundred Ninety Eight and Thirty Two Paise Only",
    "usageData": {"totalCalls": 13, "totalBilledMinutes": 12},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd handler: records envelopes; can refuse recipients or the message."""

    def __init__(self):
        self.envelopes: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {}  # address -> SMTP reply
        self.data_reply: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def parsed(self, index: int = -1):
        return message_from_bytes(self.envelopes[index][2], policy=default)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
          and auth_data.password == PASSWORD.encode())
    if ok:
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")


def start(inbox: Inbox, **kwargs) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=5, **kwargs)
    controller.start()
    return controller, port


@pytest.fixture
def plain_server():
    """Plain SMTP, no TLS, no AUTH (a local relay on a random port)."""
    inbox = Inbox()
    controller, port = start(inbox)
    yield inbox, port
    controller.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A throwaway self-signed certificate for 127.0.0.1, made at test time."""
    from tls_support import self_signed_certificate

    cert_path, key_path = self_signed_certificate(tmp_path_factory.mktemp("smtp-tls"))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    return cert_path, server_context


@pytest.fixture(params=["PLAIN", "LOGIN"])
def starttls_server(request, certificate):
    """STARTTLS required before anything else; AUTH (one mechanism) only offered over TLS."""
    inbox = Inbox()
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[request.param]
    controller, port = start(inbox, tls_context=certificate[1], require_starttls=True, authenticator=authenticator,
                             auth_require_tls=True, auth_required=True, auth_exclude_mechanism=[other])
    yield inbox, port
    controller.stop()


@pytest.fixture
def ssl_server(certificate):
    """Implicit TLS from the first byte (the port-465 style), AUTH PLAIN."""
    inbox = Inbox()
    controller, port = start(inbox, ssl_context=certificate[1], authenticator=authenticator,
                             auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    yield inbox, port
    controller.stop()


def config(port: int, security: str = "none", **kwargs) -> SmtpConfig:
    kwargs.setdefault("sender", SENDER)
    kwargs.setdefault("timeout", 5)
    return SmtpConfig(host="127.0.0.1", port=port, security=security, **kwargs)


def simple(to: str = "ops@example.com", **headers) -> EmailMessage:
    msg = EmailMessage()
    msg["To"], msg["Subject"] = to, "check"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("hello")
    return msg


def invoice_email() -> EmailMessage:
    return build_invoice_email(INVOICE, pdf_bytes=PDF, csv_bytes=CSV, links={"pdf": "https://files.example/x.pdf"},
                               settings={}, sender=SENDER, templates_dir=TEMPLATES)


# --- delivery ---------------------------------------------------------------------------------------


def test_plain_delivery_of_the_invoice_email(plain_server):
    inbox, port = plain_server
    message_id = SmtpMailer(config(port)).send(invoice_email())

    [(mail_from, rcpt_tos, _)] = inbox.envelopes
    assert mail_from == SENDER and rcpt_tos == ["accounts@vysedeck.example"]
    msg = inbox.parsed()
    assert msg["Message-ID"] == message_id and message_id.endswith("@voxa.example>")
    assert msg["Subject"] == "Tax invoice VD/25-26/00001 from Voxa AI Private Limited for September 2025 (₹ 1,798.32)"
    assert msg["Date"] is not None
    text, html = msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()
    for body in (text, html):
        assert "VD/25-26/00001" in body and "₹ 1,798.32" in body and "08 Oct 2025" in body and "EXMP0000001" in body
    files = {part.get_filename(): part for part in msg.iter_attachments()}
    pdf = files["VD-25-26-00001_vysedeck_2025-09_invoice.pdf"]
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content() == PDF
    csv = files["VD-25-26-00001_vysedeck_2025-09_calls.csv"]
    assert csv.get_content_type() == "text/csv" and csv.get_payload(decode=True) == CSV


def test_an_existing_message_id_is_kept(plain_server):
    inbox, port = plain_server
    msg = simple(Message_ID="<fixed-123@voxa.example>")
    assert SmtpMailer(config(port)).send(msg) == "<fixed-123@voxa.example>"
    assert inbox.parsed()["Message-ID"] == "<fixed-123@voxa.example>"


def test_cc_and_bcc_are_envelope_recipients_and_bcc_is_not_disclosed(plain_server):
    inbox, port = plain_server
    msg = simple("Accounts <a@example.com>, b@example.com", Cc="c@example.com", Bcc="audit@voxa.example")
    SmtpMailer(config(port, sender="Voxa Billing <invoices@voxa.example>")).send(msg)
    [(mail_from, rcpt_tos, raw)] = inbox.envelopes
    assert mail_from == SENDER
    assert rcpt_tos == ["a@example.com", "b@example.com", "c@example.com", "audit@voxa.example"]
    assert b"audit@voxa.example" not in raw


def test_starttls_with_auth(starttls_server, certificate):
    inbox, port = starttls_server
    mailer = SmtpMailer(config(port, "starttls", username=USER, password=PASSWORD, ca_file=str(certificate[0])))
    message_id = mailer.send(invoice_email())
    assert len(inbox.envelopes) == 1 and inbox.parsed()["Message-ID"] == message_id
    assert [p.get_content() for p in inbox.parsed().iter_attachments()][0] == PDF


def test_starttls_without_verification(starttls_server):
    inbox, port = starttls_server
    SmtpMailer(config(port, "starttls", username=USER, password=PASSWORD, verify_tls=False)).send(simple())
    assert len(inbox.envelopes) == 1


def test_starttls_refuses_an_untrusted_certificate(starttls_server):
    inbox, port = starttls_server
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(port, "starttls", username=USER, password=PASSWORD)).send(simple())
    assert "certificate" in str(err.value) and PASSWORD not in str(err.value)
    assert inbox.envelopes == []


def test_starttls_wrong_password_is_permanent_and_not_echoed(starttls_server, certificate):
    inbox, port = starttls_server
    mailer = SmtpMailer(config(port, "starttls", username=USER, password=WRONG, ca_file=str(certificate[0])))
    with pytest.raises(DeliveryFailed) as err:
        mailer.send(simple())
    assert err.value.permanent is True
    assert "535" in str(err.value) and USER in str(err.value)
    assert WRONG not in str(err.value) and WRONG not in repr(err.value) and WRONG not in repr(mailer)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert inbox.envelopes == []


def test_credentials_are_never_sent_before_tls(starttls_server):
    """A client configured for plain SMTP against a STARTTLS-only server must fail, not leak the password."""
    inbox, port = starttls_server
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(port, "none", username=USER, password=PASSWORD)).send(simple())
    assert err.value.permanent is True and PASSWORD not in str(err.value)
    assert inbox.envelopes == []


def test_implicit_tls_with_auth(ssl_server, certificate):
    inbox, port = ssl_server
    SmtpMailer(config(port, "ssl", username=USER, password=PASSWORD, ca_file=str(certificate[0]))).send(simple())
    assert len(inbox.envelopes) == 1


def test_implicit_tls_wrong_password(ssl_server, certificate):
    inbox, port = ssl_server
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(port, "ssl", username=USER, password=WRONG, ca_file=str(certificate[0]))).send(simple())
    assert err.value.permanent is True and WRONG not in str(err.value)


# --- failures ---------------------------------------------------------------------------------------


def test_server_down_is_not_permanent():
    port = free_port()  # nobody listens
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(port, username=USER, password=PASSWORD)).send(simple())
    assert err.value.permanent is False
    assert f"could not reach SMTP server 127.0.0.1:{port}" in str(err.value) and PASSWORD not in str(err.value)


def test_rejected_recipient_is_permanent(plain_server):
    inbox, port = plain_server
    inbox.refuse["ops@example.com"] = "550 5.1.1 <ops@example.com>: mailbox unavailable"
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(port)).send(simple())
    assert err.value.permanent is True
    assert "550" in str(err.value) and "mailbox unavailable" in str(err.value) and "ops@example.com" in str(err.value)
    assert inbox.envelopes == []


def test_temporarily_refused_recipient_is_not_permanent(plain_server):
    inbox, port = plain_server
    inbox.refuse["ops@example.com"] = "450 4.2.1 mailbox busy, try later"
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(port)).send(simple())
    assert err.value.permanent is False and "450" in str(err.value)


def test_some_recipients_refused_is_a_permanent_failure_naming_them(plain_server):
    inbox, port = plain_server
    inbox.refuse["gone@example.com"] = "550 5.1.1 no such user"
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(port)).send(simple("ops@example.com, gone@example.com"))
    assert err.value.permanent is True
    assert "gone@example.com" in str(err.value) and "ops@example.com" not in str(err.value)


@pytest.mark.parametrize("reply, permanent", [("554 5.7.1 message rejected as spam", True),
                                              ("451 4.3.0 local error, try again", False)])
def test_message_rejected_at_data(plain_server, reply, permanent):
    inbox, port = plain_server
    inbox.data_reply = reply
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(port)).send(simple())
    assert err.value.permanent is permanent and reply.split()[0] in str(err.value)


class RawServer:
    """A TCP server that greets (or not) and then misbehaves: for disconnects and timeouts."""

    def __init__(self, greeting: bytes | None):
        self.greeting = greeting
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        self.conns.append(conn)
        if self.greeting is not None:
            conn.sendall(self.greeting)
            conn.recv(1024)  # the EHLO
            conn.close()  # hang up mid-conversation

    def close(self):
        for conn in self.conns:
            conn.close()
        self.sock.close()


def test_disconnect_mid_conversation_is_not_permanent():
    server = RawServer(b"220 flaky.example ESMTP\r\n")
    try:
        with pytest.raises(DeliveryFailed) as err:
            SmtpMailer(config(server.port)).send(simple())
    finally:
        server.close()
    assert err.value.permanent is False


def test_silent_server_times_out_and_is_not_permanent():
    server = RawServer(None)  # accepts, never greets
    try:
        with pytest.raises(DeliveryFailed) as err:
            SmtpMailer(SmtpConfig("127.0.0.1", server.port, "none", sender=SENDER, timeout=0.5)).send(simple())
    finally:
        server.close()
    assert err.value.permanent is False and "timed out" in str(err.value)


def test_starttls_not_offered_is_permanent(plain_server):
    inbox, port = plain_server
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(port, "starttls")).send(simple())
    assert err.value.permanent is True and "STARTTLS" in str(err.value)
    assert inbox.envelopes == []


def test_message_without_recipients_is_refused_before_connecting():
    msg = EmailMessage()
    msg["Subject"] = "nobody"
    msg.set_content("x")
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(free_port())).send(msg)
    assert err.value.permanent is True


# --- configuration ----------------------------------------------------------------------------------


def test_config_from_env():
    assert SmtpConfig.from_env({}) is None
    cfg = SmtpConfig.from_env({"SMTP_HOST": "smtp.sendgrid.net", "SMTP_PORT": "2525", "SMTP_USERNAME": "apikey",
                               "SMTP_PASSWORD": PASSWORD, "SMTP_FROM": SENDER, "SMTP_REPLY_TO": "billing@voxa.example",
                               "SMTP_TIMEOUT": "7.5", "SMTP_VERIFY_TLS": "false"})
    assert (cfg.host, cfg.port, cfg.security, cfg.username, cfg.password, cfg.sender, cfg.reply_to, cfg.timeout,
            cfg.verify_tls, cfg.ca_file) == ("smtp.sendgrid.net", 2525, "starttls", "apikey", PASSWORD, SENDER,
                                             "billing@voxa.example", 7.5, False, None)
    assert PASSWORD not in repr(cfg)
    assert SmtpConfig.from_env({"SMTP_HOST": "h", "SMTP_SECURITY": "SSL", "SMTP_FROM": SENDER}).port == 465


@pytest.mark.parametrize("env", [
    {"SMTP_PORT": "25x"}, {"SMTP_PORT": "70000"}, {"SMTP_SECURITY": "tls"}, {"SMTP_FROM": ""},
    {"SMTP_FROM": "not-an-address"}, {"SMTP_TIMEOUT": "soon"}, {"SMTP_VERIFY_TLS": "maybe"},
    {"SMTP_USERNAME": "apikey"}, {"SMTP_CA_FILE": "/nonexistent/ca.pem"},
])
def test_bad_config_is_a_configuration_error(env):
    full = {"SMTP_HOST": "smtp.example", "SMTP_FROM": SENDER, **env}
    with pytest.raises(ConfigurationError):
        SmtpConfig.from_env(full)


def test_implicit_tls_against_a_plain_server_fails_with_a_hint(plain_server):
    inbox, port = plain_server
    with pytest.raises(DeliveryFailed) as err:
        SmtpMailer(config(port, "ssl", verify_tls=False)).send(simple())
    assert "SMTP_SECURITY=starttls" in str(err.value) and inbox.envelopes == []
