"""Every invoice line multiplies out as printed: printed quantity x printed rate = printed amount."""

from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings, strategies as st

from billing.adapters.formatting import indian_amount, rate_amount
from billing.adapters.pdf import _qty
from billing.domain.period import BillingPeriod
from billing.adapters.invoice_document import invoice_amounts_json
from billing.domain.rating import POLICIES, CallRecord, Tariff, rate_calls
from billing.domain.totals import PricedPart, compute_totals

SEPT = BillingPeriod(2025, 9, "Asia/Kolkata")
T0 = datetime(2025, 9, 10, 12, 0, tzinfo=timezone.utc)
PAISE = Decimal("0.01")


def _lines(durations, billing):
    tariff = Tariff.from_mapping(billing)
    usage = rate_calls([CallRecord(f"c{i}", T0 + timedelta(minutes=i), d) for i, d in enumerate(durations)],
                       tariff, SEPT)
    return invoice_amounts_json(compute_totals(usage, tariff, "29", "29"), usage)["lineItems"]


def _number(printed: str) -> Decimal:
    return Decimal(printed.replace(",", ""))


def _multiplies_out(item) -> bool:
    qty = _number(_qty(item["quantity"]))
    rate = _number(rate_amount(item["rate"]))
    return (qty * rate).quantize(PAISE, ROUND_HALF_UP) == _number(indian_amount(item["amount"]))


def test_per_second_line_prints_the_decimals_it_needs():
    (line,) = _lines([3737], {"ratePerMinute": 2.75, "policy": "per-second"})
    # 3737 s = 62.28333 min: printed as 62.28 the line would read 62.28 x 2.75 = 171.27
    assert line["description"] == "Voice agent call charges (62.283 min x ₹ 2.75/min)"
    assert (_qty(line["quantity"]), line["amount"]) == ("62.283", 171.28)
    assert _multiplies_out(line)


durations = st.one_of(
    st.integers(min_value=0, max_value=20_000),
    st.decimals(min_value=0, max_value=20_000, places=2).map(str),
    st.floats(min_value=0, max_value=20_000, allow_nan=False).map(lambda f: round(f, 3)),
)
rates = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=4).map(str)


@settings(max_examples=300, deadline=None)
@given(st.lists(durations, min_size=0, max_size=12), rates, st.sampled_from(sorted(POLICIES)),
       st.sampled_from([7, 30, 45, 60]), st.decimals(min_value=0, max_value=50, places=2).map(str),
       st.decimals(min_value=0, max_value=5000, places=2).map(str))
def test_every_line_of_every_policy_multiplies_out(calls, rate, policy, pulse, included, fee):
    billing = {"ratePerMinute": rate, "policy": policy, "pulseSeconds": pulse, "includedMinutes": included,
               "maintenanceFee": fee, "minimumUsageCharge": "10"}
    lines = _lines(calls, billing)
    for line in lines:
        assert _multiplies_out(line), line
    usage = lines[0]
    assert f"({_qty(usage['quantity'])} min x ₹ " in usage["description"]
    assert f"₹ {rate_amount(usage['rate']).replace(',', '')}/min)" in usage["description"]


tier_rates = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("50"), places=4).map(str)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(durations, st.sampled_from([None, "inbound", "outbound"])), max_size=12),
       st.lists(tier_rates, min_size=3, max_size=3), tier_rates, st.sampled_from(["graduated", "volume"]),
       st.sampled_from(sorted(POLICIES)), st.decimals(min_value=0, max_value=20, places=2).map(str),
       st.sampled_from([None, {"percent": "12.5"}, {"amount": "99.99"}]), st.booleans())
def test_tier_direction_and_dated_tariff_lines_multiply_out(calls, tiers, inbound, mode, policy, included,
                                                           discount, dated):
    billing = {"policy": policy, "pulseSeconds": 30, "includedMinutes": included, "maintenanceFee": "1000",
               "directionRates": {"inbound": inbound}, "discount": discount,
               "tiers": {"mode": mode, "tiers": [{"upToMinutes": 5, "ratePerMinute": tiers[0]},
                                                 {"upToMinutes": 60, "ratePerMinute": tiers[1]},
                                                 {"upToMinutes": None, "ratePerMinute": tiers[2]}]}}
    tariff = Tariff.from_mapping(billing)
    usage = rate_calls([CallRecord(f"c{i}", T0 + timedelta(minutes=i), d, "completed", direction)
                        for i, (d, direction) in enumerate(calls)], tariff, SEPT)
    parts = ()
    if dated:  # the month split at the 15th, the second half at a flat rate of its own
        later = Tariff.from_mapping({**billing, "tiers": None, "ratePerMinute": tiers[2]})
        half = tuple((key, (m / 2).quantize(Decimal("0.001"))) for key, m in usage.by_class)
        parts = (PricedPart(tariff, half, "1-14 Sep 2025", 14, 30),
                 PricedPart(later, half, "15-30 Sep 2025", 16, 30))
    totals = compute_totals(usage, tariff, "29", "29", "2025-09", parts)
    lines = invoice_amounts_json(totals, usage)["lineItems"]
    for line in lines:
        assert _multiplies_out(line), line
    usage_lines = [i for i in totals.line_items if i.unit == "min"]
    assert sum(i.amount for i in usage_lines) == totals.usage_charge
