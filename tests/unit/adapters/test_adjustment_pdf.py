"""The partial credit note and debit note PDFs: rule 53's particulars are on the page, the bytes are
deterministic (a retried finish stores the same file)."""

from __future__ import annotations

import copy
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pypdf import PdfReader

from billing.adapters.pdf_adjustments import render_adjustment_note_pdf
from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.seed import COMPANIES, SUPPLIER, VYSEDECK_SEPTEMBER
from fakes import fake_container

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parents[2] / "templates"
NOW = datetime(2025, 10, 20, 6, 0, tzinfo=timezone.utc)
START = datetime(2025, 9, 1, 4, 30, tzinfo=timezone.utc)


def calls_for(durations):
    return [CallRecord(f"c{i:03d}", START + timedelta(days=i * 2, minutes=7 * i), d, "completed")
            for i, d in enumerate(durations)]


def notes():
    c = fake_container(companies=copy.deepcopy(COMPANIES), supplier=copy.deepcopy(SUPPLIER),
                       calls={"vysedeck": calls_for(VYSEDECK_SEPTEMBER)}, clock=lambda: NOW)
    inv = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    cn = c.adjustments.create("credit", "vysedeck", "2025-09", {
        "invoiceNumber": inv["invoiceNumber"], "reason": "40 minutes of calls failed", "minutes": 40})
    dn = c.adjustments.create("debit", "vysedeck", "2025-09", {
        "invoiceNumber": inv["invoiceNumber"], "reason": "25 late calls",
        "lines": [{"description": "25 late calls of 30 September", "taxableValue": 50}]})
    return cn, dn


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_partial_credit_note_pdf():
    cn, _ = notes()
    pdf = render_adjustment_note_pdf(cn, templates_dir=TEMPLATES)
    assert pdf == render_adjustment_note_pdf(cn, templates_dir=TEMPLATES)
    text = text_of(pdf)
    for part in ("CREDIT NOTE", "CN/25-26/00001", "VX/25-26/00001", "29AAGCV4821K1ZX", "Karnataka (29)", "998319",
                 "CGST @ 9%", "SGST @ 9%", "7.20", "94.40", "Total credited", "40 minutes of calls failed",
                 "reduces tax invoice VX/25-26/00001", "Ninety Four and Forty Paise"):
        assert part in text, part
    assert "in full" not in text


def test_debit_note_pdf():
    _, dn = notes()
    pdf = render_adjustment_note_pdf(dn, templates_dir=TEMPLATES)
    assert pdf == render_adjustment_note_pdf(dn, templates_dir=TEMPLATES)
    text = text_of(pdf)
    for part in ("DEBIT NOTE", "DN/25-26/00001", "Original invoice", "VX/25-26/00001", "Debit note date",
                 "20 Oct 2025", "4.50", "59.00", "Total debited", "25 late calls", "section 34(3)", "rule 53(1A)"):
        assert part in text, part
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Debit note DN/25-26/00001"
