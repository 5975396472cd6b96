"""A company's statement of account (DESIGN 14): every invoice, note, payment, TDS deduction and
reversal between two dates, with the opening balance and a running balance, in integer paise.

Debits raise what the customer owes (an invoice, a debit note, a reversed payment); credits lower it
(a credit note, a payment, TDS). Rows are ordered by date, then documents before settlements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable, Mapping

from billing.domain.presenter import paise_to_rupees
from billing.domain.entities import Invoice
from billing.domain.lifecycle import NUMBERED
from billing.domain.receivable import Payment, PaymentState, Reversal
from billing.domain.receivables import JsonBody, parse_day, to_paise
from billing.errors import ValidationError

_ORDER = {"invoice": 0, "debit_note": 1, "credit_note": 2, "payment": 3, "tds": 4, "reversal": 5}
_NUMBERED = NUMBERED  # compared with the stored strings (a StrEnum equals its value)


def _total(doc: Mapping[str, Any]) -> int:
    stored = (doc.get("amountsPaise") or {}).get("total")
    return int(stored) if stored is not None else to_paise(doc.get("totalAmount", 0), "totalAmount", allow_zero=True)


@dataclass(frozen=True)
class StatementRow:
    """One row of a company's account, amounts in paise (`at` orders same-day settlements)."""

    date: str
    type: str
    document: str
    description: str
    debit: int = 0
    credit: int = 0
    at: str = ""

    def json(self, balance: int) -> JsonBody:
        return {"date": self.date, "type": self.type, "document": self.document, "description": self.description,
                "debit": paise_to_rupees(self.debit), "credit": paise_to_rupees(self.credit),
                "balance": paise_to_rupees(balance)}


def _row(day: str, kind: str, document: str, description: str, debit: int = 0, credit: int = 0,
         at: str = "") -> StatementRow:
    return StatementRow(day[:10], kind, document, description, debit, credit, at)


def statement_rows(invoices: Iterable[Invoice], notes: Iterable[Mapping[str, Any]],
                   payments: Iterable[Payment]) -> list[StatementRow]:
    """Every row of the company's account, oldest first (amounts in paise)."""
    rows = []
    for inv in invoices:
        if inv.status.numbered and inv.number:
            rows.append(_row(inv.invoice_date or "", "invoice", inv.number, f"Invoice for {inv.period_key}",
                             debit=inv.total.paise))
    for note in notes:
        if note.get("status") not in _NUMBERED:
            continue
        original = (note.get("originalInvoice") or {}).get("invoiceNumber", "")
        if note.get("documentType") == "Debit Note" or note.get("debitNoteNumber"):
            rows.append(_row(str(note.get("debitNoteDate", "")), "debit_note", str(note.get("debitNoteNumber")),
                             f"Debit note on {original}: {note.get('reason', '')}", debit=_total(note)))
        else:
            rows.append(_row(str(note.get("creditNoteDate", "")), "credit_note", str(note.get("creditNoteNumber")),
                             f"Credit note on {original}: {note.get('reason', '')}", credit=_total(note)))
    for p in payments:
        amount, tds, day = p.amount.paise, p.tds.paise, p.date.isoformat()
        ref, inv_no = p.reference, p.invoice_number
        if amount:
            rows.append(_row(day, "payment", ref, f"Payment ({p.mode.upper()}) against {inv_no}", credit=amount,
                             at=p.recorded_at))
        if tds:
            rows.append(_row(day, "tds", ref, f"TDS u/s {p.tds_section} deducted on {inv_no}",
                             credit=tds, at=p.recorded_at))
        if p.status is PaymentState.REVERSED:
            reversal = p.reversal or Reversal("", "")
            rows.append(_row(reversal.day or day, "reversal", ref, f"Payment reversed: {reversal.reason}",
                             debit=amount + tds, at=reversal.at))
    rows.sort(key=lambda r: (r.date, _ORDER[r.type] if r.type != "tds" else _ORDER["payment"], r.at,
                             _ORDER[r.type]))  # stable: same-instant rows keep their documents' order
    return rows


def parse_range(start: str | None, end: str | None, today: date) -> tuple[date | None, date]:
    """?from=&to= (YYYY-MM-DD, both optional: from the first row, to today)."""
    first = parse_day(start, "from") if start is not None else None  # given empty (from=) is malformed, not absent
    last = parse_day(end, "to") if end is not None else today
    if first is not None and first > last:
        raise ValidationError(f"from ({first}) is after to ({last})")
    return first, last


def statement(company_id: str, rows: list[StatementRow], first: date | None, last: date) -> JsonBody:
    """Opening balance (rows before `first`), the rows in [first, last] with a running balance, totals:
    the statement's JSON answer."""
    start = first.isoformat() if first is not None else None
    opening = sum(r.debit - r.credit for r in rows if start is not None and r.date < start)
    balance, debit, credit = opening, 0, 0
    shown = []
    for r in rows:
        if (start is not None and r.date < start) or r.date > last.isoformat():
            continue
        balance += r.debit - r.credit
        debit += r.debit
        credit += r.credit
        shown.append(r.json(balance))
    return {"companyId": company_id, "from": start, "to": last.isoformat(),
            "openingBalance": paise_to_rupees(opening), "rows": shown,
            "totals": {"debit": paise_to_rupees(debit), "credit": paise_to_rupees(credit)},
            "closingBalance": paise_to_rupees(balance)}
