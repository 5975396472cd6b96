"""The CANCELLED copy (the original's pages with a stamp merged on each) and a reissue's "Replaces ..." line."""

from __future__ import annotations

import copy
import hashlib
import io
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from billing.adapters.pdf import render_invoice_pdf
from billing.adapters.pdf_stamp import stamp_cancelled_pdf
from billing.errors import IntegrityError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_pdf import INVOICE, TEMPLATES  # noqa: E402

VOID = {**INVOICE, "status": "void", "voidedBy": {"creditNoteId": "vysedeck_2025-09_cn",
                                                   "creditNoteNumber": "CN/25-26/00001",
                                                   "creditNoteDate": "2025-10-20"}}


def pages(pdf: bytes) -> list[str]:
    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(pdf)).pages]


def test_every_page_is_stamped_and_keeps_the_original_text():
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    for n in (1, 2, 3):
        canvas.drawString(72, 700, f"original page {n}")
        canvas.showPage()
    canvas.save()
    stamped = pages(stamp_cancelled_pdf(out.getvalue(), VOID, templates_dir=TEMPLATES))
    assert len(stamped) == 3
    for n, text in enumerate(stamped, start=1):
        assert f"original page {n}" in text and "CANCELLED" in text
        assert "Cancelled by credit note CN/25-26/00001 dated 20 Oct 2025. Not payable." in text


def test_the_real_invoice_stamped_names_the_credit_note_and_is_deterministic_across_processes():
    original = render_invoice_pdf(INVOICE, templates_dir=TEMPLATES)
    stamped = stamp_cancelled_pdf(original, VOID, templates_dir=TEMPLATES)
    [text] = pages(stamped)
    assert "CANCELLED" in text and "CN/25-26/00001" in text and "VX/25-26/00001" in text and "1,798.32" in text
    assert stamp_cancelled_pdf(original, VOID, templates_dir=TEMPLATES) == stamped
    # Another process (a retry on another instance) produces the same bytes.
    code = ("import sys, hashlib; sys.path.insert(0, sys.argv[1]); from test_pdf_stamp import *; "
            "print(hashlib.sha256(stamp_cancelled_pdf(render_invoice_pdf(INVOICE, templates_dir=TEMPLATES), VOID, "
            "templates_dir=TEMPLATES)).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parent)], capture_output=True,
                           text=True, timeout=120, check=True).stdout.strip()
    assert other == hashlib.sha256(stamped).hexdigest()


def test_an_invoice_without_its_credit_note_is_not_stamped():
    with pytest.raises(IntegrityError, match="no credit note"):
        stamp_cancelled_pdf(b"%PDF", INVOICE, templates_dir=TEMPLATES)


def test_a_reissue_prints_what_it_replaces_and_a_first_invoice_does_not():
    reissue = copy.deepcopy(INVOICE) | {"invoiceNumber": "VX/25-26/00002", "revision": 1,
                                        "replaces": {"invoiceNumber": "VX/25-26/00001",
                                                     "creditNoteNumber": "CN/25-26/00001"}}
    [text] = pages(render_invoice_pdf(reissue, templates_dir=TEMPLATES))
    assert "Replaces invoice VX/25-26/00001, cancelled by credit note CN/25-26/00001." in text
    [first] = pages(render_invoice_pdf(INVOICE, templates_dir=TEMPLATES))
    assert "Replaces" not in first
