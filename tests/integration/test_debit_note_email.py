"""The debit note email (DESIGN 12/13) through a real SMTP server on loopback (aiosmtpd), on the emulators:
sent once with its PDF attached and recorded on the debit note; a retry does not send it again."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

import emulators
from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.errors import NotFoundError
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

ISSUED_AT = datetime(2025, 10, 2, tzinfo=timezone.utc)
NOTE_AT = datetime(2025, 10, 20, 11, 0, tzinfo=timezone.utc)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted"


@pytest.fixture
def inbox(monkeypatch):
    box = Inbox()
    port = emulators.free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_SECURITY", "none")
    monkeypatch.setenv("SMTP_FROM", "billing@voxa.example")
    yield box
    controller.stop()


def test_a_debit_note_is_emailed_once_with_its_pdf(inbox, firestore_emulator, storage_emulator):
    settings = Settings(project=f"dnmail-{uuid.uuid4().hex[:8]}", bucket=f"dnmail-{uuid.uuid4().hex[:8]}")
    c = Container(settings)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    c.clock = lambda: ISSUED_AT
    invoice = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    c.clock = lambda: NOTE_AT
    note = c.adjustments.create("debit", "vysedeck", "2025-09", {
        "invoiceNumber": invoice["invoiceNumber"], "reason": "25 late calls found by reconcile", "minutes": 25},
        "dn-mail")
    dn_id = note["debitNoteId"]

    result = c.delivery.send_debit_note("vysedeck", dn_id)
    assert result["status"] == "sent" and result["to"] == "accounts@vysedeck.example"
    [(rcpts, raw)] = inbox.messages
    assert rcpts == ["accounts@vysedeck.example"]
    msg = message_from_bytes(raw, policy=default)
    number = note["debitNoteNumber"]
    assert msg["Subject"] == (f"Debit note {number} from Voxa AI Private Limited: invoice {invoice['invoiceNumber']} "
                              "increased (₹ 59.00)")  # 25 min x ₹2 = 50.00 + 18% GST 9.00
    for body in (msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()):
        assert number in body and invoice["invoiceNumber"] in body and "20 Oct 2025" in body
        assert "25 late calls found by reconcile" in body and "₹ 50.00" in body
    [(name, content)] = [(p.get_filename(), p.get_content()) for p in msg.iter_attachments()]
    assert name == f"{number.replace('/', '-')}_vysedeck_2025-09_debit-note.pdf"
    assert content.startswith(b"%PDF-")
    assert content == c.blobs.read(f"debit-notes/vysedeck/2025-09/{dn_id}_debit-note.pdf")
    delivery = c.debit_notes.find(dn_id).document["delivery"]
    assert delivery["status"] == "sent" and delivery["attempts"] == 1 and delivery["claim"] is None
    assert delivery["messageId"] == msg["Message-ID"]

    # A retry that is not a deliberate resend: already sent, not sent again, nothing written.
    before = c.debit_notes.find(dn_id).document
    again = c.delivery.send_debit_note("vysedeck", dn_id, force=False)
    assert again["note"] == "already sent or being sent; not sent again" and len(inbox.messages) == 1
    assert c.debit_notes.find(dn_id).document == before
    # The API's send while another sender's claim is fresh (a retried request racing the first): not sent twice.
    c.firestore.document(f"debitNotes/{dn_id}").update({"delivery.status": "sending",
                                                        "delivery.claimedAt": NOTE_AT.isoformat()})
    raced = c.delivery.send_debit_note("vysedeck", dn_id, body={"to": ["x@y.example"]})
    assert raced["note"] == "already sent or being sent; not sent again" and len(inbox.messages) == 1

    with pytest.raises(NotFoundError):
        c.delivery.send_debit_note("webxpress", dn_id)  # another company's debit note
    assert len(inbox.messages) == 1
