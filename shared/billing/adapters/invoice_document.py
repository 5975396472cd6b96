"""The one mapping from the stored (Firestore) invoice and note documents to the domain entities.

(The documents are still written by the domain's builders: `invoice.draft_document` and
`numbering_fields`, `credit_note.credit_note_document` and `void_fields`, `adjustments.note_document`.)

Amounts come from the document's exact integer paise (`amountsPaise`) when it has them; documents
stored before those existed give their JSON numbers, read as the decimal they print (never float
arithmetic). Statuses come through `InvoiceStatus`; a document without a known status is refused
(IntegrityError), not guessed.
"""

from __future__ import annotations

from typing import Any, Mapping

from billing.domain.entities import Invoice, InvoiceLine, Note, TaxAmounts
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import INR, to_decimal
from billing.domain.naming import revision_of
from billing.errors import IntegrityError


def _inr(paise: Mapping[str, Any], key: str, doc: Mapping[str, Any], number_field: str) -> INR:
    value = paise.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return INR(value)
    number = doc.get(number_field)
    return INR.from_decimal(to_decimal(number, number_field)) if number is not None else INR.zero()


def _status(doc: Mapping[str, Any], what: str) -> InvoiceStatus:
    status = InvoiceStatus.of(doc)
    if status is None:
        raise IntegrityError(f"{what} has no known status ({doc.get('status')!r})")
    return status


def _lines(doc: Mapping[str, Any], paise: Mapping[str, Any]) -> tuple[InvoiceLine, ...]:
    line_paise = paise.get("lineItems") or []
    lines = []
    for i, item in enumerate(doc.get("lineItems") or []):
        exact = line_paise[i] if i < len(line_paise) and isinstance(line_paise[i], int) else None
        amount = INR(exact) if exact is not None else INR.from_decimal(to_decimal(item.get("amount", 0), "amount"))
        lines.append(InvoiceLine(str(item.get("description", "")), to_decimal(item.get("quantity", 0), "quantity"),
                                 to_decimal(item.get("rate", 0), "rate"), amount, str(item.get("unit", ""))))
    return tuple(lines)


def invoice_from_document(doc: Mapping[str, Any]) -> Invoice:
    """The stored invoice as an entity (the document kept beside it, for presenting)."""
    period = doc.get("billingPeriod") or {}
    paise = doc.get("amountsPaise") or {}
    breakdown = doc.get("taxBreakdown") or {}
    voided_by = doc.get("voidedBy") or {}

    def tax(name: str) -> INR:
        value = paise.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return INR(value)
        return INR.from_decimal(to_decimal(breakdown.get(name) or 0, name))

    return Invoice(
        company_id=str(doc["companyId"]),
        period_key=str(period["month"]),
        timezone=str(period.get("timezone") or ""),
        status=_status(doc, f"invoice {doc.get('invoiceId')}"),
        revision=revision_of(doc),
        lines=_lines(doc, paise),
        call_charges=INR(int(paise.get("callCharges") or 0)),
        subtotal=_inr(paise, "subtotal", doc, "subtotal"),
        tax=TaxAmounts(tax("cgst"), tax("sgst"), tax("igst")),
        total=_inr(paise, "total", doc, "totalAmount"),
        number=doc.get("invoiceNumber") or None,
        financial_year=doc.get("financialYear") or None,
        invoice_date=doc.get("invoiceDate") or None,
        due_date=doc.get("dueDate") or None,
        voided_by=voided_by.get("creditNoteId") or None,
        replaced_by=doc.get("replacedBy") or None,
        adjusted=bool(doc.get("adjustments")),
        document=doc,
    )


_NOTE_FIELDS = {
    "credit": ("creditNoteId", "creditNoteNumber", "creditNoteDate"),
    "debit": ("debitNoteId", "debitNoteNumber", "debitNoteDate"),
}


def note_from_document(doc: Mapping[str, Any]) -> Note:
    """A stored credit note (a void's or a partial one) or debit note as an entity."""
    kind = "debit" if "debitNoteId" in doc else "credit"
    id_field, number_field, date_field = _NOTE_FIELDS[kind]
    paise = doc.get("amountsPaise") or {}
    original = doc.get("originalInvoice") or {}
    return Note(
        kind=kind,
        note_id=str(doc[id_field]),
        company_id=str(doc["companyId"]),
        period_key=str((doc.get("billingPeriod") or {})["month"]),
        invoice_id=str(original.get("invoiceId", "")),
        status=_status(doc, f"{kind} note {doc.get(id_field)}"),
        taxable=_inr(paise, "subtotal", doc, "taxableValue"),
        tax=_inr(paise, "gst", doc, "gstAmount"),
        total=_inr(paise, "total", doc, "totalAmount"),
        number=doc.get(number_field) or None,
        note_date=doc.get(date_field) or None,
        document=doc,
    )

