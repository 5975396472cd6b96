"""Effective-dated tariffs: the stretches of a month, each call rated by its own, the fee pro-rated."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord
from billing.domain.tariff_history import MonthAccumulator, parse_history, stretches
from billing.domain.totals import PricedPart, compute_totals
from billing.errors import ConfigurationError

IST = ZoneInfo("Asia/Kolkata")
SEPT = BillingPeriod(2025, 9, "Asia/Kolkata")


def billing(**fields):
    return {"ratePerMinute": 2, "timezone": "Asia/Kolkata", **fields}


def priced(parts, calls):
    acc = MonthAccumulator(parts, SEPT)
    rated = [acc.add(call) for call in calls]
    month = acc.summary()
    pieces = [PricedPart(s.tariff, u.by_class, s.label, s.days, s.month_days) for s, u in month.parts]
    return rated, compute_totals(month.total, parts[-1].tariff, "29", "29", SEPT.key, pieces if len(pieces) > 1 else [])


def lines(totals):
    return [(item.description, item.quantity, item.amount) for item in totals.line_items]


def test_a_rate_change_on_the_15th_at_midnight_in_kolkata():
    history = parse_history(billing(maintenanceFee=1000),
                            [("2025-09-15", {"billing": billing(ratePerMinute=3, maintenanceFee=1000)})])
    parts = stretches(history, SEPT)
    assert [(p.label, p.days) for p in parts] == [("1-14 Sep 2025", 14), ("15-30 Sep 2025", 16)]
    # 23:59:59.9 IST on the 14th is 18:29:59.9 UTC; 00:00:00 IST on the 15th is 18:30:00 UTC (both on the 14th UTC)
    late = CallRecord("late", datetime(2025, 9, 14, 23, 59, 59, 900000, tzinfo=IST).astimezone(timezone.utc), 60,
                      "completed")
    first = CallRecord("first", datetime(2025, 9, 15, tzinfo=IST).astimezone(timezone.utc), 60, "completed")
    rated, totals = priced(parts, [late, first])
    assert [r.rate for r in rated] == [2, 3]
    # late: 1 min x 2.00 = 2.00 under the old tariff; first: 1 min x 3.00 = 3.00 under the new one
    # fee: 1000 x 14/30 = 466.666... -> 466.67; 1000 x 16/30 = 533.333... -> 533.33 (sum 1000.00)
    assert lines(totals) == [
        ("Voice agent call charges, 1-14 Sep 2025 (1 min x ₹ 2.00/min)", 1, Decimal("2.00")),
        ("Voice agent call charges, 15-30 Sep 2025 (1 min x ₹ 3.00/min)", 1, Decimal("3.00")),
        ("Monthly maintenance fee, 1-14 Sep 2025 (14/30 of ₹ 1,000.00)", 1, Decimal("466.67")),
        ("Monthly maintenance fee, 15-30 Sep 2025 (16/30 of ₹ 1,000.00)", 1, Decimal("533.33")),
    ]
    assert totals.subtotal == Decimal("1005.00")


def test_a_fee_from_the_20th_of_a_30_day_month_is_eleven_thirtieths_rounded_half_up():
    history = parse_history(billing(), [("2025-09-20", {"billing": billing(maintenanceFee=1500.45)})])
    _, totals = priced(stretches(history, SEPT), [])
    # 20-30 September = 11 of 30 days: 1500.45 x 11 / 30 = 550.165 -> 550.17 (half up; half-even would give 550.16)
    assert lines(totals)[-1] == ("Monthly maintenance fee, 20-30 Sep 2025 (11/30 of ₹ 1,500.45)", 1,
                                 Decimal("550.17"))
    assert totals.maintenance_fee == Decimal("550.17")


def test_tariffs_before_and_after_the_month_and_on_its_first_day():
    history = parse_history(billing(), [("2025-08-20", {"billing": billing(ratePerMinute=4)}),
                                        ("2025-10-01", {"billing": billing(ratePerMinute=5)})])
    [only] = stretches(history, SEPT)
    assert (only.tariff.rate_per_minute, only.whole_month, only.dated.effective.isoformat()) == (4, True, "2025-08-20")
    on_first = parse_history(billing(), [("2025-09-01", {"billing": billing(ratePerMinute=6)})])
    assert [p.tariff.rate_per_minute for p in stretches(on_first, SEPT)] == [6]
    # one stretch, whole month: the plain invoice (full fee, no day labels)
    _, totals = priced(stretches(parse_history(billing(maintenanceFee=100), []), SEPT), [])
    assert [d for d, _, _ in lines(totals)] == ["Voice agent call charges (0 min x ₹ 2.00/min)", "Monthly maintenance fee"]


@pytest.mark.parametrize("dated, message", [
    ([("15-09-2025", {"billing": billing()})], "tariffs/15-09-2025: the document id must be the date"),
    ([("2025-02-30", {"billing": billing()})], "is not a date"),
    ([("2025-09-15", {"billing": billing(timezone="UTC")})], "timezone must stay 'Asia/Kolkata'"),
    ([("2025-09-15", {"billing": {"timezone": "Asia/Kolkata"}})], "tariffs/2025-09-15: billing.ratePerMinute is required"),
    ([("2025-09-15", {})], "tariffs/2025-09-15: company has no billing settings"),
])
def test_bad_dated_tariffs_name_themselves(dated, message):
    with pytest.raises(ConfigurationError, match=message):
        parse_history(billing(), dated)
