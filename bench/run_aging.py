"""Receivables ageing at scale, on the Firestore emulator: a page of 100 companies out of 10,000.

Seeds 10,000 companies' ageing aggregates (receivableCompanies/{id}: 1-6 due dates each, as the
payment and issuance transactions leave them) and the sharded totals, written in batches with the
shape adapters/firestore_receivables.py writes; then times GET /billing/receivables/aging's service call (totals + one page, what the
handler does) for the first page and pages further in, median of several rounds.

    python bench/run_aging.py [--companies 10000] [--rounds 7] [--out bench-results/aging.json]
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
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra" / "local"))

import emulators  # noqa: E402
import report_file  # noqa: E402

SHARDS = 16


def seed(db: Any, count: int) -> dict[str, int]:
    """Aggregates of `count` companies; returns the totals (due date -> paise) written."""
    base = date(2026, 6, 7)
    totals: dict[tuple[str, int], int] = {}
    docs = []
    for i in range(count):
        cid = f"co-{i:05d}"
        outstanding = {(base + timedelta(days=30 * k)).isoformat(): 100_000 + 137 * i + k for k in range(1 + i % 6)}
        docs.append((cid, outstanding))
        shard = zlib.crc32(cid.encode()) % SHARDS
        for due, paise in outstanding.items():
            totals[(due, shard)] = totals.get((due, shard), 0) + paise

    def write(chunk: list[tuple[str, dict[str, int]]]) -> None:
        batch = db.batch()
        for cid, outstanding in chunk:
            batch.set(db.collection("receivableCompanies").document(cid),
                      {"companyId": cid, "outstanding": outstanding, "updatedAt": "bench"})
        batch.commit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, [docs[i:i + 400] for i in range(0, len(docs), 400)]))
    batch = db.batch()
    for (due, shard), paise in totals.items():
        batch.set(db.collection("receivableTotals").document(f"{due}_{shard:02d}"), {"dueDate": due, "paise": paise})
    batch.commit()
    merged: dict[str, int] = {}
    for (due, _), paise in totals.items():
        merged[due] = merged.get(due, 0) + paise
    return merged


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--companies", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", default="bench-results/aging.json")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-aging-"))
    fs = emulators.start_firestore(emulators.free_port(), logs)
    os.environ["FIRESTORE_EMULATOR_HOST"] = fs.host
    try:
        from billing.bootstrap import Container
        from billing.config import Settings
        from billing.seed import SUPPLIER

        settings = Settings(project=f"bench-aging-{uuid.uuid4().hex[:8]}")
        c = Container(settings, clock=lambda: datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc))
        c.firestore.document(settings.settings_document).set(SUPPLIER)
        t0 = time.perf_counter()
        expected = seed(c.firestore, args.companies)
        seeded_s = time.perf_counter() - t0
        service = c.receivables
        service.aging("2026-12-01", "100", None)  # warm the channel
        timings: dict[str, list[float]] = {"first": [], "middle": [], "last": []}
        tokens = {"first": None, "middle": f"co-{args.companies // 2:05d}", "last": f"co-{args.companies - 101:05d}"}
        result: dict[str, Any] = {}
        for _ in range(args.rounds):
            for name, token in tokens.items():
                start = time.perf_counter()
                result[name] = service.aging("2026-12-01", "100", token)
                timings[name].append((time.perf_counter() - start) * 1000)
        first = result["first"]
        assert len(first["companies"]) == 100 and first["nextPageToken"] == "co-00099", first["nextPageToken"]
        assert round(first["totals"]["total"] * 100) == sum(expected.values()), "totals disagree with the seed"
        assert result["last"]["nextPageToken"] is None
        report = {
            "companies": args.companies, "pageSize": 100, "rounds": args.rounds, "seed_seconds": round(seeded_s, 1),
            **report_file.timings_ms(timings),
            "totals": first["totals"],
        }
        report_file.write(ROOT / args.out, report)
        return 0
    finally:
        emulators.stop(fs)


if __name__ == "__main__":
    sys.exit(main())
