"""Settling a reconcile: one note for the call-charge difference the late calls made, and its CSV.

The difference is the reconcile's `current.callCharges - billed.callCharges` (the calls now rated
with the invoice's own tariff, included minutes and minimum applied), less what earlier settle
notes on the invoice already covered. Positive: a debit note; negative: a credit note; zero: none.
A settle is keyed by the calls' state it settled (the reconcile's figures), so a retry with the
calls unchanged finds the same note.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from decimal import Decimal
from typing import Any, Iterable, Mapping

from billing.domain.entities import Invoice
from billing.domain.presenter import paise_to_rupees

CSV_COLUMNS = ("callId", "startedAt", "change", "fields", "billedDurationSeconds", "billedStatus",
               "billedSeconds", "currentDurationSeconds", "currentStatus", "currentBilledSeconds")


def charges_paise(figures: Mapping[str, Any]) -> int:
    return int((Decimal(str(figures["callCharges"])) * 100).to_integral_value())  # at most two decimals


def settled_paise(invoice: Invoice) -> int:
    """What the invoice's earlier settle notes covered (debits +, credits -), in paise of taxable value."""
    return sum(e.taxable.paise * e.sign for e in invoice.ledger if e.settle)


def outstanding_paise(invoice: Invoice, reconcile: Mapping[str, Any]) -> int:
    """The call-charge difference still to settle (paise; + debit, - credit)."""
    return charges_paise(reconcile["current"]) - charges_paise(reconcile["billed"]) - settled_paise(invoice)


def settle_key(invoice_id: str, reconcile: Mapping[str, Any]) -> str:
    """The Idempotency-Key of settling this invoice against this state of its calls."""
    state = [invoice_id, reconcile["current"], reconcile["added"], reconcile["removed"], reconcile["changed"]]
    return "settle-" + hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:32]


def settle_body(invoice_number: str, reconcile: Mapping[str, Any], amount_paise: int) -> dict[str, Any]:
    """The note request for the outstanding difference (one line of call charges)."""
    added, removed, changed = reconcile["added"], reconcile["removed"], reconcile["changed"]
    return {
        "invoiceNumber": invoice_number,
        "reason": (f"Late-call reconcile of invoice {invoice_number}: {added} call(s) added, {removed} removed, "
                   f"{changed} changed since it was issued (the calls are listed in this note's CSV)"),
        "lines": [{"description": f"Call charges difference ({added} added, {removed} removed, {changed} changed)",
                   "taxableValue": paise_to_rupees(abs(amount_paise))}],
    }


def settlement_figures(reconcile: Mapping[str, Any]) -> dict[str, Any]:
    """What the note records of the reconcile it settles (its `settlement`)."""
    return {k: reconcile[k] for k in ("billed", "current", "added", "removed", "changed")}


def calls_csv(examples: Iterable[Mapping[str, Any]]) -> bytes:
    """The calls a settle note covers: one row per call added, removed or changed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for ex in examples:
        billed, current = ex.get("billed") or {}, ex.get("current") or {}
        writer.writerow([ex["callId"], ex["startedAt"], ex["change"], " ".join(ex.get("fields") or []),
                         billed.get("durationSeconds", ""), billed.get("status", ""), billed.get("billedSeconds", ""),
                         current.get("durationSeconds", ""), current.get("status", ""),
                         current.get("billedSeconds", "")])
    return out.getvalue().encode("utf-8")
