"""The Firestore call-log reader: both read paths, slices and both layouts give exactly the stored calls."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
from google.cloud import firestore

from billing.adapters import firestore_calls
from billing.adapters.firestore_calls import FirestoreCallLogs
from billing.config import CallLogSchema, Settings
from billing.domain.period import BillingPeriod

pytestmark = pytest.mark.emulators

SEPT = BillingPeriod(2025, 9, "Asia/Kolkata")


def calls_of(settings, db, company="acme"):
    if settings.call_logs.layout == "subcollection":
        return db.collection("companies").document(company).collection("callLogs")
    return db.collection("callLogs")


def write_calls(db, settings, company="acme"):
    start = datetime(2025, 8, 31, 18, 0, tzinfo=timezone.utc)  # 31 Aug 23:30 IST: not September
    expected = []
    odd = [30, 61.5, "x", None, True, {"s": 1}, [1], b"\x01", firestore.GeoPoint(1, 2), -4, 7]
    for i in range(23):
        when = start + timedelta(hours=7 * i, microseconds=1234 * i)
        doc = {"companyId": company, "startedAt": when, "durationSeconds": odd[i % len(odd)],
               "status": ["completed", "busy", 3][i % 3], "agentId": f"a{i}", "toNumber": "+91980000000"}
        if i % 5 == 0:
            del doc["status"]
        calls_of(settings, db, company).document(f"c{i:02d}").set(doc)
        if SEPT.contains(when):
            expected.append((f"c{i:02d}", when, doc["durationSeconds"]))
    # same instant twice: slices must not skip or repeat either
    twin = {"companyId": company, "startedAt": start + timedelta(hours=7 * 5, microseconds=1234 * 5),
            "durationSeconds": 5}
    calls_of(settings, db, company).document("c05b").set(twin)
    expected.append(("c05b", twin["startedAt"], 5))
    # another company's call in the same month is never read
    db.collection("callLogs").document("other").set(
        {"companyId": "other", "startedAt": start + timedelta(days=3), "durationSeconds": 9})
    return sorted(expected, key=lambda e: (e[1], e[0]))


def plain(duration):
    """A stored value as a CallRecord carries it (values that are no number stay recognisable)."""
    names = {dict: "<map_value>", list: "<array_value>", bytes: "<bytes_value>", firestore.GeoPoint: "<geo_point_value>"}
    return names.get(type(duration), duration)


def rows(records):
    return [(c.call_id, c.started_at, c.duration_seconds, c.status, c.direction, c.to_number, c.agent_id)
            for c in records]


@pytest.mark.parametrize("layout", ["top-level", "subcollection"])
@pytest.mark.parametrize("fast", [True, False], ids=["raw-protobuf", "public-api"])
def test_stream_and_slices_read_exactly_the_months_calls(firestore_client, layout, fast):
    settings = Settings(call_logs=CallLogSchema(layout=layout))
    expected = [(i, when, plain(d)) for i, when, d in write_calls(firestore_client, settings)]
    reader = FirestoreCallLogs(firestore_client, settings, fast=fast)
    got = [(c.call_id, c.started_at, c.duration_seconds) for c in reader.stream("acme", SEPT)]
    assert got == expected
    for count in (1, 3, 31):
        sliced = [(c.call_id, c.started_at, c.duration_seconds) for part in reader.slices("acme", SEPT, count)
                  for c in part]
        assert sliced == expected
    record = next(c for c in reader.stream("acme", SEPT) if c.call_id == "c02")
    assert (record.agent_id, record.status, record.direction) == ("a2", 3, None)


@pytest.mark.parametrize("layout", ["top-level", "subcollection"])
def test_both_read_paths_return_the_same_records(firestore_client, layout):
    settings = Settings(call_logs=CallLogSchema(layout=layout))
    write_calls(firestore_client, settings)
    fast = rows(FirestoreCallLogs(firestore_client, settings, fast=True).stream("acme", SEPT))
    public = rows(FirestoreCallLogs(firestore_client, settings, fast=False).stream("acme", SEPT))
    assert fast == public and len(fast) > 10


def test_the_sdk_still_has_every_internal_the_fast_path_uses(firestore_client):
    missing = firestore_calls.missing_internals(firestore_client)
    assert not missing, (
        f"google-cloud-firestore {firestore_calls.sdk_version()} no longer has {', '.join(missing)}: "
        "billing/adapters/firestore_calls.py reads call logs through the slower public API until its "
        "fast path is updated for this SDK version"
    )


def test_missing_internals_fall_back_to_the_public_api_with_one_warning(firestore_client, monkeypatch, caplog):
    settings = Settings()
    expected = [(i, when, plain(d)) for i, when, d in write_calls(firestore_client, settings)]
    monkeypatch.setattr(firestore_calls, "CLIENT_INTERNALS", ("_rpc_metadata", "_gone_in_a_future_sdk"))
    monkeypatch.setattr(firestore_calls, "_warned", firestore_calls.threading.Event())
    reader = FirestoreCallLogs(firestore_client, settings)
    with caplog.at_level(logging.WARNING, logger=firestore_calls.__name__):
        for _ in range(2):
            got = [(c.call_id, c.started_at, c.duration_seconds) for part in reader.slices("acme", SEPT, 2)
                   for c in part]
            assert got == expected
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Client._gone_in_a_future_sdk" in warnings[0].getMessage()
    assert firestore_calls.sdk_version() in warnings[0].getMessage()
