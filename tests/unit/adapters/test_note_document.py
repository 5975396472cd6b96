"""The notes' one mapper: NoteDraft -> stored document -> Note, the typed changes -> the fields written."""

import copy
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from billing.adapters.invoice_document import invoice_from_document
from billing.adapters.note_document import (
    delivery_fields, delivery_of, issued_fields, ledger_fields, ledger_of, note_document, note_from_document,
    void_fields,
)
from billing.domain import adjustments as adj
from billing.domain.credit_note import Void
from billing.domain.delivery import Delivery, DeliveryFailed, DeliverySent, DeliverySkipped, DeliveryStatus
from billing.domain.entities import IssuedPdf, LedgerEntry
from billing.domain.invoice import Supplier
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import INR
from billing.seed import SUPPLIER

GOLDEN = json.loads((Path(__file__).parents[2] / "e2e" / "golden" / "seed_invoice_2025-09.json").read_text())
AT = datetime(2026, 5, 4, 10, 30, 15, 123456, tzinfo=timezone.utc)


def invoice(**changes):
    doc = copy.deepcopy(GOLDEN)
    doc["amountsPaise"] = {"lineItems": [2400, 150000], "callCharges": 2400, "maintenanceFee": 150000,
                           "subtotal": 152400, "cgst": 13716, "sgst": 13716, "igst": 0, "gst": 27432,
                           "total": 179832}
    doc["invoiceDate"] = "2026-04-02T10:00:00.000+05:30"  # the golden file leaves its date out
    doc.update(changes)
    return invoice_from_document(doc)


def draft(kind=adj.DEBIT, amounts=None, **changes):
    fields = dict(kind=kind, note_id=f"vysedeck_2025-09_{kind.suffix}-k", invoice=invoice(), series="DN", sequence=7,
                  note_date=date(2026, 5, 4), supplier=Supplier.from_doc(SUPPLIER), reason="late calls",
                  pdf_uri="gs://b/x.pdf", created_at=AT, amounts=amounts, request_digest="d1")
    fields.update(changes)
    return adj.NoteDraft(**fields)


def test_a_partial_note_is_stored_with_its_own_amounts_and_read_back_typed():
    request = adj.NoteRequest("VX/26-27/00001", "late calls", minutes=Decimal("2.5"))
    amounts = adj.note_amounts(invoice().document, request)
    doc = note_document(draft(amounts=amounts))
    assert doc["debitNoteNumber"] == "DN/26-27/00007" and doc["series"] == "DN" and doc["sequence"] == 7
    assert doc["debitNoteDate"] == "2026-05-04" and doc["status"] == "issuing" and doc["scope"] == "partial"
    assert doc["createdAt"] == "2026-05-04T10:30:15.123+00:00" and doc["requestDigest"] == "d1"
    assert doc["originalInvoice"] == {"invoiceId": "vysedeck_2025-09", "invoiceNumber": "VX/26-27/00001",
                                      "invoiceDate": "2026-04-02T10:00:00.000+05:30", "totalAmount": GOLDEN["totalAmount"]}
    assert doc["amountsPaise"]["subtotal"] == 500 and doc["taxableValue"] == 5.0 and "settlement" not in doc
    note = note_from_document(doc)
    assert (note.kind, note.note_id, note.number, note.status, note.scope) == (
        "debit", "vysedeck_2025-09_dn-k", "DN/26-27/00007", InvoiceStatus.ISSUING, "partial")
    assert (note.taxable, note.total, note.invoice_number) == (INR(500), INR(590), "VX/26-27/00001")
    assert note.pdf_path == "debit-notes/vysedeck/2025-09/vysedeck_2025-09_dn-k_debit-note.pdf"
    assert note.download_name == "DN-26-27-00007_vysedeck_2025-09_debit-note.pdf"


def test_a_settle_note_records_the_figures_it_settles():
    request = adj.NoteRequest("VX/26-27/00001", "late", lines=(adj.RequestedLine("diff", Decimal(3)),))
    figures = {"billed": {"callCharges": 2.0}, "current": {"callCharges": 5.0}, "added": 1, "removed": 0,
               "changed": 0}
    doc = note_document(draft(amounts=adj.note_amounts(invoice().document, request), settlement=figures))
    assert doc["settlement"] == figures and list(doc)[-1] == "settlement"
    entry = ledger_fields(invoice().document, doc)["adjustments"][-1]
    assert entry["settle"] is True and entry["paise"] == {"taxable": 300, "gst": 54, "total": 354}


def test_a_void_s_credit_note_copies_the_invoice_s_amounts_as_stored():
    doc = note_document(draft(adj.CREDIT, series="CN", request_digest=None))
    stored = invoice().document
    for key in ("lineItems", "subtotal", "gstAmount", "totalAmount", "taxBreakdown", "amountInWords"):
        assert doc[key] == stored[key] and type(doc[key]) is type(stored[key])
    assert doc["taxableValue"] == stored["subtotal"] and doc["creditNoteNumber"] == "CN/26-27/00007"
    assert "scope" not in doc and "series" not in doc and "requestDigest" not in doc
    assert doc["amountsPaise"] == {"subtotal": 152400, "cgst": 13716, "sgst": 13716, "igst": 0, "gst": 27432,
                                   "total": 179832}
    note = note_from_document(doc)
    assert note.scope == "full" and note.total == INR(179832) and note.pdf_path.startswith("credit-notes/")


def test_the_void_the_issued_pdf_and_the_ledger_as_fields():
    assert void_fields(Void("v_cn", "CN/26-27/00001", date(2026, 5, 4), None, "wrong rate", AT)) == {
        "status": "void", "voidedAt": "2026-05-04T10:30:15.123+00:00", "voidReason": "wrong rate",
        "voidedBy": {"creditNoteId": "v_cn", "creditNoteNumber": "CN/26-27/00001", "creditNoteDate": "2026-05-04"},
        "replacedBy": None, "voidReissue": False}
    assert issued_fields(IssuedPdf(AT, "abc")) == {
        "status": "issued", "issuedAt": "2026-05-04T10:30:15.123+00:00", "files.pdfMd5": "abc"}
    ledger = [{"id": "a", "kind": "credit", "number": "CN/1", "paise": {"taxable": 100, "gst": 18, "total": 118}},
              {"id": "b", "kind": "debit", "number": "DN/1", "settle": True,
               "paise": {"taxable": 50, "gst": 9, "total": 59}}]
    assert ledger_of({"adjustments": ledger}) == (LedgerEntry("a", "credit", "CN/1", INR(100), INR(118)),
                                                 LedgerEntry("b", "debit", "DN/1", INR(50), INR(59), settle=True))
    inv = invoice(adjustments=ledger)
    assert inv.ledger[0].sign == -1 and adj.remaining_taxable_paise(inv) == 152400 - 100 + 50


def test_delivery_changes_write_the_fields_the_senders_always_wrote():
    assert delivery_fields(DeliverySkipped("no billingEmail")) == {
        "delivery.status": "skipped", "delivery.reason": "no billingEmail"}
    assert delivery_fields(DeliverySent(2, "<m@x>", "a@b.example", AT)) == {
        "delivery.status": "sent", "delivery.attempts": 2, "delivery.messageId": "<m@x>", "delivery.to": "a@b.example",
        "delivery.sentAt": AT.isoformat(), "delivery.lastError": None, "delivery.claim": None}
    assert delivery_fields(DeliveryFailed(1, "550 refused", True, AT)) == {
        "delivery.status": "failed", "delivery.attempts": 1, "delivery.lastError": "550 refused",
        "delivery.permanent": True, "delivery.updatedAt": AT.isoformat(), "delivery.claim": None}
    assert delivery_of({"delivery": {"status": "sending", "attempts": 3}}) == Delivery(DeliveryStatus.SENDING, 3)
    assert delivery_of({"delivery": {"status": "queued"}}) == Delivery(None, 0) and delivery_of({}) == Delivery()
