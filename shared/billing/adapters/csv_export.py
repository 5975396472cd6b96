"""The per-call CSV: one row per call (anomalies included), streamed, reconciling to the invoice.

Rows show each call's exact billed seconds; minutes and amounts are rounded to 4 decimals for
reading, and trailing rows (rounding, included minutes, minimum charge) make the columns add up
exactly to the invoice's billed minutes and call charges.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import BinaryIO, Iterable

from billing.domain.rating import RatedCall

HEADER = [
    "callId", "startedAt", "date", "durationSeconds", "status", "direction", "fromNumber",
    "toNumber", "agentId", "billedSeconds", "billedMinutes", "amount", "note",
]
FOUR = Decimal("0.0001")
PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]{1,20}(\.[0-9]{1,12})?$")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise(value) -> str:
    """Text a spreadsheet would execute as a formula gets a leading apostrophe.

    Plain numbers and E.164 phone numbers ("-5", "+919800000000") cannot run anything and stay as
    they are."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def dec(value: Decimal) -> str:
    """A Decimal as plain text, no exponent, no trailing zeros beyond what it needs."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


class _Encoder:
    """Collects csv text and hands UTF-8 bytes to the binary writer in large chunks."""

    def __init__(self, out: BinaryIO, flush_at: int = 256 * 1024):
        self._out = out
        self._parts: list[str] = []
        self._size = 0
        self._flush_at = flush_at

    def write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._flush_at:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
            self._size = 0


class CallCsvWriter:
    """Streams rated calls as CSV rows; O(1) memory whatever the number of calls."""

    def __init__(self, out: BinaryIO, tz: tzinfo, rate_per_minute: Decimal, header: bool = True):
        self._enc = _Encoder(out)
        self._csv = csv.writer(self._enc, lineterminator="\r\n")
        self._tz = tz
        self._rate = rate_per_minute
        self.rows = 0
        self.minutes_written = Decimal(0)
        self.amount_written = Decimal(0)
        if header:
            self._csv.writerow(HEADER)

    def write(self, rated: RatedCall) -> None:
        call = rated.call
        started = rated.started_local
        if started is None and isinstance(call.started_at, datetime) and call.started_at.tzinfo:
            started = call.started_at.astimezone(self._tz)
        minutes = (rated.billed_seconds / 60).quantize(FOUR, ROUND_HALF_UP)
        amount = (minutes * self._rate).quantize(FOUR, ROUND_HALF_UP) if minutes else Decimal(0)
        self.minutes_written += minutes
        self.amount_written += amount
        if rated.anomaly:
            note = f"anomaly: {rated.anomaly}"
        elif not rated.billable:
            note = f"not billable (status {call.status})"
        else:
            note = ""
        duration = dec(rated.duration_seconds) if rated.duration_seconds is not None else neutralise(
            call.duration_seconds
        )
        self._csv.writerow([
            neutralise(call.call_id),
            started.isoformat() if started else "",
            started.date().isoformat() if started else "",
            duration,
            neutralise(call.status),
            neutralise(call.direction),
            neutralise(call.from_number),
            neutralise(call.to_number),
            neutralise(call.agent_id),
            dec(rated.billed_seconds),
            dec(minutes),
            dec(amount),
            neutralise(note),
        ])
        self.rows += 1

    def finish(self, summary_rows: Iterable[tuple[str, Decimal, Decimal]]) -> None:
        """Write the reconciliation rows (label, minutes, amount) the domain computed, then flush."""
        for label, minutes, amount in summary_rows:
            self._summary_row(label, minutes, amount)
        self._enc.flush()

    def flush(self) -> None:
        self._enc.flush()

    def _summary_row(self, label: str, minutes: Decimal, amount: Decimal) -> None:
        self._csv.writerow(["", "", "", "", "", "", "", "", "", "", dec(minutes), dec(amount), label])
