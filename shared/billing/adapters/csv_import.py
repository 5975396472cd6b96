"""Reads an invoice's stored CSV (the format adapters/csv_export writes) back into billed calls.

Streamed: bytes arrive in chunks, rows are parsed as they complete; the trailing summary rows
(no callId) and the call logs no month holds are skipped. Text the writer neutralised for spreadsheets gets its apostrophe back off.
"""

from __future__ import annotations

import codecs
import csv
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Iterable, Iterator

from billing.adapters.csv_export import FORMULA_START, HEADER, LEGACY_HEADER, UNPLACED_NOTE
from billing.domain.reconcile import BilledCall
from billing.errors import IntegrityError


def _lines(chunks: Iterable[bytes]) -> Iterator[str]:
    """Text lines (each with its "\\n"), decoded incrementally; csv handles quoted newlines."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    tail = ""
    for chunk in chunks:
        tail += decoder.decode(chunk)
        *complete, tail = tail.split("\n")
        for line in complete:
            yield line + "\n"
    tail += decoder.decode(b"", final=True)
    if tail:
        yield tail


def _restore(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text


def read_billed_calls(chunks: Iterable[bytes]) -> Iterator[BilledCall]:
    """The CSV's call rows, in file order (the order the invoice read the month)."""
    reader = csv.reader(_lines(chunks))
    header = next(reader, None)
    if header is None:
        return
    if header != HEADER and header != LEGACY_HEADER:
        raise IntegrityError(f"the invoice CSV has unexpected columns: {header[:14]}")
    col = {name: i for i, name in enumerate(HEADER)}
    for row in reader:
        if not row or not row[col["callId"]]:
            continue  # summary rows (included minutes, minimum charge, rounding, the invoice's)
        if row[col["note"]].startswith(UNPLACED_NOTE):
            continue  # a call log no month holds: never billed, not the month's
        try:
            started = datetime.fromisoformat(row[col["startedAt"]])
            billed = Decimal(row[col["billedSeconds"]] or "0")
        except (ValueError, InvalidOperation):
            raise IntegrityError(f"the invoice CSV has an unreadable row for call {row[0]!r}") from None
        yield BilledCall(
            call_id=_restore(row[col["callId"]]),
            started_at=started,
            duration_seconds=_restore(row[col["durationSeconds"]]),
            status=_restore(row[col["status"]]),
            billed_seconds=billed,
        )
