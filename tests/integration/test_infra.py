"""The infra script against the Pub/Sub emulator, and the exact Scheduler Job it sends."""

from __future__ import annotations

import json
import re
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
        "billing-sequencer": "created", "billing-dead-letter": "created", "billing-reminders": "created",
        "billing-dead-letter-sub": "created"}
    assert set(infra.ensure_topics(publisher, subscriber, project).values()) == {"exists"}
    topics = sorted(t.name.rsplit("/", 1)[1] for t in publisher.list_topics(request={"project": f"projects/{project}"}))
    assert topics == ["billing-company-invoice", "billing-dead-letter", "billing-monthly-trigger", "billing-reminders",
                      "billing-sequencer"]
    sub = subscriber.get_subscription(subscription=subscriber.subscription_path(project, "billing-dead-letter-sub"))
    assert sub.topic.endswith("/topics/billing-dead-letter")


@pytest.mark.emulators
def test_dead_letter_policy_on_the_function_subscriptions(pubsub):
    publisher, subscriber, project = pubsub
    infra.ensure_topics(publisher, subscriber, project)
    subs = {}
    for topic in ("billing-monthly-trigger", "billing-company-invoice", "billing-sequencer", "billing-dead-letter"):
        subs[topic] = subscriber.subscription_path(project, f"eventarc-{topic}-sub")
        subscriber.create_subscription(name=subs[topic], topic=publisher.topic_path(project, topic))
    assert sorted(infra.apply_dead_letter_policies(publisher, subscriber, project)) == sorted(subs.values())
    for topic, sub in subs.items():
        current = subscriber.get_subscription(subscription=sub)
        assert current.ack_deadline_seconds == 600
        if topic == "billing-dead-letter":  # its own messages cannot be dead-lettered again
            assert not current.dead_letter_policy.dead_letter_topic
            continue
        assert current.dead_letter_policy.dead_letter_topic == publisher.topic_path(project, "billing-dead-letter")
        assert current.dead_letter_policy.max_delivery_attempts == 5  # what README says
    assert infra.apply_dead_letter_policies(publisher, subscriber, project) == []
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert f"fails {infra.MAX_DELIVERY_ATTEMPTS} times" in readme


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


def test_the_daily_reminder_job():
    client = RecordingScheduler()
    job = infra.build_reminder_job("acme-billing", "asia-south1", "Asia/Kolkata")
    assert infra.ensure_job(client, job) == "created"
    [_, (_, _, sent)] = client.requests
    assert sent.name == "projects/acme-billing/locations/asia-south1/jobs/billing-reminders-daily"
    assert (sent.schedule, sent.time_zone) == ("0 10 * * *", "Asia/Kolkata")
    assert sent.pubsub_target.topic_name == "projects/acme-billing/topics/billing-reminders"
    reminders = deploy_flags(cloudbuild(), "deploy-reminders")
    assert (reminders["entry-point"], reminders["trigger-topic"]) == ("billing_reminders", "billing-reminders")


def test_dry_run_needs_no_cloud(capsys):
    assert infra.main(["--project", "acme-billing", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert '"schedule": "0 * 1,2 * *"' in out and "billing-dead-letter" in out


# -- cloudbuild.yaml: least privilege and deploy flags -------------------------------------------

CLOUDBUILD = Path(__file__).resolve().parents[2] / "cloudbuild.yaml"


def cloudbuild():
    import yaml

    return yaml.safe_load(CLOUDBUILD.read_text())


def rendered(text: str, subs: dict) -> str:
    """Cloud Build's substitution of ${_X}, ${PROJECT_ID}, ${PROJECT_NUMBER}; $$ stays a literal $."""
    subs = {**subs, "PROJECT_ID": "acme-billing", "PROJECT_NUMBER": "123456789"}
    for _ in range(3):  # substitutions that use others (dynamicSubstitutions)
        text = re.sub(r"(?<!\$)\$\{(\w+)\}", lambda m: str(subs[m.group(1)]), text)
    return text.replace("$$", "$")


def step(build: dict, step_id: str) -> dict:
    [found] = [s for s in build["steps"] if s["id"] == step_id]
    return found


def deploy_flags(build: dict, step_id: str) -> dict[str, str]:
    args = [rendered(a, build["substitutions"]) for a in step(build, step_id)["args"]]
    assert args[:2] == ["functions", "deploy"]
    return dict(a[2:].split("=", 1) if "=" in a else (a[2:], "") for a in args if a.startswith("--"))


def commands(build: dict) -> list[str]:
    """Every shell command of every bash step, continuation lines joined, substitutions applied."""
    out = []
    for s in build["steps"]:
        if s.get("entrypoint") == "bash":
            script = rendered(s["args"][-1], build["substitutions"]).replace("\\\n", " ")
            out += [" ".join(line.split()) for line in script.splitlines() if line.strip()]
    return out


def test_builder_images_are_pinned():
    build = cloudbuild()
    assert re.fullmatch(r"\d+\.\d+\.\d+", build["substitutions"]["_GCLOUD_VERSION"])
    for s in build["steps"]:
        image = rendered(s["name"], build["substitutions"])
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+(-[a-z]+)?", image), (s["id"], image)
    assert ":latest" not in "".join(rendered(s["name"], build["substitutions"]) for s in build["steps"])


def test_no_project_wide_secret_or_publisher_grant():
    build = cloudbuild()
    cmds = commands(build)
    for cmd in cmds:
        if "roles/secretmanager.secretAccessor" in cmd:
            assert "gcloud secrets add-iam-policy-binding" in cmd, cmd
        if "roles/pubsub.publisher" in cmd:
            assert "gcloud pubsub topics add-iam-policy-binding" in cmd, cmd
        if "projects add-iam-policy-binding" in cmd:
            assert re.findall(r"--role=(\S+)", cmd) == ["roles/datastore.user"], cmd
    iam = " ".join(cmds)
    http_sa, events_sa = (rendered(build["substitutions"][k], build["substitutions"]) for k in ("_HTTP_SA", "_EVENTS_SA"))
    # Which secret for whom, one binding per secret.
    assert re.findall(r"bind_secret (\S+) (\S+)", iam) == [
        ("billing-read-keys", http_sa), ("billing-api-keys", http_sa), ("billing-admin-keys", http_sa),
        ("billing-smtp-password", http_sa), ("billing-smtp-password", events_sa)]
    # The HTTP function starts runs by publishing the Scheduler's message; it publishes nothing else.
    assert re.findall(r"bind_topic (\S+) (\S+)", iam)[0] == ("billing-monthly-trigger", http_sa)
    sequencer = deploy_flags(build, "deploy-sequencer")
    assert (sequencer["max-instances"], sequencer["concurrency"], sequencer["timeout"]) == ("1", "1", "540s")


def test_two_service_accounts_http_apart_from_events():
    build = cloudbuild()
    subs = build["substitutions"]
    http_sa, events_sa = rendered(subs["_HTTP_SA"], subs), rendered(subs["_EVENTS_SA"], subs)
    assert http_sa != events_sa and all(sa.endswith("@acme-billing.iam.gserviceaccount.com") for sa in (http_sa, events_sa))
    http = deploy_flags(build, "deploy-http")
    assert http["service-account"] == http_sa
    assert http["set-secrets"] == ("BILLING_READ_KEYS=billing-read-keys:latest,BILLING_API_KEYS=billing-api-keys:latest,BILLING_ADMIN_KEYS=billing-admin-keys:latest,"
                                   "SMTP_PASSWORD=billing-smtp-password:latest")
    for fn in ("deploy-monthly", "deploy-worker"):
        flags = deploy_flags(build, fn)
        assert flags["service-account"] == flags["trigger-service-account"] == events_sa
        assert "KEYS" not in flags.get("set-secrets", "") and "ADMIN" not in flags.get("set-secrets", "")
    created = [c for c in commands(build) if "service-accounts create" in c]
    assert created and "service-accounts describe" in " ".join(commands(build))  # created only when missing


def test_timeouts_sizing_and_one_timezone():
    build = cloudbuild()
    trigger, worker = deploy_flags(build, "deploy-monthly"), deploy_flags(build, "deploy-worker")
    assert trigger["timeout"] == worker["timeout"] == "540s"
    assert int(worker["max-instances"]) >= 1 and int(worker["concurrency"]) >= 1 and worker["memory"].endswith("i")
    tz = build["substitutions"]["_TIMEZONE"]
    for fn in ("deploy-http", "deploy-monthly", "deploy-worker"):
        env = dict(pair.split("=", 1) for pair in deploy_flags(build, fn)["set-env-vars"].split(","))
        assert env["BILLING_DEFAULT_TIMEZONE"] == tz
    [scheduler] = [c for c in commands(build) if "setup_scheduler.py" in c]
    assert f"--timezone {tz}" in scheduler
    assert CLOUDBUILD.read_text().count("Asia/Kolkata") == 1  # only the substitution's default


def test_hourly_firings_cover_the_month_end_of_every_timezone():
    """Every firing of `0 * 1,2 * *` in Asia/Kolkata names the same period, and between the first
    and the last firing the month ends in every zone from UTC+14 to UTC-12."""
    from datetime import datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from billing.domain.period import BillingPeriod, last_completed_period
    from billing.services.runs.common import EARLIEST_ZONE

    ist = ZoneInfo("Asia/Kolkata")
    firings = [datetime(2025, 11, day, hour, tzinfo=ist) for day in (1, 2) for hour in range(24)]
    assert {last_completed_period(f, EARLIEST_ZONE).key for f in firings} == {"2025-10"}
    for offset in range(-12, 15):
        zone_end = BillingPeriod(2025, 10, f"Etc/GMT{-offset:+d}" if offset else "UTC").end
        assert any(f >= zone_end for f in firings), offset
    assert firings[-1].astimezone(timezone.utc) - BillingPeriod(2025, 10, "Etc/GMT+12").end >= timedelta(hours=24)
