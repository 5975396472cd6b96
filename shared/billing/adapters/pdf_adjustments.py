"""Partial credit notes and debit notes as PDF (CGST rule 53), over the invoice layout's sections.

Titled "CREDIT NOTE" or "DEBIT NOTE"; the facts name the note's number and date and the original
invoice's; the lines are what the note credits or debits, then the taxable value, each tax
component and the total; then the reason and what the note does to the invoice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from reportlab.platypus import Flowable, Spacer
from reportlab.lib.units import mm

from billing.adapters.formatting import display_date
from billing.adapters.pdf import _branding, _build, _opening, _p, _Page

DEFAULTS: dict[str, dict[str, Any]] = {
    "credit": {
        "title": "CREDIT NOTE", "totalLabel": "Total credited",
        "labels": {"billTo": "Recipient", "number": "Credit Note No.", "date": "Credit note date",
                   "originalInvoice": "Original invoice", "originalInvoiceDate": "Original inv. date",
                   "reason": "Reason for this credit note"},
        "text": "This credit note reduces tax invoice {number} dated {date} by the taxable value and the GST "
                "shown above (section 34(1), CGST Act); the invoice keeps its number and stays issued.",
        "footer": ["This is a computer-generated credit note and does not require a signature."],
    },
    "debit": {
        "title": "DEBIT NOTE", "totalLabel": "Total debited",
        "labels": {"billTo": "Recipient", "number": "Debit Note No.", "date": "Debit note date",
                   "originalInvoice": "Original invoice", "originalInvoiceDate": "Original inv. date",
                   "reason": "Reason for this debit note"},
        "text": "This debit note adds the taxable value and the GST shown above to tax invoice {number} dated "
                "{date} (section 34(3), CGST Act; rule 53(1A)); it is payable in addition to that invoice.",
        "footer": ["This is a computer-generated debit note and does not require a signature."],
    },
}


def render_adjustment_note_pdf(note: Mapping[str, Any], *, templates_dir: Path) -> bytes:
    """A partial credit note or a debit note as PDF bytes (deterministic: no clock, invariant mode)."""
    kind = str(note.get("noteKind", "credit"))
    brand = _branding(Path(templates_dir))
    own = brand.get(f"{kind}NoteAdjustment", {})
    spec = {**DEFAULTS[kind], **own}
    labels = {**brand["labels"], **DEFAULTS[kind]["labels"], **own.get("labels", {})}
    page = _Page(brand)
    original = note.get("originalInvoice") or {}
    number = str(note.get(f"{kind}NoteNumber", ""))
    facts = [
        [labels["number"], number],
        [labels["date"], display_date(note.get(f"{kind}NoteDate"))],
        [labels["originalInvoice"], original.get("invoiceNumber", "")],
        [labels["originalInvoiceDate"], display_date(original.get("invoiceDate"))],
    ]
    story: list[Flowable] = _opening(note, page, labels, spec["title"], facts, spec["totalLabel"])
    story += [
        _p(labels["reason"], page.s.heading), _p(note.get("reason", ""), page.s.body), Spacer(1, 3 * mm),
        _p(spec["text"].format(number=original.get("invoiceNumber", ""),
                               date=display_date(original.get("invoiceDate"))), page.s.body),
    ]
    settlement = note.get("settlement") or {}
    if settlement:
        story += [Spacer(1, 3 * mm), _p(
            f"Settles the late-call reconcile of {original.get('invoiceNumber', '')}: {settlement.get('added', 0)} "
            f"call(s) added, {settlement.get('removed', 0)} removed, {settlement.get('changed', 0)} changed; "
            "the calls are listed in this note's CSV.", page.s.small)]
    title = "Credit note" if kind == "credit" else "Debit note"
    return _build(story, page.s, list(spec["footer"]), note.get("supplier") or {}, number,
                  f"{kind} note", f"{title} {number}", f"GST {kind} note")
