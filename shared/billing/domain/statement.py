"""A company's statement of account (DESIGN 14): every invoice, note, payment, TDS deduction and
reversal between two dates, with the opening balance and a running balance, in integer paise.

Debits raise what the customer owes (an invoice, a debit note, a reversed payment); credits lower it
(a credit note, a payment, TDS). Rows are ordered by date, then documents before settlements.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping

from billing.domain.presenter import paise_to_rupees
from billing.domain.lifecycle import NUMBERED
from billing.domain.receivable import Payment, PaymentState, Reversal
from billing.domain.receivables import parse_day, to_paise
from billing.errors import ValidationError

_ORDER = {"invoice": 0, "debit_note": 1, "credit_note": 2, "payment": 3, "tds": 4, "reversal": 5}
_NUMBERED = NUMBERED  # compared with the stored strings (a StrEnum equals its value)


def _total(doc: Mapping[str, Any]) -> int:
    stored = (doc.get("amountsPaise") or {}).get("total")
    return int(stored) if stored is not None else to_paise(doc.get("totalAmount", 0), "totalAmount", allow_zero=True)


def _row(day: str, kind: str, document: str, description: str, debit: int = 0, credit: int = 0,
         at: str = "") -> dict[str, Any]:
    return {"date": day[:10], "type": kind, "document": document, "description": description,
            "debit": debit, "credit": credit, "_at": at}


def statement_rows(invoices: Iterable[Mapping[str, Any]], notes: Iterable[Mapping[str, Any]],
                   payments: Iterable[Payment]) -> list[dict[str, Any]]:
    """Every row of the company's account, oldest first (amounts in paise)."""
    rows = []
    for inv in invoices:
        if inv.get("status") in _NUMBERED and inv.get("invoiceNumber"):
            month = (inv.get("billingPeriod") or {}).get("month", "")
            rows.append(_row(str(inv.get("invoiceDate", "")), "invoice", str(inv["invoiceNumber"]),
                             f"Invoice for {month}", debit=_total(inv)))
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
    rows.sort(key=lambda r: (r["date"], _ORDER[r["type"]] if r["type"] != "tds" else _ORDER["payment"], r["_at"],
                             _ORDER[r["type"]]))  # stable: same-instant rows keep their documents' order
    return [{k: v for k, v in r.items() if k != "_at"} for r in rows]


def parse_range(start: str | None, end: str | None, today: date) -> tuple[date | None, date]:
    """?from=&to= (YYYY-MM-DD, both optional: from the first row, to today)."""
    first = parse_day(start, "from") if start is not None else None  # given empty (from=) is malformed, not absent
    last = parse_day(end, "to") if end is not None else today
    if first is not None and first > last:
        raise ValidationError(f"from ({first}) is after to ({last})")
    return first, last


def statement(company_id: str, rows: list[dict[str, Any]], first: date | None, last: date) -> dict[str, Any]:
    """Opening balance (rows before `first`), the rows in [first, last] with a running balance, totals."""
    opening = sum(r["debit"] - r["credit"] for r in rows if first is not None and r["date"] < first.isoformat())
    balance, debit, credit = opening, 0, 0
    shown = []
    for r in rows:
        if (first is not None and r["date"] < first.isoformat()) or r["date"] > last.isoformat():
            continue
        balance += r["debit"] - r["credit"]
        debit += r["debit"]
        credit += r["credit"]
        shown.append({**r, "debit": paise_to_rupees(r["debit"]), "credit": paise_to_rupees(r["credit"]),
                      "balance": paise_to_rupees(balance)})
    return {"companyId": company_id, "from": first.isoformat() if first else None, "to": last.isoformat(),
            "openingBalance": paise_to_rupees(opening), "rows": shown,
            "totals": {"debit": paise_to_rupees(debit), "credit": paise_to_rupees(credit)},
            "closingBalance": paise_to_rupees(balance)}
