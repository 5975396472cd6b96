"""Money: Decimal rupees, quantized to paise with ROUND_HALF_UP in one place; amounts in words."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from billing.errors import ValidationError

PAISA = Decimal("0.01")


def quantize(amount: Decimal) -> Decimal:
    """Round to paise, half up: the one place money is rounded."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float; use Decimal or str")
    return Decimal(amount).quantize(PAISA, rounding=ROUND_HALF_UP)


def to_decimal(value: object, field: str) -> Decimal:
    """A configuration number (int, str, Decimal, or a float from Firestore/JSON) as an exact Decimal."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"{field} must be a number, got {value!r}")
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValidationError(f"{field} must be a finite number, got {value!r}")
        return Decimal(repr(value))
    if isinstance(value, (int, Decimal)):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValidationError(f"{field} must be a number, got {value!r}") from None
    else:
        raise ValidationError(f"{field} must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValidationError(f"{field} must be a finite number, got {value!r}")
    return result


_ONES = ("Zero One Two Three Four Five Six Seven Eight Nine Ten Eleven Twelve Thirteen Fourteen "
         "Fifteen Sixteen Seventeen Eighteen Nineteen").split()
_TENS = "_ _ Twenty Thirty Forty Fifty Sixty Seventy Eighty Ninety".split()


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    if n >= 100:
        words += [_ONES[n // 100], "Hundred"]
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10])
        n %= 10
    if n:
        words.append(_ONES[n])
    return words


def integer_in_words(n: int) -> str:
    """Indian system: Crore, Lakh, Thousand, Hundred."""
    if n == 0:
        return "Zero"
    words: list[str] = []
    crore, n = divmod(n, 10_000_000)
    if crore:
        words += integer_in_words(crore).split() + ["Crore"]
    lakh, n = divmod(n, 100_000)
    if lakh:
        words += _below_thousand(lakh) + ["Lakh"]
    thousand, n = divmod(n, 1000)
    if thousand:
        words += _below_thousand(thousand) + ["Thousand"]
    words += _below_thousand(n)
    return " ".join(words)


def amount_in_words(amount: Decimal) -> str:
    """1798.32 -> 'Indian Rupees One Thousand Seven Hundred Ninety Eight and Thirty Two Paise Only'."""
    q = quantize(amount)
    if q < 0:
        raise ValueError("amount in words is only defined for non-negative amounts")
    rupees = int(q)
    paise = int((q - rupees) * 100)
    text = f"Indian Rupees {integer_in_words(rupees)}"
    if paise:
        text += f" and {integer_in_words(paise)} Paise"
    return text + " Only"
