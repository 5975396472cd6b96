"""The per-call CSV: exact rows, neutralised formulas, sums, and the bytes reach the sink in chunks."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from billing.adapters.csv_export import HEADER, CallCsvWriter
from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord, Tariff, UsageAccumulator

SEPT = BillingPeriod(2025, 9, "Asia/Kolkata")
T0 = datetime(2025, 9, 1, tzinfo=timezone.utc)


def write(calls, flush_at=None):
    tariff = Tariff.from_mapping({"ratePerMinute": 2, "timezone": "Asia/Kolkata"})
    acc = UsageAccumulator(tariff, SEPT)
    sink = io.BytesIO()
    writer = CallCsvWriter(sink, SEPT.tz, tariff.rate_per_minute)
    if flush_at:
        writer._enc._flush_at = flush_at
    for call in calls:
        writer.write(acc.add(call))
    writer.flush()
    return writer, sink.getvalue().decode("utf-8")


def test_rows_carry_the_call_its_local_time_and_what_it_bills():
    writer, text = write([
        CallRecord("c1", T0, 61.5, "completed", "outbound", "+910000000000", "+919800000001", "agent,1"),
        CallRecord("=HYPERLINK(1)", T0 + timedelta(minutes=1), 61.5, "busy", "-x", "@foo", None, 'a"b'),
        CallRecord("c3", T0 + timedelta(hours=20), "x", "completed"),
        CallRecord("c4", None, 30, "completed"),
        CallRecord("c5", T0 + timedelta(days=2), 30, "completed"),
    ])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADER
    assert rows[1:] == [
        ["c1", "2025-09-01T05:30:00+05:30", "2025-09-01", "61.5", "completed", "outbound", '="+910000000000"',
         '="+919800000001"', "agent,1", "120", "2", "4.00", "", ""],
        ["'=HYPERLINK(1)", "2025-09-01T05:31:00+05:30", "2025-09-01", "61.5", "busy", "'-x", "'@foo", "", 'a"b',
         "0", "0", "0.00", "not billable (status busy)", ""],
        ["c3", "2025-09-02T01:30:00+05:30", "2025-09-02", "x", "completed", "", "", "", "",
         "0", "0", "0.00", "anomaly: duration is not a number ('x')", ""],
        ["c4", "", "", "30", "completed", "", "", "", "", "0", "0", "0.00", "anomaly: startedAt is missing", ""],
        ["c5", "2025-09-03T05:30:00+05:30", "2025-09-03", "30", "completed", "", "", "", "", "60", "1", "2.00", "",
         ""],
    ]
    assert text.endswith("\r\n") and "\r\n\r\n" not in text
    assert (writer.rows, writer.minutes_written, writer.amount_written) == (5, Decimal(3), Decimal(6))


def test_many_rows_reach_the_sink_in_order_with_the_same_sums_as_one_by_one():
    calls = [CallRecord(f"c{i:05d}", T0 + timedelta(seconds=7 * i), (i * 37) % 600 + 0.5, "completed",
                        to_number=f"+91{i:010d}") for i in range(3000)]
    writer, text = write(calls, flush_at=1024)
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert [r[0] for r in rows] == [c.call_id for c in calls]
    assert writer.minutes_written == sum(Decimal(r[10]) for r in rows)
    assert writer.amount_written == sum(Decimal(r[11]) for r in rows)
    assert writer.amount_written == writer.minutes_written * 2


def test_per_call_amounts_come_from_exact_seconds_in_paise():
    tariff = Tariff.from_mapping({"ratePerMinute": 3, "policy": "per-second"})
    acc = UsageAccumulator(tariff, SEPT)
    sink = io.BytesIO()
    writer = CallCsvWriter(sink, SEPT.tz, tariff.rate_per_minute)
    for i, seconds in enumerate([10, 20, 1e12, 7]):
        writer.write(acc.add(CallRecord(f"c{i}", T0 + timedelta(minutes=i), seconds, "completed")))
    writer.finish([("rounding (billing policy and paise)", Decimal("-0.0001"), Decimal("0.01"))],
                  [("call charges", Decimal("1.86")), ("total", Decimal("2194.8"))])
    rows = list(csv.reader(io.StringIO(sink.getvalue().decode())))[1:]
    # 10 s at 3/min is 0.50 (not 0.5001 from 0.1667 min), 20 s is 1.00 (not 0.9999)
    assert [(r[9], r[10], r[11]) for r in rows[:4]] == [
        ("10", "0.1667", "0.50"), ("20", "0.3333", "1.00"), ("0", "0", "0.00"), ("7", "0.1167", "0.35")]
    assert rows[2][3] == "1000000000000" and "maxCallSeconds" in rows[2][12]
    assert rows[4][10:] == ["-0.0001", "0.01", "rounding (billing policy and paise)", ""]
    assert rows[5][11:] == ["", "call charges", "1.86"] and rows[6][11:] == ["", "total", "2194.80"]
    assert not re.search(r"[0-9][eE][+-]?[0-9]", sink.getvalue().decode())  # no exponent anywhere


def test_the_reader_takes_calls_back_skipping_unplaced_and_summary_rows_in_both_headers():
    from billing.adapters.csv_import import read_billed_calls
    from billing.domain.rating import UnplacedCall

    tariff = Tariff.from_mapping({"ratePerMinute": 2})
    acc = UsageAccumulator(tariff, SEPT)
    sink = io.BytesIO()
    writer = CallCsvWriter(sink, SEPT.tz, tariff.rate_per_minute)
    writer.write(acc.add(CallRecord("c1", T0, 61, "completed", to_number="+919800000001")))
    writer.write_unplaced(UnplacedCall("u1", "startedAt is a string, not a timestamp ('2025-09-01')"))
    writer.finish([("rounding (billing policy and paise)", Decimal(0), Decimal("0.01"))],
                  [("total", Decimal("4.72"))])
    billed = list(read_billed_calls([sink.getvalue()]))
    assert [(b.call_id, b.billed_seconds) for b in billed] == [("c1", Decimal(120))]
    legacy = ",".join(HEADER[:13]) + "\r\nc1,2025-09-01T05:30:00+05:30,2025-09-01,61,completed,,,,,120,2,4,\r\n"
    assert [b.call_id for b in read_billed_calls([legacy.encode()])] == ["c1"]
