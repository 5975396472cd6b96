"""Invoice email through a real SMTP server on loopback (aiosmtpd), recorded on the invoice."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

import emulators
from billing.adapters.smtp_mailer import DeliveryFailed, SmtpConfig, SmtpMailer
from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.errors import ConflictError, NotFoundError, ValidationError
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

PASSWORD = "s3cret-" + uuid.uuid4().hex[:6]


class Inbox:
    """aiosmtpd handler that keeps what it received; can refuse recipients."""

    def __init__(self):
        self.messages = []
        self.refuse = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    port = emulators.free_port()

    def auth(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == PASSWORD.encode()
        if ok:
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")

    # PLAIN only: aiosmtpd's LOGIN waits for a second line smtplib does not send after a failure.
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=False,
                            auth_exclude_mechanism=["LOGIN"])
    controller.start()
    yield inbox, port
    controller.stop()


def make_container(smtp_port, monkeypatch, firestore_emulator, storage_emulator):
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_port))
    monkeypatch.setenv("SMTP_SECURITY", "none")
    monkeypatch.setenv("SMTP_USERNAME", "billing")
    monkeypatch.setenv("SMTP_ALLOW_PLAINTEXT_AUTH", "true")  # aiosmtpd on loopback, no TLS
    monkeypatch.setenv("SMTP_PASSWORD", PASSWORD)
    monkeypatch.setenv("SMTP_FROM", "billing@voxa.example")
    settings = Settings(project=f"mail-{uuid.uuid4().hex[:8]}", bucket=f"mail-{uuid.uuid4().hex[:8]}")
    c = Container(settings)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    c.clock = lambda: datetime(2025, 10, 2, tzinfo=timezone.utc)
    return c


def test_invoice_email_carries_the_stored_pdf(smtp_server, monkeypatch, firestore_emulator, storage_emulator):
    inbox, port = smtp_server
    c = make_container(port, monkeypatch, firestore_emulator, storage_emulator)
    issued = c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    invoice = issued.document
    result = c.delivery.deliver_quietly(issued)
    assert result["status"] == "sent", result

    [(mail_from, rcpts, raw)] = inbox.messages
    assert mail_from == "billing@voxa.example" and rcpts == ["accounts@vysedeck.example"]
    msg = message_from_bytes(raw, policy=default)
    assert msg["Subject"] == f"Tax invoice {invoice['invoiceNumber']} from Voxa AI Private Limited for September 2025 (₹ 1,798.32)"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for body in (text, html):
        assert invoice["invoiceNumber"] in body and "₹ 1,798.32" in body and "09 Oct 2025" in body
        assert "EXMP0000001" in body
    attachments = {part.get_filename(): part.get_content() for part in msg.iter_attachments()}
    pdf_path = invoice["files"]["pdf"].split("/", 3)[3]
    pdf_name = [n for n in attachments if n.endswith(".pdf")][0]
    assert attachments[pdf_name] == c.blobs.read(pdf_path)
    assert any(n.endswith("_calls.csv") for n in attachments)

    stored = c.invoices.get("vysedeck_2025-09")["delivery"]
    assert stored["status"] == "sent" and stored["attempts"] == 1 and stored["messageId"] == msg["Message-ID"]
    # Sent once: a retry or a rerun of the month does not send again...
    assert c.delivery.deliver_quietly(c.invoices.find("vysedeck_2025-09"))["status"] == "sent"
    assert len(inbox.messages) == 1
    # ...but the API's /send resends on purpose.
    assert c.delivery.send("vysedeck", "2025-09", force=True)["status"] == "sent"
    assert len(inbox.messages) == 2


def test_smtp_down_then_retry_delivers_exactly_once(monkeypatch, firestore_emulator, storage_emulator):
    port = emulators.free_port()  # nobody listens yet
    c = make_container(port, monkeypatch, firestore_emulator, storage_emulator)
    issued = c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    invoice = issued.document
    result = c.delivery.deliver_quietly(issued)
    assert result["status"] == "failed" and "could not reach SMTP server" in result["lastError"]
    stored = c.invoices.get("vysedeck_2025-09")
    assert stored["status"] == "issued"  # the invoice itself is untouched
    assert stored["delivery"]["status"] == "failed" and stored["delivery"]["attempts"] == 1
    assert PASSWORD not in str(stored)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, auth_require_tls=False,
                            authenticator=lambda *a: AuthResult(success=True))
    controller.start()
    try:
        for _ in range(3):  # the retry, then reruns
            c.delivery.deliver_quietly(c.invoices.find("vysedeck_2025-09"))
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    delivery = c.invoices.get("vysedeck_2025-09")["delivery"]
    assert delivery["status"] == "sent" and delivery["attempts"] == 2 and delivery["lastError"] is None


def test_rejected_recipient_is_recorded_and_a_fixed_address_is_delivered(smtp_server, monkeypatch, firestore_emulator, storage_emulator):
    inbox, port = smtp_server
    inbox.refuse.add("accounts@vysedeck.example")
    c = make_container(port, monkeypatch, firestore_emulator, storage_emulator)
    issued = c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    invoice = issued.document
    result = c.delivery.deliver_quietly(issued)
    assert result["status"] == "failed" and "550" in result["lastError"]
    assert c.invoices.get("vysedeck_2025-09")["delivery"]["permanent"] is True
    inbox.refuse.clear()
    c.delivery.deliver_quietly(c.invoices.find("vysedeck_2025-09"))
    assert len(inbox.messages) == 1


def test_company_without_billing_email_is_skipped_with_a_reason(smtp_server, monkeypatch, firestore_emulator, storage_emulator):
    inbox, port = smtp_server
    c = make_container(port, monkeypatch, firestore_emulator, storage_emulator)
    issued = c.issuance.generate("dcgpac", MonthQuery(9, 2025))
    invoice = issued.document
    assert c.delivery.deliver_quietly(issued) == {"status": "skipped", "reason": "company has no billingEmail"}
    assert c.invoices.get("dcgpac_2025-09")["delivery"]["status"] == "skipped"
    assert inbox.messages == []


def test_wrong_password_is_permanent_and_never_echoed(smtp_server):
    inbox, port = smtp_server
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["To"], msg["Subject"] = "a@example.com", "x"
    msg.set_content("x")
    mailer = SmtpMailer(SmtpConfig("127.0.0.1", port, "none", "billing", "not-the-password-123", "b@voxa.example"))
    with pytest.raises(DeliveryFailed) as err:
        mailer.send(msg)
    assert err.value.permanent and "not-the-password-123" not in str(err.value)
    assert "not-the-password-123" not in repr(mailer.config)


def self_signed(tmp_path):
    from tls_support import self_signed_certificate

    return self_signed_certificate(tmp_path)


def message_to(address: str):
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["To"], msg["Subject"] = address, "tls check"
    msg.set_content("hello")
    return msg


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_authentication(tmp_path, security):
    import ssl

    cert, key = self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    inbox = Inbox()
    port = emulators.free_port()

    def auth(server, session, envelope, mechanism, auth_data):
        if auth_data.password == PASSWORD.encode():
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")

    if security == "starttls":  # credentials only after STARTTLS
        controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_tls, require_starttls=True,
                                authenticator=auth, auth_require_tls=True, auth_exclude_mechanism=["LOGIN"])
    else:  # implicit TLS from the first byte
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_tls,
                                authenticator=auth, auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    try:
        mailer = SmtpMailer(SmtpConfig("127.0.0.1", port, security, "billing", PASSWORD, "b@voxa.example",
                                       ca_file=str(cert), timeout=10))
        message_id = mailer.send(message_to("ops@example.com"))
        assert len(inbox.messages) == 1 and message_id.endswith("@voxa.example>")
        # An untrusted certificate is refused (no silent downgrade to plaintext).
        strict = SmtpMailer(SmtpConfig("127.0.0.1", port, security, "billing", PASSWORD, "b@voxa.example", timeout=10))
        with pytest.raises(DeliveryFailed):
            strict.send(message_to("ops@example.com"))
        assert len(inbox.messages) == 1
    finally:
        controller.stop()


# -- documents after a correction (DESIGN 12): current address, admin override, reissue, credit notes --

VOIDED_AT = datetime(2025, 10, 20, 11, 0, tzinfo=timezone.utc)


def parsed(raw):
    msg = message_from_bytes(raw, policy=default)
    return msg, msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def test_email_goes_to_the_billing_email_of_now_not_the_snapshot(smtp_server, monkeypatch, firestore_emulator,
                                                                   storage_emulator):
    inbox, port = smtp_server
    c = make_container(port, monkeypatch, firestore_emulator, storage_emulator)
    invoice = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    assert invoice["recipient"]["billingEmail"] == "accounts@vysedeck.example"
    c.firestore.document("companies/vysedeck").update({"billingEmail": "finance@vysedeck.example"})
    assert c.delivery.send("vysedeck", "2025-09", force=True)["to"] == "finance@vysedeck.example"
    # dcgpac was issued without any billingEmail; once it has one, its invoice can be sent
    c.issuance.generate("dcgpac", MonthQuery(9, 2025))
    c.firestore.document("companies/dcgpac").update({"billingEmail": "ap@dcgpac.example"})
    assert c.delivery.send("dcgpac", "2025-09", force=True)["status"] == "sent"
    assert [rcpts for _, rcpts, _ in inbox.messages] == [["finance@vysedeck.example"], ["ap@dcgpac.example"]]
    assert c.invoices.get("dcgpac_2025-09")["delivery"]["to"] == "ap@dcgpac.example"


def test_an_admin_may_name_the_recipients_and_a_bad_list_writes_nothing(smtp_server, monkeypatch,
                                                                          firestore_emulator, storage_emulator):
    inbox, port = smtp_server
    c = make_container(port, monkeypatch, firestore_emulator, storage_emulator)
    c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    out = c.delivery.send("vysedeck", "2025-09", force=True, body={"to": ["a@x.example", "b@y.example"]})
    assert out["to"] == "a@x.example, b@y.example"
    [(_, rcpts, raw)] = inbox.messages
    assert rcpts == ["a@x.example", "b@y.example"]
    assert parsed(raw)[0]["To"] == "a@x.example, b@y.example"
    before = c.invoices.get("vysedeck_2025-09")
    for bad, says in [({"to": []}, "non-empty list"), ({"to": "a@x.example"}, "non-empty list"),
                      ({"to": ["not an address"]}, "plain email addresses"),
                      ({"to": ["A <a@x.example>"]}, "plain email addresses"),
                      ({"to": ["a@x.example\r\nBcc: e@vil.example"]}, "plain email addresses"),
                      ({"to": [f"u{i}@x.example" for i in range(11)]}, "at most 10"),
                      ({"cc": ["a@x.example"]}, "unknown field")]:
        with pytest.raises(ValidationError, match=says):
            c.delivery.send("vysedeck", "2025-09", force=True, body=bad)
    assert c.invoices.get("vysedeck_2025-09") == before and len(inbox.messages) == 1


def test_a_reissue_email_names_what_it_replaces(smtp_server, monkeypatch, firestore_emulator, storage_emulator):
    inbox, port = smtp_server
    c = make_container(port, monkeypatch, firestore_emulator, storage_emulator)
    first = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    c.clock = lambda: VOIDED_AT
    out = c.corrections.void("vysedeck", "2025-09", {"invoiceNumber": first["invoiceNumber"], "reason": "Rate",
                                                     "reissue": True}).to_json()
    assert out["reissued"]["replaces"] == {"invoiceNumber": "VX/25-26/00001", "creditNoteNumber": "CN/25-26/00001"}
    c.delivery.send("vysedeck", "2025-09", force=True)
    [(_, _, raw)] = inbox.messages
    msg, text, html = parsed(raw)
    assert msg["Subject"].startswith("Tax invoice VX/25-26/00002 ") and msg["Subject"].endswith(
        ", replacing VX/25-26/00001")
    for body in (text, html):
        assert "This invoice replaces invoice VX/25-26/00001, cancelled by credit note CN/25-26/00001." in body


def test_sending_a_void_invoice_says_what_to_send_instead(smtp_server, monkeypatch, firestore_emulator,
                                                          storage_emulator):
    inbox, port = smtp_server
    c = make_container(port, monkeypatch, firestore_emulator, storage_emulator)
    first = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    c.clock = lambda: VOIDED_AT
    c.corrections.void("vysedeck", "2025-09", {"invoiceNumber": first["invoiceNumber"], "reason": "Rate",
                                               "reissue": False})
    before = c.invoices.get("vysedeck_2025-09")
    with pytest.raises(ConflictError) as refused:
        c.delivery.send("vysedeck", "2025-09", force=True)
    assert refused.value.detail.startswith("invoice VX/25-26/00001 is void: it was cancelled by credit note "
                                           "CN/25-26/00001 and cannot be sent; issue its reissue first")
    assert "POST /billing/credit-notes/vysedeck/vysedeck_2025-09_cn/send" in refused.value.detail
    assert c.invoices.get("vysedeck_2025-09") == before and inbox.messages == []


def test_a_credit_note_is_emailed_with_its_pdf_and_recorded_on_it(smtp_server, monkeypatch, firestore_emulator,
                                                                   storage_emulator):
    inbox, port = smtp_server
    c = make_container(port, monkeypatch, firestore_emulator, storage_emulator)
    first = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    c.clock = lambda: VOIDED_AT
    out = c.corrections.void("vysedeck", "2025-09", {"invoiceNumber": first["invoiceNumber"],
                                                     "reason": "Rate was wrong", "reissue": False}).to_json()
    cn_id = out["creditNote"]["creditNoteId"]
    result = c.delivery.send_credit_note("vysedeck", cn_id)
    assert result["status"] == "sent" and result["to"] == "accounts@vysedeck.example"
    [(_, rcpts, raw)] = inbox.messages
    msg, text, html = parsed(raw)
    assert msg["Subject"] == ("Credit note CN/25-26/00001 from Voxa AI Private Limited: invoice VX/25-26/00001 "
                              "cancelled (₹ 1,798.32)")
    for body in (text, html):
        assert "credit note CN/25-26/00001" in body.replace("<strong>", "").replace("</strong>", "")
        assert "Rate was wrong" in body and "20 Oct 2025" in body
    [(name, content)] = [(p.get_filename(), p.get_content()) for p in msg.iter_attachments()]
    assert name == "CN-25-26-00001_vysedeck_2025-09_credit-note.pdf"
    assert content == c.blobs.read(f"credit-notes/vysedeck/2025-09/{cn_id}_credit-note.pdf")
    delivery = c.credit_notes.find(cn_id).document["delivery"]
    assert delivery["status"] == "sent" and delivery["messageId"] == msg["Message-ID"] and delivery["claim"] is None

    # Another sender's fresh claim: not sent a second time, nothing else written.
    c.firestore.document(f"creditNotes/{cn_id}").update({"delivery.status": "sending",
                                                         "delivery.claimedAt": VOIDED_AT.isoformat()})
    again = c.delivery.send_credit_note("vysedeck", cn_id, body={"to": ["x@y.example"]})
    assert again["note"] == "already sent or being sent; not sent again" and len(inbox.messages) == 1

    with pytest.raises(NotFoundError):
        c.delivery.send_credit_note("webxpress", cn_id)  # another company's credit note
