"""How amounts and dates read on the PDF, in the email and in the CSV (babel, locale en_IN)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal

from billing.domain.money import quantize

LOCALE = "en_IN"
INDIAN_PATTERN = "#,##,##0.00"  # lakh/crore grouping, always two decimals


def as_decimal(value: object) -> Decimal:
    """A stored JSON number (or None) as an exact Decimal (None -> 0)."""
    return Decimal(str(value if value is not None else 0))


def indian_amount(value: object) -> str:
    """1234567.8 -> '12,34,567.80' (paise rounded half up first, then grouped the Indian way)."""
    return format_decimal(quantize(as_decimal(value)), format=INDIAN_PATTERN, locale=LOCALE)


def rate_amount(value: object) -> str:
    """A per-unit rate at its own precision (at least 2 decimals), grouped the Indian way: 0.125 -> '0.125'."""
    return format_decimal(as_decimal(value), format="#,##,##0.00########", locale=LOCALE)


def rupees(value: object, symbol: str = "₹") -> str:
    """1798.32 -> '₹ 1,798.32'; '' when the value is not a number."""
    try:
        return f"{symbol} {indian_amount(value)}".strip()
    except (InvalidOperation, ValueError):
        return ""


def display_date(text: object) -> str:
    """'2025-10-08' (or an ISO date-time) -> '08 Oct 2025': unambiguous for every reader."""
    if not text:
        return ""
    try:
        return date.fromisoformat(str(text)[:10]).strftime("%d %b %Y")
    except ValueError:
        return str(text)
