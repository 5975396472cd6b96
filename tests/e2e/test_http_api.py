"""The HTTP function over real HTTP (functions-framework) against the Firestore and Storage emulators."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from decimal import Decimal

import pytest
from pypdf import PdfReader

from billing.config import Settings
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators


def seeded(api):
    seed_demo(api.db, Settings(project=api.project))
    return api


def gen(api, company, month=9, year=2025, **kw):
    return api.json("POST", f"/billing/generate/{company}?month={month}&year={year}", **kw)


def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_seed_example_end_to_end(api):
    seeded(api)
    status, inv = gen(api, "vysedeck")
    assert status == 200, inv
    # The old response fields, unchanged.
    assert inv["companyId"] == "vysedeck"
    assert inv["usageData"]["totalCalls"] == 13
    assert inv["usageData"]["totalBilledMinutes"] == 12
    assert inv["usageData"]["billingPolicy"] == "per-call"
    assert [(i["quantity"], i["rate"], i["amount"]) for i in inv["lineItems"]] == [(12, 2.0, 24.0), (1, 1500.0, 1500.0)]
    assert (inv["subtotal"], inv["gstAmount"], inv["totalAmount"]) == (1524.0, 274.32, 1798.32)
    assert inv["billingPeriod"]["startDate"] == "2025-09-01T00:00:00+05:30"  # vysedeck bills in IST
    assert inv["billingPeriod"]["endDate"] == "2025-09-30T23:59:59+05:30"
    # The new ones.
    assert inv["status"] == "issued"
    assert inv["invoiceNumber"].startswith("VX/") and inv["invoiceNumber"].endswith("/00001")
    assert inv["taxBreakdown"]["cgst"] == inv["taxBreakdown"]["sgst"] == 137.16
    assert inv["currency"] == "INR" and inv["anomalies"] == []
    assert inv["amountInWords"].endswith("Ninety Eight and Thirty Two Paise Only")

    # What Firestore and Storage hold afterwards.
    stored = api.db.collection("invoices").document("vysedeck_2025-09").get().to_dict()
    assert stored["invoiceNumber"] == inv["invoiceNumber"] and stored["status"] == "issued"
    objects = api.objects()
    pdf = objects["invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf"]
    rows = csv_rows(objects["invoices/vysedeck/2025-09/vysedeck_2025-09_calls.csv"])
    assert not [name for name in objects if name.startswith("staging/")]
    assert inv["invoiceNumber"] in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    calls = [r for r in rows if r["callId"]]
    assert len(calls) == 13
    assert sum(Decimal(r["billedMinutes"]) for r in rows if r["amount"]) == 12
    assert sum(Decimal(r["amount"]) for r in rows if r["amount"]) == Decimal("24")
    assert calls[0]["startedAt"].endswith("+05:30")  # billing timezone

    # Downloads through the function (no signing on the emulator), with the right headers.
    status, body, headers = api.request("GET", "/billing/invoices/vysedeck/2025-09/pdf")
    assert status == 200 and body == pdf
    assert headers["Content-Type"] == "application/pdf"
    assert "attachment" in headers["Content-Disposition"] and ".pdf" in headers["Content-Disposition"]
    status, body, headers = api.request("GET", "/billing/invoices/vysedeck/2025-09/csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    blob = api.storage.bucket(api.bucket).get_blob("invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf")
    assert blob.content_type == "application/pdf"


def test_repeat_calls_return_the_same_invoice_and_write_nothing_new(api):
    seeded(api)
    _, first = gen(api, "vysedeck")
    bucket = api.storage.bucket(api.bucket)
    generations = {b.name: b.generation for b in bucket.list_blobs()}
    for _ in range(3):
        status, again = gen(api, "vysedeck")
        assert status == 200
        assert again["invoiceNumber"] == first["invoiceNumber"]
        assert again["totalAmount"] == first["totalAmount"]
    assert {b.name: b.generation for b in bucket.list_blobs()} == generations
    counter = [d.to_dict() for d in api.db.collection("invoiceCounters").stream()]
    assert [c["next"] for c in counter] == [2]


def test_inter_state_company_gets_igst(api):
    seeded(api)
    status, inv = gen(api, "webxpress")
    assert status == 200, inv
    assert inv["taxBreakdown"]["type"] == "inter-state"
    assert [c["name"] for c in inv["taxBreakdown"]["components"]] == ["IGST"]
    assert inv["placeOfSupply"] == {"stateCode": "27", "stateName": "Maharashtra"}
    # pulse 30 s: 31->60, 90->90, 15->30, 600->600, 45->60, 184->210, 29->30, 61->90, 0, 300; busy+failed bill 0
    assert inv["usageData"]["totalBilledMinutes"] == 24.5
    assert inv["usageData"]["chargeableMinutes"] == 19.5  # 5 included minutes
    assert inv["subtotal"] == 2529.25 and inv["gstAmount"] == 455.27 and inv["totalAmount"] == 2984.52


def test_company_with_anomalies(api):
    seeded(api)
    status, inv = gen(api, "dcgpac")
    assert status == 200, inv
    assert inv["usageData"]["anomalyCount"] == 3
    assert sorted(a["reason"] for a in inv["anomalies"]) == [
        "duration is missing", "duration is negative (-5)", "duration is not a number ('forty')"]
    assert inv["recipient"]["gstin"] is None
    rows = csv_rows(api.objects()["invoices/dcgpac/2025-09/dcgpac_2025-09_calls.csv"])
    flagged = [r for r in rows if r["note"].startswith("anomaly:")]
    assert len(flagged) == 3 and all(r["amount"] == "0.00" for r in flagged)
    # aggregate 145 s -> 3 min x 3 = 9, raised to the 100 minimum; + 1000 fee
    assert inv["subtotal"] == 1100.0
    assert sum(Decimal(r["amount"]) for r in rows if r["amount"]) == Decimal("100")


@pytest.mark.parametrize("policy, extra, minutes", [
    ("per-call", {}, 4),         # 10, 65, 30 -> 1 + 2 + 1
    ("per-second", {}, 1.75),    # 105 s
    ("pulse", {"pulseSeconds": 30}, 2.5),  # 30 + 90 + 30 = 150 s
    ("aggregate", {}, 2),        # 105 s -> 2 min
])
def test_each_policy_end_to_end(api, policy, extra, minutes):
    from datetime import datetime, timezone

    api.db.document("settings/billing").set({"legalName": "Supplier", "stateCode": "29", "invoicePrefix": "T"})
    api.db.collection("companies").document("acme").set(
        {"name": "Acme", "billing": {"ratePerMinute": 4, "policy": policy, **extra}})
    for i, seconds in enumerate([10, 65, 30]):
        api.db.collection("callLogs").document(f"a{i}").set({
            "companyId": "acme", "startedAt": datetime(2025, 9, 5 + i, tzinfo=timezone.utc), "durationSeconds": seconds})
    status, inv = gen(api, "acme")
    assert status == 200, inv
    assert inv["usageData"]["totalBilledMinutes"] == minutes
    assert inv["subtotal"] == float(Decimal(str(minutes)) * 4)
    assert inv["invoiceNumber"].startswith("T/")
    rows = csv_rows(api.objects()["invoices/acme/2025-09/acme_2025-09_calls.csv"])
    assert sum(Decimal(r["billedMinutes"]) for r in rows if r["amount"]) == Decimal(str(minutes))
    assert sum(Decimal(r["amount"]) for r in rows if r["amount"]) == Decimal(str(inv["subtotal"]))


def test_listing_and_fetching(api):
    seeded(api)
    gen(api, "vysedeck", 9)
    gen(api, "vysedeck", 10)
    status, body = api.json("GET", "/billing/invoices/vysedeck")
    assert status == 200
    assert [i["billingPeriod"]["month"] for i in body["invoices"]] == ["2025-10", "2025-09"]
    assert api.json("GET", "/billing/invoices/vysedeck?year=2024")[1]["invoices"] == []
    status, one = api.json("GET", "/billing/invoices/vysedeck/2025-09")
    assert status == 200 and one["totalAmount"] == 1798.32 and one["downloadLinks"]["pdf"].endswith("/pdf")
    assert api.json("GET", "/billing/invoices/vysedeck/2025-08")[0] == 404
    assert api.json("GET", "/billing/invoices/vysedeck/2025-08/pdf")[0] == 404
    # behind nginx's prefix, same paths
    assert api.json("GET", "/billing-api/billing/invoices/vysedeck/2025-09")[0] == 200


def test_subcollection_layout(make_server):
    """companies/{id}/callLogs works when configured."""
    from billing.config import CallLogSchema

    api = make_server({"BILLING_CALL_LOGS_LAYOUT": "subcollection"})
    seed_demo(api.db, Settings(project=api.project, call_logs=CallLogSchema(layout="subcollection")))
    assert not list(api.db.collection("callLogs").limit(1).stream())
    status, inv = gen(api, "vysedeck")
    assert status == 200, inv
    assert inv["totalAmount"] == 1798.32


def test_seed_example_json_is_what_the_api_always_returned(api):
    """The seed invoice's JSON, field for field and in order, as recorded before the architecture
    rework (volatile fields aside: timestamps, links with this server's port, bucket URIs), with
    the period's dates carrying their offset as the old API's did."""
    golden = json.loads((Path(__file__).parent / "golden" / "seed_invoice_2025-09.json").read_text())
    seed_demo(api.db, Settings(project=api.project))
    status, body = api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200, body
    volatile = {"createdAt", "issuedAt", "downloadLinks", "files", "invoiceDate", "dueDate"}
    assert [k for k in body if k not in volatile] == list(golden)
    assert {k: v for k, v in body.items() if k not in volatile} == golden
