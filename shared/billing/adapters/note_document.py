"""The one mapping between stored (Firestore) credit and debit note documents and the domain.

A `NoteDraft` becomes the stored note (`note_document`: a void's credit note copies the invoice's
lines and amounts as the invoice stores them; a partial note's amounts are its own, as the old
API's JSON numbers beside exact integer paise); a stored note is read back as a `Note`
(`note_from_document`, the document kept beside it for presenting). The typed changes a service
makes become the fields written: the void on its invoice (`void_fields`), a note in its invoice's
ledger (`ledger_fields`), a note marked issued (`issued_fields`), and the delivery record of an
invoice or a note (`delivery_fields`).
"""

from __future__ import annotations

from typing import Any, Mapping

from billing.domain.adjustments import CREDIT, DEBIT, NoteDraft, NoteKind
from billing.domain.credit_note import Void
from billing.domain.delivery import (
    Delivery, DeliveryChange, DeliveryFailed, DeliverySent, DeliverySkipped, DeliveryStatus,
)
from billing.domain.entities import IssuedPdf, LedgerEntry, Note
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import INR, amount_in_words, to_decimal
from billing.domain.presenter import money_number, paise, plain_number, rate_number, tax_json
from billing.domain.totals import LineItem
from billing.errors import IntegrityError

# -- draft -> stored document ------------------------------------------------------------------


def note_document(draft: NoteDraft) -> dict[str, Any]:
    """The stored note ("issuing" until its PDF is stored), with every rule-53 particular."""
    if draft.amounts is None:
        return _full_credit_note(draft)
    kind, amounts, invoice = draft.kind, draft.amounts, draft.invoice.document
    tax = amounts.tax
    return {
        kind.id_field: draft.note_id,
        "documentType": kind.title,
        "noteKind": kind.name,
        "scope": "partial",
        kind.number_field: draft.number,
        "financialYear": draft.financial_year,
        "series": draft.series,
        "sequence": draft.sequence,
        kind.date_field: draft.note_date.isoformat(),
        "status": InvoiceStatus.ISSUING.value,
        **_parties(invoice, draft.supplier.snapshot()),
        "reason": draft.reason,
        "lineItems": [_line_json(ln) for ln in amounts.lines],
        "subtotal": money_number(amounts.taxable),
        "taxableValue": money_number(amounts.taxable),
        "gstAmount": money_number(tax.total),
        "totalAmount": money_number(amounts.total),
        "taxBreakdown": tax_json(tax),
        "currency": invoice.get("currency", "INR"),
        "amountInWords": amount_in_words(amounts.total),
        "amountsPaise": {
            "lineItems": [paise(ln.amount) for ln in amounts.lines],
            "subtotal": paise(amounts.taxable), "cgst": paise(tax.amount("CGST")), "sgst": paise(tax.amount("SGST")),
            "igst": paise(tax.amount("IGST")), "gst": paise(tax.total), "total": paise(amounts.total),
        },
        "requestDigest": draft.request_digest,
        "files": {"pdf": draft.pdf_uri},
        "createdAt": draft.created_at.isoformat(timespec="milliseconds"),
        **({"settlement": dict(draft.settlement)} if draft.settlement is not None else {}),
    }


def _full_credit_note(draft: NoteDraft) -> dict[str, Any]:
    """A void's credit note: it credits the whole invoice (its line items, taxable value, tax and total
    exactly as the invoice stores them)."""
    invoice = draft.invoice.document
    paise_of = invoice.get("amountsPaise") or {}
    return {
        "creditNoteId": draft.note_id,
        "documentType": CREDIT.title,
        "creditNoteNumber": draft.number,
        "financialYear": draft.financial_year,
        "sequence": draft.sequence,
        "creditNoteDate": draft.note_date.isoformat(),
        "status": InvoiceStatus.ISSUING.value,
        **_parties(invoice, draft.supplier.snapshot()),
        "reason": draft.reason,
        "lineItems": invoice.get("lineItems") or [],
        "subtotal": invoice["subtotal"],
        "taxableValue": invoice["subtotal"],
        "gstAmount": invoice["gstAmount"],
        "totalAmount": invoice["totalAmount"],
        "taxBreakdown": invoice.get("taxBreakdown") or {},
        "currency": invoice.get("currency", "INR"),
        "amountInWords": invoice.get("amountInWords", ""),
        "amountsPaise": {k: paise_of[k] for k in ("subtotal", "cgst", "sgst", "igst", "gst", "total") if k in paise_of},
        "files": {"pdf": draft.pdf_uri},
        "createdAt": draft.created_at.isoformat(timespec="milliseconds"),
    }


def _parties(invoice: Mapping[str, Any], supplier: Mapping[str, Any]) -> dict[str, Any]:
    """What rule 53 asks every credit or debit note to carry about the parties and the original invoice."""
    return {
        "companyId": invoice["companyId"],
        "billingPeriod": invoice["billingPeriod"],
        "supplier": dict(supplier),
        "recipient": invoice.get("recipient") or {},
        "placeOfSupply": invoice.get("placeOfSupply") or {},
        "reverseCharge": bool(invoice.get("reverseCharge", False)),
        "originalInvoice": {
            "invoiceId": invoice["invoiceId"],
            "invoiceNumber": invoice["invoiceNumber"],
            "invoiceDate": invoice["invoiceDate"],
            "totalAmount": invoice["totalAmount"],
        },
        "sacCode": supplier.get("sacCode") or (invoice.get("supplier") or {}).get("sacCode"),
    }


def _line_json(line: LineItem) -> dict[str, Any]:
    return {"description": line.description, "quantity": plain_number(line.quantity) if line.unit != "min"
            else float(line.quantity), "rate": rate_number(line.rate), "amount": money_number(line.amount),
            "unit": line.unit}


# -- typed changes -> fields written -----------------------------------------------------------

def void_fields(void: Void) -> dict[str, Any]:
    """What voiding adds to the invoice (its number, amounts and files stay as they are)."""
    return {
        "status": InvoiceStatus.VOID.value,
        "voidedAt": void.voided_at.isoformat(timespec="milliseconds"),
        "voidReason": void.reason,
        "voidedBy": {
            "creditNoteId": void.credit_note_id,
            "creditNoteNumber": void.credit_note_number,
            "creditNoteDate": void.credit_note_date.isoformat(),
        },
        "replacedBy": void.reissue_id,
        "voidReissue": void.reissue_id is not None,  # what the request asked (replacedBy may be set later)
    }


def ledger_fields(invoice: Mapping[str, Any], note: Mapping[str, Any]) -> dict[str, Any]:
    """The fields that add a stored note (partial credit or debit) to its invoice's ledger (`adjustments`)."""
    kind = _kind_of(note)
    p = note["amountsPaise"]
    entry = {
        "id": note[kind.id_field], "kind": kind.name, "number": note[kind.number_field],
        "date": note[kind.date_field], "taxableValue": note["taxableValue"], "gstAmount": note["gstAmount"],
        "totalAmount": note["totalAmount"], "paise": {"taxable": p["subtotal"], "gst": p["gst"], "total": p["total"]},
        **({"settle": True} if note.get("settlement") else {}),
    }
    return {"adjustments": list(invoice.get("adjustments") or []) + [entry]}


def issued_fields(issued: IssuedPdf) -> dict[str, Any]:
    """What marks a numbered invoice or note issued once its PDF is stored (dotted paths: the rest of
    `files` stays)."""
    return {
        "status": InvoiceStatus.ISSUED.value,
        "issuedAt": issued.issued_at.isoformat(timespec="milliseconds"),
        "files.pdfMd5": issued.md5,
    }


def delivery_fields(change: DeliveryChange) -> dict[str, Any]:
    """The `delivery.*` fields (dotted paths) one sender records on an invoice or a note."""
    if isinstance(change, DeliverySkipped):
        return {"delivery.status": DeliveryStatus.SKIPPED.value, "delivery.reason": change.reason}
    if isinstance(change, DeliverySent):
        return {
            "delivery.status": DeliveryStatus.SENT.value,
            "delivery.attempts": change.attempts,
            "delivery.messageId": change.message_id,
            "delivery.to": change.to,
            "delivery.sentAt": change.sent_at.isoformat(),
            "delivery.lastError": None,
            "delivery.claim": None,
        }
    assert isinstance(change, DeliveryFailed)
    return {
        "delivery.status": DeliveryStatus.FAILED.value,
        "delivery.attempts": change.attempts,
        "delivery.lastError": change.last_error,
        "delivery.permanent": change.permanent,
        "delivery.updatedAt": change.updated_at.isoformat(),
        "delivery.claim": None,
    }


def delivery_of(doc: Mapping[str, Any]) -> Delivery:
    """The document's delivery record as read (status None when absent or unknown)."""
    record = doc.get("delivery") or {}
    try:
        status: DeliveryStatus | None = DeliveryStatus(str(record.get("status")))
    except ValueError:
        status = None
    return Delivery(status, int(record.get("attempts") or 0))


# -- stored document -> entity ------------------------------------------------------------------

def ledger_of(invoice: Mapping[str, Any]) -> tuple[LedgerEntry, ...]:
    """The invoice's ledger of notes (`adjustments`), typed."""
    return tuple(LedgerEntry(str(e["id"]), str(e["kind"]), str(e.get("number", "")), INR(int(e["paise"]["taxable"])),
                             INR(int(e["paise"]["total"])), bool(e.get("settle")))
                 for e in invoice.get("adjustments") or [])


def _kind_of(doc: Mapping[str, Any]) -> NoteKind:
    return DEBIT if "debitNoteId" in doc else CREDIT


def _inr(paise_of: Mapping[str, Any], key: str, doc: Mapping[str, Any], number_field: str) -> INR:
    value = paise_of.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return INR(value)
    number = doc.get(number_field)
    return INR.from_decimal(to_decimal(number, number_field)) if number is not None else INR.zero()


def note_from_document(doc: Mapping[str, Any]) -> Note:
    """A stored credit note (a void's or a partial one) or debit note as an entity."""
    kind = _kind_of(doc)
    paise_of = doc.get("amountsPaise") or {}
    original = doc.get("originalInvoice") or {}
    status = InvoiceStatus.of(doc)
    if status is None:
        raise IntegrityError(f"{kind.name} note {doc.get(kind.id_field)} has no known status ({doc.get('status')!r})")
    return Note(
        kind=kind.name,
        note_id=str(doc[kind.id_field]),
        company_id=str(doc["companyId"]),
        period_key=str((doc.get("billingPeriod") or {})["month"]),
        invoice_id=str(original.get("invoiceId", "")),
        status=status,
        taxable=_inr(paise_of, "subtotal", doc, "taxableValue"),
        tax=_inr(paise_of, "gst", doc, "gstAmount"),
        total=_inr(paise_of, "total", doc, "totalAmount"),
        number=doc.get(kind.number_field) or None,
        note_date=doc.get(kind.date_field) or None,
        invoice_number=str(original.get("invoiceNumber") or ""),
        scope="partial" if doc.get("scope") == "partial" else "full",
        request_digest=doc.get("requestDigest"),
        delivery=delivery_of(doc),
        document=doc,
    )
