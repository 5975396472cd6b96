"""INR: integer paise inside, Decimal at the edges, one rounding (half up, to paise), never a float."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.domain.money import INR, quantize

paise = st.integers(min_value=-10**13, max_value=10**13)
amounts = st.builds(INR, paise)
rupees = st.decimals(min_value=Decimal("-1e11"), max_value=Decimal("1e11"), allow_nan=False,
                     allow_infinity=False, places=4)
factors = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("1000"), allow_nan=False,
                      allow_infinity=False, places=6)


@given(rupees)
def test_from_decimal_rounds_to_paise_half_up_like_quantize(value):
    assert INR.from_decimal(value).decimal == quantize(value)


@given(paise)
def test_decimal_round_trips_exactly(p):
    amount = INR(p)
    assert INR.from_decimal(amount.decimal) == amount
    assert amount.decimal * 100 == p
    assert amount.decimal.as_tuple().exponent == -2


@given(amounts, amounts, amounts)
def test_addition_is_exact_associative_and_commutative(a, b, c):
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert (a + b).decimal == a.decimal + b.decimal
    assert (a - b) + b == a
    assert a - a == INR.zero() == -INR.zero()


@given(st.lists(amounts, max_size=30))
def test_sum_starts_from_zero_and_adds_the_paise(items):
    total = sum(items)
    if items:
        assert total == INR(sum(i.paise for i in items))
    else:
        assert total == 0  # sum() of nothing is sum()'s own start
    assert sum(items, INR.zero()).paise == sum(i.paise for i in items)


@given(amounts, st.integers(min_value=-10**4, max_value=10**4))
def test_times_an_int_is_exact(a, n):
    assert (a * n).paise == a.paise * n
    assert n * a == a * n


@given(amounts, factors)
def test_times_a_decimal_rounds_once_half_up(a, factor):
    assert (a * factor).decimal == quantize(a.decimal * factor)
    assert factor * a == a * factor


@given(amounts, amounts)
def test_comparisons_follow_the_paise(a, b):
    assert (a < b) == (a.paise < b.paise)
    assert (a <= b) == (a.paise <= b.paise)
    assert (a > b) == (a.paise > b.paise)
    assert (a >= b) == (a.paise >= b.paise)
    assert (a == b) == (a.paise == b.paise)
    assert (hash(a) == hash(b)) or a != b


def test_one_documented_rounding():
    assert INR.from_decimal(Decimal("137.155")) == INR(13716)
    assert INR.from_decimal(Decimal("-0.005")) == INR(-1)
    assert INR(1524_00) * Decimal("0.09") == INR(137_16)
    assert INR(1) * Decimal("0.5") == INR(1)  # 0.005 rupees rounds half up
    assert str(INR(27432)) == "274.32" and repr(INR(-5)) == "INR(-0.05)"
    assert INR.from_decimal(12) == INR(1200) and INR.from_decimal("0.10") == INR(10)


@pytest.mark.parametrize("bad", [
    lambda: INR.from_decimal(0.1),
    lambda: INR(1.0),
    lambda: INR(True),
    lambda: INR(Decimal("1")),
    lambda: INR(100) * 1.5,
    lambda: 1.5 * INR(100),
    lambda: INR(100) + 1,
    lambda: INR(100) + 0.0,
    lambda: INR(100) - 0,
    lambda: INR(100) < 1,
    lambda: INR(100) * True,
])
def test_floats_and_other_types_are_refused(bad):
    with pytest.raises(TypeError):
        bad()


def test_equality_with_other_types_is_false_not_an_error():
    assert INR(100) != 100 and INR(0) != 0 and INR(100) != Decimal("1.00")
    assert not INR(0) and INR(1)
