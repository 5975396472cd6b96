"""Indian digit grouping and dates as the PDF, email and CSV show them (babel, en_IN)."""

from decimal import Decimal

import pytest

from billing.adapters.formatting import display_date, indian_amount, rate_amount, rupees


@pytest.mark.parametrize("value, text", [
    ("0", "0.00"), ("5", "5.00"), ("999.5", "999.50"), ("1000", "1,000.00"),
    ("123456.78", "1,23,456.78"), ("12345678.9", "1,23,45,678.90"), ("-1524", "-1,524.00"),
    ("0.005", "0.01"), ("2.675", "2.68"),  # paise rounded half up before formatting
])
def test_indian_grouping(value, text):
    assert indian_amount(Decimal(value)) == text


def test_rupees_and_dates():
    assert rupees(1798.32) == "₹ 1,798.32"
    assert rupees("not a number") == ""
    assert display_date("2025-10-08") == "08 Oct 2025"
    assert display_date("2025-10-08T06:27:57+05:30") == "08 Oct 2025"
    assert display_date(None) == ""


def test_rates_keep_their_precision():
    assert [rate_amount(v) for v in (2, 0.125, 1.5, "0.1234", 1500)] == ["2.00", "0.125", "1.50", "0.1234", "1,500.00"]
