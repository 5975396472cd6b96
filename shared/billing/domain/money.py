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


def positive_amount(value: object, field: str, maximum: Decimal) -> Decimal:
    """A requested amount of rupees, exactly as given: a number above zero, at most `maximum`, in
    whole paise (ValidationError naming the field and the value otherwise)."""
    amount = to_decimal(value, field)
    if amount <= 0:
        raise ValidationError(f"{field} must be greater than zero, got {value!r}")
    if amount > maximum:
        raise ValidationError(f"{field} must be at most {maximum}, got {value!r}")
    if amount != quantize(amount):
        raise ValidationError(f"{field} must have at most two decimals (paise), got {value!r}")
    return amount


def indian_grouped(amount: Decimal) -> str:
    """Decimal("1234567.8") -> '12,34,567.80': paise rounded half up, lakh/crore grouping (the printed
    form; adapters format with babel's en_IN, which this matches, for text built inside the domain)."""
    text = f"{quantize(amount):f}"
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    whole, paise = text.split(".")
    head, tail = whole[:-3], whole[-3:]
    groups: list[str] = []
    while head:
        groups.insert(0, head[-2:])
        head = head[:-2]
    return sign + ",".join([*groups, tail]) + "." + paise


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


class INR:
    """An amount of Indian rupees: integer paise inside, Decimal at the edges, never a float.

    `INR.from_decimal(Decimal("274.32"))` rounds to paise half up (like `quantize`); `.decimal` gives
    the exact Decimal back. Sums and differences are exact. Multiplying by an int is exact; by a
    Decimal (a rate, a share) rounds the product to paise half up, once: the one rounding this type
    does. `sum()` of amounts works (it starts from the integer 0)."""

    __slots__ = ("_paise",)

    def __init__(self, paise: int):
        if isinstance(paise, bool) or not isinstance(paise, int):
            raise TypeError(f"INR holds integer paise, got {type(paise).__name__}")
        self._paise = paise

    @classmethod
    def from_decimal(cls, amount: Decimal | int | str) -> "INR":
        """Rupees (a Decimal, an int or a decimal string) rounded to paise, half up; a float is refused."""
        if isinstance(amount, (float, bool)):
            raise TypeError("money must not be a float; use Decimal or str")
        return cls(int(quantize(Decimal(amount)) * 100))

    @classmethod
    def zero(cls) -> "INR":
        return cls(0)

    @property
    def paise(self) -> int:
        return self._paise

    @property
    def decimal(self) -> Decimal:
        """The amount in rupees, exactly, with two decimals (27432 paise -> Decimal("274.32"))."""
        return (Decimal(self._paise) / 100).quantize(PAISA)

    def __add__(self, other: object) -> "INR":
        if isinstance(other, INR):
            return INR(self._paise + other._paise)
        if other == 0 and isinstance(other, int) and not isinstance(other, bool):
            return self
        return NotImplemented

    def __radd__(self, other: object) -> "INR":
        return self.__add__(other)  # sum() starts from 0

    def __sub__(self, other: object) -> "INR":
        if isinstance(other, INR):
            return INR(self._paise - other._paise)
        return NotImplemented

    def __neg__(self) -> "INR":
        return INR(-self._paise)

    def __mul__(self, factor: object) -> "INR":
        if isinstance(factor, bool) or isinstance(factor, float):
            return NotImplemented
        if isinstance(factor, int):
            return INR(self._paise * factor)
        if isinstance(factor, Decimal):
            return INR.from_decimal(self.decimal * factor)
        return NotImplemented

    def __rmul__(self, factor: object) -> "INR":
        return self.__mul__(factor)

    def _key(self, other: object) -> int:
        if not isinstance(other, INR):
            raise TypeError(f"cannot compare INR with {type(other).__name__}")
        return other._paise

    def __eq__(self, other: object) -> bool:
        return isinstance(other, INR) and other._paise == self._paise

    def __hash__(self) -> int:
        return hash(("INR", self._paise))

    def __lt__(self, other: "INR") -> bool:
        return self._paise < self._key(other)

    def __le__(self, other: "INR") -> bool:
        return self._paise <= self._key(other)

    def __gt__(self, other: "INR") -> bool:
        return self._paise > self._key(other)

    def __ge__(self, other: "INR") -> bool:
        return self._paise >= self._key(other)

    def __bool__(self) -> bool:
        return self._paise != 0

    def __repr__(self) -> str:
        return f"INR({self.decimal})"

    def __str__(self) -> str:
        return str(self.decimal)
