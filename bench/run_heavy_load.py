"""Cheap routes under heavy load (DESIGN.md section 10): 8 clients preview a 30,000-call month over
and over against one functions-framework server, while `GET /` and an invoice read are timed.

Runs twice: with BILLING_HEAVY_CONCURRENCY at its default (2: the other previews get 429 at once)
and effectively unbounded (64), the security review's setting where `GET /` took 33 s.

    python bench/run_heavy_load.py --calls 30000 --out bench-results/heavy-load.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra" / "local"))
sys.path.insert(0, str(ROOT / "bench"))

import emulators  # noqa: E402
from billing.domain.period import MonthQuery  # noqa: E402
from run import container, seed  # noqa: E402

KEY = "bench-admin-" + uuid.uuid4().hex[:8]


def get(url: str, timeout: float = 300) -> tuple[int, float]:
    started = time.perf_counter()
    req = urllib.request.Request(url, headers={"X-API-Key": KEY})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        err.read()
        status = err.code
    return status, time.perf_counter() - started


def start_server(project: str, bucket: str, heavy: int, logs: Path) -> tuple[emulators.Emulator, str]:
    port = emulators.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    env.update({"GOOGLE_CLOUD_PROJECT": project, "BILLING_BUCKET": bucket, "BILLING_ADMIN_KEYS": KEY,
                "BILLING_HEAVY_CONCURRENCY": str(heavy), "PYTHONPATH": str(ROOT / "shared")})
    argv = [str(Path(sys.executable).parent / "functions-framework"), "--source", str(ROOT / "functions" / "main.py"),
            "--target", "billing_http", "--host", "127.0.0.1", "--port", str(port)]
    log = open(logs / f"http-{heavy}.log", "ab")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    record = emulators.Emulator("billing_http", port, proc.pid, str(logs / f"http-{heavy}.log"))
    base = f"http://127.0.0.1:{port}"
    emulators.wait_until(lambda: emulators.http_ok(f"{base}/"), "billing_http", 60, record)
    return record, base


def under_load(base: str, previews: int, samples: int) -> dict:
    """Time GET / and an invoice read while `previews` clients preview the big month in a loop."""
    stop = threading.Event()
    statuses: list[int] = []
    preview_s: list[float] = []

    def client() -> None:
        while not stop.is_set():
            status, took = get(f"{base}/billing/preview/big?month=9&year=2025")
            statuses.append(status)
            if status == 200:
                preview_s.append(took)
            if status == 429:
                stop.wait(0.5)  # a polite client honours Retry-After (shortened here to keep the load on)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(previews)]
    for t in threads:
        t.start()
    time.sleep(3)  # let every client get its first preview in flight
    health, invoice = [], []
    for _ in range(samples):
        health.append(get(f"{base}/")[1])
        status, took = get(f"{base}/billing/invoices/small/2025-09")
        assert status == 200, status
        invoice.append(took)
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join(timeout=600)

    def summary(values: list[float]) -> dict:
        ordered = sorted(values)
        return {"median_s": round(statistics.median(ordered), 3),
                "p90_s": round(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)], 3), "max_s": round(ordered[-1], 3)}

    return {"health": summary(health), "invoice_read": summary(invoice),
            "preview_200": statuses.count(200), "preview_429": statuses.count(429),
            "preview_other": len(statuses) - statuses.count(200) - statuses.count(429),
            "preview_s": summary(preview_s) if preview_s else None}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=30000)
    parser.add_argument("--previews", type=int, default=8)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "heavy-load.json"))
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-heavy-"))
    fs = emulators.start_firestore(emulators.free_port(), logs)
    gcs = emulators.start_storage(emulators.free_port(), logs)
    os.environ["FIRESTORE_EMULATOR_HOST"] = fs.host
    os.environ["STORAGE_EMULATOR_HOST"] = gcs.url
    results: dict = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "calls": args.calls,
                     "previews": args.previews, "cpus": os.cpu_count()}
    servers = []
    try:
        project, bucket = f"heavy-{uuid.uuid4().hex[:6]}", f"heavy-{uuid.uuid4().hex[:6]}"
        c = container(project, bucket)
        c.storage.create_bucket(bucket)
        seed(c.firestore, project, "big", args.calls)
        seed(c.firestore, project, "small", 20)
        c.issuance.generate("small", MonthQuery(9, 2025))
        for heavy in (2, 64):
            record, base = start_server(project, bucket, heavy, logs)
            servers.append(record)
            results[f"heavy_concurrency_{heavy}"] = under_load(base, args.previews, args.samples)
            emulators.stop(record)
            print(f"BILLING_HEAVY_CONCURRENCY={heavy}: {json.dumps(results[f'heavy_concurrency_{heavy}'])}",
                  file=sys.stderr)
    finally:
        for record in servers:
            emulators.stop(record)
        emulators.stop(fs)
        emulators.stop(gcs)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
