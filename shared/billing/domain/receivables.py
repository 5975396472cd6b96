"""Receivables (DESIGN 14): what a customer still owes on an invoice, payments with TDS, ageing.

The receivable and the payment are typed values (`billing.domain.receivable`); this module parses
payment requests, knows the TDS quarter and the ageing buckets, and builds the JSON answers from
those values. An invoice's receivable lives beside it (the issued invoice is
never edited): its net amount (total, less credit notes, plus debit notes: `notes`), the payments
applied to it, and the balance

    balance = net - payments - TDS

A payment is `payments/{companyId}_{reference}`: the reference (UTR, cheque number) is the
idempotency key per company. Ageing reads per-company aggregates, `outstanding`: due date ->
balance, kept up to date in the same transaction as each document that moves a balance; the
buckets are computed at read time from the due dates, so they move with time without any write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from billing.domain.entities import Invoice
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import INR
from billing.domain.presenter import paise_to_rupees
from billing.domain.receivable import Payment, PaymentState, Receivable, Reminder, Reversal
from billing.errors import ValidationError

MODES = ("neft", "rtgs", "imps", "upi", "cheque", "other")
BUCKETS = ("notDue", "1-30", "31-60", "61-90", "90+")

MAX_PAGE_SIZE = 500  # companies per page of the ageing report
DEFAULT_PAGE_SIZE = 100
MAX_AMOUNT_PAISE = 10**15  # 13-digit rupee amounts and more; a typo with 20 digits is refused

JsonBody = dict[str, Any]
"""A JSON object as an answer shows it (rupees as JSON numbers, ISO dates): what the `*_json`
builders and the reports return, built once from the typed values at the end and never read back."""

_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SECTION = re.compile(r"^[0-9]{3}[A-Z]{0,3}(\([0-9a-z]{1,3}\))?$")
_FY = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class PaymentRequest:
    amount_paise: int
    date: date
    reference: str
    mode: str
    tds_paise: int
    tds_section: str | None

    @property
    def settles_paise(self) -> int:
        return self.amount_paise + self.tds_paise


def to_paise(value: object, field: str, *, allow_zero: bool = False) -> int:
    """A JSON number or numeric string with at most two decimals, as integer paise (never a float sum)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise ValidationError(f"{field} must be a number of rupees, got {value!r}")
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValidationError(f"{field} must be a number of rupees, got {value!r}") from None
    if not amount.is_finite() or abs(amount) >= 10**16 or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(f"{field} must have at most two decimals (paise), got {value!r}")
    paise = int(amount * 100)
    if paise < 0 or (paise == 0 and not allow_zero):
        raise ValidationError(f"{field} must be {'zero or ' if allow_zero else ''}positive, got {value!r}")
    if paise > MAX_AMOUNT_PAISE:
        raise ValidationError(f"{field} is implausibly large: {value!r}")
    return paise


def rupees(paise: int) -> Decimal:
    return (Decimal(paise) / 100).quantize(Decimal("0.01"))


def validate_reference(reference: object) -> str:
    if not isinstance(reference, str) or not _REFERENCE.match(reference):
        raise ValidationError("reference must be the UTR or cheque number: 1-64 characters of A-Z, a-z, 0-9, "
                              f"'.', '_' or '-', starting with a letter or digit; got {reference!r}")
    return reference


def parse_payment(body: object, today: date) -> PaymentRequest:
    """The POST body of a payment, checked (ValidationError names the field)."""
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object with amount, date, reference and mode")
    unknown = sorted(set(body) - {"amount", "date", "reference", "mode", "tdsAmount", "tdsSection"})
    if unknown:
        raise ValidationError(f"unknown field(s): {', '.join(unknown)}")
    if "amount" not in body:
        raise ValidationError("amount is required")
    amount = to_paise(body["amount"], "amount", allow_zero=True)
    tds = to_paise(body.get("tdsAmount", 0), "tdsAmount", allow_zero=True)
    if amount + tds == 0:
        raise ValidationError("amount and tdsAmount are both zero: nothing to record")
    raw_date = body.get("date")
    try:
        paid_on = date.fromisoformat(raw_date) if isinstance(raw_date, str) and len(raw_date) == 10 else None
    except ValueError:
        paid_on = None
    if paid_on is None:
        raise ValidationError(f"date must be the payment's date as YYYY-MM-DD, got {raw_date!r}")
    if paid_on > today:
        raise ValidationError(f"date {paid_on} is in the future (today is {today})")
    mode = body.get("mode")
    if mode not in MODES:
        raise ValidationError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    section = body.get("tdsSection")
    if section is not None and (not isinstance(section, str) or not _SECTION.match(section)):
        raise ValidationError(f"tdsSection must be an Income-tax Act section such as 194J, got {section!r}")
    if tds and not section:
        raise ValidationError("tdsSection is required with a tdsAmount (e.g. 194J)")
    if not tds and section:
        raise ValidationError("tdsSection is given without a tdsAmount")
    return PaymentRequest(amount, paid_on, validate_reference(body.get("reference")), str(mode), tds,
                          str(section) if section else None)


def payment_id(company_id: str, reference: str) -> str:
    return f"{company_id}_{reference}"


def tds_quarter(d: date) -> tuple[str, int]:
    """("2025-26", 3) for a date in October-December 2025: the Indian financial year and quarter."""
    start = d.year if d.month >= 4 else d.year - 1
    return f"{start}-{(start + 1) % 100:02d}", ((d.month - 4) % 12) // 3 + 1


def parse_fy_quarter(fy: object, quarter: object) -> str:
    """The key `{fy}-Q{n}` of ?fy=2025-26&quarter=3 (or Q3)."""
    match = _FY.match(fy) if isinstance(fy, str) else None
    if match is None or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValidationError(f"fy must be a financial year such as 2025-26, got {fy!r}")
    q = str(quarter or "").upper().removeprefix("Q")
    if q not in ("1", "2", "3", "4"):
        raise ValidationError(f"quarter must be 1-4 (or Q1-Q4), got {quarter!r}")
    return f"{fy}-Q{q}"


def new_payment(company_id: str, invoice: Invoice, request: PaymentRequest, recorded_at: str) -> Payment:
    """The payment a request records against an invoice (applied; its TDS quarter and match flag
    only when it has TDS)."""
    fy, quarter = tds_quarter(request.date)
    return Payment(
        payment_id=payment_id(company_id, request.reference), reference=request.reference, date=request.date,
        mode=request.mode, amount=INR(request.amount_paise), tds=INR(request.tds_paise),
        tds_section=request.tds_section, status=PaymentState.APPLIED, recorded_at=recorded_at,
        company_id=company_id, invoice_id=invoice.invoice_id, invoice_number=invoice.number,
        tds_key=f"{fy}-Q{quarter}" if request.tds_paise else None,
        tds_matched=False if request.tds_paise else None)


# -- per-month totals (the console's overview) ------------------------------------------------------

MONTH_FIELDS = ("invoices", "invoicedPaise", "collectedPaise", "outstandingPaise")


def month_delta(before: Receivable | None, after: Receivable) -> dict[str, int]:
    """How a change of one receivable moves its billing month's totals: invoices opened, invoiced
    (net of notes: a void counts nothing, its reissue counts), collected (payments + TDS), outstanding."""
    def parts(rec: Receivable | None) -> dict[str, int]:
        if rec is None:
            return {f: 0 for f in MONTH_FIELDS[1:]}
        return {"invoicedPaise": rec.net.paise, "collectedPaise": (rec.paid + rec.tds).paise,
                "outstandingPaise": rec.balance.paise}

    old, new = parts(before), parts(after)
    delta = {f: new[f] - old[f] for f in MONTH_FIELDS[1:]}
    delta["invoices"] = 1 if before is None else 0
    return delta


def listing_entry(receivable: Receivable) -> JsonBody:
    """What the console's invoice list shows of an invoice, from its receivable alone (one small
    document per row): the invoice's number, company, month, status, dates and total."""
    status = receivable.invoice_status or InvoiceStatus.ISSUED
    return {"companyId": receivable.company_id, "invoiceNumber": receivable.invoice_number,
            "status": status.value, "billingPeriod": {"month": receivable.period},
            "invoiceDate": receivable.invoice_date, "dueDate": receivable.due_date,
            "totalAmount": paise_to_rupees(receivable.total.paise), "revision": receivable.revision}


def add_month(total: Mapping[str, int], delta: Mapping[str, int]) -> dict[str, int]:
    return {f: int(total.get(f, 0)) + int(delta.get(f, 0)) for f in MONTH_FIELDS}


# -- ageing -------------------------------------------------------------------------------------

def move_outstanding(outstanding: Mapping[str, int], due: str, delta: int) -> dict[str, int]:
    """The per-company map due date -> balance with `delta` added at `due` (zero entries removed)."""
    result = dict(outstanding)
    value = int(result.get(due, 0)) + delta
    if value:
        result[due] = value
    else:
        result.pop(due, None)
    return result


def bucket_of(due: date, as_of: date) -> str:
    days = (as_of - due).days
    if days <= 0:
        return "notDue"
    if days <= 30:
        return "1-30"
    if days <= 60:
        return "31-60"
    return "61-90" if days <= 90 else "90+"


def buckets(outstanding: Mapping[str, int], as_of: date) -> dict[str, int]:
    """Paise per bucket (and "total") of a map due date -> balance, as of a day."""
    result = {b: 0 for b in BUCKETS}
    for due, paise in outstanding.items():
        result[bucket_of(date.fromisoformat(due), as_of)] += int(paise)
    result["total"] = sum(result[b] for b in BUCKETS)
    return result


# -- JSON -----------------------------------------------------------------------------------------

def reversal_json(reversal: Reversal) -> JsonBody:
    body = {"reason": reversal.reason, "at": reversal.at}
    if reversal.date is not None:
        body["date"] = reversal.date
    return body


def payment_json(payment: Payment) -> JsonBody:
    """A payment as the API shows it: rupees as JSON numbers, paise kept out."""
    fields: tuple[tuple[str, Any], ...] = (
        ("reference", payment.reference), ("date", payment.date.isoformat()), ("mode", payment.mode),
        ("tdsSection", payment.tds_section), ("status", payment.status.value), ("recordedAt", payment.recorded_at),
        ("invoiceNumber", payment.invoice_number), ("companyId", payment.company_id),
        ("reversal", reversal_json(payment.reversal) if payment.reversal is not None else None),
        ("tdsMatched", payment.tds_matched), ("tdsQuarter", payment.tds_quarter), ("tdsFy", payment.tds_fy))
    body = {k: v for k, v in fields if v is not None}
    body["amount"] = paise_to_rupees(payment.amount.paise)
    body["tdsAmount"] = paise_to_rupees(payment.tds.paise)
    return body


def reminder_json(reminder: Reminder) -> JsonBody:
    fields = (("status", reminder.status.value), ("to", reminder.to), ("sentAt", reminder.sent_at))
    return {k: v for k, v in fields if v is not None}


def receivable_json(receivable: Receivable, today: date) -> JsonBody:
    """What the invoice read gains: netAmount, amountPaid, tdsAmount, balance, paymentStatus,
    overdue, payments (reversed ones included, marked), reminders sent."""
    return {
        "netAmount": paise_to_rupees(receivable.net.paise),
        "amountPaid": paise_to_rupees(receivable.paid.paise),
        "tdsAmount": paise_to_rupees(receivable.tds.paise),
        "balance": paise_to_rupees(receivable.balance.paise),
        "paymentStatus": receivable.payment_status.value,
        "overdue": receivable.overdue(today),
        "payments": [payment_json(p) for p in receivable.payments],
        "reminders": {str(step): reminder_json(sent) for step, sent in sorted(receivable.reminders.items())},
    }


# -- UPI ------------------------------------------------------------------------------------------

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~@")


def _quote(text: str) -> str:
    return "".join(c if c in _UNRESERVED else "".join(f"%{b:02X}" for b in c.encode()) for c in text)


def upi_uri(upi_id: str, payee: str, amount_paise: int, invoice_number: str) -> str:
    """The UPI deep link a QR code carries: upi://pay?pa=&pn=&am=&cu=INR&tn=<invoice number>."""
    return (f"upi://pay?pa={_quote(upi_id)}&pn={_quote(payee)}&am={rupees(amount_paise)}&cu=INR"
            f"&tn={_quote(invoice_number)}")


# -- reminders ------------------------------------------------------------------------------------

DEFAULT_REMINDER_STEPS = (-3, 0, 7, 15, 30)  # days from the due date


def reminder_steps(value: object) -> tuple[int, ...]:
    """settings/billing.reminderSteps (days from the due date: -3 is three days before), checked."""
    if value is None:
        return DEFAULT_REMINDER_STEPS
    if not isinstance(value, list) or not value or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise ValidationError(f"reminderSteps must be a list of whole days from the due date, got {value!r}")
    if any(not -60 <= v <= 365 for v in value):
        raise ValidationError(f"reminderSteps must be between -60 and 365 days, got {value!r}")
    return tuple(sorted(set(value)))


@dataclass
class _CompanyTds:
    company_id: str
    deducted: int = 0  # paise
    matched: int = 0
    unmatched: list[Payment] = field(default_factory=list)

    def json(self) -> JsonBody:
        return {"companyId": self.company_id, "tdsAmount": paise_to_rupees(self.deducted),
                "matched": paise_to_rupees(self.matched), "unmatchedAmount": paise_to_rupees(self.deducted - self.matched),
                "unmatched": [payment_json(p) for p in self.unmatched]}


def tds_report(key: str, payments: Iterable[Payment], company_id: str | None = None) -> JsonBody:
    """The quarter's TDS per company (of one company when named): deducted, matched with Form 26AS,
    still to match (the applied payments only): the TDS route's JSON answer."""
    per_company: dict[str, _CompanyTds] = {}
    for p in payments:
        if not p.applied or (company_id and p.company_id != company_id):
            continue
        entry = per_company.setdefault(str(p.company_id), _CompanyTds(str(p.company_id)))
        entry.deducted += p.tds.paise
        if p.tds_matched:
            entry.matched += p.tds.paise
        else:
            entry.unmatched.append(p)
    total = sum(e.deducted for e in per_company.values())
    matched = sum(e.matched for e in per_company.values())
    return {"quarter": key, "tdsAmount": paise_to_rupees(total), "matched": paise_to_rupees(matched),
            "unmatchedAmount": paise_to_rupees(total - matched), "companies": [e.json() for e in per_company.values()]}


# -- request parameters of the reports ------------------------------------------------------------

def month_start(month: str | None, year: str | None) -> date:
    if not (month and year and month.isascii() and year.isascii() and month.isdigit() and year.isdigit()
            and 1 <= int(month) <= 12 and 2000 <= int(year) <= 9999):
        raise ValidationError(f"month (1-12) and year (2000-9999) are required, got month={month!r} year={year!r}")
    return date(int(year), int(month), 1)


def parse_day(value: str, name: str) -> date:
    try:
        if len(value) == 10 and value.isascii():
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ValidationError(f"{name} must be a date as YYYY-MM-DD, got {value!r}")


def page_size(value: str | None) -> int:
    if value in (None, ""):
        return DEFAULT_PAGE_SIZE
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise ValidationError(f"pageSize must be 1-{MAX_PAGE_SIZE}, got {value!r}")
    return int(value)


def bucket_json(paise: Mapping[str, int]) -> JsonBody:
    return {"total": paise_to_rupees(paise["total"]),
            "buckets": {b: paise_to_rupees(paise[b]) for b in BUCKETS}}
