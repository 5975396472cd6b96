"""The Firestore call-log reader: paging, slices and both layouts give exactly the stored calls."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from billing.adapters.firestore_repo import FirestoreCallLogs
from billing.config import CallLogSchema, Settings
from billing.domain.period import BillingPeriod

pytestmark = pytest.mark.emulators

SEPT = BillingPeriod(2025, 9, "Asia/Kolkata")


def write_calls(db, settings, company="acme"):
    start = datetime(2025, 8, 31, 18, 0, tzinfo=timezone.utc)  # 31 Aug 23:30 IST: not September
    expected = []
    for i in range(23):
        when = start + timedelta(hours=7 * i)
        doc = {"companyId": company, "startedAt": when, "durationSeconds": [30, 61.5, "x", None][i % 4],
               "status": "completed", "agentId": f"a{i}"}
        if settings.call_logs.layout == "subcollection":
            ref = db.collection("companies").document(company).collection("callLogs").document(f"c{i:02d}")
        else:
            ref = db.collection("callLogs").document(f"c{i:02d}")
        ref.set(doc)
        if SEPT.contains(when):
            expected.append((f"c{i:02d}", when, doc["durationSeconds"]))
    # same instant twice: paging must not skip or repeat either
    twin = {"companyId": company, "startedAt": start + timedelta(hours=7 * 5), "durationSeconds": 5}
    (db.collection("callLogs") if settings.call_logs.layout == "top-level"
     else db.collection("companies").document(company).collection("callLogs")).document("c05b").set(twin)
    expected.append(("c05b", twin["startedAt"], 5))
    # another company's call in the same month is never read
    db.collection("callLogs").document("other").set({"companyId": "other", "startedAt": start + timedelta(days=3), "durationSeconds": 9})
    return sorted(expected, key=lambda e: (e[1], e[0]))


@pytest.mark.parametrize("layout", ["top-level", "subcollection"])
@pytest.mark.parametrize("page_size", [2, 5, 5000])
def test_stream_pages_through_exactly_the_months_calls(firestore_client, layout, page_size):
    settings = Settings(call_logs=CallLogSchema(layout=layout))
    expected = write_calls(firestore_client, settings)
    reader = FirestoreCallLogs(firestore_client, settings)
    reader.page_size = page_size
    got = [(c.call_id, c.started_at, c.duration_seconds) for c in reader.stream("acme", SEPT)]
    assert got == expected
    sliced = [(c.call_id, c.started_at, c.duration_seconds) for part in reader.slices("acme", SEPT, 4) for c in part]
    assert sliced == expected
    record = next(c for c in reader.stream("acme", SEPT) if c.call_id == "c02")
    assert record.agent_id == "a2" and record.status == "completed"
