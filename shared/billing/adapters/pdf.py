"""The GST tax invoice as a PDF (reportlab), rendered from the stored invoice document alone.

Deterministic: the same document gives byte-identical PDFs (reportlab's invariant mode, no clock),
so a retried issuance stores exactly what an uninterrupted one would have.
Branding, labels and static text come from templates/invoice/branding.json; fonts from templates/fonts.
"""

from __future__ import annotations

import json
import math
import threading
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from billing.adapters.formatting import as_decimal, display_date, indian_amount, rate_amount
from billing.domain.invoice import BANK_FIELDS
from billing.domain.totals import quantity_text

_lock = threading.Lock()
_loaded: dict[str, dict[str, Any]] = {}

FONT, BOLD = "InvoiceSans", "InvoiceSans-Bold"
# Scripts the main font lacks, printed in a font that has them: (first, last code point, regular, bold, file stem).
SCRIPT_FONTS = (
    (0x0900, 0x097F, "InvoiceDevanagari", "InvoiceDevanagari-Bold", "NotoSansDevanagari"),
    (0xA8E0, 0xA8FF, "InvoiceDevanagari", "InvoiceDevanagari-Bold", "NotoSansDevanagari"),
    (0x0B80, 0x0BFF, "InvoiceTamil", "InvoiceTamil-Bold", "NotoSansTamil"),
)
JOINERS = "\u200c\u200d"  # zero-width (non-)joiners stay with the script run around them


def _branding(templates_dir: Path) -> dict[str, Any]:
    """branding.json, with its fonts registered once per process."""
    key = str(templates_dir)
    with _lock:
        if key not in _loaded:
            brand = json.loads((templates_dir / "invoice" / "branding.json").read_text(encoding="utf-8"))
            fonts = templates_dir / "fonts"
            if FONT not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont(FONT, str(fonts / brand.get("font", "DejaVuSans.ttf"))))
                pdfmetrics.registerFont(TTFont(BOLD, str(fonts / brand.get("boldFont", "DejaVuSans-Bold.ttf"))))
                for _, _, regular, bold, stem in SCRIPT_FONTS:
                    if regular not in pdfmetrics.getRegisteredFontNames():
                        pdfmetrics.registerFont(TTFont(regular, str(fonts / f"{stem}-Regular.ttf")))
                        pdfmetrics.registerFont(TTFont(bold, str(fonts / f"{stem}-Bold.ttf")))
            _loaded[key] = brand
        return _loaded[key]


def _money(value: Any, symbol: str = "") -> str:
    return f"{symbol} {indian_amount(value)}".strip()


def _qty(value: Any) -> str:
    """A line's quantity with every decimal it carries (the line multiplies out as printed)."""
    return quantity_text(as_decimal(value))


class _Styles:
    def __init__(self, brand: Mapping[str, Any]) -> None:
        text = colors.HexColor(brand.get("textColor", "#222222"))
        self.accent = colors.HexColor(brand.get("accentColor", "#1F4E79"))
        self.light = colors.HexColor(brand.get("lightColor", "#EAF1F8"))
        self.muted = colors.HexColor(brand.get("mutedColor", "#666666"))
        self.body = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=11, textColor=text)
        self.small = ParagraphStyle("small", parent=self.body, fontSize=7.5, leading=9.5, textColor=self.muted)
        self.bold = ParagraphStyle("bold", parent=self.body, fontName=BOLD)
        self.right = ParagraphStyle("right", parent=self.body, alignment=TA_RIGHT)
        self.right_bold = ParagraphStyle("rightb", parent=self.bold, alignment=TA_RIGHT)
        self.name = ParagraphStyle("name", parent=self.bold, fontSize=13, leading=16, textColor=self.accent)
        self.title = ParagraphStyle("title", parent=self.bold, fontSize=16, leading=20, alignment=TA_RIGHT,
                                    textColor=self.accent)
        self.heading = ParagraphStyle("heading", parent=self.bold, fontSize=9.5, leading=12, textColor=self.accent,
                                      spaceBefore=4, spaceAfter=2)


def _script_font(char: str, bold: bool) -> str | None:
    """The font for a character the main font lacks (Devanagari, Tamil), else None."""
    code = ord(char)
    for first, last, regular, heavy, _ in SCRIPT_FONTS:
        if first <= code <= last:
            return heavy if bold else regular
    return None


def _has_glyph(font: str, char: str) -> bool:
    """Whether a registered TrueType font has a glyph for the character."""
    face: Any = pdfmetrics.getFont(font).face  # type: ignore[attr-defined]
    return ord(char) in face.charToGlyph


def _markup(text: str, bold: bool) -> tuple[str, bool]:
    """Paragraph markup with each run of another script in its own font; True when there was one.

    Latin-only text gives exactly the markup it always had (the goldens stay byte-identical)."""
    runs: list[tuple[str | None, str]] = []
    for char in text:
        font = _script_font(char, bold)
        if font is None and runs and runs[-1][0] is not None and not char.isspace() and (
                char in JOINERS or _has_glyph(runs[-1][0], char)):
            # punctuation within a word stays in the word's font: HarfBuzz shapes a word in one font
            font = runs[-1][0]
        if runs and runs[-1][0] == font:
            runs[-1] = (font, runs[-1][1] + char)
        else:
            runs.append((font, char))
    parts = [escape(chunk) if font is None else f'<font name="{font}">{escape(chunk)}</font>' for font, chunk in runs]
    return "".join(parts).replace("\n", "<br/>"), any(font for font, _ in runs)


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    markup, other_scripts = _markup(str(text if text is not None else ""), style.fontName == BOLD)
    if other_scripts:  # shaped with HarfBuzz: conjuncts and vowel signs as the script writes them
        style = ParagraphStyle(f"{style.name}-shaped", parent=style, shaping=1)
    return Paragraph(markup, style)


def _party(label: str, party: Mapping[str, Any], labels: Mapping[str, str], s: _Styles) -> list[Paragraph]:
    state = party.get("stateName") or ""
    code = party.get("stateCode") or ""
    rows = [
        _p(label.upper(), s.small),
        _p(party.get("legalName", ""), s.bold),
        _p(party.get("address", ""), s.body),
        _p(f"{labels['gstin']}: {party.get('gstin') or labels['unregistered']}", s.body),
        _p(f"{labels['state']}: {state} (code {code})" if code else "", s.body),
    ]
    if party.get("billingEmail"):
        rows.append(_p(party["billingEmail"], s.small))
    return rows


def _daily_chart(daily: Sequence[Mapping[str, Any]], s: _Styles, width: float) -> Drawing:
    height = 38 * mm
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 28, 16
    # types-reportlab declares PlotArea.width/height as int; reportlab takes any number (isNumber).
    chart.width, chart.height = width - 36, height - 30  # type: ignore[assignment]
    minutes = [float(d.get("minutes", 0)) for d in daily] or [0]
    chart.data = [minutes]
    chart.bars[0].fillColor = s.accent
    chart.bars[0].strokeColor = None
    chart.valueAxis.valueMin = 0
    top = max(minutes)
    step = max(1, math.ceil(top / 5)) if top > 0 else 1  # whole minutes on the axis
    chart.valueAxis.valueMax = step * max(1, math.ceil(top * 1.1 / step))
    chart.valueAxis.valueStep = step
    chart.valueAxis.labelTextFormat = "%d"
    # the axis' widest label decides where the plot starts (large volumes must not overlap the bars)
    label = pdfmetrics.stringWidth(str(int(chart.valueAxis.valueMax)), FONT, 6)
    if label + 8 > chart.x:
        chart.x = math.ceil(label + 8)
        chart.width = width - chart.x - 8  # type: ignore[assignment]
    chart.valueAxis.labels.fontName = FONT
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.strokeColor = s.muted
    chart.categoryAxis.categoryNames = [
        str(int(d["date"][8:10])) if i % 2 == 0 else "" for i, d in enumerate(daily)
    ] or [""]
    chart.categoryAxis.labels.fontName = FONT
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.strokeColor = s.muted
    drawing.add(chart)
    drawing.add(String(28, height - 9, "Billed minutes per day", fontName=FONT, fontSize=7, fillColor=s.muted))
    return drawing


def render_invoice_pdf(invoice: Mapping[str, Any], *, templates_dir: Path) -> bytes:
    """The invoice document as PDF bytes (A4, deterministic)."""
    brand = _branding(Path(templates_dir))
    labels = brand["labels"]
    page = _Page(brand)
    facts = [
        [labels["invoiceNumber"], invoice.get("invoiceNumber", "")],
        [labels["invoiceDate"], display_date(invoice.get("invoiceDate"))],
        [labels["dueDate"], display_date(invoice.get("dueDate"))],
    ]
    story = _opening(invoice, page, labels, brand.get("title", "TAX INVOICE"), facts, "Total")
    story[1:1] = _replaces_section(invoice.get("replaces"), brand, page.s)
    story.append(_usage_section(invoice.get("usageData") or {}, page))
    story += _payment_section(invoice, page)
    number = str(invoice.get("invoiceNumber", ""))
    return _build(story, page.s, list(brand.get("footer", [])), invoice.get("supplier") or {}, number,
                  "invoice", f"Tax invoice {number}", "GST tax invoice")


def render_credit_note_pdf(credit_note: Mapping[str, Any], *, templates_dir: Path) -> bytes:
    """A GST credit note (CGST rule 53) as PDF bytes: the invoice's layout titled "Credit Note",
    naming the original invoice and the reason; no usage summary or payment details."""
    brand = _branding(Path(templates_dir))
    cn = {**brand.get("creditNote", {}),
          "labels": {**brand["labels"], **brand.get("creditNote", {}).get("labels", {})}}
    labels = cn["labels"]
    page = _Page(brand)
    original = credit_note.get("originalInvoice") or {}
    facts = [
        [labels["creditNoteNumber"], credit_note.get("creditNoteNumber", "")],
        [labels["creditNoteDate"], display_date(credit_note.get("creditNoteDate"))],
        [labels["originalInvoice"], original.get("invoiceNumber", "")],
        [labels["originalInvoiceDate"], display_date(original.get("invoiceDate"))],
    ]
    story = _opening(credit_note, page, labels, cn.get("title", "CREDIT NOTE"), facts,
                     cn.get("totalLabel", "Total credited"))
    story += _credit_section(credit_note, cn, page.s)
    number = str(credit_note.get("creditNoteNumber", ""))
    return _build(story, page.s, list(cn.get("footer", brand.get("footer", []))), credit_note.get("supplier") or {},
                  number, "credit note", f"Credit note {number}", "GST credit note")


class _Page:
    """What every section is laid out with: the branding, the styles, the text width."""

    def __init__(self, brand: Mapping[str, Any]) -> None:
        self.brand = brand
        self.s = _Styles(brand)
        self.currency = brand.get("currencySymbol", "₹")
        self.width = A4[0] - 30 * mm


def _opening(doc: Mapping[str, Any], page: _Page, labels: Mapping[str, str], title: str,
             facts: list[list[Any]], total_label: str) -> list[Flowable]:
    """The parts every document kind starts with: header, parties and facts, line items and tax."""
    s = page.s
    return [_header(doc.get("supplier") or {}, page, labels, title), Spacer(1, 4 * mm),
            _parties(doc, page, labels, facts), Spacer(1, 5 * mm),
            _items(doc, page, total_label), Spacer(1, 2 * mm),
            _p(f"Amount in words: {doc.get('amountInWords', '')}", s.bold), Spacer(1, 5 * mm)]


def _header(supplier: Mapping[str, Any], page: _Page, labels: Mapping[str, str], title: str) -> Table:
    """Supplier left, title right."""
    s, width = page.s, page.width
    header = Table(
        [[
            [_p(supplier.get("legalName", ""), s.name), _p(supplier.get("address", ""), s.body),
             _p(f"{labels['gstin']}: {supplier.get('gstin') or labels['unregistered']}", s.body),
             _p(f"{labels['state']}: {supplier.get('stateName', '')} (code {supplier.get('stateCode', '')})", s.body),
             _p(" · ".join(x for x in (supplier.get("supportEmail"), supplier.get("phone")) if x), s.small)],
            [_p(title, s.title),
             Paragraph(escape(page.brand.get("copyLabel", "")), ParagraphStyle("c", parent=s.small, alignment=TA_RIGHT))],
        ]],
        colWidths=[width * 0.62, width * 0.38],
    )
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                                ("LINEBELOW", (0, 0), (-1, 0), 1.2, s.accent), ("BOTTOMPADDING", (0, 0), (-1, -1), 6)]))
    return header


def _parties(doc: Mapping[str, Any], page: _Page, labels: Mapping[str, str], facts: list[list[Any]]) -> Table:
    """The recipient left; the document's own facts, then the period, place of supply, SAC, right."""
    s, width = page.s, page.width
    supplier = doc.get("supplier") or {}
    period = doc.get("billingPeriod") or {}
    place = doc.get("placeOfSupply") or {}
    facts = facts + [
        [labels["period"], f"{display_date(period.get('startDate'))} – {display_date(period.get('endDate'))}"
                           + (f" ({period['timezone']})" if period.get("timezone") else "")],
        [labels["placeOfSupply"], f"{place.get('stateName', '')} ({place.get('stateCode', '')})"],
        [labels["reverseCharge"], "Yes" if doc.get("reverseCharge") else "No"],
        [labels["sac"], f"{supplier.get('sacCode', '')} – {page.brand.get('serviceDescription', '')}"],
    ]
    facts_table = Table([[_p(k, s.small), _p(v, s.bold if i == 0 else s.body)] for i, (k, v) in enumerate(facts)],
                        colWidths=[28 * mm, width * 0.5 - 30 * mm])
    facts_table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1),
                                     ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    parties = Table([[_party(labels["billTo"], doc.get("recipient") or {}, labels, s), facts_table]],
                    colWidths=[width * 0.5, width * 0.5])
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BACKGROUND", (0, 0), (0, 0), s.light),
                                 ("LEFTPADDING", (0, 0), (0, 0), 6), ("TOPPADDING", (0, 0), (-1, -1), 5),
                                 ("BOTTOMPADDING", (0, 0), (-1, -1), 5), ("LEFTPADDING", (1, 0), (1, 0), 10)]))
    return parties


def _items(doc: Mapping[str, Any], page: _Page, total_label: str) -> Table:
    """Line items, taxable value, each tax component and the total."""
    s, width, cur = page.s, page.width, page.currency
    sac = (doc.get("supplier") or {}).get("sacCode", "")
    headings: tuple[tuple[str, Literal[0, 2]], ...] = (
        ("#", 0), ("Description", 0), ("SAC", 0), ("Qty", TA_RIGHT),
        (f"Rate ({cur})", TA_RIGHT), (f"Amount ({cur})", TA_RIGHT))
    rows: list[list[Paragraph | str]] = [
        [_p(h, ParagraphStyle("h", parent=s.bold, textColor=colors.white, alignment=a)) for h, a in headings]]
    for n, item in enumerate(doc.get("lineItems") or [], start=1):
        rows.append([
            _p(n, s.body), _p(item.get("description", ""), s.body), _p(sac, s.body),
            _p(f"{_qty(item.get('quantity', 0))} {item.get('unit', '')}".strip(), s.right),
            _p(rate_amount(item.get("rate")), s.right), _p(_money(item.get("amount")), s.right),
        ])
    n_items = len(rows)
    rows.append(["", _p("Taxable value", s.bold), "", "", "", _p(_money(doc.get("subtotal")), s.right_bold)])
    for comp in (doc.get("taxBreakdown") or {}).get("components") or []:
        rate_text = f"{Decimal(str(comp.get('rate', 0))).normalize():f}"
        rows.append(["", _p(f"{comp.get('name')} @ {rate_text}%", s.body), "", "", "",
                     _p(_money(comp.get("amount")), s.right)])
    rows.append(["", _p(total_label, ParagraphStyle("t", parent=s.bold, fontSize=10)), "", "", "",
                 _p(_money(doc.get("totalAmount"), cur), ParagraphStyle("tr", parent=s.right_bold, fontSize=10))])
    qty_w, rate_w, amount_w = _number_widths(doc, cur)
    items = Table(rows, colWidths=[8 * mm, width - 8 * mm - 20 * mm - qty_w - rate_w - amount_w, 20 * mm,
                                   qty_w, rate_w, amount_w], repeatRows=1)
    items.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), s.accent),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 1), (-1, n_items - 1), 0.3, colors.lightgrey),
        ("LINEABOVE", (0, n_items), (-1, n_items), 0.8, s.accent),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, s.accent),
        ("BACKGROUND", (0, -1), (-1, -1), s.light),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    return items


def _replaces_section(replaces: Any, brand: Mapping[str, Any], s: _Styles) -> list[Flowable]:
    """A reissue's line under the header: which invoice it replaces and the credit note that cancelled it."""
    if not isinstance(replaces, Mapping) or not replaces.get("invoiceNumber"):
        return []
    text = str(brand.get("replacesText", "Replaces invoice {invoice}, cancelled by credit note {creditNote}."))
    line = text.format(invoice=replaces.get("invoiceNumber", ""), creditNote=replaces.get("creditNoteNumber", ""))
    return [Spacer(1, 2 * mm), _p(line, ParagraphStyle("replaces", parent=s.bold, textColor=s.accent))]


def _number_widths(doc: Mapping[str, Any], cur: str) -> tuple[float, float, float]:
    """Widths of the quantity, rate and amount columns: the usual 24/26/30 mm, wider when a number
    needs it (a 13-digit amount), so that no number ever wraps inside itself."""
    items = doc.get("lineItems") or []
    pad = 12 + 2  # the cell's left and right padding (6 each), and a margin against rounding

    def widest(texts: list[str], font: str, size: float) -> float:
        return max((pdfmetrics.stringWidth(t, font, size) for t in texts), default=0) + pad

    qty = widest([f"{_qty(i.get('quantity', 0))} {i.get('unit', '')}".strip() for i in items], FONT, 8.5)
    rate = widest([rate_amount(i.get("rate")) for i in items], FONT, 8.5)
    amounts = [_money(i.get("amount")) for i in items] + [_money(doc.get("subtotal"))] + [
        _money(c.get("amount")) for c in (doc.get("taxBreakdown") or {}).get("components") or []]
    amount = max(widest(amounts, BOLD, 8.5), widest([_money(doc.get("totalAmount"), cur)], BOLD, 10))
    return max(24 * mm, qty), max(26 * mm, rate), max(30 * mm, amount)


def _usage_section(usage: Mapping[str, Any], page: _Page) -> KeepTogether:
    """The invoice's usage summary beside the daily chart."""
    s, width = page.s, page.width
    anomalies = int(usage.get("anomalyCount", 0) or 0)
    summary_rows = [
        ["Total calls", str(usage.get("totalCalls", 0))],
        ["Billable calls", str(usage.get("billableCalls", usage.get("totalCalls", 0)))],
        ["Billed minutes", _qty(usage.get("totalBilledMinutes", 0))],
        ["Included minutes applied", _qty(usage.get("includedMinutesApplied", 0))],
        ["Billing policy", str(usage.get("billingPolicy", ""))],
        ["Call logs not rated", str(anomalies)],
    ]
    values = max(24 * mm, max(pdfmetrics.stringWidth(v, FONT, 8.5) for _, v in summary_rows) + 6 + 2)
    summary = Table([[_p(k, s.small), _p(v, s.body)] for k, v in summary_rows], colWidths=[36 * mm, values])
    summary.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1),
                                 ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    left: list[Flowable] = [summary]
    if anomalies:
        left.append(_p(f"{anomalies} call log(s) could not be rated (e.g. missing or negative duration) and "
                       "were billed nothing; each is listed with its reason in the CSV.", s.small))
    left_w = max(64 * mm, 36 * mm + values + 4 * mm)  # wider only for numbers 24 mm cannot hold
    chart = _daily_chart(list(usage.get("daily") or []), s, width - left_w)
    usage_table = Table([[left, chart]], colWidths=[left_w, width - left_w])
    usage_table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return KeepTogether([_p("Usage summary", s.heading), usage_table])


def _payment_section(invoice: Mapping[str, Any], page: _Page) -> list[Flowable]:
    """The invoice's payment details (bank, amount due) beside its notes."""
    s, width, cur = page.s, page.width, page.currency
    bank = (invoice.get("supplier") or {}).get("bank") or {}
    pay_rows = [[_p(label, s.small), _p(bank[key], s.body)] for key, label in BANK_FIELDS if bank.get(key)]
    pay_rows.append([_p("Amount due", s.small),
                     _p(f"{_money(invoice.get('totalAmount'), cur)} by {display_date(invoice.get('dueDate'))}", s.bold)])
    pay_table = Table(pay_rows, colWidths=[30 * mm, width * 0.5 - 30 * mm])
    pay_table.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1),
                                   ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    notes = [_p(n, s.small) for n in page.brand.get("notes", [])]
    left: list[Flowable] = [_p("Payment details", s.heading), pay_table]
    upi_id = (invoice.get("supplier") or {}).get("upiId")
    if upi_id:  # DESIGN 14: only when settings/billing.upiId is set (the layout is unchanged otherwise)
        left.append(_upi_qr(invoice, str(upi_id), page))
    bottom = Table([[left, [_p("Notes", s.heading), *notes]]],
                   colWidths=[width * 0.5, width * 0.5])
    bottom.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return [Spacer(1, 3 * mm), KeepTogether(bottom)]


def _upi_qr(invoice: Mapping[str, Any], upi_id: str, page: _Page) -> Table:
    """A UPI QR code for the invoice's total, beside the UPI ID."""
    from reportlab.graphics.barcode.qr import QrCodeWidget

    from billing.domain.receivables import upi_uri

    s = page.s
    supplier = invoice.get("supplier") or {}
    total = int((invoice.get("amountsPaise") or {}).get("total", round(as_decimal(invoice.get("totalAmount", 0)) * 100)))
    widget = QrCodeWidget(upi_uri(upi_id, str(supplier.get("legalName", "")), total,
                                  str(invoice.get("invoiceNumber", ""))), barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    size = 30 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    text = [_p("Pay by UPI", s.bold), _p(f"Scan with any UPI app, or pay to {upi_id}", s.small),
            _p(f"{_money(invoice.get('totalAmount'), page.currency)} · {invoice.get('invoiceNumber', '')}", s.small)]
    table = Table([[drawing, text]], colWidths=[size + 3 * mm, page.width * 0.5 - size - 3 * mm])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("TOPPADDING", (0, 0), (-1, -1), 3)]))
    return table


def _credit_section(note: Mapping[str, Any], cn: Mapping[str, Any], s: _Styles) -> list[Flowable]:
    """The credit note's last parts: why it was issued, what it credits, its notes."""
    labels = cn["labels"]
    original = note.get("originalInvoice") or {}
    story: list[Flowable] = [
        _p(labels["reason"], s.heading), _p(note.get("reason", ""), s.body), Spacer(1, 3 * mm),
        _p(cn.get("creditText", "").format(number=original.get("invoiceNumber", ""),
                                           date=display_date(original.get("invoiceDate"))), s.body),
        Spacer(1, 3 * mm)]
    notes = [_p(n, s.small) for n in cn.get("notes", [])]
    if notes:
        story += [_p("Notes", s.heading), *notes]
    return story


def _build(story: list[Any], s: _Styles, footer_lines: list[str], supplier: Mapping[str, Any], number: str,
           kind: str, title: str, subject: str) -> bytes:
    """The A4 document with its footer on every page (deterministic: invariant mode, no clock)."""
    contact = supplier.get("supportEmail")

    def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setStrokeColor(s.accent)
        canvas.line(15 * mm, 14 * mm, A4[0] - 15 * mm, 14 * mm)
        canvas.setFont(FONT, 7)
        canvas.setFillColor(s.muted)
        y = 10 * mm
        for line in footer_lines + ([f"Questions about this {kind}: {contact}"] if contact else []):
            canvas.drawString(15 * mm, y, line)
            y -= 3.2 * mm
        canvas.drawRightString(A4[0] - 15 * mm, 10 * mm, f"{number} · page {doc.page}")
        canvas.restoreState()

    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=14 * mm, bottomMargin=22 * mm,
        title=title, author=supplier.get("legalName", ""), subject=subject,
        creator="billing", producer="billing", invariant=1,
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
