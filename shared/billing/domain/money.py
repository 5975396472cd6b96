"""Money: Decimal rupees, quantized to paise with ROUND_HALF_UP in one place; Indian formatting and words."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from billing.errors import ValidationError

PAISA = Decimal("0.01")


def quantize(amount: Decimal) -> Decimal:
    """Round to paise, half up: the one place money is rounded."""
    if isinstance(amount, float):
        raise TypeError("money must not be a float; use Decimal or str")
    return Decimal(amount).quantize(PAISA, rounding=ROUND_HALF_UP)


def to_decimal(value, field: str) -> Decimal:
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


def format_indian(amount: Decimal) -> str:
    """1234567.8 -> '12,34,567.80' (Indian digit grouping)."""
    q = quantize(amount)
    sign = "-" if q < 0 else ""
    whole, frac = f"{abs(q):.2f}".split(".")
    if len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        whole = ",".join(groups + [tail])
    return f"{sign}{whole}.{frac}"


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


@dataclass(frozen=True)
class Money:
    """An amount of one currency (INR), exact Decimal; refuses floats and mixed currencies."""

    amount: Decimal
    currency: str = "INR"

    def __post_init__(self):
        if isinstance(self.amount, float) or not isinstance(self.amount, Decimal):
            raise TypeError(f"Money needs a Decimal amount, got {type(self.amount).__name__}")

    @classmethod
    def of(cls, value, currency: str = "INR") -> "Money":
        if isinstance(value, float):
            raise TypeError("Money.of refuses floats; pass a str or Decimal")
        if isinstance(value, bool):
            raise TypeError("Money.of refuses bools")
        return cls(Decimal(value), currency)

    @classmethod
    def zero(cls, currency: str = "INR") -> "Money":
        return cls(Decimal(0), currency)

    def _same(self, other: "Money") -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"cannot mix {self.currency} and {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor) -> "Money":
        if isinstance(factor, (float, bool)) or not isinstance(factor, (int, Decimal)):
            raise TypeError("Money can only be multiplied by an int or Decimal")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: "Money") -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: "Money") -> bool:
        self._same(other)
        return self.amount <= other.amount

    def quantized(self) -> "Money":
        return Money(quantize(self.amount), self.currency)

    def format_indian(self) -> str:
        return format_indian(self.amount)

    def in_words(self) -> str:
        return amount_in_words(self.amount)

    def to_json(self) -> float:
        """JSON number with at most two decimals (1524 -> 1524.0)."""
        return float(quantize(self.amount))
