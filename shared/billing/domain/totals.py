"""Invoice totals, computed in one place and in this order (the one written statement of it):

1. usage: each call's billed seconds by the rounding policy (per-call, per-second, pulse,
   aggregate), summed per rate class: each direction with its own rate in
   `billing.directionRates`, and one class for every other call; the policy's minute rounding
   (aggregate: round up once) applies per class.
2. included minutes are subtracted (not below 0) class by class: the class without a direction
   rate first, then the directions in alphabetical order.
3. each class's chargeable minutes are priced: a direction class at its rate; the other class by
   `billing.tiers` when set (graduated: each tier's share at its rate; volume: all minutes at the
   rate of the tier the total falls in), else at `ratePerMinute`. One line per direction and per
   tier band. Each line prints its minutes with the decimals needed to multiply out to its exact
   price rounded to paise (`printed_quantity`) and bills that; the usage charge is their sum.
4. the minimum usage charge raises the call charges to itself (one adjustment line).
5. maintenance fee: each tariff's fee x the days it is in force and the company is billed
   (inside `billingStartDate`/`billingEndDate`) / the month's days, rounded half up to paise, one
   line each (`domain/tariff_history.py`); a whole month is the fee as it is.
6. one-off charges (`companies/{id}/charges`, `domain/charges.py`): one line each, as entered.
7. discount (`billing.discount`, in the months it covers): percent of, or a fixed amount off, call
   charges + fee + one-off charges (rounded half up to paise, never more than them), one negative
   line. Like a coupon, it applies to everything the invoice charges before GST.
8. subtotal (the taxable value) -> GST (on all of it) -> total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Sequence, TypeVar
from decimal import ROUND_HALF_UP, Decimal

from billing.domain.gst import TaxBreakdown, compute_gst
from billing.domain.money import indian_grouped, quantize
from billing.domain.rating import Tariff, UsageSummary
from billing.domain.tariffs import Band, price_tiers

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
class PricedPart:
    """Usage priced by one tariff: the whole month, or one stretch of it (label, days of the month)."""

    tariff: Tariff
    by_class: tuple[tuple[str | None, Decimal], ...]
    label: str | None = None
    days: int | None = None
    month_days: int | None = None
    # The days the fee covers when not the stretch's own (clipped to the company's billing dates).
    fee_days: int | None = None
    fee_label: str | None = None

    @property
    def billed_days(self) -> int | None:
        return self.days if self.fee_days is None else self.fee_days

    @property
    def fee(self) -> Decimal:
        fee, days = self.tariff.maintenance_fee, self.billed_days
        if days is None or not self.month_days or days == self.month_days:
            return quantize(fee)
        return quantize(fee * days / self.month_days)

    @property
    def fee_text(self) -> str:
        """'Monthly maintenance fee[, 20-30 Sep 2025 (11/30 of ₹ 1,500.00)]'."""
        label = self.fee_label or self.label
        days = self.billed_days
        if not label or days is None or not self.month_days:
            return "Monthly maintenance fee"
        return (f"Monthly maintenance fee, {label} "
                f"({days}/{self.month_days} of ₹ {indian_grouped(self.tariff.maintenance_fee)})")


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
    discount: Decimal
    subtotal: Decimal
    tax: TaxBreakdown
    total: Decimal
    line_items: tuple[LineItem, ...]
    # The CSV prices each call at its class's list rate (Tariff.list_rate): what the included
    # minutes are worth at those rates, and what tiers change against them (exact amounts).
    included_list_amount: Decimal = Decimal(0)
    tier_adjustment: Decimal = Decimal(0)
    one_off_charges: Decimal = Decimal(0)  # the month's one-off charges, summed


def compute_totals(usage: UsageSummary, tariff: Tariff, supplier_state: str, recipient_state: str,
                   period_key: str | None = None, parts: Sequence[PricedPart] = (),
                   charges: Sequence[tuple[str, Decimal]] = ()) -> InvoiceTotals:
    """Every amount on the invoice, from the month's usage and the company's tariff (order above).

    period_key (YYYY-MM) is needed when the discount covers only some months. parts: the month's
    usage per tariff when it had several (`tariff` is then the one in force on its last day: its
    included minutes, minimum charge, discount and GST rate apply to the month). charges: the
    month's one-off charges, (description, amount in rupees) in the order they are listed."""
    if not parts:
        parts = [PricedPart(tariff, usage.by_class or ((None, usage.billed_minutes),))]
    remaining = tariff.included_minutes
    # (part, class, included min on its first line, band)
    priced: list[tuple[PricedPart, str | None, Decimal, Band]] = []
    included_list = Decimal(0)
    tier_adjustment = Decimal(0)
    for part in parts:
        part_tariff = part.tariff
        classes = [(key, minutes) for key, minutes in part.by_class if minutes]
        if not classes and len(parts) == 1:
            classes = [(None, Decimal(0))]
        for key, minutes in classes:
            included = min(remaining, minutes)
            remaining -= included
            chargeable = minutes - included
            list_rate = part_tariff.list_rate(key)
            included_list += included * list_rate
            if key is None and part_tariff.tiers is not None:
                bands = price_tiers(chargeable, part_tariff.tiers)
                tier_adjustment += sum((band.amount for band in bands), Decimal(0)) - chargeable * list_rate
            else:
                bands = [Band(chargeable, list_rate, Decimal(0), None)]
            priced.extend((part, key, included if i == 0 else Decimal(0), band) for i, band in enumerate(bands))
    billed = usage.billed_minutes
    included_total = tariff.included_minutes - remaining
    chargeable_total = billed - included_total
    # Each line prints the minutes it needs to multiply out to its exact price, and bills that.
    quantities = [printed_quantity(band.minutes, band.rate) for _, _, _, band in priced]
    amounts = [quantize(quantity * band.rate) for quantity, (_, _, _, band) in zip(quantities, priced)]
    usage_charge = sum(amounts, Decimal(0))
    minimum_adjustment = max(Decimal(0), quantize(tariff.minimum_usage_charge) - usage_charge)
    call_charges = usage_charge + minimum_adjustment
    fees = [(part, part.fee) for part in parts]
    fee = sum((amount for _, amount in fees), Decimal(0))
    one_offs = [(text, quantize(amount)) for text, amount in charges]
    one_off = sum((amount for _, amount in one_offs), Decimal(0))
    discount = tariff.discount
    if discount is not None and discount.months is not None and period_key is None:
        raise ValueError("a discount for some months needs the invoice's month")
    before_discount = call_charges + fee + one_off
    off = discount.off(before_discount) if discount and discount.applies_to(period_key or "") else Decimal(0)
    subtotal = before_discount - off
    tax = compute_gst(subtotal, tariff.gst_rate, supplier_state, recipient_state)
    total = subtotal + tax.total

    items = [LineItem(_usage_description(part, key, band, quantity, included), quantity, band.rate, amount, "min")
             for (part, key, included, band), quantity, amount in zip(priced, quantities, amounts)]
    if minimum_adjustment:
        items.append(LineItem(
            f"Minimum usage charge adjustment (minimum ₹ {quantize(tariff.minimum_usage_charge)})",
            Decimal(1), minimum_adjustment, minimum_adjustment, "month",
        ))
    for part, amount in fees:
        if amount:
            items.append(LineItem(part.fee_text, Decimal(1), amount, amount, "month"))
    for text, amount in one_offs:
        items.append(LineItem(f"One-off charge: {text}", Decimal(1), amount, amount, "each"))
    if off and discount is not None:
        items.append(LineItem(discount.label(), Decimal(1), -off, -off, "month"))
    return InvoiceTotals(
        billed_minutes=billed,
        included_minutes_applied=included_total,
        chargeable_minutes=chargeable_total,
        printed_minutes=sum(quantities, Decimal(0)),
        usage_charge=usage_charge,
        minimum_adjustment=minimum_adjustment,
        call_charges=call_charges,
        maintenance_fee=fee,
        discount=off,
        subtotal=subtotal,
        tax=tax,
        total=total,
        line_items=tuple(items),
        included_list_amount=included_list,
        tier_adjustment=tier_adjustment,
        one_off_charges=one_off,
    )


def _usage_description(part: PricedPart, key: str | None, band: Band, quantity: Decimal, included: Decimal) -> str:
    """'Voice agent call charges[, <days>][, <class>][, <tier>] (M min x ₹ R/min)[, after N included min]'."""
    tariff = part.tariff
    parts = ["Voice agent call charges"]
    if part.label:
        parts.append(part.label)
    if key is not None:
        parts.append(f"{key} calls")
    elif tariff.direction_rates:
        parts.append("other calls")
    if key is None and tariff.tiers is not None:
        lower, upper = format_minutes(band.lower), band.upper
        span = f"over {lower} min" if upper is None else f"{lower}-{format_minutes(upper)} min"
        parts.append(f"{tariff.tiers.mode} tier {span}")
    text = ", ".join(parts) + f" ({quantity_text(quantity)} min x ₹ {rate_text(band.rate)}/min)"
    if included:
        text += f", after {format_minutes(included)} included min"
    return text


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
