"""The CANCELLED copy of a void invoice: the original PDF, page for page, with a stamp drawn over it.

The original's pages are kept as they are (pypdf merges a reportlab overlay onto each), so the copy
shows exactly what the customer received. Deterministic: the same original and the same credit note
give byte-identical bytes (reportlab's invariant mode, no clock), so a retried void stores exactly
what an uninterrupted one would have. The wording and colour come from templates/invoice/branding.json
("cancelled"); the font is the invoice's bold font.
"""

from __future__ import annotations

import json
import threading
from io import BytesIO
from pathlib import Path
from typing import Any, Mapping

from pypdf import PdfReader, PdfWriter
from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from billing.adapters.formatting import display_date
from billing.errors import IntegrityError

STAMP_FONT = "StampSans-Bold"
DEFAULTS = {"word": "CANCELLED", "text": "Cancelled by credit note {creditNote} dated {date}. Not payable.",
            "color": "#B00020"}

_lock = threading.Lock()


def _stamp_branding(templates_dir: Path) -> dict[str, Any]:
    """The "cancelled" section of branding.json (defaults for what it leaves out), font registered."""
    brand = json.loads((templates_dir / "invoice" / "branding.json").read_text(encoding="utf-8"))
    with _lock:
        if STAMP_FONT not in pdfmetrics.getRegisteredFontNames():
            font = templates_dir / "fonts" / brand.get("boldFont", "DejaVuSans-Bold.ttf")
            pdfmetrics.registerFont(TTFont(STAMP_FONT, str(font)))
    return {**DEFAULTS, **(brand.get("cancelled") or {})}


def _overlay(width: float, height: float, word: str, line: str, color: colors.Color) -> bytes:
    """One transparent page: the word across the middle, diagonally, and the line in a box in the top
    margin (where the invoice prints nothing), so no figure of the original is hidden."""
    out = BytesIO()
    canvas = Canvas(out, pagesize=(width, height), invariant=1)
    canvas.saveState()
    canvas.translate(width / 2, height / 2)
    canvas.rotate(35)
    canvas.setFillColor(color, alpha=0.28)
    canvas.setStrokeColor(color, alpha=0.5)
    size = min(96.0, width * 0.82 / max(1.0, pdfmetrics.stringWidth(word, STAMP_FONT, 1)))
    canvas.setFont(STAMP_FONT, size)
    canvas.drawCentredString(0, -size / 3, word)
    canvas.restoreState()

    size = 11.0
    text_width = pdfmetrics.stringWidth(line, STAMP_FONT, size)
    if text_width > width - 60:
        size *= (width - 60) / text_width
        text_width = pdfmetrics.stringWidth(line, STAMP_FONT, size)
    box_y = height - 27  # the baseline; the box spans 8 pt below to 6 pt above the text: inside the margin
    canvas.setFillColor(colors.white, alpha=0.92)
    canvas.setStrokeColor(color)
    canvas.setLineWidth(1.5)
    canvas.rect((width - text_width) / 2 - 10, box_y - 8, text_width + 20, size + 14, stroke=1, fill=1)
    canvas.setFillColor(color)
    canvas.setFont(STAMP_FONT, size)
    canvas.drawCentredString(width / 2, box_y, line)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def stamp_cancelled_pdf(original: bytes, invoice: Mapping[str, Any], *, templates_dir: Path) -> bytes:
    """The void invoice's original PDF stamped CANCELLED with its credit note's number and date."""
    voided_by = invoice.get("voidedBy") or {}
    if not voided_by.get("creditNoteNumber"):
        raise IntegrityError(f"invoice {invoice.get('invoiceNumber')} has no credit note to name on its "
                             "CANCELLED copy")
    brand = _stamp_branding(Path(templates_dir))
    line = str(brand["text"]).format(creditNote=voided_by["creditNoteNumber"],
                                     date=display_date(voided_by.get("creditNoteDate")),
                                     invoice=invoice.get("invoiceNumber", ""))
    color = colors.HexColor(brand["color"])
    writer = PdfWriter(clone_from=PdfReader(BytesIO(original)))
    overlays: dict[tuple[float, float], Any] = {}
    for page in writer.pages:
        size = (float(page.mediabox.width), float(page.mediabox.height))
        if size not in overlays:
            overlays[size] = PdfReader(BytesIO(_overlay(*size, str(brand["word"]), line, color))).pages[0]
        page.merge_page(overlays[size])
    writer.add_metadata({"/Title": f"CANCELLED: tax invoice {invoice.get('invoiceNumber', '')}"})
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
