"""Cloud Scheduler's message -> Pub/Sub emulator push -> monthly function -> worker topic -> worker.

Both CloudEvent functions run in real functions-framework servers; the Pub/Sub emulator pushes
to them over HTTP, exactly as Eventarc would deliver in Google Cloud.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from billing.config import Settings
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate, timeout=90, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


@pytest.fixture
def pipeline(firestore_emulator, storage_emulator, pubsub_emulator, tmp_path):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, pubsub_v1, storage

    import emulators
    from e2e_support import server_env, start_server

    project = f"run-{uuid.uuid4().hex[:8]}"
    bucket = f"run-{uuid.uuid4().hex[:8]}"
    storage.Client(project=project, credentials=AnonymousCredentials()).create_bucket(bucket)
    db = firestore.Client(project=project, credentials=AnonymousCredentials())
    seed_demo(db, Settings(project=project))
    db.collection("companies").document("sleepy").set(
        {"name": "Sleepy Co", "active": False, "billing": {"ratePerMinute": 2}})

    env = server_env(project, bucket, {"BILLING_DEFAULT_TIMEZONE": "Asia/Kolkata"})
    monthly = start_server(env, tmp_path / "monthly.log", target="billing_monthly_trigger", signature="cloudevent")
    worker = start_server(env, tmp_path / "worker.log", target="billing_company_worker", signature="cloudevent")
    sequencer = start_server(env, tmp_path / "sequencer.log", target="billing_sequencer", signature="cloudevent")

    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    topics = {}
    for name, server in (("billing-monthly-trigger", monthly), ("billing-company-invoice", worker),
                         ("billing-sequencer", sequencer)):
        topic = publisher.topic_path(project, name)
        publisher.create_topic(name=topic)
        subscriber.create_subscription(request={
            "name": subscriber.subscription_path(project, f"{name}-push"),
            "topic": topic,
            "push_config": {"push_endpoint": f"http://127.0.0.1:{server.port}/{topic}"},
            "ack_deadline_seconds": 60,
        })
        topics[name] = topic
    yield {"project": project, "bucket": bucket, "db": db, "publisher": publisher, "topics": topics,
           "logs": (Path(monthly.log), Path(worker.log))}
    for server in (monthly, worker, sequencer):
        emulators.stop(server)
    subscriber.close()


def invoices(db):
    return {d.id: d.to_dict() for d in db.collection("invoices").stream()}


def run_states(db, key="2025-09"):
    """companyId -> its run record (billingRuns/{key}/companies/{companyId})."""
    return {d.id: d.to_dict() for d in db.collection(f"billingRuns/{key}/companies").stream()}


def test_scheduler_message_bills_every_active_company_once(pipeline):
    db, publisher = pipeline["db"], pipeline["publisher"]
    topic = pipeline["topics"]["billing-monthly-trigger"]
    message = json.dumps({"month": 9, "year": 2025}).encode()
    publisher.publish(topic, message, source="cloud-scheduler").result(timeout=30)

    expected = {"vysedeck_2025-09", "webxpress_2025-09", "dcgpac_2025-09"}
    wait_for(lambda: {k for k, v in invoices(db).items() if v["status"] == "issued"} == expected)
    wait_for(lambda: {cid: e["state"] for cid, e in run_states(db).items()} == dict.fromkeys(
        ("dcgpac", "vysedeck", "webxpress"), "done"))
    first = invoices(db)
    assert "sleepy_2025-09" not in first

    # At-least-once delivery: the same message twice more changes nothing.
    for _ in range(2):
        publisher.publish(topic, message, source="cloud-scheduler").result(timeout=30)
    summary = wait_for(lambda: (lambda d: len(d["triggers"]) == 3 and d["fanout"]["finished"] and d)(
        db.document("billingRuns/2025-09").get().to_dict()))
    assert (summary["fanout"]["published"], summary["fanout"]["skipped"]) == (0, 3)
    time.sleep(3)  # anything wrongly re-fanned-out would land now
    again = invoices(db)
    assert {k: (v["invoiceNumber"], v["totalAmount"], v["status"]) for k, v in again.items()} == {
        k: (v["invoiceNumber"], v["totalAmount"], v["status"]) for k, v in first.items()}
    assert [c.to_dict()["next"] for c in db.collection("invoiceCounters").stream()] == [4]
    assert {cid: e["state"] for cid, e in run_states(db).items()} == {
        "vysedeck": "done", "webxpress": "done", "dcgpac": "done"}


def test_permanent_failure_is_recorded_and_acknowledged(pipeline):
    db, publisher = pipeline["db"], pipeline["publisher"]
    db.collection("companies").document("broken").set({"name": "Broken", "billing": {"ratePerMinute": "two"}})
    publisher.publish(pipeline["topics"]["billing-monthly-trigger"], b'{"month": 9, "year": 2025}').result(timeout=30)
    states = wait_for(lambda: (lambda r: len(r) == 4 and all(e["state"] in ("done", "failed") for e in r.values())
                               and r)(run_states(db)))
    assert states["broken"]["state"] == "failed" and states["broken"]["errorType"] == "ConfigurationError"
    assert "ratePerMinute" in states["broken"]["error"]
    assert {k for k in invoices(db)} == {"vysedeck_2025-09", "webxpress_2025-09", "dcgpac_2025-09"}
    # Acknowledged, not retried forever: the worker saw the broken company's message once.
    time.sleep(3)
    worker_log = pipeline["logs"][1].read_text()
    assert worker_log.count("company failed permanently") == 1


def test_cli_run_exits_non_zero_naming_the_failed_company(firestore_emulator, storage_emulator, tmp_path):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, storage

    project, bucket = f"cli-{uuid.uuid4().hex[:8]}", f"cli-{uuid.uuid4().hex[:8]}"
    storage.Client(project=project, credentials=AnonymousCredentials()).create_bucket(bucket)
    db = firestore.Client(project=project, credentials=AnonymousCredentials())
    seed_demo(db, Settings(project=project))
    db.collection("companies").document("broken").set({"name": "Broken", "billing": {"ratePerMinute": -1}})
    env = {**os.environ, "GOOGLE_CLOUD_PROJECT": project, "BILLING_BUCKET": bucket}
    env.pop("PUBSUB_EMULATOR_HOST", None)  # the droplet's cron has no Pub/Sub: the CLI must not need it
    cli = str(Path(sys.executable).parent / "billing")
    result = subprocess.run([cli, "run", "--month", "9", "--year", "2025", "--concurrency", "4", "--no-progress"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert "FAILED  broken: billing.ratePerMinute must not be negative" in result.stdout
    assert "3 invoiced, 1 failed" in result.stdout
    assert {d.id for d in db.collection("invoices").stream()} == {"vysedeck_2025-09", "webxpress_2025-09", "dcgpac_2025-09"}
    # A rerun of the month changes nothing for the invoiced ones and still reports the failure.
    again = subprocess.run([cli, "run", "--month", "9", "--year", "2025", "--no-progress"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "3 invoiced (3 in an earlier run), 1 failed" in again.stdout
    assert [c.to_dict()["next"] for c in db.collection("invoiceCounters").stream()] == [4]
