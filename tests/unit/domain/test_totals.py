from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord, Tariff, rate_calls
from billing.adapters.invoice_document import invoice_amounts_json
from billing.domain.totals import compute_totals, due_date

SEPT = BillingPeriod(2025, 9, "Asia/Kolkata")
T0 = datetime(2025, 9, 10, 12, 0, tzinfo=timezone.utc)


def usage(durations, t):
    return rate_calls([CallRecord(f"c{i}", T0 + timedelta(minutes=i), d) for i, d in enumerate(durations)], t, SEPT)


def test_seed_example_to_the_paisa():
    t = Tariff.from_mapping({"ratePerMinute": 2, "maintenanceFee": 1500, "timezone": "Asia/Kolkata"})
    u = usage([0, 45, 60, 30, 12.5, 59, 60, 1, 33, 47, 58, 20, 60], t)
    body = invoice_amounts_json(compute_totals(u, t, "29", "29"), u)
    assert body["usageData"]["totalCalls"] == 13
    assert body["usageData"]["totalBilledMinutes"] == 12
    assert body["usageData"]["billingPolicy"] == "per-call"
    assert [(i["quantity"], i["rate"], i["amount"]) for i in body["lineItems"]] == [(12, 2.0, 24.0), (1, 1500.0, 1500.0)]
    assert (body["subtotal"], body["gstAmount"], body["totalAmount"]) == (1524.0, 274.32, 1798.32)
    assert body["taxBreakdown"]["cgst"] == body["taxBreakdown"]["sgst"] == 137.16
    assert body["amountInWords"] == "Indian Rupees One Thousand Seven Hundred Ninety Eight and Thirty Two Paise Only"
    assert due_date(date(2025, 10, 1), 7) == date(2025, 10, 8)


def test_inter_state_is_igst():
    t = Tariff.from_mapping({"ratePerMinute": 2, "maintenanceFee": 1500})
    totals = compute_totals(usage([60] * 12, t), t, "29", "27")
    assert [c.name for c in totals.tax.components] == ["IGST"]
    assert totals.tax.total == Decimal("274.32")


def test_included_minutes_are_subtracted_after_rounding():
    t = Tariff.from_mapping({"ratePerMinute": "1.5", "includedMinutes": 5})
    totals = compute_totals(usage([61, 61, 61], t), t, "29", "29")  # 6 billed minutes
    assert totals.included_minutes_applied == 5 and totals.chargeable_minutes == 1
    assert totals.call_charges == Decimal("1.50")
    few = compute_totals(usage([30], t), t, "29", "29")
    assert few.chargeable_minutes == 0 and few.call_charges == 0


def test_minimum_usage_charge_raises_call_charges_not_the_fee():
    t = Tariff.from_mapping({"ratePerMinute": 3, "minimumUsageCharge": 100, "maintenanceFee": 1000, "policy": "aggregate"})
    totals = compute_totals(usage([10, 20, 35, 80], t), t, "29", "29")
    assert totals.usage_charge == Decimal("9.00")
    assert totals.minimum_adjustment == Decimal("91.00")
    assert totals.subtotal == Decimal("1100.00")
    assert [i.description.split(" (")[0] for i in totals.line_items] == [
        "Voice agent call charges", "Minimum usage charge adjustment", "Monthly maintenance fee"]


def test_per_second_charge_is_rounded_once():
    t = Tariff.from_mapping({"ratePerMinute": 1, "policy": "per-second"})
    totals = compute_totals(usage([7, 7, 7], t), t, "29", "29")  # 21 s = 0.35 min
    assert totals.usage_charge == Decimal("0.35")


money = st.decimals(0, 100000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.decimals(0, 5000, places=2, allow_nan=False), max_size=30),
    st.decimals("0.01", 50, places=2), money, st.integers(0, 100), money,
    st.sampled_from(["per-call", "per-second", "pulse", "aggregate"]),
    st.sampled_from(["29", "27"]), st.sampled_from([0, 5, 12, 18, 28]),
)
def test_invariants(ds, rate, fee, included, minimum, policy, recipient, gst_rate):
    t = Tariff.from_mapping({
        "ratePerMinute": str(rate), "maintenanceFee": str(fee), "includedMinutes": included,
        "minimumUsageCharge": str(minimum), "policy": policy, "pulseSeconds": 30, "gstRate": gst_rate,
    })
    totals = compute_totals(usage(ds, t), t, "29", recipient)
    assert totals.subtotal >= 0 and totals.tax.total >= 0 and totals.total >= 0
    assert totals.total == totals.subtotal + totals.tax.total
    assert totals.subtotal == sum(i.amount for i in totals.line_items)
    assert totals.call_charges >= t.minimum_usage_charge
    if recipient == "29":
        assert totals.tax.amount("CGST") == totals.tax.amount("SGST")
    for value in (totals.subtotal, totals.tax.total, totals.total):
        assert value == value.quantize(Decimal("0.01"))


def test_rates_are_printed_at_the_precision_they_are_computed_with():
    from billing.domain.totals import rate_text

    assert [rate_text(Decimal(v)) for v in ("2", "1.5", "0.125", "0.1234", "1000")] == [
        "2.00", "1.50", "0.125", "0.1234", "1000.00"]
    t = Tariff.from_mapping({"ratePerMinute": "0.125"})
    u = rate_calls([CallRecord("c", datetime(2025, 9, 2, tzinfo=timezone.utc), 120)], t, BillingPeriod(2025, 9))
    item = compute_totals(u, t, "29", "29").line_items[0]
    assert item.description == "Voice agent call charges (2 min x ₹ 0.125/min)" and item.amount == Decimal("0.25")


def test_a_null_gst_rate_means_the_default():
    assert Tariff.from_mapping({"ratePerMinute": 2, "gstRate": None}).gst_rate == 18
    assert Tariff.from_mapping({"ratePerMinute": 2, "gstRate": 0}).gst_rate == 0
