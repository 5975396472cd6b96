"""The one document <-> entity mapper: exact paise from amountsPaise, JSON numbers only for old documents."""

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from billing.adapters.invoice_document import invoice_from_document
from billing.adapters.note_document import note_from_document
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import INR
from billing.errors import IntegrityError

GOLDEN = json.loads((Path(__file__).parents[2] / "e2e" / "golden" / "seed_invoice_2025-09.json").read_text())


def stored(**changes):
    doc = copy.deepcopy(GOLDEN)
    doc["amountsPaise"] = {"lineItems": [2400, 150000], "callCharges": 2400, "maintenanceFee": 150000,
                           "subtotal": 152400, "cgst": 13716, "sgst": 13716, "igst": 0, "gst": 27432,
                           "total": 179832}
    doc.update(changes)
    return doc


def test_the_golden_invoice_as_an_entity():
    invoice = invoice_from_document(stored())
    assert (invoice.invoice_id, invoice.company_id, invoice.period_key, invoice.revision) == (
        "vysedeck_2025-09", "vysedeck", "2025-09", 0)
    assert invoice.status is InvoiceStatus.ISSUED and invoice.number == "VX/26-27/00001"
    assert (invoice.subtotal, invoice.gst, invoice.total, invoice.call_charges) == (
        INR(152400), INR(27432), INR(179832), INR(2400))
    assert [(ln.quantity, ln.rate, ln.amount) for ln in invoice.lines] == [
        (Decimal(12), Decimal("2.0"), INR(2400)), (Decimal(1), Decimal("1500.0"), INR(150000))]
    assert invoice.document["totalAmount"] == 1798.32  # presented as stored


def test_a_document_without_paise_is_read_from_its_printed_numbers():
    doc = stored()
    del doc["amountsPaise"]
    invoice = invoice_from_document(doc)
    assert (invoice.subtotal, invoice.tax.cgst, invoice.total) == (INR(152400), INR(13716), INR(179832))
    assert invoice.lines[1].amount == INR(150000)


def test_a_void_reissued_invoice():
    invoice = invoice_from_document(stored(status="void", revision=1, voidedBy={"creditNoteId": "x_cn"},
                                           replacedBy="vysedeck_2025-09_r2"))
    assert (invoice.invoice_id, invoice.voided_by, invoice.replaced_by) == (
        "vysedeck_2025-09_r1", "x_cn", "vysedeck_2025-09_r2")


def test_an_unknown_status_is_refused_not_guessed():
    with pytest.raises(IntegrityError, match="no known status"):
        invoice_from_document(stored(status="sent"))


def test_credit_and_debit_notes():
    credit = note_from_document({"creditNoteId": "v_cn", "companyId": "v", "billingPeriod": {"month": "2025-09"},
                                 "originalInvoice": {"invoiceId": "v_2025-09"}, "status": "issuing",
                                 "creditNoteNumber": "CN/25-26/00001", "taxableValue": 100.5, "gstAmount": 18.09,
                                 "totalAmount": 118.59, "amountsPaise": {"subtotal": 10050, "gst": 1809,
                                                                         "total": 11859}})
    assert (credit.kind, credit.taxable, credit.tax, credit.total) == ("credit", INR(10050), INR(1809), INR(11859))
    debit = note_from_document({"debitNoteId": "v_dn-1", "companyId": "v", "billingPeriod": {"month": "2025-09"},
                                "status": "issued", "debitNoteNumber": "DN/25-26/00001", "taxableValue": 2,
                                "gstAmount": 0.36, "totalAmount": 2.36})
    assert (debit.kind, debit.number, debit.total) == ("debit", "DN/25-26/00001", INR(236))
