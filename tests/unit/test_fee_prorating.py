"""The maintenance fee in the months a company starts or ends (billingStartDate / billingEndDate):
only the days inside its billing dates, by hand (DESIGN 15)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.seed import COMPANIES, IST, SUPPLIER
from fakes import FakeCompanies, fake_container

NOW = datetime(2025, 11, 2, 6, 0, tzinfo=timezone.utc)
BILLING = {"ratePerMinute": 2, "maintenanceFee": 1000, "timezone": "Asia/Kolkata"}
CHANGE = {"2025-09-15": {"billing": {**BILLING, "ratePerMinute": 3, "maintenanceFee": 1600}}}
# one 60 s call on the 22nd (a day every case below bills)
CALLS = [CallRecord("late", datetime(2025, 9, 22, 10, 0, tzinfo=IST), 60)]


def fees(dates: dict, dated: dict | None = None, month: int = 9) -> list[tuple[str, float]]:
    company = {**copy.deepcopy(COMPANIES["vysedeck"]), "billing": dict(BILLING), **dates}
    c = fake_container(companies={"vysedeck": company}, supplier=SUPPLIER, calls={"vysedeck": CALLS},
                       clock=lambda: NOW)
    assert isinstance(c.companies, FakeCompanies)
    c.companies.dated.update({"vysedeck": dated or {}})
    preview = c.preview.preview("vysedeck", MonthQuery(month, 2025))
    doc = c.issuance.generate("vysedeck", MonthQuery(month, 2025)).document
    assert preview["lineItems"] == doc["lineItems"]
    return [(i["description"], i["amount"]) for i in doc["lineItems"] if "maintenance" in i["description"]]


def test_a_start_on_the_20th_of_a_30_day_month_is_11_30_of_the_fee():
    # September has 30 days; the 20th to the 30th are 11 days: 1000.00 x 11 / 30 = 366.666... -> 366.67
    assert fees({"billingStartDate": "2025-09-20"}) == [
        ("Monthly maintenance fee, 20-30 Sep 2025 (11/30 of ₹ 1,000.00)", 366.67)]


def test_an_end_on_the_10th_is_10_30_of_the_fee_and_other_months_are_whole():
    # the 1st to the 10th: 10 days: 1000.00 x 10 / 30 = 333.333... -> 333.33
    assert fees({"billingEndDate": "2025-09-10"}) == [
        ("Monthly maintenance fee, 1-10 Sep 2025 (10/30 of ₹ 1,000.00)", 333.33)]
    # the month after the start month pays the whole fee, as before
    assert fees({"billingStartDate": "2025-09-20"}, month=10) == [("Monthly maintenance fee", 1000.0)]
    # a start on the 1st is the whole month too
    assert fees({"billingStartDate": "2025-09-01"}) == [("Monthly maintenance fee", 1000.0)]


def test_billing_dates_clip_the_stretches_of_a_mid_month_tariff_change():
    # tariff 1 (fee 1000) on the 1st-14th, tariff 2 (fee 1600) from the 15th; billed the 10th to the 25th:
    #   tariff 1: the 10th-14th = 5 days: 1000.00 x 5 / 30 = 166.666... -> 166.67
    #   tariff 2: the 15th-25th = 11 days: 1600.00 x 11 / 30 = 586.666... -> 586.67
    assert fees({"billingStartDate": "2025-09-10", "billingEndDate": "2025-09-25"}, CHANGE) == [
        ("Monthly maintenance fee, 10-14 Sep 2025 (5/30 of ₹ 1,000.00)", 166.67),
        ("Monthly maintenance fee, 15-25 Sep 2025 (11/30 of ₹ 1,600.00)", 586.67)]
    # a start on the 20th, after the change: tariff 1 covers no billed day (no line);
    #   tariff 2: the 20th-30th = 11 days: 1600.00 x 11 / 30 = 586.67
    assert fees({"billingStartDate": "2025-09-20"}, CHANGE) == [
        ("Monthly maintenance fee, 20-30 Sep 2025 (11/30 of ₹ 1,600.00)", 586.67)]


@pytest.mark.parametrize("start, days", [("2025-09-30", 1), ("2025-09-02", 29)])
def test_every_day_counts(start, days):
    expected = round(1000 * days / 30, 2)  # 33.33 and 966.67: no half-paisa case here, float is fine
    label = f"{days}/30"
    [(text, amount)] = fees({"billingStartDate": start})
    assert label in text and amount == expected
    assert text.startswith("Monthly maintenance fee, " + ("30 Sep 2025" if days == 1 else "2-30 Sep 2025"))
