from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord, POLICIES, Tariff, UsageAccumulator, rate_calls
from billing.errors import ConfigurationError

SEPT = BillingPeriod(2025, 9, "UTC")
T0 = datetime(2025, 9, 10, 12, 0, tzinfo=timezone.utc)


def calls(*durations, status="completed"):
    return [CallRecord(f"c{i}", T0 + timedelta(minutes=i), d, status) for i, d in enumerate(durations)]


def tariff(**billing):
    return Tariff.from_mapping({"ratePerMinute": 2, **billing})


@pytest.mark.parametrize("seconds, minutes", [
    (0, 0), (0.4, 1), (1, 1), (59.999, 1), (60, 1), (60.001, 2), ("61", 2), (120, 2), (3600, 60),
])
def test_per_call_rounds_each_call_up_to_whole_minutes(seconds, minutes):
    assert rate_calls(calls(seconds), tariff(), SEPT).billed_minutes == minutes


def test_seed_example_thirteen_calls_twelve_minutes():
    summary = rate_calls(calls(0, 45, 60, 30, 12.5, 59, 60, 1, 33, 47, 58, 20, 60), tariff(), SEPT)
    assert (summary.total_calls, summary.billable_calls, summary.billed_minutes) == (13, 12, 12)


def test_per_second_bills_exact_seconds():
    summary = rate_calls(calls(30, 45.5), tariff(policy="per-second"), SEPT)
    assert summary.billed_seconds == Decimal("75.5")
    assert summary.billed_minutes == Decimal("75.5") / 60


def test_pulse_rounds_each_call_up_to_the_pulse():
    summary = rate_calls(calls(1, 30, 31, 61), tariff(policy="pulse", pulseSeconds=30), SEPT)
    assert summary.billed_seconds == 30 + 30 + 60 + 90
    assert summary.billed_minutes == Decimal("3.5")


def test_aggregate_sums_then_rounds_up_once():
    summary = rate_calls(calls(10, 20, 35, 80), tariff(policy="aggregate"), SEPT)
    assert summary.billed_seconds == 145
    assert summary.billed_minutes == 3  # per-call would bill 5
    assert rate_calls(calls(60, 60), tariff(policy="aggregate"), SEPT).billed_minutes == 2


def test_non_billable_statuses_count_but_bill_nothing():
    summary = rate_calls(calls(120, status="busy") + calls(61), tariff(), SEPT)
    assert summary.total_calls == 2
    assert summary.non_billable_calls == 1
    assert summary.billed_minutes == 2


@pytest.mark.parametrize("raw, reason", [
    (None, "duration is missing"),
    (-5, "duration is negative (-5)"),
    ("forty", "duration is not a number ('forty')"),
    (True, "duration is not a number (True)"),
    (float("nan"), "duration is not a finite number (nan)"),
    ({"s": 1}, "duration is not a number (dict)"),
])
def test_unratable_durations_become_anomalies(raw, reason):
    summary = rate_calls(calls(raw) + calls(30), tariff(), SEPT)
    assert summary.total_calls == 2
    assert summary.anomaly_count == 1
    assert summary.anomalies[0]["reason"] == reason
    assert summary.billed_minutes == 1


def test_missing_or_outside_start_is_an_anomaly():
    outside = CallRecord("late", datetime(2025, 10, 1, tzinfo=timezone.utc), 30)
    missing = CallRecord("nostart", None, 30)
    summary = rate_calls([outside, missing], tariff(), SEPT)
    assert summary.anomaly_count == 2
    assert {a["callId"] for a in summary.anomalies} == {"late", "nostart"}
    assert summary.billed_minutes == 0


def test_last_second_of_the_month_is_billed_in_it():
    last = CallRecord("last", datetime(2025, 9, 30, 23, 59, 59, 900000, tzinfo=timezone.utc), 30)
    assert rate_calls([last], tariff(), SEPT).billed_minutes == 1


def test_anomaly_list_is_bounded_but_counted():
    acc = UsageAccumulator(tariff(), SEPT, max_listed_anomalies=3)
    for c in calls(*([-1] * 10)):
        acc.add(c)
    summary = acc.summary()
    assert summary.anomaly_count == 10 and len(summary.anomalies) == 3


def test_daily_series_covers_every_day_in_the_company_timezone():
    ist = BillingPeriod(2025, 9, "Asia/Kolkata")
    call = CallRecord("x", datetime(2025, 9, 1, 20, 0, tzinfo=timezone.utc), 90)  # 2 Sep IST
    summary = rate_calls([call], Tariff.from_mapping({"ratePerMinute": 1, "timezone": "Asia/Kolkata"}), ist)
    assert len(summary.daily) == 30
    by_day = {d.isoformat(): (n, m) for d, n, m in summary.daily}
    assert by_day["2025-09-02"] == (1, 2)
    assert by_day["2025-09-01"] == (0, 0)


@pytest.mark.parametrize("billing, fragment", [
    (None, "no billing settings"),
    ({}, "ratePerMinute is required"),
    ({"ratePerMinute": -1}, "must not be negative"),
    ({"ratePerMinute": "two"}, "must be a number"),
    ({"ratePerMinute": True}, "must be a number"),
    ({"ratePerMinute": 1, "policy": "hourly"}, "must be one of"),
    ({"ratePerMinute": 1, "policy": "pulse"}, "pulseSeconds"),
    ({"ratePerMinute": 1, "gstRate": 180}, "gstRate"),
    ({"ratePerMinute": 1, "paymentTermsDays": -3}, "paymentTermsDays"),
    ({"ratePerMinute": 1, "timezone": "Nowhere/City"}, "unknown timezone"),
])
def test_misconfigured_tariffs_are_refused_clearly(billing, fragment):
    with pytest.raises(ConfigurationError) as err:
        Tariff.from_mapping(billing)
    assert fragment in err.value.detail


durations = st.lists(
    st.one_of(st.integers(0, 4000), st.decimals(0, 4000, places=3, allow_nan=False)), max_size=40
)


@settings(max_examples=150, deadline=None)
@given(durations, st.sampled_from(sorted(POLICIES)), st.randoms(use_true_random=False))
def test_rating_does_not_depend_on_call_order(ds, policy, rnd):
    t = tariff(policy=policy, pulseSeconds=30)
    forward = calls(*ds)
    shuffled = forward[:]
    rnd.shuffle(shuffled)
    a, b = rate_calls(forward, t, SEPT), rate_calls(shuffled, t, SEPT)
    assert (a.billed_seconds, a.billed_minutes, a.total_calls) == (b.billed_seconds, b.billed_minutes, b.total_calls)


@settings(max_examples=150, deadline=None)
@given(durations)
def test_per_call_never_bills_less_than_aggregate(ds):
    per_call = rate_calls(calls(*ds), tariff(policy="per-call"), SEPT).billed_minutes
    aggregate = rate_calls(calls(*ds), tariff(policy="aggregate"), SEPT).billed_minutes
    per_second = rate_calls(calls(*ds), tariff(policy="per-second"), SEPT).billed_minutes
    assert per_call >= aggregate >= per_second


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_call_longer_than_max_call_seconds_is_an_anomaly_billed_nothing(policy):
    # milliseconds stored as seconds: 1e12 s would bill crores
    summary = rate_calls(calls(60, 1e12, 21_600, 21_601), tariff(policy=policy, pulseSeconds=30), SEPT)
    assert summary.billed_seconds == 60 + 21_600
    assert summary.anomaly_count == 2 and summary.total_calls == 4
    assert [a["reason"] for a in summary.anomalies] == [
        "duration 1000000000000 s is longer than billing.maxCallSeconds (21600 s)",
        "duration 21601 s is longer than billing.maxCallSeconds (21600 s)",
    ]
    assert summary.total_duration_seconds == 60 + 21_600  # the anomalies' seconds count nowhere


def test_max_call_seconds_is_configurable_and_positive():
    summary = rate_calls(calls(90, 120, 121), tariff(maxCallSeconds=120), SEPT)
    assert summary.billed_minutes == 4 and summary.anomaly_count == 1
    with pytest.raises(ConfigurationError, match="maxCallSeconds"):
        tariff(maxCallSeconds=0)
    with pytest.raises(ConfigurationError, match="maxCallSeconds"):
        tariff(maxCallSeconds="six hours")
