from decimal import Decimal

import pytest

from billing.domain.money import Money, amount_in_words, format_indian, quantize, to_decimal
from billing.errors import ValidationError


def test_quantize_rounds_half_up_to_paise():
    assert quantize(Decimal("137.155")) == Decimal("137.16")
    assert quantize(Decimal("137.154999")) == Decimal("137.15")
    assert quantize(Decimal("-0.005")) == Decimal("-0.01")


def test_quantize_refuses_floats():
    with pytest.raises(TypeError):
        quantize(0.1)


@pytest.mark.parametrize("value, text", [
    ("0", "0.00"), ("5", "5.00"), ("999.5", "999.50"), ("1000", "1,000.00"),
    ("123456.78", "1,23,456.78"), ("12345678.9", "1,23,45,678.90"), ("-1524", "-1,524.00"),
])
def test_indian_grouping(value, text):
    assert format_indian(Decimal(value)) == text


@pytest.mark.parametrize("value, words", [
    ("1798.32", "Indian Rupees One Thousand Seven Hundred Ninety Eight and Thirty Two Paise Only"),
    ("1500", "Indian Rupees One Thousand Five Hundred Only"),
    ("0.05", "Indian Rupees Zero and Five Paise Only"),
    ("100000", "Indian Rupees One Lakh Only"),
    ("12345678.90", "Indian Rupees One Crore Twenty Three Lakh Forty Five Thousand Six Hundred Seventy Eight and Ninety Paise Only"),
])
def test_amount_in_words(value, words):
    assert amount_in_words(Decimal(value)) == words


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(TypeError):
        Money.of(2.5)
    with pytest.raises(ValueError):
        Money.of("1") + Money.of("1", "USD")
    assert (Money.of("1.10") + Money.of("2.205")).quantized() == Money.of("3.31")
    assert Money.of("1524").to_json() == 1524.0
    assert (Money.of("2") * 12).amount == Decimal(24)


def test_config_numbers_from_firestore_floats_stay_exact():
    assert to_decimal(0.1, "x") == Decimal("0.1")
    assert to_decimal(2, "x") == Decimal(2)
    for bad in (True, None, "abc", float("nan"), float("inf"), [1]):
        with pytest.raises(ValidationError):
            to_decimal(bad, "x")
