"""Who an email goes to when an admin names the recipients: {"to": ["a@b.example", ...]}, checked.

Plain addresses only (name@domain): no display name, no list separators, no whitespace or control
characters, at most MAX_RECIPIENTS of them (duplicates dropped, order kept).
"""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parseaddr
from typing import Mapping

from billing.errors import ValidationError

MAX_RECIPIENTS = 10
MAX_ADDRESS = 254  # RFC 5321's limit on a forward path


def recipients_override(body: object) -> list[str] | None:
    """The admin's {"to": [addresses]} (1-10 plain addresses), None when not given; ValidationError otherwise."""
    if body is None:
        return None
    if not isinstance(body, Mapping):
        raise ValidationError('the body must be a JSON object {"to": ["address", ...]} or empty')
    unknown = sorted(str(k) for k in set(body) - {"to"})
    if unknown:
        raise ValidationError(f'unknown field(s) {unknown}; the body may only carry {{"to": ["address", ...]}}')
    to = body.get("to")
    if to is None:
        return None
    if not isinstance(to, list) or not to:
        raise ValidationError(f'"to" must be a non-empty list of email addresses, got {str(to)[:80]!r}')
    if len(to) > MAX_RECIPIENTS:
        raise ValidationError(f'"to" names {len(to)} addresses; at most {MAX_RECIPIENTS} are allowed')
    result: list[str] = []
    for value in to:
        if not isinstance(value, str) or not _plain_address(value):
            raise ValidationError(f'"to" must hold plain email addresses (name@domain), got {str(value)[:80]!r}')
        if value not in result:
            result.append(value)
    return result


def _plain_address(value: str) -> bool:
    """name@domain, nothing else: no display name, no comma, no whitespace or control character."""
    if len(value) > MAX_ADDRESS or any(c.isspace() or ord(c) < 32 for c in value) or "," in value or ";" in value:
        return False
    name, addr = parseaddr(value)
    if name or addr != value or addr.count("@") != 1:
        return False
    try:
        address = Address(addr_spec=addr)
    except (ValueError, IndexError, TypeError):
        return False
    return bool(address.username) and "." in address.domain and not address.domain.startswith(".")
