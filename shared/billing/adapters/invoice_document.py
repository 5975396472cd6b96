"""The one mapping between the stored (Firestore) invoice document and the domain: a rated draft
becomes the stored document (`draft_document`, its amounts as the old API's JSON numbers beside
exact integer paise), the preview answer is the same shape (`preview_document`), and stored invoice
documents are read back as entities (`invoice_from_document`). Notes have theirs: `note_document`.

The invoice's write paths go through the entity too: what numbering writes on a draft
(`numbering_fields`), what marks it issued (`issued_fields`, shared with the notes in `note_document`) and a void invoice's link to its
reissue (`replaced_by_fields`).

Amounts come from the document's exact integer paise (`amountsPaise`) when it has them; documents
stored before those existed give their JSON numbers, read as the decimal they print (never float
arithmetic). Statuses come through `InvoiceStatus`; a document without a known status is refused
(IntegrityError), not guessed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Mapping, Sequence

from billing.adapters.note_document import delivery_of, issued_fields, ledger_of
from billing.domain.credit_note import replaces_fields
from billing.domain.entities import Invoice, InvoiceLine, TaxAmounts
from billing.domain.invoice import InvoiceDraft, Recipient, inputs_digest
from billing.domain.lifecycle import PREVIEW, InvoiceStatus
from billing.domain.money import INR, amount_in_words, to_decimal
from billing.domain.presenter import money_number, paise, plain_number, rate_number, tax_json
from billing.domain.rating import UsageSummary
from billing.domain.totals import InvoiceTotals, LineItem
from billing.domain.naming import revision_of
from billing.errors import IntegrityError


# -- draft -> stored document ------------------------------------------------------------------

def recipient_json(recipient: Recipient) -> dict[str, Any]:
    """The customer as the invoice stores (and prints) it."""
    return {
        "companyId": recipient.company_id,
        "legalName": recipient.legal_name,
        "address": recipient.address,
        "gstin": recipient.gstin,
        "stateCode": recipient.state_code,
        "stateName": recipient.state_name,
        "billingEmail": recipient.billing_email,
    }


def draft_digest(draft: InvoiceDraft) -> str:
    """`inputsDigest`: a hash of the stored inputs the draft was computed from."""
    extra = [[dict(t) for t in draft.tariffs]] if draft.tariffs else []
    return inputs_digest(dict(draft.tariff_snapshot), recipient_json(draft.recipient), draft.supplier.snapshot(),
                         draft.period.key, draft.csv.checksum, *extra)


def draft_document(draft: InvoiceDraft, created_at: datetime, replaces: Mapping[str, Any] | None = None,
                   one_off_charges: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The stored invoice before numbering (a draft): every amount, no number or date yet.

    replaces: on a reissue, the void invoice's number and its credit note's (printed and emailed);
    one_off_charges: the month's one-off charges as the invoice stores them."""
    recipient = recipient_json(draft.recipient)
    return {
        "invoiceId": draft.invoice_id,
        "companyId": draft.company_id,
        "status": InvoiceStatus.DRAFT.value,
        "billingPeriod": draft.period.to_json(),
        "supplier": draft.supplier.snapshot(),
        "recipient": recipient,
        "placeOfSupply": {"stateCode": recipient["stateCode"], "stateName": recipient["stateName"]},
        "reverseCharge": False,
        **invoice_amounts_json(draft.totals, draft.usage),
        "anomalies": list(draft.usage.anomalies),
        "unplacedCalls": {"count": draft.unplaced_count, "ids": list(draft.unplaced_ids)},
        "tariff": jsonable(dict(draft.tariff_snapshot)),
        **({"tariffs": jsonable([dict(t) for t in draft.tariffs])} if draft.tariffs else {}),
        "terms": {"paymentTermsDays": draft.tariff.payment_terms_days},
        "files": {
            "pdf": draft.files["pdf"],
            "csv": draft.files["csv"],
            "csvStaging": draft.csv.path,
            "csvChecksum": draft.csv.checksum,
            "csvRows": draft.csv.rows,
        },
        "inputsDigest": draft_digest(draft),
        "createdAt": created_at.isoformat(timespec="milliseconds"),
        "delivery": {"status": "not-sent", "attempts": 0},
        **({"revision": draft.revision, "replaces": dict(replaces or {})} if draft.revision else {}),
        **({"oneOffCharges": [dict(c) for c in one_off_charges]} if one_off_charges else {}),
    }


def replaces_of(voided: Invoice | None) -> dict[str, Any] | None:
    """What a reissue stores of the void invoice it replaces (None for a month's first invoice)."""
    return replaces_fields(voided) if voided is not None else None


def preview_document(draft: InvoiceDraft, as_of: datetime,
                     one_off_charges: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The invoice as it would be issued now (status "preview"): every amount, no number, date or files."""
    doc = draft_document(draft, as_of)
    for key in ("files", "inputsDigest", "delivery", "createdAt", "revision", "replaces"):
        doc.pop(key, None)
    doc.pop("invoiceId")
    local_now = as_of.astimezone(draft.period.tz)
    return {**doc, "status": PREVIEW, "asOf": as_of.isoformat(timespec="seconds"),
            "monthToDate": draft.period.contains(as_of), "previewThrough": min(local_now, draft.period.end).isoformat(
                timespec="seconds"),
            **({"oneOffCharges": [dict(c) for c in one_off_charges]} if one_off_charges else {})}


def quantity_number(value: Decimal) -> int | float:
    """A line's quantity exactly as stored and printed (int when whole, else up to 6 decimals)."""
    return int(value) if value == value.to_integral_value() else float(value)


def line_item_json(item: LineItem) -> dict[str, Any]:
    return {
        "description": item.description,
        "quantity": quantity_number(item.quantity),
        "rate": rate_number(item.rate),
        "amount": money_number(item.amount),
        "unit": item.unit,
    }


def amounts_paise(totals: InvoiceTotals) -> dict[str, Any]:
    """Every amount of the invoice in integer paise."""
    tax = totals.tax
    return {
        "lineItems": [paise(item.amount) for item in totals.line_items],
        "callCharges": paise(totals.call_charges),
        "maintenanceFee": paise(totals.maintenance_fee),
        **({"oneOffCharges": paise(totals.one_off_charges)} if totals.one_off_charges else {}),
        "subtotal": paise(totals.subtotal),
        "cgst": paise(tax.amount("CGST")),
        "sgst": paise(tax.amount("SGST")),
        "igst": paise(tax.amount("IGST")),
        "gst": paise(tax.total),
        "total": paise(totals.total),
    }


def usage_json(totals: InvoiceTotals, usage: UsageSummary) -> dict[str, Any]:
    return {
        "totalCalls": usage.total_calls,
        "totalBilledMinutes": plain_number(usage.billed_minutes),
        "billingPolicy": usage.policy,
        "billableCalls": usage.billable_calls,
        "nonBillableCalls": usage.non_billable_calls,
        "anomalyCount": usage.anomaly_count,
        "includedMinutesApplied": plain_number(totals.included_minutes_applied),
        "chargeableMinutes": plain_number(totals.chargeable_minutes),
        "totalDurationSeconds": money_number(usage.total_duration_seconds),
        "daily": [
            {"date": d.isoformat(), "calls": calls, "minutes": plain_number(minutes)}
            for d, calls, minutes in usage.daily
        ],
    }


def invoice_amounts_json(totals: InvoiceTotals, usage: UsageSummary) -> dict[str, Any]:
    """The amount fields of the invoice document / HTTP response (old names kept)."""
    return {
        "usageData": usage_json(totals, usage),
        "lineItems": [line_item_json(item) for item in totals.line_items],
        "subtotal": money_number(totals.subtotal),
        "gstAmount": money_number(totals.tax.total),
        "totalAmount": money_number(totals.total),
        "taxBreakdown": tax_json(totals.tax),
        "currency": "INR",
        "amountInWords": amount_in_words(totals.total),
        "amountsPaise": amounts_paise(totals),
    }


def jsonable(value: Any) -> Any:
    """Decimals and dates as strings, recursively (for snapshots of configuration)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (Decimal, date, datetime)):
        return str(value)
    return value


# -- stored document -> entity ------------------------------------------------------------------

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
        sequence=_sequence(doc.get("sequence")),
        payment_terms_days=int((doc.get("terms") or {}).get("paymentTermsDays", 7)),
        staged_csv=(doc.get("files") or {}).get("csvStaging") or None,
        unplaced_calls=int((doc.get("unplacedCalls") or {}).get("count") or 0),
        place_of_supply=str((doc.get("placeOfSupply") or {}).get("stateCode") or ""),
        recipient_gstin=str((doc.get("recipient") or {}).get("gstin") or "") or None,
        sac_code=str((doc.get("supplier") or {}).get("sacCode") or ""),
        reverse_charge=bool(doc.get("reverseCharge")),
        tax_rate=Decimal(str(breakdown.get("rate", 0))),
        delivery=delivery_of(doc),
        ledger=ledger_of(doc),
        document=doc,
    )


def _sequence(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# -- entity -> what a write stores --------------------------------------------------------------

def numbering_fields(invoice: Invoice) -> dict[str, Any]:
    """What numbering writes on the draft it numbered (the entity after `start_issuing`)."""
    return {
        "invoiceNumber": invoice.number,
        "financialYear": invoice.financial_year,
        "sequence": invoice.sequence,
        "status": invoice.status.value,
        "invoiceDate": invoice.invoice_date,
        "dueDate": invoice.due_date,
    }


def replaced_by_fields(reissue_id: str) -> dict[str, Any]:
    """What links a void invoice to the reissue that replaces it."""
    return {"replacedBy": reissue_id}
