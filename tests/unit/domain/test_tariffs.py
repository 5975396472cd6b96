"""Tiers and direction rates: hand-computed invoices (the arithmetic is in each test) and properties."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from billing.domain.money import quantize
from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord, Tariff, UsageSummary, rate_calls
from billing.domain.tariffs import parse_tiers, price_tiers
from billing.domain.totals import compute_totals
from billing.errors import ConfigurationError

SEPT = BillingPeriod(2025, 9, "Asia/Kolkata")
T0 = datetime(2025, 9, 10, 12, 0, tzinfo=timezone.utc)
TIERS = [{"upToMinutes": 1000, "ratePerMinute": 2}, {"upToMinutes": None, "ratePerMinute": 1.5}]


def usage(t, durations, directions=None):
    directions = directions or [None] * len(durations)
    calls = [CallRecord(f"c{i}", T0 + timedelta(minutes=i), d, "completed", directions[i])
             for i, d in enumerate(durations)]
    return rate_calls(calls, t, SEPT)


def lines(totals):
    return [(item.quantity, item.rate, item.amount) for item in totals.line_items]


def tiered(mode, **extra):
    return Tariff.from_mapping({"tiers": {"mode": mode, "tiers": TIERS}, **extra})


def test_graduated_across_a_band_edge():
    t = tiered("graduated")
    # 20 calls of an hour = 1200 min: 1000 x 2.00 = 2000.00, then 200 x 1.50 = 300.00 -> 2300.00
    totals = compute_totals(usage(t, [3600] * 20), t, "29", "29")
    assert lines(totals) == [(1000, 2, Decimal("2000.00")), (200, Decimal("1.5"), Decimal("300.00"))]
    assert totals.call_charges == Decimal("2300.00")
    assert [i.description for i in totals.line_items] == [
        "Voice agent call charges, graduated tier 0-1000 min (1000 min x ₹ 2.00/min)",
        "Voice agent call charges, graduated tier over 1000 min (200 min x ₹ 1.50/min)"]
    # exactly 1000 min is all in the first band: 1000 x 2 = 2000.00, one line
    edge = compute_totals(usage(t, [3600] * 16 + [2400]), t, "29", "29")
    assert lines(edge) == [(1000, 2, Decimal("2000.00"))]


def test_volume_across_a_band_edge():
    t = tiered("volume")
    # 1200 min is past 1000: all 1200 x 1.50 = 1800.00 (one line)
    totals = compute_totals(usage(t, [3600] * 20), t, "29", "29")
    assert lines(totals) == [(1200, Decimal("1.5"), Decimal("1800.00"))]
    assert totals.line_items[0].description == (
        "Voice agent call charges, volume tier over 1000 min (1200 min x ₹ 1.50/min)")
    # 1000 min falls in the first tier (its bound belongs to it): 1000 x 2 = 2000.00
    edge = compute_totals(usage(t, [3600] * 16 + [2400]), t, "29", "29")
    assert lines(edge) == [(1000, 2, Decimal("2000.00"))]
    # 1001 min: 1001 x 1.50 = 1501.50 (cheaper than 1000 min: that is what volume pricing means)
    past = compute_totals(usage(t, [3600] * 16 + [2400, 60]), t, "29", "29")
    assert lines(past) == [(1001, Decimal("1.5"), Decimal("1501.50"))]


def test_included_minutes_are_consumed_before_the_tiers():
    t = tiered("graduated", includedMinutes=300)
    # 1200 billed - 300 included = 900 chargeable, all in the first band: 900 x 2 = 1800.00
    totals = compute_totals(usage(t, [3600] * 20), t, "29", "29")
    assert (totals.included_minutes_applied, totals.chargeable_minutes) == (300, 900)
    assert lines(totals) == [(900, 2, Decimal("1800.00"))]
    assert totals.line_items[0].description.endswith(", after 300 included min")
    # 1500 billed - 300 = 1200 chargeable: 1000 x 2 + 200 x 1.5 = 2300.00
    more = compute_totals(usage(t, [3600] * 25), t, "29", "29")
    assert lines(more) == [(1000, 2, Decimal("2000.00")), (200, Decimal("1.5"), Decimal("300.00"))]


def test_minimum_charge_with_tiers():
    t = tiered("volume", minimumUsageCharge=500, maintenanceFee=1000)
    # 100 min x 2.00 = 200.00 < minimum 500.00: adjustment 300.00; subtotal 500 + 1000 = 1500.00
    totals = compute_totals(usage(t, [3600] + [2400]), t, "29", "29")
    assert totals.usage_charge == Decimal("200.00")
    assert totals.minimum_adjustment == Decimal("300.00")
    assert totals.call_charges == Decimal("500.00")
    assert totals.subtotal == Decimal("1500.00")
    # GST 18% of 1500.00 = 270.00 -> CGST 135.00 + SGST 135.00; total 1770.00
    assert totals.total == Decimal("1770.00")


def test_direction_rates_with_pulse_rounding():
    t = Tariff.from_mapping({"ratePerMinute": 3, "policy": "pulse", "pulseSeconds": 30,
                             "directionRates": {"inbound": 1, "Outbound": 2}})
    u = usage(t, [45, 10, 31, 20, 100], ["inbound", "inbound", "OUTBOUND ", None, "sideways"])
    # inbound: 45 s -> 60 s, 10 s -> 30 s = 1.5 min x 1.00 = 1.50
    # outbound: 31 s -> 60 s = 1 min x 2.00 = 2.00
    # others (missing, "sideways"): 20 s -> 30 s, 100 s -> 120 s = 2.5 min x 3.00 = 7.50
    totals = compute_totals(u, t, "29", "29")
    assert lines(totals) == [(Decimal("2.5"), 3, Decimal("7.50")), (Decimal("1.5"), 1, Decimal("1.50")),
                             (1, 2, Decimal("2.00"))]
    assert [i.description.split(" (")[0] for i in totals.line_items] == [
        "Voice agent call charges, other calls", "Voice agent call charges, inbound calls",
        "Voice agent call charges, outbound calls"]
    assert totals.billed_minutes == 5 and totals.call_charges == Decimal("11.00")


def test_aggregate_rounds_each_direction_once_and_included_minutes_go_class_by_class():
    t = Tariff.from_mapping({"ratePerMinute": 3, "policy": "aggregate", "includedMinutes": 2,
                             "directionRates": {"inbound": 1, "outbound": 2}})
    u = usage(t, [70, 50, 30], ["inbound", "inbound", "outbound"])
    # inbound 120 s -> 2 min; outbound 30 s -> ceil 1 min; no other calls.
    # included 2 min: the other class has none, inbound (alphabetically first) takes both.
    totals = compute_totals(u, t, "29", "29")
    assert totals.billed_minutes == 3 and totals.included_minutes_applied == 2
    assert lines(totals) == [(0, 1, Decimal("0.00")), (1, 2, Decimal("2.00"))]


@pytest.mark.parametrize("raw, message", [
    ({"mode": "stepped", "tiers": TIERS}, "billing.tiers.mode"),
    ({"mode": "volume", "tiers": []}, "non-empty"),
    ({"mode": "volume", "tiers": [{"upToMinutes": 10, "ratePerMinute": 1}]}, "must be null"),
    ({"mode": "volume", "tiers": [{"upToMinutes": 10, "ratePerMinute": 1}, {"upToMinutes": 5, "ratePerMinute": 1},
                                  {"upToMinutes": None, "ratePerMinute": 1}]}, "greater than 10"),
    ({"mode": "volume", "tiers": [{"upToMinutes": None, "ratePerMinute": -1}]}, "must not be negative"),
    ({"mode": "volume", "tiers": [{"upToMinutes": None}]}, "ratePerMinute is required"),
])
def test_bad_tiers_say_what_is_wrong(raw, message):
    with pytest.raises(ConfigurationError, match=message):
        Tariff.from_mapping({"tiers": raw})


def test_bad_direction_rates_say_what_is_wrong():
    with pytest.raises(ConfigurationError, match="directionRates.inbound must not be negative"):
        Tariff.from_mapping({"ratePerMinute": 1, "directionRates": {"inbound": -1}})
    with pytest.raises(ConfigurationError, match="twice"):
        Tariff.from_mapping({"ratePerMinute": 1, "directionRates": {"inbound": 1, "Inbound": 2}})
    with pytest.raises(ConfigurationError, match="ratePerMinute is required"):
        Tariff.from_mapping({"directionRates": {"inbound": 1}})


rates = st.decimals(min_value=0, max_value=5, places=2)
minutes = st.decimals(min_value=0, max_value=50000, places=2)


@st.composite
def schedules(draw, decreasing=False):
    bounds = sorted(set(draw(st.lists(st.integers(1, 20000), min_size=1, max_size=3))))
    tier_rates = draw(st.lists(rates, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    if decreasing:
        tier_rates = sorted(tier_rates, reverse=True)
    tiers = [{"upToMinutes": b, "ratePerMinute": str(r)} for b, r in zip(bounds, tier_rates)]
    tiers.append({"upToMinutes": None, "ratePerMinute": str(tier_rates[-1])})
    return {"mode": draw(st.sampled_from(["graduated", "volume"])), "tiers": tiers}


def summary(m):
    return UsageSummary("per-second", 0, 0, 0, 0, (), m * 60, m * 60, m, (), ((None, m),))


@settings(max_examples=200, deadline=None)
@given(schedules(), minutes, st.decimals(min_value=0, max_value=1000, places=0))
def test_tier_lines_sum_to_the_call_charges(schedule, m, included):
    t = Tariff.from_mapping({"tiers": schedule, "includedMinutes": str(included)})
    totals = compute_totals(summary(m), t, "29", "29")
    usage_lines = [i for i in totals.line_items if i.unit == "min"]
    assert sum(i.amount for i in usage_lines) == totals.usage_charge == totals.call_charges
    assert sum(i.quantity for i in usage_lines) == totals.chargeable_minutes == max(Decimal(0), m - included)
    exact = sum((b.amount for b in price_tiers(totals.chargeable_minutes, parse_tiers(schedule))), Decimal(0))
    # each line bills its exact price rounded to paise, and multiplies out as printed
    assert abs(totals.usage_charge - quantize(exact)) <= Decimal("0.01") * len(usage_lines)
    assert all(i.amount == quantize(i.quantity * i.rate) for i in usage_lines)


@settings(max_examples=200, deadline=None)
@given(schedules(decreasing=True), minutes)
def test_graduated_is_never_dearer_than_flat_at_the_first_rate(schedule, m):
    schedule = {**schedule, "mode": "graduated"}
    graduated = Tariff.from_mapping({"tiers": schedule})
    flat = Tariff.from_mapping({"ratePerMinute": schedule["tiers"][0]["ratePerMinute"]})
    assert (compute_totals(summary(m), graduated, "29", "29").call_charges
            <= compute_totals(summary(m), flat, "29", "29").call_charges)


def test_the_data_model_example_tiers_with_an_inbound_rate():
    t = Tariff.from_mapping({"policy": "per-second", "includedMinutes": 1000, "directionRates": {"inbound": 1},
                             "tiers": {"mode": "graduated", "tiers": [{"upToMinutes": 10000, "ratePerMinute": 2},
                                                                      {"upToMinutes": None, "ratePerMinute": 1.5}]}})
    u = UsageSummary("per-second", 0, 0, 0, 0, (), Decimal(0), Decimal(12500 * 60), Decimal(12500), (),
                     ((None, Decimal(12000)), ("inbound", Decimal(500))))
    # other calls: 12,000 - 1,000 included = 11,000: 10,000 x 2 = 20,000.00 + 1,000 x 1.50 = 1,500.00
    # inbound: 500 x 1 = 500.00; call charges 22,000.00
    totals = compute_totals(u, t, "29", "29")
    assert lines(totals) == [(10000, 2, Decimal("20000.00")), (1000, Decimal("1.5"), Decimal("1500.00")),
                             (500, 1, Decimal("500.00"))]
    assert totals.call_charges == Decimal("22000.00")


def test_a_ten_percent_discount_before_gst_intra_and_inter_state():
    t = Tariff.from_mapping({"ratePerMinute": 2, "maintenanceFee": 1500,
                             "discount": {"percent": 10, "months": 3, "from": "2025-07"}})
    u = usage(t, [60] * 12)
    # 12 min x 2 = 24.00 + fee 1500.00 = 1524.00; 10% = 152.40 off -> taxable 1371.60
    intra = compute_totals(u, t, "29", "29", "2025-09")
    assert intra.discount == Decimal("152.40") and intra.subtotal == Decimal("1371.60")
    assert lines(intra)[-1] == (1, Decimal("-152.40"), Decimal("-152.40"))
    assert intra.line_items[-1].description == "Discount (10%, 3 months from 2025-07)"
    # CGST = SGST = round(1371.60 x 9%) = round(123.444) = 123.44; total 1371.60 + 246.88 = 1618.48
    assert [c.amount for c in intra.tax.components] == [Decimal("123.44")] * 2
    assert intra.total == Decimal("1618.48")
    # IGST = round(1371.60 x 18%) = round(246.888) = 246.89; total 1618.49
    inter = compute_totals(u, t, "29", "27", "2025-09")
    assert [c.amount for c in inter.tax.components] == [Decimal("246.89")] and inter.total == Decimal("1618.49")
    # the fourth month (October) is not discounted: 1524.00 taxable
    assert compute_totals(u, t, "29", "29", "2025-10").subtotal == Decimal("1524.00")
    assert compute_totals(u, t, "29", "29", "2025-06").subtotal == Decimal("1524.00")
    with pytest.raises(ValueError, match="needs the invoice's month"):
        compute_totals(u, t, "29", "29")


def test_a_fixed_discount_never_takes_the_subtotal_below_zero():
    t = Tariff.from_mapping({"ratePerMinute": 2, "maintenanceFee": 100, "discount": {"amount": 5000}})
    # 1 min x 2 = 2.00 + 100.00 = 102.00; 5000 off is capped at 102.00 -> nothing taxable
    totals = compute_totals(usage(t, [60]), t, "29", "29")
    assert totals.discount == Decimal("102.00") and totals.subtotal == 0 and totals.total == 0
    assert totals.line_items[-1].description == "Discount (fixed amount)"


@pytest.mark.parametrize("raw, message", [
    ({"percent": 10, "amount": 5}, "must be"),
    ({}, "must be"),
    ({"percent": 120}, "0-100"),
    ({"percent": 10, "months": 3}, "go together"),
    ({"percent": 10, "months": 0, "from": "2025-07"}, "months must be"),
    ({"amount": 10, "months": 2, "from": "2025-13"}, "from must be"),
])
def test_bad_discounts_say_what_is_wrong(raw, message):
    with pytest.raises(ConfigurationError, match=message):
        Tariff.from_mapping({"ratePerMinute": 1, "discount": raw})
