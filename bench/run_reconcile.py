"""Reconcile at scale: time and peak RSS of comparing a month's calls with its invoice's CSV.

Seeds N calls (batched, parallel writes, as bench/run.py does), issues the month, then adds,
deletes and edits a few calls and runs the reconciliation in a fresh process, sampling its
resident memory. The same at N/10 shows that memory does not grow with the month.

    python bench/run_reconcile.py --calls 200000 --out bench-results/reconcile.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra" / "local"))
sys.path.insert(0, str(ROOT / "bench"))

import emulators  # noqa: E402
import run as bench  # noqa: E402  (seed, container: the issuance benchmark's helpers)

CHANGES = 25  # calls added, deleted and edited each


def drift(db, company: str, n: int) -> None:
    """CHANGES late calls, CHANGES deleted ones, CHANGES whose duration changed."""
    batch = db.batch()
    start = datetime(2025, 9, 3, tzinfo=timezone.utc)
    for i in range(CHANGES):
        batch.set(db.collection("callLogs").document(f"{company}-late-{i:03d}"), {
            "companyId": company, "startedAt": start + timedelta(hours=20 * i, seconds=7),
            "durationSeconds": 61 + i, "status": "completed"})
        batch.delete(db.collection("callLogs").document(f"{company}-{(i * 7919) % n:07d}"))
        batch.update(db.collection("callLogs").document(f"{company}-{(i * 104729 + 1) % n:07d}"),
                     {"durationSeconds": 900 + i})
    batch.commit()


def measure(project: str, bucket: str, company: str) -> dict:
    """Reconcile in a fresh process, sampling its VmRSS every 10 ms (bench.PeakRss)."""
    return bench.in_child(f"""
c = b.container({project!r}, {bucket!r})
_ = c.reconcile, c.issuance, c.blobs, c.call_logs  # clients built before measuring
with b.PeakRss() as rss:
    t = time.perf_counter()
    out = c.reconcile.reconcile({company!r}, '2025-09').to_json()
    seconds = time.perf_counter() - t
from billing.domain.period import BillingPeriod
t = time.perf_counter()
read = sum(1 for _ in c.call_logs.stream({company!r}, BillingPeriod(2025, 9, 'Asia/Kolkata')))
floor = time.perf_counter() - t
print(json.dumps({{'seconds': seconds, 'rss_before_mb': rss.before, 'peak_rss_mb': rss.peak,
                  'floor_s': floor, 'floor_calls': read,
                  'added': out['added'], 'removed': out['removed'], 'changed': out['changed'],
                  'billed_calls': out['billed']['calls'], 'current_calls': out['current']['calls'],
                  'difference': out['difference'], 'examples': len(out['examples'])}}))
""")


def one_size(n: int) -> dict:
    project, bucket = f"recon-{uuid.uuid4().hex[:6]}", f"recon-{uuid.uuid4().hex[:6]}"
    c = bench.container(project, bucket)
    c.storage.create_bucket(bucket)
    t = time.perf_counter()
    bench.seed(c.firestore, project, "big", n)
    seeded = time.perf_counter() - t
    from billing.domain.period import MonthQuery

    t = time.perf_counter()
    c.issuance.generate("big", MonthQuery(9, 2025))
    issued = time.perf_counter() - t
    print(f"N={n}: seeded in {seeded:.1f}s, issued in {issued:.1f}s", file=sys.stderr)
    drift(c.firestore, "big", n)
    result = measure(project, bucket, "big")
    assert (result["added"], result["removed"], result["changed"]) == (CHANGES, CHANGES, CHANGES), result
    return {"calls": n, "issue_s": issued, **result}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "reconcile.json"))
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    fs = emulators.start_firestore(emulators.free_port(), logs)
    gcs = emulators.start_storage(emulators.free_port(), logs)
    os.environ["FIRESTORE_EMULATOR_HOST"] = fs.host
    os.environ["STORAGE_EMULATOR_HOST"] = gcs.url
    results: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpu, "
                                f"Python {platform.python_version()}"}
    try:
        results["small"] = one_size(max(1000, args.calls // 10))
        results["large"] = one_size(args.calls)
    finally:
        emulators.stop(fs)
        emulators.stop(gcs)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    small, large = results["small"], results["large"]
    print(f"\nreconcile benchmark ({results['machine']}, {results['date']})")
    for r in (small, large):
        print(f"  N = {r['calls']:>7}: reconcile {r['seconds']:6.2f} s ({r['calls'] / r['seconds']:,.0f} calls/s), "
              f"reading the month alone {r['floor_s']:6.2f} s (x{r['seconds'] / r['floor_s']:.2f}), "
              f"peak RSS {r['peak_rss_mb']:.1f} MB (before {r['rss_before_mb']:.1f} MB); "
              f"{r['added']} added, {r['removed']} removed, {r['changed']} changed")
    print(f"  peak RSS growth from N/10 to N: {large['peak_rss_mb'] - small['peak_rss_mb']:+.1f} MB")
    print(f"  written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
