"""Exactly one invoice and number per company-month under concurrent requests; gapless numbers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

from billing.config import Settings
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators


def test_twenty_simultaneous_requests_issue_one_invoice(api):
    seed_demo(api.db, Settings(project=api.project))
    path = "/billing/generate/vysedeck?month=9&year=2025"
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: api.json("POST", path), range(20)))
    assert {status for status, _ in results} == {200}
    assert len({body["invoiceNumber"] for _, body in results}) == 1
    assert {(b["subtotal"], b["gstAmount"], b["totalAmount"], b["status"]) for _, b in results} == {
        (1524.0, 274.32, 1798.32, "issued")}
    invoices = list(api.db.collection("invoices").stream())
    assert [d.id for d in invoices] == ["vysedeck_2025-09"]
    assert [c.to_dict()["next"] for c in api.db.collection("invoiceCounters").stream()] == [2]
    assert sorted(api.objects()) == [
        "invoices/vysedeck/2025-09/vysedeck_2025-09_calls.csv",
        "invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf",
    ]


def test_thirty_companies_at_once_get_consecutive_numbers(api):
    api.db.document("settings/billing").set({"legalName": "Supplier", "stateCode": "29", "invoicePrefix": "C"})
    for i in range(30):
        cid = f"co{i:02d}"
        api.db.collection("companies").document(cid).set({"name": f"Company {i}", "billing": {"ratePerMinute": 1}})
        api.db.collection("callLogs").document(f"{cid}-1").set(
            {"companyId": cid, "startedAt": datetime(2025, 9, 3, tzinfo=timezone.utc), "durationSeconds": 30 + i})
    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(lambda i: api.json("POST", f"/billing/generate/co{i:02d}?month=9&year=2025"), range(30)))
    assert {status for status, _ in results} == {200}, [b for s, b in results if s != 200][:3]
    sequences = sorted(int(b["invoiceNumber"].rsplit("/", 1)[1]) for _, b in results)
    assert sequences == list(range(1, 31))
    stored = sorted(d.to_dict()["sequence"] for d in api.db.collection("invoices").stream())
    assert stored == list(range(1, 31))
