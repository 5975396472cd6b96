"""Invoice numbers: {prefix}/{FY}/{seq}, one gapless series per Indian financial year (April-March)."""

from __future__ import annotations

import re
from datetime import date

from billing.errors import ConfigurationError

MAX_LENGTH = 16
_PREFIX = re.compile(r"^[A-Za-z0-9-]{1,4}$")


def financial_year_start(d: date) -> int:
    """The calendar year in which d's Indian financial year (April to March) began."""
    return d.year if d.month >= 4 else d.year - 1


def financial_year(d: date) -> str:
    """'25-26' for 1 April 2025 .. 31 March 2026."""
    start = financial_year_start(d)
    return f"{start % 100:02d}-{(start + 1) % 100:02d}"


def validate_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ConfigurationError(f"invoicePrefix must be 1-4 characters of A-Z, a-z, 0-9 or '-', got {prefix!r}")
    return prefix


def format_invoice_number(prefix: str, fy: str, seq: int) -> str:
    """'VD/25-26/00042'; refuses anything longer than 16 characters."""
    validate_prefix(prefix)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ConfigurationError(f"invoice sequence must be a positive integer, got {seq!r}")
    number = f"{prefix}/{fy}/{seq:05d}"
    if len(number) > MAX_LENGTH:
        raise ConfigurationError(
            f"invoice number {number!r} would exceed {MAX_LENGTH} characters; use a shorter prefix"
        )
    return number


def counter_id(prefix: str, fy: str) -> str:
    return f"{validate_prefix(prefix)}_{fy}"
