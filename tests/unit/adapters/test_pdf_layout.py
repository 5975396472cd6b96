"""The PDF layout holds for 13-digit amounts, 200-character names and addresses, and Indic scripts.

Set PDF_LAYOUT_DIR to keep the three rendered PDFs (to look at them: pdftoppm -png -r 80)."""

from __future__ import annotations

import copy
import importlib.util
import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.platypus import Paragraph

from billing.adapters import pdf
from billing.adapters.pdf import render_credit_note_pdf, render_invoice_pdf

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parents[2] / "templates"
_spec = importlib.util.spec_from_file_location("credit_note_pdf_cases", HERE / "test_credit_note_pdf.py")
assert _spec and _spec.loader
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
INVOICE, CREDIT_NOTE = _cases.INVOICE, _cases.CREDIT_NOTE

HUGE = copy.deepcopy(INVOICE)
HUGE["lineItems"] = [
    {"description": "Voice agent call charges (16666666666.6667 min x ₹ 2.36/min)", "quantity": 16666666666.6667,
     "rate": 2.36, "amount": 39333333333.33, "unit": "min"},
    {"description": "Monthly maintenance fee", "quantity": 1, "rate": 1500.0, "amount": 1500.0, "unit": "month"}]
HUGE.update({"subtotal": 39333334833.33, "gstAmount": 7080000270.0, "totalAmount": 46413335103.33,
             "amountInWords": "Indian Rupees Four Thousand Six Hundred Forty One Crore Thirty Three Lakh Thirty "
                              "Five Thousand One Hundred Three and Thirty Three Paise Only"})
HUGE["taxBreakdown"] = {"type": "intra-state", "rate": 18.0, "taxableValue": 39333334833.33, "components": [
    {"name": "CGST", "rate": 9.0, "amount": 3540000135.0}, {"name": "SGST", "rate": 9.0, "amount": 3540000135.0}]}
HUGE["usageData"] = {**INVOICE["usageData"], "totalBilledMinutes": 16666666666.67, "daily": [
    {"date": f"2025-09-{d:02d}", "calls": 1000, "minutes": 555555555.56 * (d % 3 + 1)} for d in range(1, 31)]}

LONG = copy.deepcopy(INVOICE)
LONG_NAME = ("Vysedeck Technologies and Conversational Voice Automation Services for Regional Banking, Insurance "
             "and Microfinance Institutions of Karnataka, Tamil Nadu and Maharashtra Private Limited Company")[:200]
LONG_ADDRESS = ("Unit 1204, Twelfth Floor, Prestige Technology Park Phase Three, Outer Ring Road, Marathahalli to "
                "Sarjapur Road Stretch, Kadubeesanahalli Village, Varthur Hobli, Bengaluru East Taluk, Karnataka")[:200]
LONG["recipient"] = {**INVOICE["recipient"], "legalName": LONG_NAME, "address": LONG_ADDRESS}
LONG["supplier"] = {**INVOICE["supplier"], "legalName": LONG_NAME.replace("Vysedeck", "Voxa"), "address": LONG_ADDRESS}

INDIC = copy.deepcopy(CREDIT_NOTE)
INDIC_REASON = "गलत दर लागू की गई (₹2.00 के बजाय ₹1.50) · தவறான கட்டண விகிதம் பயன்படுத்தப்பட்டது"
INDIC["reason"] = INDIC_REASON
INDIC["recipient"] = {**CREDIT_NOTE["recipient"], "legalName": "विश्वास टेक्नोलॉजीज़ प्राइवेट लिमिटेड",
                      "address": "எண் 12, அண்ணா சாலை, சென்னை"}


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    docs = {"huge_amounts": render_invoice_pdf(HUGE, templates_dir=TEMPLATES),
            "long_names": render_invoice_pdf(LONG, templates_dir=TEMPLATES),
            "indic_credit_note": render_credit_note_pdf(INDIC, templates_dir=TEMPLATES)}
    keep = os.environ.get("PDF_LAYOUT_DIR")
    if keep:
        for name, data in docs.items():
            (Path(keep) / f"{name}.pdf").write_bytes(data)
    return docs


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def fonts_of(data: bytes) -> set[str]:
    fonts: set[str] = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        fonts |= {str(f.get_object()["/BaseFont"]).split("+")[-1] for f in page["/Resources"]["/Font"].values()}
    return fonts


def cells(table) -> list[tuple[Paragraph, float]]:
    """Every paragraph cell of a table with the width it has to fit in (its column less padding)."""
    found = []
    for row in table._cellvalues:
        for col, cell in enumerate(row):
            if isinstance(cell, Paragraph):
                found.append((cell, table._colWidths[col] - 12))
    return found


def test_thirteen_digit_amounts_never_wrap_inside_a_number(rendered):
    page = pdf._Page(pdf._branding(TEMPLATES))
    items = pdf._items(HUGE, page, "Total")
    for paragraph, room in cells(items):
        assert paragraph.minWidth() <= room, paragraph.text  # the longest word fits its column
    lines = text_of(rendered["huge_amounts"]).splitlines()
    for amount in ("39,33,33,33,333.33", "39,33,33,34,833.33", "3,54,00,00,135.00", "₹ 46,41,33,35,103.33",
                   "16666666666.6667 min"):
        assert any(amount in line for line in lines), amount


def test_the_daily_chart_leaves_room_for_its_largest_axis_label():
    drawing = pdf._daily_chart(HUGE["usageData"]["daily"], pdf._Page(pdf._branding(TEMPLATES)).s, 120 * 2.83)
    chart = drawing.contents[0]
    label = pdf.pdfmetrics.stringWidth(str(int(chart.valueAxis.valueMax)), pdf.FONT, 6)
    assert chart.x >= label + 8 and chart.x + chart.width <= 120 * 2.83


def test_two_hundred_character_names_and_addresses_wrap_inside_their_boxes(rendered):
    page = pdf._Page(pdf._branding(TEMPLATES))
    for table in (pdf._parties(LONG, page, page.brand["labels"], []), pdf._header(LONG["supplier"], page,
                                                                                  page.brand["labels"], "TAX INVOICE")):
        for row in table._cellvalues:
            for col, cell in enumerate(row):
                for paragraph in (c for c in (cell if isinstance(cell, list) else [cell]) if isinstance(c, Paragraph)):
                    assert paragraph.minWidth() <= table._colWidths[col], paragraph.text
    text = " ".join(text_of(rendered["long_names"]).split())
    assert LONG_NAME.split()[-1] in text and "Bengaluru East Taluk" in text
    assert len(PdfReader(io.BytesIO(rendered["long_names"])).pages) <= 2


def test_devanagari_and_tamil_print_in_fonts_that_have_them(rendered):
    data = rendered["indic_credit_note"]
    fonts = fonts_of(data)
    assert {"NotoSansDevanagari-Regular", "NotoSansTamil-Regular"} <= fonts, fonts
    assert "NotoSansDevanagari-Bold" in fonts  # the recipient's name is printed bold
    text = text_of(data)
    # Words without conjuncts or pre-base vowel signs extract as written; shaped glyphs (conjuncts,
    # reordered vowel signs) print right but extract as private-use codes or in visual order.
    for word in ("गलत दर लागू", "बजाय", "தவறான", "சா"):
        assert word in text, word


def test_latin_only_text_keeps_its_markup_and_its_bytes():
    assert pdf._markup("Ramesh & Sons <Pvt>", False) == ("Ramesh &amp; Sons &lt;Pvt&gt;", False)
    markup, other = pdf._markup("कर tax வரி", True)
    assert other and markup == ('<font name="InvoiceDevanagari-Bold">कर</font> tax '
                                '<font name="InvoiceTamil-Bold">வரி</font>')
