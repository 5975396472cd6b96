"""A company's statement of account as a PDF, in the invoice's branding (adapters/pdf.py's header,
styles, fonts and footer); deterministic like the invoice."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from billing.adapters.formatting import display_date
from billing.adapters.pdf import _branding, _build, _header, _money, _p, _Page

TYPE_LABELS = {"invoice": "Invoice", "debit_note": "Debit note", "credit_note": "Credit note",
               "payment": "Payment", "tds": "TDS", "reversal": "Reversal"}


def _signed(value: Any, cur: str) -> str:
    amount = float(value)
    text = _money(abs(amount), cur)
    return f"{text} Cr" if amount < 0 else text


def render_statement_pdf(doc: Mapping[str, Any], *, templates_dir: Path) -> bytes:
    brand = _branding(Path(templates_dir))
    labels = brand["labels"]
    page = _Page({**brand, "copyLabel": ""})  # no "Original for Recipient": a statement is not a tax document
    s, width, cur = page.s, page.width, page.currency
    period = (f"{display_date(doc['from'])} – {display_date(doc['to'])}" if doc.get("from")
              else f"up to {display_date(doc['to'])}")
    customer = [_p("Statement for", s.small), _p(doc.get("companyName", ""), s.bold),
                _p(doc.get("companyAddress", ""), s.body)]
    if doc.get("companyGstin"):
        customer.append(_p(f"GSTIN: {doc['companyGstin']}", s.body))
    facts = Table([[_p(k, s.small), _p(v, s.bold if i == 0 else s.body)] for i, (k, v) in enumerate([
        ("Period", period), ("Opening balance", _signed(doc["openingBalance"], cur)),
        ("Closing balance", _signed(doc["closingBalance"], cur)), ("Generated on", display_date(doc["generatedOn"]))])],
        colWidths=[30 * mm, width * 0.5 - 32 * mm])
    facts.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 1),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    parties = Table([[customer, facts]], colWidths=[width * 0.5, width * 0.5])
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BACKGROUND", (0, 0), (0, 0), s.light),
                                 ("LEFTPADDING", (0, 0), (0, 0), 6), ("TOPPADDING", (0, 0), (-1, -1), 5),
                                 ("BOTTOMPADDING", (0, 0), (-1, -1), 5), ("LEFTPADDING", (1, 0), (1, 0), 10)]))
    white = ParagraphStyle("h", parent=s.bold, textColor=colors.white)
    white_right = ParagraphStyle("hr", parent=white, alignment=2)
    rows: list[list[Any]] = [[_p("Date", white), _p("Type", white), _p("Document", white), _p("Details", white),
                              _p(f"Debit ({cur})", white_right), _p(f"Credit ({cur})", white_right),
                              _p(f"Balance ({cur})", white_right)]]
    rows.append(["", "", "", _p("Opening balance", s.bold), "", "", _p(_signed(doc["openingBalance"], ""), s.right_bold)])
    for r in doc.get("rows") or []:
        rows.append([_p(display_date(r["date"]), s.body), _p(TYPE_LABELS.get(r["type"], r["type"]), s.body),
                     _p(r["document"], s.body), _p(r["description"], s.small),
                     _p(_money(r["debit"]) if r["debit"] else "", s.right),
                     _p(_money(r["credit"]) if r["credit"] else "", s.right),
                     _p(_signed(r["balance"], ""), s.right)])
    totals = doc.get("totals") or {}
    rows.append(["", "", "", _p("Totals / closing balance", s.bold), _p(_money(totals.get("debit", 0)), s.right_bold),
                 _p(_money(totals.get("credit", 0)), s.right_bold), _p(_signed(doc["closingBalance"], cur), s.right_bold)])
    fixed = 24 * mm + 20 * mm + 31 * mm + 22 * mm + 22 * mm + 24 * mm
    table = Table(rows, colWidths=[24 * mm, 20 * mm, 31 * mm, width - fixed, 22 * mm, 22 * mm, 24 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), s.accent), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 1), (-1, -2), 0.3, colors.lightgrey),
        ("LINEABOVE", (0, -1), (-1, -1), 0.8, s.accent), ("BACKGROUND", (0, -1), (-1, -1), s.light),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    note = Paragraph("Debits raise the balance you owe (invoices, debit notes, reversed payments); credits lower it "
                     "(credit notes, payments received, TDS deducted by you). A balance marked Cr is owed to you.",
                     s.small)
    story = [_header(doc.get("supplier") or {}, page, labels, "STATEMENT OF ACCOUNT"), Spacer(1, 4 * mm), parties,
             Spacer(1, 5 * mm), table, Spacer(1, 3 * mm), note]
    name = f"Statement {doc.get('companyId')} {doc.get('to')}"
    footer = ["This statement is computer-generated from the invoices, notes and payments on record."]
    return _build(story, s, footer, doc.get("supplier") or {}, name, "statement", name,
                  "Statement of account")
