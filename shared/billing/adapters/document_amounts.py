"""An amount read back from a stored invoice or note document, exactly.

Documents written since `amountsPaise` existed carry each amount as integer paise beside its JSON
number; older ones have the JSON number only, read as the decimal it prints (never through float).
"""

from __future__ import annotations

from typing import Any, Mapping

from billing.domain.money import INR, to_decimal


def stored_inr(paise: Mapping[str, Any], key: str, doc: Mapping[str, Any], number_field: str) -> INR:
    """`paise[key]` when it is an integer, else the document's `number_field` (zero when absent)."""
    value = paise.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return INR(value)
    number = doc.get(number_field)
    return INR.from_decimal(to_decimal(number, number_field)) if number is not None else INR.zero()
