"""The credit note PDF (same code and templates as the invoice's), and the invoice PDF unchanged by it."""

from __future__ import annotations

import copy
import io
from pathlib import Path

from pypdf import PdfReader

from billing.adapters.pdf import render_credit_note_pdf, render_invoice_pdf

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parents[2] / "templates"

import importlib.util  # noqa: E402

_spec = importlib.util.spec_from_file_location("invoice_pdf_cases", HERE / "test_pdf.py")
assert _spec and _spec.loader
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
INVOICE = _cases.INVOICE

CREDIT_NOTE = {
    "creditNoteId": "vysedeck_2025-09_cn", "creditNoteNumber": "CN/25-26/00001", "creditNoteDate": "2025-10-20",
    "documentType": "Credit Note", "companyId": "vysedeck", "billingPeriod": INVOICE["billingPeriod"],
    "supplier": INVOICE["supplier"], "recipient": INVOICE["recipient"], "placeOfSupply": INVOICE["placeOfSupply"],
    "reverseCharge": False, "originalInvoice": {"invoiceNumber": "VX/25-26/00001", "invoiceDate": "2025-10-01"},
    "reason": "Wrong rate per minute (2.00 instead of 1.50)", "lineItems": INVOICE["lineItems"],
    "subtotal": 1524.0, "gstAmount": 274.32, "totalAmount": 1798.32, "taxBreakdown": INVOICE["taxBreakdown"],
    "amountInWords": INVOICE["amountInWords"],
}


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_invoice_pdf_is_byte_for_byte_what_it_was_before_credit_notes():
    """Goldens rendered by the code before the credit-note variant existed."""
    assert render_invoice_pdf(INVOICE, templates_dir=TEMPLATES) == (HERE / "golden" / "invoice.pdf").read_bytes()
    other = copy.deepcopy(INVOICE)
    other["usageData"]["anomalyCount"] = 2
    other["taxBreakdown"] = {"type": "inter-state", "rate": 18.0, "taxableValue": 1524.0,
                             "components": [{"name": "IGST", "rate": 18.0, "amount": 274.32}]}
    assert render_invoice_pdf(other, templates_dir=TEMPLATES) == (
        HERE / "golden" / "invoice_igst_anomalies.pdf").read_bytes()


def test_credit_note_carries_what_rule_53_asks():
    pdf = render_credit_note_pdf(CREDIT_NOTE, templates_dir=TEMPLATES)
    assert pdf == render_credit_note_pdf(copy.deepcopy(CREDIT_NOTE), templates_dir=TEMPLATES)  # deterministic
    text = text_of(pdf)
    for needle in ("CREDIT NOTE", "CN/25-26/00001", "20 Oct 2025", "VX/25-26/00001", "01 Oct 2025",
                   "Voxa AI Private Limited", "12 Residency Road", "29AAGCV4821K1ZX",
                   "Vysedeck Technologies Private Limited", "Koramangala", "29AAHCV7310M1ZU",
                   "Place of supply", "Karnataka (29)", "998319", "1,524.00", "CGST @ 9%", "SGST @ 9%", "137.16",
                   "Total credited", "₹ 1,798.32", "Wrong rate per minute", "Reason"):
        assert needle in text, needle
    assert "TAX INVOICE" not in text and "Due date" not in text and "Amount due" not in text
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Credit note CN/25-26/00001"
