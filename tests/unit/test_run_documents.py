"""The run records' mapper (adapters/run_documents.py): stored documents, old and new, read as the
typed records; a change written as the same fields the run has always stored."""

from __future__ import annotations

from datetime import datetime, timezone

from billing.adapters.run_documents import (
    CLEARED, entry_fields, entry_from_document, fanout_document, fanout_from_document, summary_from_document,
)
from billing.domain.runs import Fanout, RunChange, RunState, Trigger

AT = "2025-10-05T00:00:00.000+00:00"


def test_a_fanout_round_trips_through_its_document():
    fanout = Fanout(id="e-1", total=5, started_at="2025-10-05T00:00:00+00:00", cursor="c", position=3,
                    published=2, waiting=1, skipped=0, resumed_from=1, finished=True)
    doc = fanout_document(fanout)
    assert doc == {"id": "e-1", "total": 5, "startedAt": "2025-10-05T00:00:00+00:00", "cursor": "c", "position": 3,
                   "published": 2, "waiting": 1, "skipped": 0, "resumedFrom": 1, "finished": True}
    assert fanout_from_document(doc) == fanout
    assert fanout_from_document({"id": "old"}) == Fanout(id="old", total=0, started_at="")


def test_a_summary_reads_its_triggers_cursor_and_counters_and_keeps_the_document():
    doc = {"period": "2025-09", "createdAt": AT, "countsKept": True, "updatedAt": AT,
           "triggers": [{"at": AT, "by": "scheduler"}, {"by": "http"}],
           "fanout": {"id": "e-1", "total": 2, "cursor": "b", "finished": True}}
    summary = summary_from_document(doc)
    assert summary.period == "2025-09" and summary.counts_kept
    assert summary.created_at == summary.updated_at == datetime(2025, 10, 5, tzinfo=timezone.utc)
    assert summary.triggers == (Trigger(by="scheduler", at=AT), Trigger(by="http"))
    assert summary.fanout is not None and (summary.fanout.cursor, summary.fanout.finished) == ("b", True)
    assert summary.document is doc
    old = summary_from_document({"createdAt": "earlier", "fanout": {}}, "2025-08")  # before counters, no fan-out
    assert (old.period, old.created_at, old.fanout, old.counts_kept) == ("2025-08", None, None, False)


def test_an_entry_reads_typed_fields_and_tolerates_old_or_odd_values():
    doc = {"companyId": "a", "state": "failed", "at": AT, "attempts": 3, "error": "no rate",
           "errorType": "ConfigurationError", "unplacedCalls": 4, "fanout": "e-1", "invoiceNumber": None}
    entry = entry_from_document("a", doc)
    assert (entry.state, entry.attempts, entry.error, entry.error_type, entry.unplaced_calls, entry.fanout_id) == (
        RunState.FAILED, 3, "no rate", "ConfigurationError", 4, "e-1")
    assert entry.at == datetime(2025, 10, 5, tzinfo=timezone.utc) and entry.invoice_number is None
    odd = entry_from_document("b", {"state": "paused", "at": "yesterday", "attempts": "x"})
    assert (odd.state, odd.at, odd.attempts, odd.unplaced_calls) == (None, None, 0, 0)


def test_a_change_is_written_as_the_fields_the_run_stores():
    assert entry_fields("a", RunChange(RunState.DONE, invoice_number="INV-1", unplaced_calls=2), AT) == {
        "companyId": "a", "at": AT, "state": "done", "invoiceNumber": "INV-1", "unplacedCalls": 2}
    now = datetime(2025, 10, 5, 1, tzinfo=timezone.utc)
    assert entry_fields("b", RunChange(RunState.PENDING, fanout_id="e-1", at=now), AT) == {
        "companyId": "b", "at": now.isoformat(), "state": "pending", "fanout": "e-1"}
    failed = entry_fields("c", RunChange(RunState.FAILED, error="x", error_type="DeadLettered"), AT)
    assert [name for name in CLEARED if name not in failed] == [
        "invoiceNumber", "delivery", "deliveryAttempt", "reason", "unplacedCalls"]  # removed on write
