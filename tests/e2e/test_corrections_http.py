"""Corrections over real HTTP (functions-framework) on the emulators: void + credit note + reissue,
retried and concurrent voids, refusals that write nothing, preview, reconcile (HTTP and CLI)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pypdf import PdfReader

from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

MONTH = "/billing/invoices/vysedeck/2025-09"
ARTIFACTS = Path(os.environ.get("BILLING_TEST_ARTIFACTS", "/tmp/billing-corrections"))


def seeded(api):
    seed_demo(api.db, Settings(project=api.project))
    return api


def post_json(api, path: str, payload, key=None):
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    req = urllib.request.Request(api.base + path, method="POST", data=data,
                                 headers={"X-API-Key": key or api.key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def void(api, number, reason="Rate per minute was wrong (2.00, agreed 1.50)", reissue=True, key=None):
    return post_json(api, f"{MONTH}/void", {"invoiceNumber": number, "reason": reason, "reissue": reissue}, key)


def generate(api, company="vysedeck"):
    status, inv = api.json("POST", f"/billing/generate/{company}?month=9&year=2025")
    assert status == 200, inv
    return inv


def counters(api, collection: str) -> dict:
    return {d.id: d.to_dict()["next"] for d in api.db.collection(collection).stream()}


def database(api) -> dict:
    """Every document of the project, subcollections included."""
    out: dict = {}

    def walk(collections):
        for col in collections:
            for ref in col.list_documents():
                snap = ref.get()
                out[ref.path] = snap.to_dict() if snap.exists else None
                walk(ref.collections())

    walk(api.db.collections())
    return out


def bucket(api) -> dict:
    return {b.name: (b.generation, b.md5_hash) for b in api.storage.bucket(api.bucket).list_blobs()}


def test_void_and_reissue_after_a_rate_change(api):
    seeded(api)
    first = generate(api)
    generate(api, "webxpress")  # another company's invoice in the same series
    files_before = {k: v for k, v in api.objects().items() if k.startswith("invoices/vysedeck/")}
    api.db.document("companies/vysedeck").update({"billing.ratePerMinute": 1.5})

    status, out = void(api, first["invoiceNumber"])
    assert status == 200, out
    voided, note, reissued = out["voided"], out["creditNote"], out["reissued"]
    fy = first["invoiceNumber"].split("/")[1]
    # The voided invoice keeps its number and amounts, says void, by which credit note, replaced by which.
    assert voided["invoiceNumber"] == first["invoiceNumber"] == f"VX/{fy}/00001"
    assert voided["status"] == "void" and voided["totalAmount"] == first["totalAmount"]
    assert voided["voidedBy"]["creditNoteNumber"] == note["creditNoteNumber"] == f"CN/{fy}/00001"
    assert voided["replacedBy"] == "vysedeck_2025-09_r1" == reissued["invoiceId"]
    # The credit note credits the whole invoice, with every rule-53 particular.
    assert note["documentType"] == "Credit Note" and note["status"] == "issued"
    assert (note["totalAmount"], note["subtotal"], note["gstAmount"]) == (
        first["totalAmount"], first["subtotal"], first["gstAmount"])
    assert note["taxBreakdown"] == first["taxBreakdown"]
    assert note["originalInvoice"]["invoiceNumber"] == first["invoiceNumber"]
    assert note["originalInvoice"]["invoiceDate"] == first["invoiceDate"]
    assert note["recipient"]["gstin"] == first["recipient"]["gstin"] and note["supplier"]["gstin"]
    assert note["placeOfSupply"] == first["placeOfSupply"] and note["sacCode"] == "998319"
    assert note["reason"].startswith("Rate per minute was wrong")
    # The reissue: next invoice number (after webxpress's), the new rate, its own files.
    assert reissued["invoiceNumber"] == f"VX/{fy}/00003" and reissued["status"] == "issued"
    assert reissued["lineItems"][0]["rate"] == 1.5 and reissued["subtotal"] == 12 * 1.5 + 1500
    objects = api.objects()
    for name, data in files_before.items():
        assert objects[name] == data  # the void invoice's files stay, unchanged
    assert "invoices/vysedeck/2025-09/vysedeck_2025-09_r1_invoice.pdf" in objects
    assert "invoices/vysedeck/2025-09/vysedeck_2025-09_r1_calls.csv" in objects

    # The month: current = the reissue, history of two, oldest first; files routes serve the reissue.
    status, month = api.json("GET", MONTH)
    assert status == 200 and month["invoiceNumber"] == reissued["invoiceNumber"]
    assert [(h["invoiceNumber"], h["status"]) for h in month["history"]] == [
        (first["invoiceNumber"], "void"), (reissued["invoiceNumber"], "issued")]
    status, pdf, _ = api.request("GET", f"{MONTH}/pdf")
    assert status == 200 and pdf == objects["invoices/vysedeck/2025-09/vysedeck_2025-09_r1_invoice.pdf"]
    status, listing = api.json("GET", "/billing/invoices/vysedeck")
    assert [(i["invoiceNumber"], i["status"]) for i in listing["invoices"] if i["billingPeriod"]["month"] == "2025-09"] == [
        (reissued["invoiceNumber"], "issued"), (first["invoiceNumber"], "void")]
    assert generate(api)["invoiceNumber"] == reissued["invoiceNumber"]  # generate returns the current one

    # Credit notes: list, one, and its PDF (stored create-only; what the route serves).
    status, notes = api.json("GET", "/billing/credit-notes/vysedeck")
    assert status == 200 and [n["creditNoteNumber"] for n in notes["creditNotes"]] == [note["creditNoteNumber"]]
    status, one = api.json("GET", f"/billing/credit-notes/vysedeck/{note['creditNoteId']}")
    assert status == 200 and one["creditNoteNumber"] == note["creditNoteNumber"]
    status, pdf, headers = api.request("GET", f"/billing/credit-notes/vysedeck/{note['creditNoteId']}/pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    assert pdf == objects["credit-notes/vysedeck/2025-09/vysedeck_2025-09_cn_credit-note.pdf"]
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for needle in ("CREDIT NOTE", note["creditNoteNumber"], first["invoiceNumber"], "Rate per minute was wrong",
                   "Voxa AI Private Limited", "Vysedeck Technologies", "Total credited", "998319"):
        assert needle in text, needle
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "credit-note.pdf").write_bytes(pdf)
    (ARTIFACTS / "voided-invoice.pdf").write_bytes(objects["invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf"])
    (ARTIFACTS / "reissue.pdf").write_bytes(objects["invoices/vysedeck/2025-09/vysedeck_2025-09_r1_invoice.pdf"])

    # Both series gapless: invoices 1..3, credit notes 1.
    assert counters(api, "invoiceCounters") == {f"VX_{fy}": 4}
    assert counters(api, "creditNoteCounters") == {f"CN_{fy}": 2}


def test_retried_and_concurrent_voids_make_one_credit_note(api):
    seeded(api)
    first = generate(api)
    results: list = []
    barrier = threading.Barrier(5)

    def one():
        barrier.wait()
        results.append(void(api, first["invoiceNumber"]))

    threads = [threading.Thread(target=one) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in results] == [200] * 5, results
    assert len({json.dumps(body["creditNote"], sort_keys=True) for _, body in results}) == 1
    assert len({body["reissued"]["invoiceNumber"] for _, body in results}) == 1
    assert len(list(api.db.collection("creditNotes").stream())) == 1
    fy = first["invoiceNumber"].split("/")[1]
    assert counters(api, "creditNoteCounters") == {f"CN_{fy}": 2}
    assert counters(api, "invoiceCounters") == {f"VX_{fy}": 3}

    db, files = database(api), bucket(api)
    status, again = void(api, first["invoiceNumber"])
    assert status == 200
    diff = {(part, k) for part in again for k in set(again[part] or {}) | set(results[0][1][part] or {})
            if (again[part] or {}).get(k) != (results[0][1][part] or {}).get(k)}
    # Identical (issuedAt included: the first finisher stamps it, mark_issued keeps it).
    assert diff <= {("reissued", "issuedAt")}, diff
    assert (database(api), bucket(api)) == (db, files)  # a retried void writes nothing
    # The same invoice named with other parameters: 409 saying what the first void did, nothing written.
    status, refused = void(api, first["invoiceNumber"], reason="a retry with another reason", reissue=False)
    assert status == 409 and "was already voided" in refused["detail"], refused
    assert "this request asks for reason 'a retry with another reason' and reissue false" in refused["detail"]
    assert (database(api), bucket(api)) == (db, files)


def test_void_without_reissue_then_generate_issues_the_reissue(api):
    seeded(api)
    first = generate(api)
    status, out = void(api, first["invoiceNumber"], reissue=False)
    assert status == 200 and out["reissued"] is None and out["voided"]["replacedBy"] is None
    status, month = api.json("GET", MONTH)
    assert month["status"] == "void" and len(month["history"]) == 1
    reissued = generate(api)
    assert reissued["invoiceId"] == "vysedeck_2025-09_r1" and reissued["status"] == "issued"
    status, month = api.json("GET", MONTH)
    assert [h["status"] for h in month["history"]] == ["void", "issued"]
    assert month["history"][0]["replacedBy"] == "vysedeck_2025-09_r1"


def test_preview_of_the_current_month_equals_issuing_it_and_writes_nothing(api):
    from billing.bootstrap import Container

    seeded(api)
    now = datetime.now(timezone.utc)
    ist = timezone(timedelta(hours=5, minutes=30))
    local = now.astimezone(ist)
    batch = api.db.batch()
    for i, seconds in enumerate([61, 30, 125.5, 0, 600]):
        batch.set(api.db.document(f"callLogs/recent-{i}"), {
            "companyId": "vysedeck", "startedAt": now - timedelta(minutes=1, seconds=i), "durationSeconds": seconds,
            "status": "completed"})
    batch.commit()
    db, files = database(api), bucket(api)
    status, preview = api.json("GET", f"/billing/preview/vysedeck?month={local.month}&year={local.year}")
    assert status == 200, preview
    status, default = api.json("GET", "/billing/preview/vysedeck")
    assert status == 200
    assert (database(api), bucket(api)) == (db, files)  # nothing written anywhere
    assert preview["status"] == "preview" and preview["monthToDate"] is True
    assert "invoiceNumber" not in preview and "files" not in preview
    assert {k: v for k, v in default.items() if k not in ("asOf", "previewThrough")} == {
        k: v for k, v in preview.items() if k not in ("asOf", "previewThrough")}
    calls_this_month = preview["usageData"]["totalCalls"]
    assert calls_this_month >= 5

    # Issue the same month once it has ended (a clock after its end), on the same data.
    next_month = datetime(local.year + (local.month == 12), local.month % 12 + 1, 2, tzinfo=timezone.utc)
    c = Container(Settings(project=api.project, bucket=api.bucket), clock=lambda: next_month)
    issued = c.issuance.generate("vysedeck", MonthQuery(local.month, local.year)).document
    for key in ("usageData", "lineItems", "subtotal", "gstAmount", "totalAmount", "taxBreakdown", "anomalies",
                "billingPeriod", "amountInWords", "recipient", "placeOfSupply", "currency"):
        assert preview[key] == issued[key], key

    status, body = api.json("GET", f"/billing/preview/vysedeck?month={local.month % 12 + 1}"
                                   f"&year={local.year + (local.month == 12)}")
    assert status == 422 and "has not started" in body["detail"]


def test_reconcile_reports_exactly_the_calls_added_deleted_and_edited(api):
    seeded(api)
    first = generate(api)
    status, clean = api.json("GET", f"{MONTH}/reconcile")
    assert status == 200 and (clean["added"], clean["removed"], clean["changed"]) == (0, 0, 0), clean
    from google.cloud.firestore_v1.base_query import FieldFilter

    calls = sorted(api.db.collection("callLogs").where(filter=FieldFilter("companyId", "==", "vysedeck")).stream(),
                   key=lambda s: s.to_dict()["startedAt"])
    september = [s for s in calls if s.to_dict()["startedAt"] < datetime(2025, 9, 30, 18, 30, tzinfo=timezone.utc)]
    deleted, edited = september[4], september[7]
    deleted.reference.delete()
    edited.reference.update({"durationSeconds": edited.to_dict()["durationSeconds"] + 120})
    api.db.document("callLogs/late-arrival").set({
        "companyId": "vysedeck", "startedAt": datetime(2025, 9, 30, 12, 0, tzinfo=timezone.utc),
        "durationSeconds": 90, "status": "completed"})

    status, out = api.json("GET", f"{MONTH}/reconcile")
    assert status == 200, out
    assert out["invoiceNumber"] == first["invoiceNumber"]
    assert (out["added"], out["removed"], out["changed"]) == (1, 1, 1)
    assert {(e["change"], e["callId"]) for e in out["examples"]} == {
        ("added", "late-arrival"), ("removed", deleted.id), ("changed", edited.id)}
    deleted_minutes = -(-int(deleted.to_dict()["durationSeconds"]) // 60)
    assert out["difference"]["calls"] == 0
    assert out["difference"]["billedMinutes"] == 2 + 2 - deleted_minutes
    assert out["difference"]["callCharges"] == 2.0 * (2 + 2 - deleted_minutes)
    assert out["current"]["calls"] == out["billed"]["calls"] == 13

    # The CLI: one line per drifted company, exit 1.
    env = {**os.environ, "GOOGLE_CLOUD_PROJECT": api.project, "BILLING_BUCKET": api.bucket}
    billing = str(Path(sys.executable).parent / "billing")
    run = subprocess.run([billing, "reconcile", "--month", "9", "--year", "2025"], env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    lines = run.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"DRIFT vysedeck 2025-09 {first['invoiceNumber']}: 1 added, "
                                                    "1 removed, 1 changed"), run.stdout
    run = subprocess.run([billing, "reconcile", "--month", "9", "--year", "2025", "webxpress"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "not found" in run.stderr  # webxpress has no September invoice here
