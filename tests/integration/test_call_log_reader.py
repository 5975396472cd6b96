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


@pytest.mark.parametrize("layout", ["top-level", "subcollection"])
def test_unplaced_call_logs_are_found_whatever_the_type_of_their_start(firestore_client, layout):
    settings = Settings(call_logs=CallLogSchema(layout=layout))
    write_calls(firestore_client, settings)
    col = calls_of(settings, firestore_client)
    col.document("s1").set({"companyId": "acme", "startedAt": "2025-09-03T10:00:00Z", "durationSeconds": 60})
    col.document("i1").set({"companyId": "acme", "startedAt": 1756893600, "durationSeconds": 60})
    col.document("n1").set({"companyId": "acme", "startedAt": None, "durationSeconds": 60})
    col.document("m1").set({"companyId": "acme", "durationSeconds": 60})
    col.document("m2").set({"companyId": "acme", "durationSeconds": 60, "started": "typo"})
    other = calls_of(settings, firestore_client, "other")  # another company's are never reported
    other.document("o1").set({"companyId": "other", "startedAt": "2025-09-03", "durationSeconds": 60})
    other.document("o2").set({"companyId": "other", "durationSeconds": 60})
    reader = FirestoreCallLogs(firestore_client, settings)
    found = sorted(reader.unplaced("acme"))
    assert found == [
        ("i1", "startedAt is an integer, not a timestamp (1756893600)"),
        ("m1", "startedAt is missing"),
        ("m2", "startedAt is missing"),
        ("n1", "startedAt is null"),
        ("s1", "startedAt is a string, not a timestamp ('2025-09-03T10:00:00Z')"),
    ]
    # the month's own reading is unchanged: none of them is in it
    assert not {c.call_id for c in reader.stream("acme", SEPT)} & {"s1", "i1", "n1", "m1", "m2"}


def test_a_company_with_no_timestamp_at_all_has_each_unplaced_call_once(firestore_client):
    settings = Settings()
    col = calls_of(settings, firestore_client, "bare")
    for i, value in enumerate(["a", 3, None, True]):
        col.document(f"b{i}").set({"companyId": "bare", "startedAt": value, "durationSeconds": 1})
    col.document("b9").set({"companyId": "bare", "durationSeconds": 1})
    assert sorted(c.call_id for c in FirestoreCallLogs(firestore_client, settings).unplaced("bare")) == [
        "b0", "b1", "b2", "b3", "b9"]
