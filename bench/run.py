"""`make bench`: issuance vs a plain read of the same call logs, memory, PDF, CSV, monthly run.

Everything is measured in one run on the real emulators and reported as ratios (the machines are
shared and noisy; absolute times are only for orientation).

    python bench/run.py --calls 50000 --out bench-results/latest.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra" / "local"))

import emulators  # noqa: E402
from billing.domain.period import MonthQuery  # noqa: E402

NOW = datetime(2025, 11, 5, tzinfo=timezone.utc)


FLAT = {"ratePerMinute": 2, "maintenanceFee": 1500, "timezone": "Asia/Kolkata"}
# --tariff tiered: graduated tiers, an inbound rate (a third of the calls are inbound) and a discount,
# billed from the 3rd (fee pro-rated) with a one-off charge,
TIERED = {"maintenanceFee": 1500, "timezone": "Asia/Kolkata", "directionRates": {"inbound": 1.25},
          "includedMinutes": 100, "discount": {"percent": 10},
          "tiers": {"mode": "graduated", "tiers": [{"upToMinutes": 1000, "ratePerMinute": 2},
                                                   {"upToMinutes": 10000, "ratePerMinute": 1.5},
                                                   {"upToMinutes": None, "ratePerMinute": 1}]}}
# ... changed on the 15th (a dated tariff): dearer inbound calls, cheaper tiers.
TIERED_FROM_15TH = {**TIERED, "directionRates": {"inbound": 1.5},
                    "tiers": {"mode": "graduated", "tiers": [{"upToMinutes": 1000, "ratePerMinute": 1.8},
                                                             {"upToMinutes": None, "ratePerMinute": 1.2}]}}
TARIFFS = {"flat": FLAT, "tiered": TIERED}
BILLING = dict(FLAT)


def seed(db, project: str, company: str, n: int, month: int = 9) -> None:
    """n call logs spread over the month, written with parallel batches."""
    from concurrent.futures import ThreadPoolExecutor

    db.document("settings/billing").set({"legalName": "Bench Supplier", "stateCode": "29", "invoicePrefix": "BN",
                                         "gstin": "29AAGCV4821K1ZX", "address": "Bengaluru"})
    db.collection("companies").document(company).set(
        {"name": f"Bench {company}", "billing": BILLING})
    two_directions = "directionRates" in BILLING
    if two_directions:
        ref = db.collection("companies").document(company)
        ref.collection("tariffs").document(f"2025-{month:02d}-15").set({"billing": TIERED_FROM_15TH})
        # ... billed from the 3rd (the fee pro-rated by days) with a one-off charge on the month
        ref.update({"billingStartDate": f"2025-{month:02d}-03"})
        ref.collection("charges").document("bench-setup").set({
            "chargeId": "bench-setup", "companyId": company, "period": f"2025-{month:02d}",
            "description": "Setup", "amountPaise": 500000, "requestDigest": "", "createdAt": NOW.isoformat()})
    start = datetime(2025, month, 1, tzinfo=timezone.utc)
    span = 29 * 24 * 3600

    def write(offset: int) -> None:
        batch = db.batch()
        for i in range(offset, min(offset + 500, n)):
            batch.set(db.collection("callLogs").document(f"{company}-{i:07d}"), {
                "companyId": company, "startedAt": start + timedelta(seconds=span * i / n),
                "durationSeconds": (i * 37) % 600 + 0.5, "status": "completed" if i % 17 else "busy",
                "direction": "inbound" if two_directions and i % 3 == 0 else "outbound", "fromNumber": "+910000000000", "toNumber": f"+91{i:010d}",
                "agentId": f"agent-{i % 7}"})
        batch.commit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(0, n, 500)))


def container(project: str, bucket: str):
    from billing.bootstrap import Container
    from billing.config import Settings

    c = Container(Settings(project=project, bucket=bucket))
    c.clock = lambda: NOW
    return c


def floor(c, company: str) -> tuple[float, int]:
    """The straightforward read: stock query.stream() of the month, every field of every document."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    start, end = datetime(2025, 9, 1, tzinfo=timezone.utc) - timedelta(hours=6), datetime(2025, 10, 1, tzinfo=timezone.utc)
    query = (c.firestore.collection("callLogs").where(filter=FieldFilter("companyId", "==", company))
             .where(filter=FieldFilter("startedAt", ">=", start)).where(filter=FieldFilter("startedAt", "<", end))
             .order_by("startedAt"))
    t = time.perf_counter()
    rows = 0
    for snap in query.stream():
        d = snap.to_dict()
        _ = (d["startedAt"], d["durationSeconds"], d.get("status"))
        rows += 1
    return time.perf_counter() - t, rows


def issue(c, company: str, month: int = 9) -> float:
    t = time.perf_counter()
    c.issuance.generate(company, MonthQuery(month, 2025))
    return time.perf_counter() - t


def forget_invoice(c, company: str) -> None:
    """Delete the month's invoice and its files, so that the next issue() does the whole work again."""
    c.firestore.document(f"invoices/{company}_2025-09").delete()
    for blob in c.storage.bucket(c.settings.bucket).list_blobs(prefix=f"invoices/{company}"):
        blob.delete()


def floor_vs_issue(c, company: str, n: int, repeats: int = 3) -> dict:
    """Median of `repeats` floors and of `repeats` issuances, interleaved so that drift hits both."""
    floors, issues = [], []
    for _ in range(repeats):
        seconds, rows = floor(c, company)
        assert rows == n, rows
        floors.append(seconds)
        forget_invoice(c, company)
        issues.append(issue(c, company))
    f, i = statistics.median(floors), statistics.median(issues)
    print(f"N={n}: floors {[round(x, 2) for x in floors]} s, issues {[round(x, 2) for x in issues]} s", file=sys.stderr)
    return {"floor_s": f, "issue_s": i, "issue_over_floor": i / f, "issue_calls_per_s": n / i, "floor_calls_per_s": n / f}


def paged_read(c, company: str, page: int) -> tuple[float, int]:
    """The old read pattern with the stock client: pages of `page` calls, each after the last's cursor."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    start, end = datetime(2025, 9, 1, tzinfo=timezone.utc) - timedelta(hours=6), datetime(2025, 10, 1, tzinfo=timezone.utc)
    query = (c.firestore.collection("callLogs").where(filter=FieldFilter("companyId", "==", company))
             .where(filter=FieldFilter("startedAt", ">=", start)).where(filter=FieldFilter("startedAt", "<", end))
             .order_by("startedAt").order_by("__name__").select(["startedAt", "durationSeconds", "status"]))
    t, rows, last = time.perf_counter(), 0, None
    while True:
        got = 0
        for snap in (query.limit(page) if last is None else query.limit(page).start_after(last)).stream():
            last, got = snap, got + 1
        rows += got
        if got < page:
            return time.perf_counter() - t, rows


def first_page(c, company: str) -> float:
    """Seconds until the first 10 calls of the month arrive (the cost of one query before it streams)."""
    from google.cloud.firestore_v1.base_query import FieldFilter

    start = datetime(2025, 9, 1, tzinfo=timezone.utc) - timedelta(hours=6)
    query = (c.firestore.collection("callLogs").where(filter=FieldFilter("companyId", "==", company))
             .where(filter=FieldFilter("startedAt", ">=", start)).order_by("startedAt").limit(10))
    times = []
    for _ in range(3):
        t = time.perf_counter()
        list(query.stream())
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paging_proof(c, c4, n: int, page: int = 5000) -> dict:
    """Cursor paging with the stock client at N and 4N, beside one stock stream: is paging linear here?"""
    out = {"page": page}
    for label, cc, calls in (("n", c, n), ("4n", c4, 4 * n)):
        paged, rows = paged_read(cc, "big", page)
        assert rows == calls, rows
        plain, _ = floor(cc, "big")
        out.update({f"paged_calls_per_s_{label}": calls / paged, f"stream_calls_per_s_{label}": calls / plain,
                    f"first_10_calls_s_{label}": first_page(cc, "big")})
    return out


def rss_mb() -> float:
    """This process's resident memory (VmRSS), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples this process's VmRSS every 10 ms while the block runs: .before and .peak (MB).

    (Not ru_maxrss: Linux carries a forking parent's high-water mark across exec, so a child of a
    big seeding process would report the parent's peak.)"""

    def __enter__(self) -> "PeakRss":
        import threading

        self.before = self.peak = rss_mb()
        self._done = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()
        return self

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self.peak = max(self.peak, rss_mb())


def in_child(code: str) -> dict:
    """Run `code` in a fresh interpreter with bench/run.py importable as `b`; its last line is JSON."""
    prelude = f"import json, sys, time\nsys.path.insert(0, {str(ROOT / 'bench')!r})\nimport run as b\n"
    out = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, env=os.environ)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_rss(project: str, bucket: str, company: str) -> dict:
    """Issue in a fresh process, sampling its resident memory (VmRSS) every 10 ms meanwhile."""
    return in_child(f"""
c = b.container({project!r}, {bucket!r})
_ = c.issuance, c.blobs, c.call_logs  # clients built before measuring
with b.PeakRss() as rss:
    t = b.issue(c, {company!r})
print(json.dumps({{'seconds': t, 'rss_before_mb': rss.before, 'peak_rss_mb': rss.peak}}))
""")


def pdf_median(c, company: str) -> float:
    from billing.adapters.pdf import render_invoice_pdf

    doc = c.invoices.get(f"{company}_2025-09")
    render_invoice_pdf(doc, templates_dir=c.settings.templates_dir)
    times = []
    for _ in range(15):
        t = time.perf_counter()
        render_invoice_pdf(doc, templates_dir=c.settings.templates_dir)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def csv_rows_per_second(n: int) -> float:
    import io
    from zoneinfo import ZoneInfo

    from billing.adapters.csv_export import CallCsvWriter
    from billing.domain.period import BillingPeriod
    from billing.domain.rating import CallRecord, Tariff, UsageAccumulator

    tariff = Tariff.from_mapping({"ratePerMinute": 2})
    acc = UsageAccumulator(tariff, BillingPeriod(2025, 9))
    start = datetime(2025, 9, 1, tzinfo=timezone.utc)
    calls = [CallRecord(f"c{i}", start + timedelta(seconds=i), (i * 37) % 600 + 0.5, "completed", "outbound",
                        "+910000000000", f"+91{i:010d}", "agent-1") for i in range(n)]
    sink = io.BytesIO()
    writer = CallCsvWriter(sink, ZoneInfo("Asia/Kolkata"), tariff.rate_per_minute)
    t = time.perf_counter()
    for call in calls:
        writer.write(acc.add(call))
    writer._enc.flush()
    return n / (time.perf_counter() - t)


def monthly_run(db, project: str, bucket: str, companies: int, calls_each: int) -> dict:
    for i in range(companies):
        seed(db, project, f"run{i:02d}", calls_each, month=8)
    c = container(project, bucket)
    c.clock = lambda: NOW
    t = time.perf_counter()
    seq = c.in_process_runs.run_in_process(MonthQuery(8, 2025), concurrency=1)
    sequential = time.perf_counter() - t
    # Same work again on fresh invoices: delete them (the run is idempotent otherwise).
    for doc in db.collection("invoices").where("billingPeriod.month", "==", "2025-08").stream():
        doc.reference.delete()
    for doc in db.collection("invoiceCounters").stream():
        doc.reference.delete()
    for blob in c.storage.bucket(bucket).list_blobs(prefix="invoices/run"):
        blob.delete()
    for doc in db.collection("billingRuns/2025-08/companies").stream():  # or the rerun skips them as done
        doc.reference.delete()
    t = time.perf_counter()
    par = c.in_process_runs.run_in_process(MonthQuery(8, 2025), concurrency=None)
    parallel = time.perf_counter() - t
    assert seq.ok and par.ok and len(par.done) == companies and not par.earlier
    return {"companies": companies, "calls_each": calls_each, "sequential_s": sequential,
            "concurrent_s": parallel, "concurrency": c.settings.run_concurrency, "speedup": sequential / parallel}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50000)
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "latest.json"))
    parser.add_argument("--skip-run", action="store_true", help="skip the 50-company monthly run")
    parser.add_argument("--companies", type=int, default=50, help="companies in the monthly-run measurement")
    parser.add_argument("--paging-proof", action="store_true",
                        help="also time the old cursor-paged read with the stock client at N and 4N (slow)")
    parser.add_argument("--tariff", choices=sorted(TARIFFS), default="flat",
                        help="the bench company's tariff: flat, or tiered (graduated tiers, an inbound rate, a discount, "
                             "a dated change on the 15th, billed from the 3rd, a one-off charge)")
    args = parser.parse_args()
    BILLING.clear()
    BILLING.update(TARIFFS[args.tariff])
    n = args.calls
    logs = Path(tempfile.mkdtemp(prefix="bench-"))
    fs = emulators.start_firestore(emulators.free_port(), logs)
    gcs = emulators.start_storage(emulators.free_port(), logs)
    os.environ["FIRESTORE_EMULATOR_HOST"] = fs.host
    os.environ["STORAGE_EMULATOR_HOST"] = gcs.url
    results: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "calls": n, "tariff": args.tariff,
                     "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu, Python {platform.python_version()}"}
    try:
        # Each measurement in its own project: the N-call month is not read next to 4N others.
        project, bucket = f"bench-{uuid.uuid4().hex[:6]}", f"bench-{uuid.uuid4().hex[:6]}"
        c = container(project, bucket)
        c.storage.create_bucket(bucket)
        t = time.perf_counter()
        seed(c.firestore, project, "big", n)
        print(f"seeded {n} calls in {time.perf_counter() - t:.1f}s", file=sys.stderr)

        results.update(floor_vs_issue(c, "big", n))
        results["pdf_median_ms"] = pdf_median(c, "big") * 1000
        results["csv_rows_per_s"] = csv_rows_per_second(min(n, 100000))

        forget_invoice(c, "big")
        small = child_rss(project, bucket, "big")
        project4, bucket4 = f"bench4-{uuid.uuid4().hex[:6]}", f"bench4-{uuid.uuid4().hex[:6]}"
        c4 = container(project4, bucket4)
        c4.storage.create_bucket(bucket4)
        t = time.perf_counter()
        seed(c4.firestore, project4, "big", 4 * n)
        print(f"seeded {4 * n} calls in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        large = child_rss(project4, bucket4, "big")
        results.update({f"{k}_4n": v for k, v in floor_vs_issue(c4, "big", 4 * n).items()})
        results["rss_n_mb"] = small["peak_rss_mb"]
        results["rss_4n_mb"] = large["peak_rss_mb"]
        results["rss_4n_minus_n_mb"] = large["peak_rss_mb"] - small["peak_rss_mb"]
        print(f"rss {small} {large}", file=sys.stderr)
        if args.paging_proof:
            results["paging_proof"] = paging_proof(c, c4, n)
        if not args.skip_run:
            project_r, bucket_r = f"benchrun-{uuid.uuid4().hex[:6]}", f"benchrun-{uuid.uuid4().hex[:6]}"
            cr = container(project_r, bucket_r)
            cr.storage.create_bucket(bucket_r)
            results["monthly_run"] = monthly_run(cr.firestore, project_r, bucket_r, args.companies, 1000)
    finally:
        emulators.stop(fs)
        emulators.stop(gcs)

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(f"\nbenchmark ({results['machine']}, {results['date']}), N = {n} calls, {args.tariff} tariff")
    for label, suffix, calls in (("N", "", n), ("4N", "_4n", 4 * n)):
        print(f"  {label} = {calls} calls: floor (stock query.stream(), median of 3) {results['floor_s' + suffix]:7.2f} s, "
              f"issuance (median of 3) {results['issue_s' + suffix]:6.2f} s = {results['issue_calls_per_s' + suffix]:6.0f} calls/s")
    print(f"  issue / floor at N                            {results['issue_over_floor']:8.2f}   (target <= 0.5)")
    print(f"  issue / floor at 4N                           {results['issue_over_floor_4n']:8.2f}   (target <= 0.5)")
    print(f"  peak RSS of issuance at N / 4N                {results['rss_n_mb']:6.1f} / {results['rss_4n_mb']:.1f} MB"
          f"  (4N - N = {results['rss_4n_minus_n_mb']:.1f} MB, target <= 20)")
    if "paging_proof" in results:
        p = results["paging_proof"]
        print(f"  stock client, pages of {p['page']} after a cursor: {p['paged_calls_per_s_n']:.0f} calls/s at N, "
              f"{p['paged_calls_per_s_4n']:.0f} at 4N; one stream: {p['stream_calls_per_s_n']:.0f} / "
              f"{p['stream_calls_per_s_4n']:.0f}; first 10 calls: {p['first_10_calls_s_n']:.2f} s / {p['first_10_calls_s_4n']:.2f} s")
    print(f"  PDF render, median of 15                      {results['pdf_median_ms']:8.1f} ms  (target <= 100)")
    print(f"  CSV rows per second (rate + write)            {results['csv_rows_per_s']:8.0f}")
    if "monthly_run" in results:
        r = results["monthly_run"]
        print(f"  monthly run {r['companies']} x {r['calls_each']}: sequential {r['sequential_s']:.1f} s, "
              f"concurrency {r['concurrency']} {r['concurrent_s']:.1f} s (x{r['speedup']:.2f})")
    print(f"  written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
