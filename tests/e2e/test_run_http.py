"""POST /billing/run wherever the service runs; GET /billing/runs/{YYYY-MM} shows the run.

With Pub/Sub (Google Cloud, or an emulator beside it) the route publishes one message to the
monthly trigger topic, exactly like Cloud Scheduler; on the droplet (BILLING_RUN_MODE=in-process)
it bills the month in a background thread. Either way: 202 and the run's status URL.
"""

from __future__ import annotations

import json
import time

import pytest

from billing.config import Settings
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators


def test_manual_run_publishes_one_trigger_message(api):
    from google.cloud import pubsub_v1

    seed_demo(api.db, Settings(project=api.project))
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(api.project, "billing-monthly-trigger")
    sub = subscriber.subscription_path(api.project, f"probe-{api.bucket[-8:]}")
    try:
        publisher.create_topic(name=topic)
    except Exception:
        pass
    subscriber.create_subscription(name=sub, topic=topic)
    try:
        status, body = api.json("POST", "/billing/run?month=9&year=2025")
        assert status == 202, body
        assert (body["period"], body["mode"], body["status"]) == ("2025-09", "pubsub", "requested")
        assert body["statusUrl"].endswith("/billing/runs/2025-09")
        response = subscriber.pull(subscription=sub, max_messages=10, timeout=30)
        assert [json.loads(m.message.data) for m in response.received_messages] == [
            {"month": 9, "trigger": "http", "year": 2025}]
        assert api.json("POST", "/billing/run?month=13&year=2025")[0] == 422
        assert api.json("GET", "/billing/runs/2025-08")[0] == 404
    finally:
        subscriber.delete_subscription(subscription=sub)
        subscriber.close()


def test_manual_run_without_a_topic_is_a_clear_503_and_writes_nothing(make_server):
    server = make_server({"BILLING_RUN_MODE": "pubsub", "BILLING_MONTHLY_TOPIC": "no-such-topic"})
    seed_demo(server.db, Settings(project=server.project))
    status, body = server.json("POST", "/billing/run?month=9&year=2025")
    assert status == 503, body
    assert "no-such-topic" in body["detail"] and "BILLING_RUN_MODE=in-process" in body["detail"]
    assert list(server.db.collection("billingRuns").stream()) == []


def test_droplet_manual_run_bills_in_the_background(make_server):
    server = make_server({"BILLING_RUN_MODE": "in-process"})
    seed_demo(server.db, Settings(project=server.project))
    server.db.collection("companies").document("broken").set({"name": "Broken", "billing": {"ratePerMinute": -1}})
    status, body = server.json("POST", "/billing/run?month=9&year=2025")
    assert status == 202, body
    assert (body["mode"], body["status"]) == ("in-process", "started")
    path = body["statusUrl"].removeprefix(server.base)
    deadline = time.monotonic() + 120
    while True:
        code, run = server.json("GET", path)
        if code == 200 and run["counts"]["done"] + run["counts"]["failed"] == 4:
            break
        assert time.monotonic() < deadline, run
        time.sleep(0.5)
    assert run["counts"] == {"pending": 0, "waiting": 0, "retrying": 0, "drafted": 0, "done": 3, "failed": 1,
                             "skipped": 0}
    assert [f["companyId"] for f in run["failed"]] == ["broken"]
    assert "negative" in run["failed"][0]["error"] and run["nextPageToken"] is None

    # No parameters: the latest month that has ended (in UTC+14); still 202, never a 500.
    status, body = server.json("POST", "/billing/run")
    assert status == 202 and body["mode"] == "in-process", body
