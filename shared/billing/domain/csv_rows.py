"""The CSV's trailing rows: what the invoice applies after rating, so its columns add up to the invoice,
and the invoice's own summary (call charges, fee, taxable value, each GST component, total)."""

from __future__ import annotations

from decimal import Decimal

from billing.domain.money import quantize
from billing.domain.rating import Tariff
from billing.domain.totals import InvoiceTotals


def csv_adjustments(totals: InvoiceTotals, tariff: Tariff) -> list[tuple[str, Decimal, Decimal]]:
    """(label, minutes, amount) rows the invoice applies after rating: included minutes, tier
    pricing, minimum charge (each call row is priced at its class's list rate)."""
    rows: list[tuple[str, Decimal, Decimal]] = []
    if totals.included_minutes_applied:
        rows.append(("included minutes", -totals.included_minutes_applied, -quantize(totals.included_list_amount)))
    if quantize(totals.tier_adjustment):
        rows.append(("tier pricing", Decimal(0), quantize(totals.tier_adjustment)))
    if totals.minimum_adjustment:
        rows.append(("minimum usage charge", Decimal(0), totals.minimum_adjustment))
    return rows


def csv_reconciliation_rows(
    minutes_written: Decimal, amount_written: Decimal, totals: InvoiceTotals, tariff: Tariff
) -> list[tuple[str, Decimal, Decimal]]:
    """The CSV's trailing rows, so its minutes and amount columns add up to the invoice exactly.

    The adjustments the invoice applies come first; a last row carries what rounding (the
    policy's, each call's paise) changed: minutes add up to the minutes the invoice prints, the
    amounts (each in paise) to its call charges."""
    rows = csv_adjustments(totals, tariff)
    minutes = minutes_written + sum((m for _, m, _ in rows), Decimal(0))
    amount = amount_written + sum((a for _, _, a in rows), Decimal(0))
    if minutes != totals.printed_minutes or amount != totals.call_charges:
        rows.append(("rounding (billing policy and paise)", totals.printed_minutes - minutes,
                     totals.call_charges - amount))
    return rows


def csv_invoice_rows(totals: InvoiceTotals) -> list[tuple[str, Decimal]]:
    """(label, amount) rows repeating the invoice's summary: call charges, fee, one-off charges, discount,
    taxable value, GST, total."""
    rows = [("call charges", totals.call_charges), ("maintenance fee", totals.maintenance_fee)]
    if totals.one_off_charges:
        rows.append(("one-off charges", totals.one_off_charges))
    if totals.discount:
        rows.append(("discount", -totals.discount))
    rows.append(("taxable value", totals.subtotal))
    rows += [(f"{c.name} {format(c.rate.normalize(), 'f')}%", c.amount) for c in totals.tax.components]
    rows.append(("total", totals.total))
    return rows
