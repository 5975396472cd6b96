"""Every invoice line multiplies out as printed: printed quantity x printed rate = printed amount."""

from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings, strategies as st

from billing.adapters.formatting import indian_amount, rate_amount
from billing.adapters.pdf import _qty
from billing.domain.period import BillingPeriod
from billing.domain.presenter import invoice_amounts_json
from billing.domain.rating import POLICIES, CallRecord, Tariff, rate_calls
from billing.domain.totals import compute_totals

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
