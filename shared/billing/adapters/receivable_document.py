"""The stored receivable, payment and ageing documents <-> their entities (billing.domain.receivable).

One place knows the Firestore field names of `receivables/{invoiceId}` and
`payments/{companyId}_{reference}`: the Firestore adapter and the in-memory fake both read and write
through these functions, so a document written from an entity has exactly the fields (and, for a new
one, the order) the old dict code wrote, and old documents (without `openedAt`, `invoiceStatus` or a
reversal's `date`) still read.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import INR
from billing.domain.receivable import (
    CompanyOutstanding, Payment, PaymentState, PaymentStatus, Receivable, Reminder, ReminderStatus, Reversal,
    TdsMatch,
)


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


# -- payments ----------------------------------------------------------------------------------------

def reversal_from_document(doc: Mapping[str, Any]) -> Reversal:
    return Reversal(reason=str(doc.get("reason", "")), at=str(doc.get("at", "")), date=_optional(doc.get("date")))


def reversal_document(reversal: Reversal) -> dict[str, Any]:
    doc: dict[str, Any] = {"reason": reversal.reason, "at": reversal.at}
    if reversal.date is not None:
        doc["date"] = reversal.date
    return doc


def payment_from_document(doc: Mapping[str, Any]) -> Payment:
    """A stored payment, or an entry of a receivable's payment list."""
    reversal = doc.get("reversal")
    match = TdsMatch(str(doc.get("tdsMatchedAt", "")), str(doc.get("tdsMatchNote", ""))) \
        if "tdsMatchedAt" in doc else None
    return Payment(
        payment_id=str(doc["paymentId"]), reference=str(doc["reference"]), date=date.fromisoformat(str(doc["date"])),
        mode=str(doc.get("mode", "")), amount=INR(int(doc.get("amountPaise", 0))), tds=INR(int(doc.get("tdsPaise", 0))),
        tds_section=_optional(doc.get("tdsSection")), status=PaymentState(str(doc.get("status"))),
        recorded_at=str(doc.get("recordedAt", "")), company_id=_optional(doc.get("companyId")),
        invoice_id=_optional(doc.get("invoiceId")), invoice_number=_optional(doc.get("invoiceNumber")),
        tds_key=_optional(doc.get("tdsKey")),
        tds_matched=bool(doc["tdsMatched"]) if doc.get("tdsMatched") is not None else None, tds_match=match,
        reversal=reversal_from_document(reversal) if isinstance(reversal, Mapping) else None)


def payment_document(payment: Payment) -> dict[str, Any]:
    """payments/{paymentId} as stored (the TDS quarter and match flag only on a payment with TDS)."""
    doc: dict[str, Any] = {
        "paymentId": payment.payment_id, "companyId": payment.company_id, "invoiceId": payment.invoice_id,
        "invoiceNumber": payment.invoice_number, **_entry_fields(payment),
    }
    if payment.tds_key is not None:
        doc.update({"tdsFy": payment.tds_fy, "tdsQuarter": payment.tds_quarter, "tdsKey": payment.tds_key})
    if payment.tds_matched is not None:
        doc["tdsMatched"] = payment.tds_matched
    if payment.reversal is not None:
        doc["reversal"] = reversal_document(payment.reversal)
    if payment.tds_match is not None:
        doc.update(tds_match_fields(payment.tds_match))
    return doc


def _entry_fields(payment: Payment) -> dict[str, Any]:
    return {"reference": payment.reference, "date": payment.date.isoformat(), "mode": payment.mode,
            "amountPaise": payment.amount.paise, "tdsPaise": payment.tds.paise, "tdsSection": payment.tds_section,
            "status": payment.status.value, "recordedAt": payment.recorded_at}


def payment_entry(payment: Payment) -> dict[str, Any]:
    """The payment as its receivable lists it (no company, invoice or TDS quarter)."""
    doc: dict[str, Any] = {"paymentId": payment.payment_id, **_entry_fields(payment)}
    if payment.reversal is not None:
        doc["reversal"] = reversal_document(payment.reversal)
    return doc


def tds_match_fields(match: TdsMatch) -> dict[str, Any]:
    """The fields a Form 26AS match merges into a payment."""
    return {"tdsMatched": True, "tdsMatchedAt": match.at, "tdsMatchNote": match.note}


# -- receivables -------------------------------------------------------------------------------------

def reminder_from_document(doc: Mapping[str, Any]) -> Reminder:
    return Reminder(status=ReminderStatus(str(doc.get("status"))), claim=_optional(doc.get("claim")),
                    claimed_at=_optional(doc.get("claimedAt")), to=_optional(doc.get("to")),
                    sent_at=_optional(doc.get("sentAt")), message_id=_optional(doc.get("messageId")),
                    error=_optional(doc.get("error")))


def reminder_document(reminder: Reminder) -> dict[str, Any]:
    fields = (("status", reminder.status.value), ("claim", reminder.claim), ("claimedAt", reminder.claimed_at),
              ("to", reminder.to), ("sentAt", reminder.sent_at), ("messageId", reminder.message_id),
              ("error", reminder.error))
    return {k: v for k, v in fields if v is not None}


def receivable_from_document(doc: Mapping[str, Any]) -> Receivable:
    """receivables/{invoiceId} as an entity (net, balance and payment status as stored)."""
    status = doc.get("invoiceStatus")
    return Receivable(
        invoice_id=str(doc["invoiceId"]), company_id=str(doc["companyId"]),
        invoice_number=_optional(doc.get("invoiceNumber")), invoice_date=str(doc.get("invoiceDate") or ""),
        due_date=str(doc.get("dueDate") or ""), period=_optional(doc.get("period")),
        total=INR(int(doc["totalPaise"])), notes={str(k): INR(int(v)) for k, v in (doc.get("notes") or {}).items()},
        paid=INR(int(doc.get("paidPaise", 0))), tds=INR(int(doc.get("tdsPaise", 0))),
        payments=tuple(payment_from_document(p) for p in doc.get("payments") or []),
        reminders={int(k): reminder_from_document(v or {}) for k, v in (doc.get("reminders") or {}).items()},
        net=INR(int(doc["netPaise"])), balance=INR(int(doc["balancePaise"])),
        payment_status=PaymentStatus(str(doc["paymentStatus"])), opened_at=_optional(doc.get("openedAt")),
        invoice_status=InvoiceStatus(str(status)) if status else None, document=doc)


def receivable_document(receivable: Receivable) -> dict[str, Any]:
    """The receivable as stored: the fields it was read with (any this mapper does not know kept as
    they were), its own fields set from the entity."""
    doc: dict[str, Any] = {
        **receivable.document,
        "invoiceId": receivable.invoice_id, "companyId": receivable.company_id,
        "invoiceNumber": receivable.invoice_number, "invoiceDate": receivable.invoice_date,
        "dueDate": receivable.due_date, "period": receivable.period, "totalPaise": receivable.total.paise,
        "notes": {k: v.paise for k, v in receivable.notes.items()}, "paidPaise": receivable.paid.paise,
        "tdsPaise": receivable.tds.paise, "payments": [payment_entry(p) for p in receivable.payments],
        "reminders": {str(k): reminder_document(v) for k, v in receivable.reminders.items()},
    }
    if receivable.opened_at is not None:
        doc["openedAt"] = receivable.opened_at
    if receivable.invoice_status is not None:
        doc["invoiceStatus"] = receivable.invoice_status.value
    doc.update({"netPaise": receivable.net.paise, "balancePaise": receivable.balance.paise,
                "paymentStatus": receivable.payment_status.value})
    return doc


def outstanding_from_document(doc: Mapping[str, Any]) -> CompanyOutstanding:
    """receivableCompanies/{companyId}: due date -> outstanding paise."""
    return CompanyOutstanding(str(doc["companyId"]),
                              {str(k): int(v) for k, v in (doc.get("outstanding") or {}).items()})
