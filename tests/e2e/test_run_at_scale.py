"""The scheduled run end to end at a couple of hundred companies, and a fan-out killed halfway.

Scheduler message -> Pub/Sub emulator push -> trigger (functions-framework) -> worker topic ->
one push subscription -> a round-robin proxy (what Cloud Run's load balancer does) -> two
functions-framework worker processes.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.emulators

COMPANIES = 200
MONTH, YEAR, KEY = 9, 2025, "2025-09"
SCHEDULER_MESSAGE = json.dumps({"month": MONTH, "year": YEAR, "trigger": "scheduler"}).encode()


def wait_for(predicate, timeout=150.0, interval=1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


class RoundRobin:
    """An HTTP proxy that hands each push request to the next backend in turn and counts them."""

    def __init__(self, ports: list[int]):
        self.ports = ports
        self.sent = [0] * len(ports)
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                with proxy._lock:
                    index = sum(proxy.sent) % len(proxy.ports)
                    proxy.sent[index] += 1
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                conn = http.client.HTTPConnection("127.0.0.1", proxy.ports[index], timeout=120)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "ce-id")}
                    conn.request("POST", self.path, body, headers)
                    reply = conn.getresponse()
                    status, payload = reply.status, reply.read()
                except OSError:
                    status, payload = 502, b"backend unavailable"
                finally:
                    conn.close()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def seed(db, count: int, calls_per_company: int = 2) -> list[str]:
    """The supplier, count companies (Asia/Kolkata) and a few September calls each."""
    db.document("settings/billing").set({"legalName": "Scale Supplier", "stateCode": "29", "invoicePrefix": "SC",
                                         "gstin": "29AAGCV4821K1ZX", "address": "Bengaluru"})
    ids = [f"co-{i:05d}" for i in range(count)]
    start = datetime(2025, 9, 2, 4, 0, tzinfo=timezone.utc)

    def write(chunk: list[str]) -> None:
        batch = db.batch()
        for cid in chunk:
            batch.set(db.collection("companies").document(cid),
                      {"name": f"Company {cid}", "billing": {"ratePerMinute": 2, "maintenanceFee": 100}})
            for j in range(calls_per_company):
                batch.set(db.collection("callLogs").document(f"{cid}-{j}"), {
                    "companyId": cid, "startedAt": start + timedelta(days=j, minutes=7),
                    "durationSeconds": 61 + j, "status": "completed"})
        batch.commit()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(write, [ids[i:i + 100] for i in range(0, count, 100)]))
    return ids


def push_subscription(subscriber, project: str, topic: str, name: str, port: int) -> None:
    subscriber.create_subscription(request={
        "name": subscriber.subscription_path(project, name), "topic": topic,
        "push_config": {"push_endpoint": f"http://127.0.0.1:{port}/{topic}"}, "ack_deadline_seconds": 60})


def count_messages(subscriber, subscription: str) -> int:
    """Distinct messages a pull subscription received (every message published to its topic)."""
    seen: set[str] = set()
    while True:
        reply = subscriber.pull(request={"subscription": subscription, "max_messages": 500}, timeout=30)
        if not reply.received_messages:
            return len(seen)
        seen.update(m.message.message_id for m in reply.received_messages)
        subscriber.acknowledge(request={"subscription": subscription,
                                        "ack_ids": [m.ack_id for m in reply.received_messages]})


def run_states(db) -> dict[str, dict]:
    return {d.id: d.to_dict() for d in db.collection(f"billingRuns/{KEY}/companies").stream()}


def largest_run_document(db) -> int:
    """Bytes of the largest run-record document (its JSON, an upper bound of Firestore's size)."""
    docs = [db.document(f"billingRuns/{KEY}").get().to_dict() or {}]
    docs += [d.to_dict() for d in db.collection(f"billingRuns/{KEY}/companies").stream()]
    return max(len(json.dumps(d, default=str).encode()) for d in docs)


@pytest.fixture
def project(firestore_emulator, storage_emulator, pubsub_emulator):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, pubsub_v1, storage

    name, bucket = f"scale-{uuid.uuid4().hex[:8]}", f"scale-{uuid.uuid4().hex[:8]}"
    storage.Client(project=name, credentials=AnonymousCredentials()).create_bucket(bucket)
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topics = {}
    for topic in ("billing-monthly-trigger", "billing-company-invoice", "billing-sequencer"):
        topics[topic] = publisher.topic_path(name, topic)
        publisher.create_topic(name=topics[topic])
    yield {"project": name, "bucket": bucket, "publisher": publisher, "subscriber": subscriber, "topics": topics,
           "db": firestore.Client(project=name, credentials=AnonymousCredentials())}
    subscriber.close()


def test_scheduler_message_bills_every_company_once_through_two_workers(project, tmp_path):
    import emulators
    from e2e_support import server_env, start_server

    from billing.bootstrap import Container
    from billing.config import Settings

    db, publisher, subscriber, topics = project["db"], project["publisher"], project["subscriber"], project["topics"]
    ids = seed(db, COMPANIES)
    env = server_env(project["project"], project["bucket"], {"BILLING_DEFAULT_TIMEZONE": "Asia/Kolkata",
                                                             "BILLING_READ_SLICES": "1", "THREADS": "4"})
    trigger = start_server(env, tmp_path / "trigger.log", target="billing_monthly_trigger", signature="cloudevent")
    workers = [start_server(env, tmp_path / f"worker{i}.log", target="billing_company_worker", signature="cloudevent")
               for i in range(2)]
    sequencer = start_server(env, tmp_path / "sequencer.log", target="billing_sequencer", signature="cloudevent")
    proxy = RoundRobin([w.port for w in workers])
    try:
        push_subscription(subscriber, project["project"], topics["billing-sequencer"], "sequencer-push",
                          sequencer.port)
        wakes = subscriber.subscription_path(project["project"], "sequencer-wakes-counted")
        subscriber.create_subscription(request={"name": wakes, "topic": topics["billing-sequencer"]})
        push_subscription(subscriber, project["project"], topics["billing-monthly-trigger"], "trigger-push",
                          trigger.port)
        push_subscription(subscriber, project["project"], topics["billing-company-invoice"], "worker-push",
                          proxy.port)
        publisher.publish(topics["billing-monthly-trigger"], SCHEDULER_MESSAGE).result(timeout=30)

        wait_for(lambda: sum(e.get("state") == "done" for e in run_states(db).values()) == COMPANIES)
        invoices = {d.id: d.to_dict() for d in db.collection("invoices").stream()}
        assert sorted(invoices) == sorted(f"{cid}_{KEY}" for cid in ids)  # each company exactly once
        assert {d["status"] for d in invoices.values()} == {"issued"}
        numbers = sorted(int(d["invoiceNumber"].rsplit("/", 1)[1]) for d in invoices.values())
        assert numbers == list(range(1, COMPANIES + 1))
        assert min(proxy.sent) > 0, proxy.sent  # both worker processes billed companies
        # Numbered in batches by the sequencer: the counter document was written a few times, not 200.
        [counter_doc] = [c.to_dict() for c in db.collection("invoiceCounters").stream()]
        assert counter_doc["next"] == COMPANIES + 1
        assert counter_doc["writes"] <= -(-COMPANIES // 100), counter_doc

        container = Container(Settings(project=project["project"], bucket=project["bucket"]))
        status = container.run_status.status(KEY)
        assert status["counts"] == {"pending": 0, "waiting": 0, "retrying": 0, "drafted": 0, "done": COMPANIES,
                                    "failed": 0, "skipped": 0}
        assert status["failed"] == [] and status["fanout"]["published"] == COMPANIES
        assert largest_run_document(db) < 64 * 1024
        # The sequencer was woken a handful of times (one claim per minute's window), not once per company.
        published_wakes = count_messages(subscriber, wakes)
        print(f"sequencer wakes published for {COMPANIES} companies: {published_wakes}")
        assert 1 <= published_wakes <= 8, published_wakes

        # The same Scheduler message twice more changes nothing.
        sent_before, counter = list(proxy.sent), [c.to_dict() for c in db.collection("invoiceCounters").stream()]
        for _ in range(2):
            publisher.publish(topics["billing-monthly-trigger"], SCHEDULER_MESSAGE).result(timeout=30)
        summary = wait_for(lambda: (lambda d: len(d["triggers"]) == 3 and d["fanout"]["finished"] and d)(
            db.document(f"billingRuns/{KEY}").get().to_dict()))
        assert (summary["fanout"]["published"], summary["fanout"]["skipped"]) == (0, COMPANIES)
        time.sleep(3)
        assert proxy.sent == sent_before
        assert [c.to_dict() for c in db.collection("invoiceCounters").stream()] == counter
        assert {d.id: d.to_dict()["invoiceNumber"] for d in db.collection("invoices").stream()} == {
            k: v["invoiceNumber"] for k, v in invoices.items()}
    finally:
        proxy.close()
        for server in [trigger, *workers, sequencer]:
            emulators.stop(server)


KILL_COMPANIES, KILL_CHUNK = 1000, 10


def test_a_trigger_killed_mid_fan_out_is_resumed_by_the_retry(project, tmp_path):
    import emulators
    from e2e_support import server_env, start_server

    db, publisher, subscriber, topics = project["db"], project["publisher"], project["subscriber"], project["topics"]
    ids = seed(db, KILL_COMPANIES, calls_per_company=0)
    probe = subscriber.subscription_path(project["project"], "probe")
    subscriber.create_subscription(name=probe, topic=topics["billing-company-invoice"])
    env = server_env(project["project"], project["bucket"], {"BILLING_RUN_FANOUT_CHUNK": str(KILL_CHUNK)})
    trigger = start_server(env, tmp_path / "trigger.log", target="billing_monthly_trigger", signature="cloudevent")
    push_subscription(subscriber, project["project"], topics["billing-monthly-trigger"], "trigger-push", trigger.port)
    publisher.publish(topics["billing-monthly-trigger"], SCHEDULER_MESSAGE).result(timeout=30)

    summary = db.document(f"billingRuns/{KEY}")
    wait_for(lambda: ((summary.get().to_dict() or {}).get("fanout") or {}).get("position", 0) > 0,
             timeout=60, interval=0.02)
    os.killpg(trigger.pgid, signal.SIGKILL)  # a real kill, mid-fan-out
    emulators.stop(trigger)
    killed = summary.get().to_dict()["fanout"]
    assert 0 < killed["position"] < KILL_COMPANIES and not killed["finished"], killed

    # The same port again: Pub/Sub redelivers the same message (same event id) to a new instance.
    restarted = _start_on_port(env, tmp_path / "trigger2.log", trigger.port)
    try:
        done = wait_for(lambda: (lambda f: f.get("finished") and f)((summary.get().to_dict() or {}).get("fanout") or {}),
                        timeout=120)
        assert done["id"] == killed["id"] and done["resumedFrom"] == killed["position"]
        assert done["published"] == KILL_COMPANIES  # the killed part plus only the rest

        seen: dict[str, int] = {}
        wait_for(lambda: _drain(subscriber, probe, seen) and len(seen) == KILL_COMPANIES, timeout=60, interval=0.2)
        time.sleep(2)
        _drain(subscriber, probe, seen)
        before = ids[:killed["position"]]
        assert all(seen[cid] == 1 for cid in before)  # the retry did not publish them again
        assert sum(seen.values()) <= KILL_COMPANIES + 2 * KILL_CHUNK  # at most the unconfirmed chunks twice
    finally:
        emulators.stop(restarted)


def _start_on_port(env: dict, log_path: Path, port: int):
    """A trigger server on a given port (the push subscription's endpoint)."""
    import subprocess
    import sys

    import emulators
    from e2e_support import ROOT

    argv = [str(Path(sys.executable).parent / "functions-framework"), "--source", str(ROOT / "functions" / "main.py"),
            "--target", "billing_monthly_trigger", "--signature-type", "cloudevent",
            "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    record = emulators.Emulator("trigger2", port, proc.pid, str(log_path))
    emulators.wait_until(lambda: emulators.port_open(port), "trigger", 60, record)
    return record


def _drain(subscriber, subscription: str, seen: dict[str, int]) -> bool:
    """Pull what is there, count it per company, acknowledge it."""
    response = subscriber.pull(subscription=subscription, max_messages=1000, timeout=10)
    for received in response.received_messages:
        cid = json.loads(received.message.data)["companyId"]
        seen[cid] = seen.get(cid, 0) + 1
    if response.received_messages:
        subscriber.acknowledge(subscription=subscription, ack_ids=[m.ack_id for m in response.received_messages])
    return True
