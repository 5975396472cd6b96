"""POST /billing/run fans out through Pub/Sub; GET /billing/runs/{YYYY-MM} shows the run."""

from __future__ import annotations

import json

import pytest

from billing.config import Settings
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators


def test_manual_run_publishes_one_message_per_active_company(api):
    from google.cloud import pubsub_v1

    seed_demo(api.db, Settings(project=api.project))
    api.db.collection("companies").document("sleepy").set({"name": "Sleepy", "active": False, "billing": {"ratePerMinute": 1}})
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    topic = publisher.topic_path(api.project, "billing-company-invoice")
    sub = subscriber.subscription_path(api.project, f"probe-{api.bucket[-8:]}")
    try:
        publisher.create_topic(name=topic)
    except Exception:
        pass
    subscriber.create_subscription(name=sub, topic=topic)

    status, body = api.json("POST", "/billing/run?month=9&year=2025")
    assert status == 202, body
    assert body["period"] == "2025-09" and sorted(body["companies"]) == ["dcgpac", "vysedeck", "webxpress"]
    received = []
    while len(received) < 3:
        response = subscriber.pull(subscription=sub, max_messages=10, timeout=30)
        received += [json.loads(m.message.data) for m in response.received_messages]
        if response.received_messages:
            subscriber.acknowledge(subscription=sub, ack_ids=[m.ack_id for m in response.received_messages])
    assert sorted(m["companyId"] for m in received) == ["dcgpac", "vysedeck", "webxpress"]
    assert {(m["month"], m["year"]) for m in received} == {(9, 2025)}

    status, run = api.json("GET", "/billing/runs/2025-09")
    assert status == 200
    assert run["counts"] == {"pending": 3}
    assert api.json("GET", "/billing/runs/2025-08")[0] == 404
    assert api.json("POST", "/billing/run?month=13&year=2025")[0] == 422
    subscriber.delete_subscription(subscription=sub)
    subscriber.close()
