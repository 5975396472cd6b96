"""Domain values as JSON numbers (at most two decimals) and integer paise.

Domain objects hold Decimals; the stored documents and the HTTP API carry JSON numbers (the old
API's format) and, beside them, exact integer paise (`amountsPaise`) that later sums add up
without drift. The invoice document's amounts are built by the adapters' mapper
(`adapters.invoice_document`, with its own line-quantity conversion); these conversions stay here
because domain modules still use them: the notes' documents (`adjustments`: every name here), the
statements, settlements and receivables (`paise_to_rupees`), and the typed answers' `to_json`
(`gstr1`, `reconcile`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from billing.domain.gst import TaxBreakdown
from billing.domain.money import quantize


def money_number(value: Decimal) -> float:
    """An amount as a JSON number rounded to paise (1524 -> 1524.0)."""
    return float(quantize(value))


def plain_number(value: Decimal) -> int | float:
    """int when whole, else a number with at most two decimals."""
    q = quantize(value)
    return int(q) if q == q.to_integral_value() else float(q)


def rate_number(value: Decimal) -> float:
    """A rate or percentage as a JSON number, at the precision it is computed with."""
    return float(value)


def paise(value: Decimal) -> int:
    """An amount in integer paise (274.32 -> 27432)."""
    return int(quantize(value) * 100)


def paise_to_rupees(amount: int) -> float:
    """Integer paise as a JSON number of rupees (27432 -> 274.32)."""
    return float(Decimal(amount) / 100)


def tax_json(tax: TaxBreakdown) -> dict[str, Any]:
    return {
        "type": tax.kind,
        "rate": rate_number(tax.rate),
        "taxableValue": money_number(tax.taxable_value),
        "components": [
            {"name": c.name, "rate": rate_number(c.rate), "amount": money_number(c.amount)} for c in tax.components
        ],
        "cgst": money_number(tax.amount("CGST")),
        "sgst": money_number(tax.amount("SGST")),
        "igst": money_number(tax.amount("IGST")),
    }
