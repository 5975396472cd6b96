from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from billing.domain.period import BillingPeriod, last_completed_period, parse_period
from billing.errors import ConfigurationError, ValidationError

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


def test_half_open_month_with_old_api_dates():
    p = BillingPeriod(2025, 9, "UTC")
    assert p.start == datetime(2025, 9, 1, tzinfo=ZoneInfo("UTC"))
    assert p.end == datetime(2025, 10, 1, tzinfo=ZoneInfo("UTC"))
    assert p.start_date == "2025-09-01T00:00:00+00:00"  # exactly the old API's strings for UTC
    assert p.end_date == "2025-09-30T23:59:59+00:00"
    assert p.key == "2025-09"
    ist = BillingPeriod(2025, 9, "Asia/Kolkata")
    assert (ist.start_date, ist.end_date) == ("2025-09-01T00:00:00+05:30", "2025-09-30T23:59:59+05:30")
    dst = BillingPeriod(2025, 3, "America/Los_Angeles")  # DST starts 9 March: each end has its offset
    assert (dst.start_date, dst.end_date) == ("2025-03-01T00:00:00-08:00", "2025-03-31T23:59:59-07:00")


def test_last_fraction_of_a_second_belongs_to_the_month():
    p = BillingPeriod(2025, 9, "UTC")
    assert p.contains(datetime(2025, 9, 30, 23, 59, 59, 900000, tzinfo=timezone.utc))
    assert not p.contains(datetime(2025, 10, 1, tzinfo=timezone.utc))


def test_timezone_decides_the_month_of_a_call():
    call = datetime(2025, 10, 1, 0, 30, tzinfo=IST)  # 30 Sep 19:00 UTC
    assert BillingPeriod(2025, 9, "UTC").contains(call)
    assert BillingPeriod(2025, 10, "Asia/Kolkata").contains(call)
    assert not BillingPeriod(2025, 9, "Asia/Kolkata").contains(call)


def test_february_leap_and_common_years():
    assert BillingPeriod(2024, 2).end_date == "2024-02-29T23:59:59+00:00"
    assert len(BillingPeriod(2024, 2).days) == 29
    assert BillingPeriod(2025, 2).end_date == "2025-02-28T23:59:59+00:00"


def test_december_rolls_into_january():
    assert BillingPeriod(2025, 12).end == datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
    assert last_completed_period(datetime(2026, 1, 15, tzinfo=timezone.utc), "UTC").key == "2025-12"
    # 1 Jan 01:00 IST is still 31 Dec in UTC
    assert last_completed_period(datetime(2026, 1, 1, 1, 0, tzinfo=IST), "Asia/Kolkata").key == "2025-12"
    assert last_completed_period(datetime(2026, 1, 1, 1, 0, tzinfo=IST), "UTC").key == "2025-11"


def test_parse_defaults_to_last_completed_month():
    assert parse_period(None, None, "UTC", NOW).key == "2026-10"
    assert parse_period("9", "2025", "UTC", NOW).key == "2025-09"


@pytest.mark.parametrize("month, year, fragment", [
    ("0", "2025", "month must be an integer 1-12"),
    ("13", "2025", "month must be an integer 1-12"),
    ("abc", "2025", "month must be an integer 1-12"),
    ("9", "1999", "year must be between"),
    ("9", "3000", "year must be between"),
    ("11", "2026", "has not ended yet"),
    ("9", None, "give both month and year"),
    ("1.5", "2025", "month must be"),
])
def test_parse_refuses_bad_months(month, year, fragment):
    with pytest.raises(ValidationError) as err:
        parse_period(month, year, "UTC", NOW)
    assert fragment in err.value.detail


def test_a_month_is_invoiceable_only_once_ended_in_its_timezone():
    just_after_utc_end = datetime(2026, 11, 1, 0, 0, 1, tzinfo=timezone.utc)
    assert parse_period(10, 2026, "Asia/Kolkata", just_after_utc_end).key == "2026-10"
    with pytest.raises(ValidationError):
        parse_period(10, 2026, "America/New_York", just_after_utc_end)


def test_unknown_timezone_is_a_configuration_error():
    with pytest.raises(ConfigurationError):
        BillingPeriod(2025, 9, "Mars/Olympus")


def test_local_date():
    assert BillingPeriod(2025, 9, "Asia/Kolkata").local_date(datetime(2025, 9, 1, 20, 0, tzinfo=timezone.utc)) == date(2025, 9, 2)
