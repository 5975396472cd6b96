"""Invoice totals, computed in one place and in this order:

usage (billed minutes from the policy) -> included minutes subtracted (not below 0) ->
usage charge = round(chargeable minutes x rate) -> minimum usage charge raises the call charges ->
maintenance fee -> subtotal -> GST -> total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar
from decimal import ROUND_HALF_UP, Decimal

from billing.domain.gst import TaxBreakdown, compute_gst
from billing.domain.money import quantize
from billing.domain.rating import Tariff, UsageSummary

DateOrTime = TypeVar("DateOrTime", date, datetime)
MAX_QUANTITY_PLACES = 6


@dataclass(frozen=True)
class LineItem:
    description: str
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    unit: str


@dataclass(frozen=True)
class InvoiceTotals:
    billed_minutes: Decimal
    included_minutes_applied: Decimal
    chargeable_minutes: Decimal
    printed_minutes: Decimal  # chargeable minutes as the usage line prints (and bills) them
    usage_charge: Decimal
    minimum_adjustment: Decimal
    call_charges: Decimal
    maintenance_fee: Decimal
    subtotal: Decimal
    tax: TaxBreakdown
    total: Decimal
    line_items: tuple[LineItem, ...]


def compute_totals(usage: UsageSummary, tariff: Tariff, supplier_state: str, recipient_state: str) -> InvoiceTotals:
    """Every amount on the invoice, from the month's usage and the company's tariff."""
    billed = usage.billed_minutes
    included = min(tariff.included_minutes, billed)
    chargeable = billed - included
    quantity = printed_quantity(chargeable, tariff.rate_per_minute)
    usage_charge = quantize(quantity * tariff.rate_per_minute)
    minimum_adjustment = max(Decimal(0), quantize(tariff.minimum_usage_charge) - usage_charge)
    call_charges = usage_charge + minimum_adjustment
    fee = quantize(tariff.maintenance_fee)
    subtotal = call_charges + fee
    tax = compute_gst(subtotal, tariff.gst_rate, supplier_state, recipient_state)
    total = subtotal + tax.total

    description = (f"Voice agent call charges ({quantity_text(quantity)} min x ₹ "
                   f"{rate_text(tariff.rate_per_minute)}/min)")
    if included:
        description += f", after {format_minutes(included)} included min"
    items = [LineItem(description, quantity, tariff.rate_per_minute, usage_charge, "min")]
    if minimum_adjustment:
        items.append(LineItem(
            f"Minimum usage charge adjustment (minimum ₹ {quantize(tariff.minimum_usage_charge)})",
            Decimal(1), minimum_adjustment, minimum_adjustment, "month",
        ))
    if fee:
        items.append(LineItem("Monthly maintenance fee", Decimal(1), fee, fee, "month"))
    return InvoiceTotals(
        billed_minutes=billed,
        included_minutes_applied=included,
        chargeable_minutes=chargeable,
        printed_minutes=quantity,
        usage_charge=usage_charge,
        minimum_adjustment=minimum_adjustment,
        call_charges=call_charges,
        maintenance_fee=fee,
        subtotal=subtotal,
        tax=tax,
        total=total,
        line_items=tuple(items),
    )


def printed_quantity(minutes: Decimal, rate: Decimal) -> Decimal:
    """The minutes a line prints: the fewest decimals (2 to 6) that still multiply out to the exact amount.

    Per-second billing gives minutes like 3737/60 = 62.28333...: printed as 62.28 they would not
    multiply out (62.28 x 2.75 = 171.27, the exact charge is 171.28), so the line prints 62.2833.
    When even 6 decimals fall on the other side of a half paisa (rare), the line bills what it
    prints: quantity x rate is always the amount, as printed."""
    exact = quantize(minutes * rate)
    printed = minutes
    for places in range(2, MAX_QUANTITY_PLACES + 1):
        printed = minutes.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        if printed == minutes or quantize(printed * rate) == exact:
            return printed
    return printed


def quantity_text(quantity: Decimal) -> str:
    """A printed quantity: whole as '12', else every decimal it carries, at least two: '62.2833', '0.50'."""
    if quantity == quantity.to_integral_value():
        return str(int(quantity))
    text = format(quantity.normalize(), "f")
    return text if len(text.partition(".")[2]) >= 2 else f"{quantity:.2f}"


def rate_text(rate: Decimal) -> str:
    """A rate at the precision it is computed with, at least two decimals: 2 -> '2.00', 0.125 -> '0.125'."""
    exact = rate.normalize()
    return f"{rate:.2f}" if exact == quantize(rate) else format(exact, "f")


def format_minutes(minutes: Decimal) -> str:
    q = quantize(minutes)
    return str(int(q)) if q == q.to_integral_value() else f"{q:.2f}"


def due_date(invoice_date: DateOrTime, terms_days: int) -> DateOrTime:
    """The payment due date (or instant): terms_days after the invoice's."""
    return invoice_date + timedelta(days=terms_days)
