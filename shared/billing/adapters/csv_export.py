"""The per-call CSV: one row per call (anomalies included), streamed, reconciling to the invoice.

Rows show each call's exact billed seconds, its minutes to 4 decimals and its amount in paise from
those exact seconds at the call's list rate (its direction's rate, else ratePerMinute or the first
tier's; two decimals, never an exponent); trailing rows (included minutes, tier pricing, minimum
charge, rounding) make the minutes and amount columns add up exactly to the invoice's minutes and
call charges. Call logs of the company that no month holds (startedAt missing or not a timestamp)
follow the calls, each with its reason (`unplaced: ...`) and billing nothing. Last come the
invoice's summary rows (call charges, fee, discount, taxable value, each GST
component, total) in their own column, `invoiceAmount`, so the amount column still sums to the call
charges. Phone numbers are written as `="+91..."`: Excel and LibreOffice show that as the text
itself, where a bare +919800000000 becomes the number 9.19800000000E+11.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable, Iterable

from billing.ports import HashingWriter
from billing.domain.rating import RatedCall, UnplacedCall

HEADER = [
    "callId", "startedAt", "date", "durationSeconds", "status", "direction", "fromNumber",
    "toNumber", "agentId", "billedSeconds", "billedMinutes", "amount", "note", "invoiceAmount",
]
LEGACY_HEADER = HEADER[:13]  # CSVs stored before the invoiceAmount column (still read back)
FOUR = Decimal("0.0001")
PAISE = Decimal("0.01")
PHONE = re.compile(r"^\+?[0-9]{3,20}$")
PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]{1,20}(\.[0-9]{1,12})?$")
UNPLACED_NOTE = "unplaced: "  # rows of call logs no month holds (the reader skips them)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
FORMULA_FIRST = "".join(FORMULA_START)
MAX_REMEMBERED = 4096  # distinct durations priced and formatted per writer (bounded memory)


def neutralise(value: object) -> str:
    """Text a spreadsheet would execute as a formula gets a leading apostrophe.

    Plain numbers and E.164 phone numbers ("-5", "+919800000000") cannot run anything and stay as
    they are."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def _cell(value: object) -> str:
    """neutralise(), without its work for the common text that cannot start a formula."""
    if type(value) is str and (not value or value[0] not in FORMULA_FIRST):
        return value
    return neutralise(value)


def phone(value: object) -> str:
    """A phone number as spreadsheet text (`="+919800000000"`); anything else neutralised like other text."""
    if type(value) is str and PHONE.match(value):
        return f'="{value}"'
    return _cell(value)


def money(value: Decimal) -> str:
    """An amount with exactly two decimals, rounded half up, no exponent: 2 -> '2.00'."""
    q = value.quantize(PAISE, ROUND_HALF_UP)
    return f"{q:.2f}" if q else "0.00"


def _note(rated: RatedCall) -> str:
    """Why a call bills nothing."""
    if rated.anomaly:
        return neutralise(f"anomaly: {rated.anomaly}")
    return neutralise(f"not billable (status {rated.call.status})")


def dec(value: Decimal) -> str:
    """A Decimal as plain text, no exponent, no trailing zeros beyond what it needs."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


class _Encoder:
    """Collects CSV text in memory and hands UTF-8 bytes to the binary writer in large chunks."""

    def __init__(self, out: HashingWriter, flush_at: int = 256 * 1024):
        self._out = out
        self._buf = io.StringIO()
        self._flush_at = flush_at
        # The csv writer's target: StringIO's C method, so a row costs no Python frame here.
        self.write: Callable[[str], int] = self._buf.write

    def spill(self) -> None:
        """Flush once the buffer holds flush_at characters."""
        if self._buf.tell() >= self._flush_at:
            self.flush()

    def flush(self) -> None:
        text = self._buf.getvalue()
        if text:
            self._out.write(text.encode("utf-8"))
            self._buf.seek(0)
            self._buf.truncate()


class CallCsvWriter:
    """Streams rated calls as CSV rows; O(1) memory whatever the number of calls."""

    def __init__(self, out: HashingWriter, tz: tzinfo, rate_per_minute: Decimal, header: bool = True):
        self._enc = _Encoder(out)
        self._csv = csv.writer(self._enc, lineterminator="\r\n")
        self._writerow = self._csv.writerow
        self._tz = tz
        self._rate = rate_per_minute
        self.rows = 0
        self.minutes_written = Decimal(0)
        self.amount_written = Decimal(0)
        # A month has few distinct billed and raw durations: each is priced and formatted once.
        self._priced: dict[Decimal, tuple[Decimal, Decimal, str, str, str]] = {}
        self._durations: dict[Decimal, str] = {}
        # Calls at other rates (direction rates, dated tariffs): one price cache per rate (a few).
        self._by_rate: dict[Decimal, dict[Decimal, tuple[Decimal, Decimal, str, str, str]]] = {}
        if header:
            self._csv.writerow(HEADER)

    def write(self, rated: RatedCall) -> None:
        call = rated.call
        started = rated.started_local
        if started is None and isinstance(call.started_at, datetime) and call.started_at.tzinfo:
            started = call.started_at.astimezone(self._tz)
        stamp = started.isoformat() if started else ""
        rate = rated.rate
        if rate is None or rate == self._rate:
            priced = self._priced.get(rated.billed_seconds) or self._price(rated.billed_seconds)
        else:
            cache = self._by_rate.get(rate) or self._by_rate.setdefault(rate, {})
            priced = cache.get(rated.billed_seconds) or self._price(rated.billed_seconds, rate, cache)
        self.minutes_written += priced[0]
        self.amount_written += priced[1]
        seconds = rated.duration_seconds
        self._writerow((
            _cell(call.call_id),
            stamp,
            stamp[:10],  # the local date: isoformat starts with it
            (self._durations.get(seconds) or self._duration(seconds)) if seconds is not None
            else neutralise(call.duration_seconds),
            _cell(call.status),
            _cell(call.direction),
            phone(call.from_number),
            phone(call.to_number),
            _cell(call.agent_id),
            priced[2],
            priced[3],
            priced[4],
            _note(rated) if rated.anomaly or not rated.billable else "",
            "",
        ))
        self.rows += 1
        if not self.rows & 511:
            self._enc.spill()

    def write_unplaced(self, call: UnplacedCall) -> None:
        """A call log no month holds: listed with its reason, billing nothing."""
        self._writerow((_cell(call.call_id), "", "", "", "", "", "", "", "", "0", "0", "0.00",
                        neutralise(UNPLACED_NOTE + call.reason), ""))
        self.rows += 1
        if not self.rows & 511:
            self._enc.spill()

    def _price(self, billed: Decimal, rate: Decimal | None = None,
               cache: dict[Decimal, tuple[Decimal, Decimal, str, str, str]] | None = None,
               ) -> tuple[Decimal, Decimal, str, str, str]:
        """(minutes, amount, billed text, minutes text, amount text) of a call's billed seconds at
        a rate (default: the writer's).

        The amount comes from the exact seconds (rounded once, to paise), not the printed minutes."""
        rate = self._rate if rate is None else rate
        cache = self._priced if cache is None else cache
        minutes = (billed / 60).quantize(FOUR, ROUND_HALF_UP)
        amount = (billed * rate / 60).quantize(PAISE, ROUND_HALF_UP) if billed else Decimal(0)
        priced = (minutes, amount, dec(billed), dec(minutes), money(amount))
        if len(cache) < MAX_REMEMBERED:
            cache[billed] = priced
        return priced

    def _duration(self, seconds: Decimal) -> str:
        text = dec(seconds)
        if len(self._durations) < MAX_REMEMBERED:
            self._durations[seconds] = text
        return text

    def finish(self, summary_rows: Iterable[tuple[str, Decimal, Decimal]],
               invoice_rows: Iterable[tuple[str, Decimal]] = ()) -> None:
        """Write the reconciliation rows (label, minutes, amount) and the invoice's summary rows
        (label, amount) the domain computed, then flush."""
        for label, minutes, amount in summary_rows:
            self._summary_row(label, minutes, amount)
        for label, amount in invoice_rows:
            self._csv.writerow(["", "", "", "", "", "", "", "", "", "", "", "", label, money(amount)])
        self._enc.flush()

    def flush(self) -> None:
        self._enc.flush()

    def _summary_row(self, label: str, minutes: Decimal, amount: Decimal) -> None:
        self._csv.writerow(["", "", "", "", "", "", "", "", "", "", dec(minutes), money(amount), label, ""])
