"""Receivables (DESIGN 14): what a customer still owes on an invoice, payments with TDS, ageing.

Everything here is integer paise. An invoice's receivable lives beside it (the issued invoice is
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
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from billing.domain.lifecycle import InvoiceStatus
from billing.domain.presenter import paise_to_rupees
from billing.errors import ConflictError, ValidationError

MODES = ("neft", "rtgs", "imps", "upi", "cheque", "other")
UNPAID, PARTIALLY_PAID, PAID = "unpaid", "partially_paid", "paid"
APPLIED, REVERSED = "applied", "reversed"
BUCKETS = ("notDue", "1-30", "31-60", "61-90", "90+")
MAX_PAYMENTS_PER_INVOICE = 200  # the receivable lists its payments: bounded, far beyond real use


def reversal_day(reversal: Mapping[str, Any]) -> str:
    """The day a payment was reversed, in the supplier's calendar (as its other dates are); reversals
    recorded before `date` was stored fall back to the UTC instant's day."""
    return str(reversal.get("date") or str(reversal.get("at", ""))[:10])
MAX_PAGE_SIZE = 500  # companies per page of the ageing report
DEFAULT_PAGE_SIZE = 100
MAX_AMOUNT_PAISE = 10**15  # 13-digit rupee amounts and more; a typo with 20 digits is refused

_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SECTION = re.compile(r"^[0-9]{3}[A-Z]{0,3}(\([0-9a-z]{1,3}\))?$")
_FY = re.compile(r"^(\d{4})-(\d{2})$")
_PAYMENT_FIELDS = ("invoiceId", "amountPaise", "tdsPaise", "date", "mode", "tdsSection")


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


def payment_document(company_id: str, invoice: Mapping[str, Any], request: PaymentRequest,
                     recorded_at: str) -> dict[str, Any]:
    fy, quarter = tds_quarter(request.date)
    doc: dict[str, Any] = {
        "paymentId": payment_id(company_id, request.reference), "companyId": company_id,
        "invoiceId": invoice["invoiceId"], "invoiceNumber": invoice.get("invoiceNumber"),
        "reference": request.reference, "date": request.date.isoformat(), "mode": request.mode,
        "amountPaise": request.amount_paise, "tdsPaise": request.tds_paise, "tdsSection": request.tds_section,
        "status": APPLIED, "recordedAt": recorded_at,
    }
    if request.tds_paise:
        doc.update({"tdsFy": fy, "tdsQuarter": quarter, "tdsKey": f"{fy}-Q{quarter}", "tdsMatched": False})
    return doc


def same_payment(existing: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return all(existing.get(k) == new.get(k) for k in _PAYMENT_FIELDS)


def check_replay(existing: Mapping[str, Any], new: Mapping[str, Any]) -> None:
    """A payment's reference used again: the same payment is returned; other data is a conflict."""
    if not same_payment(existing, new):
        differ = [k for k in _PAYMENT_FIELDS if existing.get(k) != new.get(k)]
        raise ConflictError(f"reference {existing.get('reference')!r} is already payment of invoice "
                            f"{existing.get('invoiceNumber')} with other data ({', '.join(differ)} differ)")


# -- the receivable of one invoice ------------------------------------------------------------

def open_receivable(invoice: Mapping[str, Any], opened_at: str) -> dict[str, Any]:
    """The receivable of an issued (or void) invoice: balance = its total (0 once voided in full)."""
    total = int((invoice.get("amountsPaise") or {}).get("total", to_paise(invoice.get("totalAmount", 0),
                                                                            "totalAmount", allow_zero=True)))
    notes: dict[str, int] = {}
    voided_by = invoice.get("voidedBy") or {}
    if InvoiceStatus.of(invoice) is InvoiceStatus.VOID and voided_by.get("creditNoteId"):
        notes[str(voided_by["creditNoteId"])] = -total  # a full void credits the whole total
    doc: dict[str, Any] = {
        "invoiceId": invoice["invoiceId"], "companyId": invoice["companyId"],
        "invoiceNumber": invoice.get("invoiceNumber"), "invoiceDate": str(invoice.get("invoiceDate", ""))[:10],
        "dueDate": due_day(invoice), "period": (invoice.get("billingPeriod") or {}).get("month"),
        "totalPaise": total, "notes": notes, "paidPaise": 0, "tdsPaise": 0, "payments": [], "reminders": {},
        "openedAt": opened_at, "invoiceStatus": (InvoiceStatus.VOID if notes else InvoiceStatus.ISSUED).value,
    }
    return settle(doc)


def void_receivable(receivable: Mapping[str, Any], note_id: str) -> dict[str, Any]:
    """The receivable of an invoice voided in full by its credit note (counted once by the caller)."""
    return {**apply_note(receivable, note_id, -int(receivable["totalPaise"])), "invoiceStatus": InvoiceStatus.VOID.value}


def due_day(invoice: Mapping[str, Any]) -> str:
    """The due date's calendar day (dueDate is stored with the supplier's offset)."""
    return str(invoice.get("dueDate") or invoice.get("invoiceDate") or "")[:10]


def net_paise(receivable: Mapping[str, Any]) -> int:
    return int(receivable["totalPaise"]) + sum(int(v) for v in (receivable.get("notes") or {}).values())


def settle(receivable: dict[str, Any]) -> dict[str, Any]:
    """Recompute net, balance and paymentStatus from the stored parts (in place; returned)."""
    net = net_paise(receivable)
    settled = int(receivable["paidPaise"]) + int(receivable["tdsPaise"])
    receivable["netPaise"] = net
    receivable["balancePaise"] = net - settled
    receivable["paymentStatus"] = payment_status(net, settled)
    return receivable


def payment_status(net: int, settled: int) -> str:
    if settled >= net:
        return PAID
    return PARTIALLY_PAID if settled > 0 else UNPAID


def overdue(receivable: Mapping[str, Any], today: date) -> bool:
    """The due date has passed with a balance."""
    due = str(receivable.get("dueDate") or "")
    return int(receivable.get("balancePaise", 0)) > 0 and bool(due) and today > date.fromisoformat(due)


def apply_payment(receivable: Mapping[str, Any], payment: Mapping[str, Any]) -> dict[str, Any]:
    """The receivable with the payment applied; ValidationError beyond the balance."""
    settles = int(payment["amountPaise"]) + int(payment["tdsPaise"])
    balance = int(receivable["balancePaise"])
    if settles > balance:
        raise ValidationError(
            f"the payment settles {rupees(settles)} (amount {rupees(int(payment['amountPaise']))} + TDS "
            f"{rupees(int(payment['tdsPaise']))}) but invoice {receivable.get('invoiceNumber')} has a balance of "
            f"{rupees(balance)}")
    payments = list(receivable.get("payments") or [])
    if len(payments) >= MAX_PAYMENTS_PER_INVOICE:
        raise ValidationError(f"invoice {receivable.get('invoiceNumber')} already has {len(payments)} payments")
    payments.append({k: payment[k] for k in ("paymentId", "reference", "date", "mode", "amountPaise", "tdsPaise",
                                             "tdsSection", "status", "recordedAt") if k in payment})
    doc = {**receivable, "payments": payments,
           "paidPaise": int(receivable["paidPaise"]) + int(payment["amountPaise"]),
           "tdsPaise": int(receivable["tdsPaise"]) + int(payment["tdsPaise"])}
    return settle(doc)


def reverse_payment(receivable: Mapping[str, Any], payment: Mapping[str, Any],
                    reversal: Mapping[str, Any]) -> dict[str, Any]:
    """The receivable with an applied payment reversed (kept in its list, marked reversed)."""
    payments = []
    for entry in receivable.get("payments") or []:
        if entry.get("paymentId") == payment["paymentId"]:
            entry = {**entry, "status": REVERSED, "reversal": dict(reversal)}
        payments.append(entry)
    doc = {**receivable, "payments": payments,
           "paidPaise": int(receivable["paidPaise"]) - int(payment["amountPaise"]),
           "tdsPaise": int(receivable["tdsPaise"]) - int(payment["tdsPaise"])}
    return settle(doc)


def apply_note(receivable: Mapping[str, Any], note_id: str, paise: int) -> dict[str, Any]:
    """The receivable with a note counted once: paise < 0 for a credit note, > 0 for a debit note."""
    return settle({**receivable, "notes": {**(receivable.get("notes") or {}), note_id: paise}})


# -- per-month totals (the console's overview) ------------------------------------------------------

MONTH_FIELDS = ("invoices", "invoicedPaise", "collectedPaise", "outstandingPaise")


def month_delta(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, int]:
    """How a change of one receivable moves its billing month's totals: invoices opened, invoiced
    (net of notes: a void counts nothing, its reissue counts), collected (payments + TDS), outstanding."""
    def part(doc: Mapping[str, Any] | None, field: str) -> int:
        if doc is None:
            return 0
        if field == "collectedPaise":
            return int(doc.get("paidPaise", 0)) + int(doc.get("tdsPaise", 0))
        return int(doc.get({"invoicedPaise": "netPaise", "outstandingPaise": "balancePaise"}[field], 0))

    delta = {f: part(after, f) - part(before, f) for f in MONTH_FIELDS[1:]}
    delta["invoices"] = 1 if before is None else 0
    return delta


def listing_entry(receivable: Mapping[str, Any]) -> dict[str, Any]:
    """What the console's invoice list shows of an invoice, from its receivable alone (one small
    document per row): the invoice's number, company, month, status, dates and total."""
    inv_id = str(receivable.get("invoiceId") or "")
    revision = inv_id.rsplit("_r", 1)[1] if re.search(r"_r[0-9]+$", inv_id) else "0"
    return {"companyId": receivable.get("companyId"), "invoiceNumber": receivable.get("invoiceNumber"),
            "status": receivable.get("invoiceStatus") or InvoiceStatus.ISSUED.value, "billingPeriod": {"month": receivable.get("period")},
            "invoiceDate": receivable.get("invoiceDate"), "dueDate": receivable.get("dueDate"),
            "totalAmount": paise_to_rupees(int(receivable.get("totalPaise", 0))), "revision": int(revision)}


def add_month(total: Mapping[str, Any], delta: Mapping[str, int]) -> dict[str, int]:
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

def payment_json(payment: Mapping[str, Any]) -> dict[str, Any]:
    """A payment as the API shows it: rupees as JSON numbers, paise kept out."""
    body = {k: payment[k] for k in ("reference", "date", "mode", "tdsSection", "status", "recordedAt",
                                    "invoiceNumber", "companyId", "reversal", "tdsMatched", "tdsQuarter", "tdsFy")
            if payment.get(k) is not None}
    body["amount"] = paise_to_rupees(int(payment.get("amountPaise", 0)))
    body["tdsAmount"] = paise_to_rupees(int(payment.get("tdsPaise", 0)))
    return body


def receivable_json(receivable: Mapping[str, Any], today: date) -> dict[str, Any]:
    """What the invoice read gains: netAmount, amountPaid, tdsAmount, balance, paymentStatus,
    overdue, payments (reversed ones included, marked), reminders sent."""
    return {
        "netAmount": paise_to_rupees(int(receivable["netPaise"])),
        "amountPaid": paise_to_rupees(int(receivable["paidPaise"])),
        "tdsAmount": paise_to_rupees(int(receivable["tdsPaise"])),
        "balance": paise_to_rupees(int(receivable["balancePaise"])),
        "paymentStatus": receivable["paymentStatus"],
        "overdue": overdue(receivable, today),
        "payments": [payment_json(p) for p in receivable.get("payments") or []],
        "reminders": {step: {k: v for k, v in sent.items() if k in ("status", "sentAt", "to")}
                      for step, sent in sorted((receivable.get("reminders") or {}).items(), key=lambda kv: int(kv[0]))},
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


def due_reminder(receivable: Mapping[str, Any], today: date, steps: tuple[int, ...]) -> int | None:
    """The step to send today: the latest step reached that was not sent, unless a later one was.

    A run missed on a step's day still sends it the next day; a step passed over by a later one is
    never sent (one reminder per run per invoice, the most recent)."""
    if int(receivable.get("balancePaise", 0)) <= 0 or not receivable.get("dueDate"):
        return None
    days = (today - date.fromisoformat(str(receivable["dueDate"]))).days
    reached = [s for s in steps if s <= days]
    if not reached:
        return None
    step = max(reached)
    taken = {int(k) for k, v in (receivable.get("reminders") or {}).items() if (v or {}).get("status") != "failed"}
    if any(k >= step for k in taken):
        return None
    return step



def tds_report(key: str, payments: Iterable[Mapping[str, Any]], company_id: str | None = None) -> dict[str, Any]:
    """The quarter's TDS per company (of one company when named): deducted, matched with Form 26AS,
    still to match (the applied payments only)."""
    per_company: dict[str, dict[str, Any]] = {}
    for p in payments:
        if p.get("status") != APPLIED or (company_id and p.get("companyId") != company_id):
            continue
        entry = per_company.setdefault(str(p["companyId"]), {"companyId": p["companyId"], "tdsPaise": 0,
                                                              "matchedPaise": 0, "unmatched": []})
        entry["tdsPaise"] += int(p["tdsPaise"])
        if p.get("tdsMatched"):
            entry["matchedPaise"] += int(p["tdsPaise"])
        else:
            entry["unmatched"].append(payment_json(p))
    companies = [{"companyId": e["companyId"], "tdsAmount": paise_to_rupees(e["tdsPaise"]),
                  "matched": paise_to_rupees(e["matchedPaise"]),
                  "unmatchedAmount": paise_to_rupees(e["tdsPaise"] - e["matchedPaise"]),
                  "unmatched": e["unmatched"]} for e in per_company.values()]
    total = sum(e["tdsPaise"] for e in per_company.values())
    matched = sum(e["matchedPaise"] for e in per_company.values())
    return {"quarter": key, "tdsAmount": paise_to_rupees(total), "matched": paise_to_rupees(matched),
            "unmatchedAmount": paise_to_rupees(total - matched), "companies": companies}


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


def bucket_json(paise: Mapping[str, int]) -> dict[str, Any]:
    return {"total": paise_to_rupees(paise["total"]),
            "buckets": {b: paise_to_rupees(paise[b]) for b in BUCKETS}}
