"""The CSV's trailing rows: what the invoice applies after rating, so its columns add up to the invoice."""

from __future__ import annotations

from decimal import Decimal

from billing.domain.rating import Tariff
from billing.domain.totals import InvoiceTotals


def csv_adjustments(totals: InvoiceTotals, tariff: Tariff) -> list[tuple[str, Decimal, Decimal]]:
    """(label, minutes, amount) rows the invoice applies after rating: included minutes, tier
    pricing, minimum charge (each call row is priced at its class's list rate)."""
    rows: list[tuple[str, Decimal, Decimal]] = []
    if totals.included_minutes_applied:
        rows.append(("included minutes", -totals.included_minutes_applied, -totals.included_list_amount))
    if totals.tier_adjustment:
        rows.append(("tier pricing", Decimal(0), totals.tier_adjustment))
    if totals.minimum_adjustment:
        rows.append(("minimum usage charge", Decimal(0), totals.minimum_adjustment))
    return rows


def csv_reconciliation_rows(
    minutes_written: Decimal, amount_written: Decimal, totals: InvoiceTotals, tariff: Tariff
) -> list[tuple[str, Decimal, Decimal]]:
    """The CSV's trailing rows, so its minutes and amount columns add up to the invoice exactly.

    The adjustments the invoice applies come first; a last row carries what rounding (the
    policy's and to paise) changed."""
    rows = csv_adjustments(totals, tariff)
    minutes = minutes_written + sum((m for _, m, _ in rows), Decimal(0))
    amount = amount_written + sum((a for _, _, a in rows), Decimal(0))
    if minutes != totals.chargeable_minutes or amount != totals.call_charges:
        rows.append(("rounding (billing policy and paise)", totals.chargeable_minutes - minutes,
                     totals.call_charges - amount))
    return rows
