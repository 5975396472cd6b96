"""The infra script against the Pub/Sub emulator, and the exact Scheduler Job it sends."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest
from google.api_core import exceptions as gexc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra"))

import setup_scheduler as infra  # noqa: E402


@pytest.fixture
def pubsub(pubsub_emulator):
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    yield publisher, subscriber, f"infra-{uuid.uuid4().hex[:8]}"
    subscriber.close()


@pytest.mark.emulators
def test_topics_and_dead_letter_subscription_are_created_once(pubsub):
    publisher, subscriber, project = pubsub
    assert infra.ensure_topics(publisher, subscriber, project) == {
        "billing-monthly-trigger": "created", "billing-company-invoice": "created",
        "billing-dead-letter": "created", "billing-dead-letter-sub": "created"}
    assert set(infra.ensure_topics(publisher, subscriber, project).values()) == {"exists"}
    topics = sorted(t.name.rsplit("/", 1)[1] for t in publisher.list_topics(request={"project": f"projects/{project}"}))
    assert topics == ["billing-company-invoice", "billing-dead-letter", "billing-monthly-trigger"]
    sub = subscriber.get_subscription(subscription=subscriber.subscription_path(project, "billing-dead-letter-sub"))
    assert sub.topic.endswith("/topics/billing-dead-letter")


@pytest.mark.emulators
def test_dead_letter_policy_on_the_function_subscriptions(pubsub):
    publisher, subscriber, project = pubsub
    infra.ensure_topics(publisher, subscriber, project)
    eventarc_sub = subscriber.subscription_path(project, "eventarc-worker-sub")
    subscriber.create_subscription(name=eventarc_sub, topic=publisher.topic_path(project, "billing-company-invoice"))
    assert infra.apply_dead_letter_policies(publisher, subscriber, project) == [eventarc_sub]
    policy = subscriber.get_subscription(subscription=eventarc_sub).dead_letter_policy
    assert policy.dead_letter_topic == publisher.topic_path(project, "billing-dead-letter")
    assert policy.max_delivery_attempts == 10
    assert infra.apply_dead_letter_policies(publisher, subscriber, project) == []


class RecordingScheduler:
    """Stands in for CloudSchedulerClient (there is no Scheduler emulator) and keeps each request."""

    def __init__(self):
        self.jobs = {}
        self.requests = []

    def get_job(self, name):
        self.requests.append(("get", name))
        if name not in self.jobs:
            raise gexc.NotFound(name)
        return type(self.jobs[name]).deserialize(type(self.jobs[name]).serialize(self.jobs[name]))

    def create_job(self, parent, job):
        self.requests.append(("create", parent, job))
        self.jobs[job.name] = job

    def update_job(self, job, update_mask):
        self.requests.append(("update", job, list(update_mask.paths)))
        self.jobs[job.name] = job


def test_scheduler_job_is_exactly_what_the_monthly_run_needs():
    topic = "projects/acme-billing/topics/billing-monthly-trigger"
    client = RecordingScheduler()
    job = infra.build_job("acme-billing", "asia-south1", "Asia/Kolkata", topic)
    assert infra.ensure_job(client, job) == "created"
    [_, (kind, parent, sent)] = client.requests
    assert (kind, parent) == ("create", "projects/acme-billing/locations/asia-south1")
    assert sent.name == "projects/acme-billing/locations/asia-south1/jobs/billing-monthly-run"
    assert sent.schedule == "0 * 1,2 * *" and sent.time_zone == "Asia/Kolkata"
    assert sent.pubsub_target.topic_name == topic
    assert json.loads(sent.pubsub_target.data) == {"trigger": "scheduler"}
    assert dict(sent.pubsub_target.attributes) == {"source": "cloud-scheduler"}

    client.requests.clear()
    assert infra.ensure_job(client, job) == "unchanged"
    assert [r[0] for r in client.requests] == ["get"]

    client.requests.clear()
    moved = infra.build_job("acme-billing", "asia-south1", "UTC", topic)
    assert infra.ensure_job(client, moved) == "updated: time_zone"
    [_, (kind, sent, mask)] = client.requests
    assert kind == "update" and mask == ["time_zone"] and sent.time_zone == "UTC"


def test_dry_run_needs_no_cloud(capsys):
    assert infra.main(["--project", "acme-billing", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert '"schedule": "0 * 1,2 * *"' in out and "billing-dead-letter" in out


def test_hourly_firings_cover_the_month_end_of_every_timezone():
    """Every firing of `0 * 1,2 * *` in Asia/Kolkata names the same period, and between the first
    and the last firing the month ends in every zone from UTC+14 to UTC-12."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from billing.domain.period import BillingPeriod, last_completed_period
    from billing.services.runs import EARLIEST_ZONE

    ist = ZoneInfo("Asia/Kolkata")
    firings = [datetime(2025, 11, day, hour, tzinfo=ist) for day in (1, 2) for hour in range(24)]
    assert {last_completed_period(f, EARLIEST_ZONE).key for f in firings} == {"2025-10"}
    for offset in range(-12, 15):
        zone_end = BillingPeriod(2025, 10, f"Etc/GMT{-offset:+d}" if offset else "UTC").end
        assert any(f >= zone_end for f in firings), offset
    assert firings[-1].astimezone(timezone.utc) - BillingPeriod(2025, 10, "Etc/GMT+12").end >= timedelta(hours=24)
