"""A worker message Pub/Sub gives up on reaches billing_dead_letter and marks its company failed.

The worker is misdeployed (a setting that does not parse), so every delivery fails with a 500;
after five attempts the emulator forwards the message to the dead-letter topic, whose push
subscription calls the dead-letter function.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

pytestmark = pytest.mark.emulators


def test_dead_lettered_company_is_marked_failed_with_the_reason(firestore_emulator, storage_emulator,
                                                                 pubsub_emulator, tmp_path):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, pubsub_v1, storage

    import emulators
    from e2e_support import server_env, start_server

    project, bucket = f"dlq-{uuid.uuid4().hex[:8]}", f"dlq-{uuid.uuid4().hex[:8]}"
    storage.Client(project=project, credentials=AnonymousCredentials()).create_bucket(bucket)
    db = firestore.Client(project=project, credentials=AnonymousCredentials())
    db.document("settings/billing").set({"legalName": "Supplier", "stateCode": "29", "invoicePrefix": "DL"})
    db.collection("companies").document("acme").set({"name": "Acme", "billing": {"ratePerMinute": 2,
                                                                                 "maintenanceFee": 10}})
    env = server_env(project, bucket)
    broken = {**env, "BILLING_MAX_EVENT_AGE_SECONDS": "a day"}
    worker = start_server(broken, tmp_path / "worker.log", target="billing_company_worker", signature="cloudevent")
    dead = start_server(env, tmp_path / "dead.log", target="billing_dead_letter", signature="cloudevent")
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    try:
        topic, dlq = (publisher.topic_path(project, t) for t in ("billing-company-invoice", "billing-dead-letter"))
        for name in (topic, dlq):
            publisher.create_topic(name=name)
        subscriber.create_subscription(request={
            "name": subscriber.subscription_path(project, "dead-push"), "topic": dlq,
            "push_config": {"push_endpoint": f"http://127.0.0.1:{dead.port}/{dlq}"}})
        subscriber.create_subscription(request={
            "name": subscriber.subscription_path(project, "worker-push"), "topic": topic,
            "push_config": {"push_endpoint": f"http://127.0.0.1:{worker.port}/{topic}"},
            "dead_letter_policy": {"dead_letter_topic": dlq, "max_delivery_attempts": 5},
            "retry_policy": {"minimum_backoff": {"seconds": 1}, "maximum_backoff": {"seconds": 2}}})
        payload = {"companyId": "acme", "month": 9, "year": 2025, "runId": "2025-09"}
        publisher.publish(topic, json.dumps(payload).encode(), companyId="acme").result(timeout=30)

        record = db.document("billingRuns/2025-09/companies/acme")
        deadline = time.monotonic() + 150
        while (record.get().to_dict() or {}).get("errorType") != "DeadLettered":
            assert time.monotonic() < deadline, record.get().to_dict()
            time.sleep(1)
        entry = record.get().to_dict()
        assert entry["state"] == "failed" and entry["error"].startswith("dead-lettered after ")
        assert entry["attempts"] == 1  # the worker never got as far as the run record
        assert "the next firing" in entry["error"]
        assert list(db.collection("invoices").stream()) == []
    finally:
        subscriber.close()
        for server in (worker, dead):
            emulators.stop(server)
