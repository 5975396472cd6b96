"""The monthly run at scale, on the real emulators:

1. publishing 10,000 worker messages to the Pub/Sub emulator: the publisher's batched
   publish_many (wait once), the whole fan-out (RunService.start_run: companies read, run records
   written, cursor saved per chunk), and one-at-a-time publishing on a sample, for comparison;
2. 2,000 companies through the in-process run (the `billing run` code path,
   RunService.run_in_process): companies per minute, counter writes, the largest run-record document.

    python bench/run_scale.py [--companies 2000] [--messages 10000] [--out bench-results/run-scale.json]
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
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "infra" / "local"))

import emulators  # noqa: E402
from billing.domain.period import MonthQuery  # noqa: E402

MONTH, YEAR, KEY = 9, 2025, "2025-09"


def seed_companies(db: Any, count: int, calls_per_company: int, prefix: str = "co") -> list[str]:
    """The supplier and count companies, each with a few September calls (parallel batches)."""
    db.document("settings/billing").set({"legalName": "Bench Supplier", "stateCode": "29", "invoicePrefix": "BS",
                                         "gstin": "29AAGCV4821K1ZX", "address": "Bengaluru"})
    ids = [f"{prefix}-{i:05d}" for i in range(count)]
    start = datetime(2025, 9, 3, 5, 0, tzinfo=timezone.utc)
    per_batch = max(1, 450 // (1 + calls_per_company))

    def write(chunk: list[str]) -> None:
        batch = db.batch()
        for cid in chunk:
            batch.set(db.collection("companies").document(cid), {
                "name": f"Company {cid}", "billing": {"ratePerMinute": 2, "maintenanceFee": 500}})
            for j in range(calls_per_company):
                batch.set(db.collection("callLogs").document(f"{cid}-{j}"), {
                    "companyId": cid, "startedAt": start + timedelta(days=j, minutes=3 * j),
                    "durationSeconds": 45 + 17 * j, "status": "completed"})
        batch.commit()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, [ids[i:i + per_batch] for i in range(0, count, per_batch)]))
    return ids


def largest_run_document(db: Any) -> dict[str, Any]:
    """Bytes (JSON) of the run's summary and of the largest per-company run document."""
    summary = db.document(f"billingRuns/{KEY}").get().to_dict() or {}
    companies = [d.to_dict() for d in db.collection(f"billingRuns/{KEY}/companies").stream()]
    size = lambda doc: len(json.dumps(doc, default=str).encode())  # noqa: E731
    return {"summaryBytes": size(summary), "largestCompanyBytes": max(map(size, companies), default=0),
            "companyDocuments": len(companies)}


def container(project: str, bucket: str) -> Any:
    from billing.bootstrap import Container
    from billing.config import Settings

    return Container(Settings(project=project, bucket=bucket, default_timezone="Asia/Kolkata", read_slices=1))


def bench_publish(project: str, messages: int, sample: int) -> dict[str, Any]:
    """10,000 worker messages: batched publish_many vs one at a time (on a sample)."""
    from google.cloud import pubsub_v1

    from billing.adapters.pubsub_publisher import PubSubPublisher
    from billing.services.runs.messages import CompanyJob

    admin, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = admin.topic_path(project, "billing-company-invoice")
    admin.create_topic(name=topic)
    subscriber.create_subscription(name=subscriber.subscription_path(project, "sink"), topic=topic)
    subscriber.close()
    payloads = [CompanyJob(f"co-{i:05d}", MONTH, YEAR, KEY) for i in range(messages)]
    publisher = PubSubPublisher(project)
    started = time.perf_counter()
    confirmed = publisher.publish_many("billing-company-invoice", payloads)()
    batched = time.perf_counter() - started
    single = PubSubPublisher(project, client=pubsub_v1.PublisherClient())  # the client's defaults, as before
    started = time.perf_counter()
    for message in payloads[:sample]:
        single.publish("billing-company-invoice", message)
    one_by_one = (time.perf_counter() - started) / sample * messages
    return {"messages": confirmed, "batchedSeconds": round(batched, 2),
            "messagesPerSecond": round(confirmed / batched), "oneAtATimeSecondsExtrapolated": round(one_by_one, 1),
            "oneAtATimeSample": sample}


def bench_fanout(project: str, bucket: str, db: Any, companies: int) -> dict[str, Any]:
    """The trigger's whole fan-out for `companies` companies (reads, run records, cursor, publish)."""
    from google.cloud import pubsub_v1

    seed_companies(db, companies, 0, prefix="fan")
    admin = pubsub_v1.PublisherClient()
    admin.create_topic(name=admin.topic_path(project, "billing-company-invoice"))
    c = container(project, bucket)
    started = time.perf_counter()
    result = c.run_fanout.start_run(MonthQuery(MONTH, YEAR), trigger="bench", fanout_id="bench-fanout")
    seconds = time.perf_counter() - started
    return {"companies": companies, "published": result["published"], "seconds": round(seconds, 2),
            "chunk": c.settings.run_fanout_chunk, **largest_run_document(db)}


def bench_in_process(project: str, bucket: str, db: Any, companies: int, calls: int, concurrency: int) -> dict:
    """companies through the in-process run, as `billing run` does."""
    seed_companies(db, companies, calls)
    svc = container(project, bucket).in_process_runs
    started = time.perf_counter()
    outcome = svc.run_in_process(MonthQuery(MONTH, YEAR), concurrency=concurrency, trigger="bench")
    seconds = time.perf_counter() - started
    counters = [c.to_dict() or {} for c in db.collection("invoiceCounters").stream()]
    # Each counter transaction writes the counter document once and counts it in `writes`.
    counter_writes = sum(int(c.get("writes", 0)) for c in counters)
    numbered = sum(int(c.get("next", 1)) - 1 for c in counters)
    return {"companies": companies, "callsPerCompany": calls, "concurrency": concurrency,
            "done": len(outcome.done), "failed": len(outcome.failed), "seconds": round(seconds, 1),
            "companiesPerMinute": round(len(outcome.done) / seconds * 60),
            "counterWrites": counter_writes, "invoicesNumbered": numbered, **largest_run_document(db)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=2000)
    parser.add_argument("--calls", type=int, default=3, help="call logs per company")
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=300, help="messages published one at a time")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--out", default=str(ROOT / "bench-results" / "run-scale.json"))
    args = parser.parse_args(argv)

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, storage

    log_dir = Path(tempfile.mkdtemp(prefix="run-scale-"))
    started = [emulators.start_firestore(emulators.free_port(), log_dir),
               emulators.start_pubsub(emulators.free_port(), log_dir),
               emulators.start_storage(emulators.free_port(), log_dir)]
    os.environ["FIRESTORE_EMULATOR_HOST"] = started[0].host
    os.environ["PUBSUB_EMULATOR_HOST"] = started[1].host
    os.environ["STORAGE_EMULATOR_HOST"] = started[2].url
    try:
        report: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}}
        project = f"scale-{uuid.uuid4().hex[:6]}"
        report["publish"] = bench_publish(project, args.messages, args.sample)
        print("publish:", json.dumps(report["publish"]), flush=True)

        fan_project, bucket = f"fan-{uuid.uuid4().hex[:6]}", f"fan-{uuid.uuid4().hex[:6]}"
        fan_db = firestore.Client(project=fan_project, credentials=AnonymousCredentials())
        report["fanout"] = bench_fanout(fan_project, bucket, fan_db, args.messages)
        print("fan-out:", json.dumps(report["fanout"]), flush=True)

        run_project, bucket = f"run-{uuid.uuid4().hex[:6]}", f"run-{uuid.uuid4().hex[:6]}"
        storage.Client(project=run_project, credentials=AnonymousCredentials()).create_bucket(bucket)
        run_db = firestore.Client(project=run_project, credentials=AnonymousCredentials())
        report["inProcess"] = bench_in_process(run_project, bucket, run_db, args.companies, args.calls,
                                               args.concurrency)
        print("in-process run:", json.dumps(report["inProcess"]), flush=True)
    finally:
        for emu in reversed(started):
            emulators.stop(emu)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
