"""The operator console's pages at scale, on the emulators: 10,000 invoices in one month.

Seeds, in batches with the shapes the adapters write: 10,000 issued invoices of September 2025 with
their receivables (a third partly paid, a third paid), the per-month totals and ageing aggregates
that the receivables transactions keep, and the month's run record (10,000 companies, 20 failed).
Then renders each console page in this process (BillingApi over the real container, Flask's test
client: the server's time, without a network hop) and reports the median of several rounds:
overview, invoice list page 1, a page half-way (by its page token), a filtered page, an invoice's
detail, ageing page 1. Target: <= 300 ms each (DESIGN 16).

    python bench/run_console.py [--invoices 10000] [--rounds 7] [--out bench-results/console.json]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra" / "local"))

import emulators  # noqa: E402
import report_file  # noqa: E402

SHARDS = 16
PERIOD = "2025-09"
SIGNING_KEY = "bench-console-signing-key-" + "0" * 16
ADMIN_KEY = "bench-admin-key"


def invoice_doc(i: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(invoice, receivable) of company co-{i}: fee + calls, 18% GST, paid in thirds."""
    cid = f"co-{i:05d}"
    minutes = 100 + i % 900
    calls_paise = minutes * 200
    subtotal = calls_paise + 150_000
    gst = subtotal * 18 // 100
    total = subtotal + gst
    invoice = {
        "companyId": cid, "invoiceNumber": f"VX/25-26/{i + 1:05d}", "status": "issued",
        "billingPeriod": {"month": PERIOD, "startDate": "2025-09-01T00:00:00+05:30",
                          "endDate": "2025-09-30T23:59:59+05:30"},
        "invoiceDate": "2025-10-01T02:00:00+05:30", "dueDate": "2025-10-08T02:00:00+05:30",
        "lineItems": [{"description": f"Voice agent call charges ({minutes} min x ₹ 2.00/min)", "quantity": minutes,
                       "rate": 2.0, "amount": calls_paise / 100},
                      {"description": "Monthly maintenance fee", "quantity": 1, "rate": 1500.0, "amount": 1500.0}],
        "subtotal": subtotal / 100, "gstAmount": gst / 100, "totalAmount": total / 100, "currency": "INR",
        "amountsPaise": {"subtotal": subtotal, "gst": gst, "total": total},
        "recipient": {"legalName": f"Company {i:05d} Private Limited"},
        "files": {"pdf": f"gs://bench/invoices/{cid}/{PERIOD}/{cid}_{PERIOD}_invoice.pdf",
                  "csv": f"gs://bench/invoices/{cid}/{PERIOD}/{cid}_{PERIOD}_calls.csv"},
        "createdAt": "2025-10-01T02:00:00+05:30",
    }
    paid = (0, total // 2, total)[i % 3]
    status = ("unpaid", "partially_paid", "paid")[i % 3]
    receivable = {
        "invoiceId": f"{cid}_{PERIOD}", "companyId": cid, "invoiceNumber": invoice["invoiceNumber"],
        "invoiceDate": "2025-10-01", "dueDate": "2025-10-08", "period": PERIOD, "totalPaise": total, "notes": {},
        "paidPaise": paid, "tdsPaise": 0, "netPaise": total, "balancePaise": total - paid, "paymentStatus": status,
        "invoiceStatus": "issued", "reminders": {}, "openedAt": "bench",
        "payments": [{"paymentId": f"{cid}_UTR{i:08d}", "reference": f"UTR{i:08d}", "date": "2025-10-05",
                      "mode": "neft", "amountPaise": paid, "tdsPaise": 0, "status": "applied",
                      "recordedAt": "bench"}] if paid else [],
    }
    return invoice, receivable


def seed(db: Any, count: int) -> dict[str, int]:
    """The month's documents and aggregates; returns the month totals written."""
    month: dict[int, dict[str, int]] = {}
    due_totals: dict[int, int] = {}
    rows = [invoice_doc(i) for i in range(count)]

    def write(chunk: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        batch = db.batch()
        for invoice, rec in chunk:
            inv_id = rec["invoiceId"]
            batch.set(db.collection("invoices").document(inv_id), invoice)
            batch.set(db.collection("receivables").document(inv_id), rec)
            if rec["balancePaise"]:
                batch.set(db.collection("receivableCompanies").document(rec["companyId"]),
                          {"companyId": rec["companyId"], "outstanding": {"2025-10-08": rec["balancePaise"]}})
        batch.commit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, [rows[i:i + 150] for i in range(0, len(rows), 150)]))
    for _, rec in rows:
        shard = zlib.crc32(rec["companyId"].encode()) % SHARDS
        m = month.setdefault(shard, {"invoices": 0, "invoicedPaise": 0, "collectedPaise": 0, "outstandingPaise": 0})
        m["invoices"] += 1
        m["invoicedPaise"] += rec["netPaise"]
        m["collectedPaise"] += rec["paidPaise"]
        m["outstandingPaise"] += rec["balancePaise"]
        due_totals[shard] = due_totals.get(shard, 0) + rec["balancePaise"]
    batch = db.batch()
    for shard, m in month.items():
        batch.set(db.collection("receivableMonths").document(f"{PERIOD}_{shard:02d}"), {"period": PERIOD, **m})
        batch.set(db.collection("receivableTotals").document(f"2025-10-08_{shard:02d}"),
                  {"dueDate": "2025-10-08", "paise": due_totals[shard]})
    batch.commit()
    return {k: sum(m[k] for m in month.values()) for k in ("invoices", "invoicedPaise", "collectedPaise",
                                                            "outstandingPaise")}


def seed_run(container: Any, count: int) -> None:
    from billing.domain.runs import RunChange, RunState

    runs = container.runs
    runs.record_trigger(PERIOD, PERIOD, "bench")
    failed = RunChange(RunState.FAILED, error="Company 'x' has no billing.ratePerMinute",
                       error_type="ConfigurationError", attempts=1)
    entries = {f"co-{i:05d}": failed if i % 500 == 7 else RunChange(RunState.DONE) for i in range(count)}
    runs.set_states(PERIOD, entries)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", default="bench-results/console.json")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-console-"))
    fs = emulators.start_firestore(emulators.free_port(), logs)
    gcs = emulators.start_storage(emulators.free_port(), logs)
    os.environ["FIRESTORE_EMULATOR_HOST"] = fs.host
    os.environ["STORAGE_EMULATOR_HOST"] = gcs.url
    try:
        import flask

        from billing.bootstrap import Container
        from billing.config import Settings
        from billing.entrypoints.http import BillingApi
        from billing.entrypoints.http.console import session as sessions
        from billing.seed import SUPPLIER

        project, bucket = f"bench-console-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
        settings = Settings(project=project, bucket=bucket, admin_keys=(ADMIN_KEY,), link_signing_key=SIGNING_KEY)
        now = datetime(2025, 12, 1, 6, 0, tzinfo=timezone.utc)
        c = Container(settings, clock=lambda: now)
        c.storage.create_bucket(bucket)
        c.firestore.document(settings.settings_document).set(SUPPLIER)
        t0 = time.perf_counter()
        expected = seed(c.firestore, args.invoices)
        seed_run(c, args.invoices)
        seeded_s = time.perf_counter() - t0

        api = BillingApi(lambda: c)
        app = flask.Flask("bench_console")
        app.add_url_rule("/<path:path>", "any", lambda path: api(flask.request), methods=["GET"])
        client = app.test_client()
        secret = sessions.console_secret(settings)
        assert secret is not None
        client.set_cookie(sessions.COOKIE, sessions.issue(secret, ADMIN_KEY, now.timestamp()), path="/console")
        half = f"co-{args.invoices // 2:05d}"
        pages = {
            "overview": f"/console?month={PERIOD}",
            "invoices_first": f"/console/invoices?month={PERIOD}",
            "invoices_later": f"/console/invoices?month={PERIOD}&pageToken={half}_{PERIOD}",
            "invoices_filtered": f"/console/invoices?month={PERIOD}&status=issued&paymentStatus=partially_paid",
            "invoice_detail": f"/console/invoices/{half}/{PERIOD}",
            "ageing": "/console/ageing",
        }
        for url in pages.values():  # warm the channel and the templates; every page must answer 200
            answer = client.get(url)
            assert answer.status_code == 200, (url, answer.status_code, answer.get_data(as_text=True)[:500])
        overview = client.get(pages["overview"]).get_data(as_text=True)
        invoiced = f"{expected['invoicedPaise'] // 100:,}"  # the Western grouping's last group is the same
        assert invoiced.split(",")[-1] in overview, "the overview's totals disagree with the seed"
        timings: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(args.rounds):
            for name, url in pages.items():
                start = time.perf_counter()
                answer = client.get(url)
                answer.get_data()
                timings[name].append((time.perf_counter() - start) * 1000)
                assert answer.status_code == 200
        report = {
            "invoices": args.invoices, "rounds": args.rounds, "seed_seconds": round(seeded_s, 1),
            **report_file.timings_ms(timings),
            "target_ms": 300, "month_totals": expected,
        }
        report_file.write(ROOT / args.out, report)
        return 0
    finally:
        emulators.stop(fs)
        emulators.stop(gcs)


if __name__ == "__main__":
    sys.exit(main())
