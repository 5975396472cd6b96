"""The invoice PDF: deterministic bytes, and the text a GST tax invoice must carry."""

import copy
import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from billing.adapters.pdf import render_invoice_pdf

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"

INVOICE = {
    "companyId": "vysedeck", "invoiceNumber": "VX/25-26/00001", "invoiceDate": "2025-10-01",
    "dueDate": "2025-10-08", "currency": "INR",
    "billingPeriod": {"startDate": "2025-09-01T00:00:00", "endDate": "2025-09-30T23:59:59",
                      "month": "2025-09", "timezone": "Asia/Kolkata"},
    "supplier": {"legalName": "Voxa AI Private Limited", "address": "12 Residency Road, Bengaluru",
                 "gstin": "29AAGCV4821K1ZX", "stateCode": "29", "stateName": "Karnataka", "sacCode": "998319",
                 "supportEmail": "billing@voxa.example", "bank": {"accountName": "Voxa AI", "ifsc": "EXMP0000001"}},
    "recipient": {"legalName": "Vysedeck Technologies Private Limited", "address": "Koramangala, Bengaluru",
                  "gstin": "29AAHCV7310M1ZU", "stateCode": "29", "stateName": "Karnataka"},
    "placeOfSupply": {"stateCode": "29", "stateName": "Karnataka"}, "reverseCharge": False,
    "usageData": {"totalCalls": 13, "billableCalls": 12, "totalBilledMinutes": 12, "billingPolicy": "per-call",
                  "anomalyCount": 0, "daily": [{"date": f"2025-09-{d:02d}", "calls": 1, "minutes": d % 4} for d in range(1, 31)]},
    "lineItems": [
        {"description": "Voice agent call charges (12 min x ₹ 2.00/min)", "quantity": 12, "rate": 2.0, "amount": 24.0, "unit": "min"},
        {"description": "Monthly maintenance fee", "quantity": 1, "rate": 1500.0, "amount": 1500.0, "unit": "month"}],
    "subtotal": 1524.0, "gstAmount": 274.32, "totalAmount": 1798.32,
    "taxBreakdown": {"type": "intra-state", "rate": 18.0, "taxableValue": 1524.0, "components": [
        {"name": "CGST", "rate": 9.0, "amount": 137.16}, {"name": "SGST", "rate": 9.0, "amount": 137.16}]},
    "amountInWords": "Indian Rupees One Thousand Seven Hundred Ninety Eight and Thirty Two Paise Only",
}


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_same_invoice_same_bytes():
    first = render_invoice_pdf(INVOICE, templates_dir=TEMPLATES)
    assert first.startswith(b"%PDF")
    assert render_invoice_pdf(copy.deepcopy(INVOICE), templates_dir=TEMPLATES) == first


def test_intra_state_invoice_carries_the_gst_particulars():
    text = text_of(render_invoice_pdf(INVOICE, templates_dir=TEMPLATES))
    for needle in ("TAX INVOICE", "VX/25-26/00001", "29AAGCV4821K1ZX", "29AAHCV7310M1ZU",
                   "Voxa AI Private Limited", "Vysedeck Technologies Private Limited", "Karnataka (29)",
                   "998319", "CGST @ 9%", "SGST @ 9%", "137.16", "1,524.00", "₹ 1,798.32",
                   "Ninety Eight and Thirty Two Paise", "01 Oct 2025", "08 Oct 2025", "Reverse charge", "No",
                   "EXMP0000001"):
        assert needle in text, needle


def test_rupee_font_is_embedded():
    pdf = render_invoice_pdf(INVOICE, templates_dir=TEMPLATES)
    reader = PdfReader(io.BytesIO(pdf))
    fonts = {str(f.get_object()["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("InvoiceSans" in f or "DejaVu" in f for f in fonts), fonts


def test_inter_state_unregistered_recipient_and_anomalies():
    inv = copy.deepcopy(INVOICE)
    inv["recipient"] = {"legalName": "WebXpress Solutions LLP", "address": "Mumbai", "gstin": None,
                        "stateCode": "27", "stateName": "Maharashtra"}
    inv["placeOfSupply"] = {"stateCode": "27", "stateName": "Maharashtra"}
    inv["taxBreakdown"] = {"type": "inter-state", "rate": 18.0, "components": [{"name": "IGST", "rate": 18.0, "amount": 274.32}]}
    inv["usageData"]["anomalyCount"] = 3
    text = text_of(render_invoice_pdf(inv, templates_dir=TEMPLATES))
    assert "IGST @ 18%" in text and "CGST" not in text
    assert "Unregistered" in text and "Maharashtra (27)" in text
    assert "could not be rated" in text


@pytest.mark.parametrize("drop", ["usageData", "supplier", "lineItems", "taxBreakdown", "recipient"])
def test_missing_optional_parts_do_not_crash(drop):
    inv = copy.deepcopy(INVOICE)
    inv.pop(drop)
    assert render_invoice_pdf(inv, templates_dir=TEMPLATES).startswith(b"%PDF")
