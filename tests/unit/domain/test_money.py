from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.domain.money import amount_in_words, indian_grouped, quantize, to_decimal
from billing.errors import ValidationError


def test_quantize_rounds_half_up_to_paise():
    assert quantize(Decimal("137.155")) == Decimal("137.16")
    assert quantize(Decimal("137.154999")) == Decimal("137.15")
    assert quantize(Decimal("-0.005")) == Decimal("-0.01")


def test_quantize_refuses_floats():
    with pytest.raises(TypeError):
        quantize(0.1)


@pytest.mark.parametrize("value, words", [
    ("1798.32", "Indian Rupees One Thousand Seven Hundred Ninety Eight and Thirty Two Paise Only"),
    ("1500", "Indian Rupees One Thousand Five Hundred Only"),
    ("0.05", "Indian Rupees Zero and Five Paise Only"),
    ("100000", "Indian Rupees One Lakh Only"),
    ("12345678.90", "Indian Rupees One Crore Twenty Three Lakh Forty Five Thousand Six Hundred Seventy Eight and Ninety Paise Only"),
])
def test_amount_in_words(value, words):
    assert amount_in_words(Decimal(value)) == words


def test_config_numbers_from_firestore_floats_stay_exact():
    assert to_decimal(0.1, "x") == Decimal("0.1")
    assert to_decimal(2, "x") == Decimal(2)
    for bad in (True, None, "abc", float("nan"), float("inf"), [1]):
        with pytest.raises(ValidationError):
            to_decimal(bad, "x")


@given(st.decimals(min_value=Decimal("-99999999999.99"), max_value=Decimal("99999999999.99"), places=3,
                   allow_nan=False, allow_infinity=False))
def test_indian_grouping_in_the_domain_prints_as_the_pdf_does(amount):
    """Text built inside the domain (a pro-rated fee line) groups amounts like the PDF's babel en_IN."""
    from billing.adapters.formatting import indian_amount

    assert indian_grouped(amount) == indian_amount(amount)


def test_indian_grouping_by_hand():
    assert [indian_grouped(Decimal(v)) for v in ("0", "999.999", "1500", "179832", "12345678.9", "-100000")] == [
        "0.00", "1,000.00", "1,500.00", "1,79,832.00", "1,23,45,678.90", "-1,00,000.00"]
