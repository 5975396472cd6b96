"""The one place domain values become JSON: numbers with at most two decimals, and integer paise.

Domain objects hold Decimals; the stored invoice and the HTTP API carry JSON numbers (the old
API's format) and, beside them, exact integer paise (`amountsPaise`) that later sums add up
without drift.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from billing.domain.gst import TaxBreakdown
from billing.domain.money import amount_in_words, quantize
from billing.domain.rating import UsageSummary
from billing.domain.totals import InvoiceTotals, LineItem


def money_number(value: Decimal) -> float:
    """An amount as a JSON number rounded to paise (1524 -> 1524.0)."""
    return float(quantize(value))


def plain_number(value: Decimal) -> int | float:
    """int when whole, else a number with at most two decimals."""
    q = quantize(value)
    return int(q) if q == q.to_integral_value() else float(q)


def quantity_number(value: Decimal) -> int | float:
    """A line's quantity exactly as printed (int when whole, else up to 6 decimals)."""
    return int(value) if value == value.to_integral_value() else float(value)


def rate_number(value: Decimal) -> float:
    """A rate or percentage as a JSON number, at the precision it is computed with."""
    return float(value)


def paise(value: Decimal) -> int:
    """An amount in integer paise (274.32 -> 27432)."""
    return int(quantize(value) * 100)


def paise_to_rupees(amount: int) -> float:
    """Integer paise as a JSON number of rupees (27432 -> 274.32)."""
    return float(Decimal(amount) / 100)


def line_item_json(item: LineItem) -> dict[str, Any]:
    return {
        "description": item.description,
        "quantity": quantity_number(item.quantity),
        "rate": rate_number(item.rate),
        "amount": money_number(item.amount),
        "unit": item.unit,
    }


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
