"""Create or update, idempotently, what the monthly run needs in a project:

- topics: billing-monthly-trigger (Scheduler -> monthly function), billing-company-invoice
  (fan-out -> worker), billing-dead-letter (+ a pull subscription that keeps dead letters 7 days);
- the Cloud Scheduler job `billing-monthly-run` publishing {"trigger": "scheduler"} to the monthly
  topic every hour of the 1st and 2nd of each month (`0 * 1,2 * *`, time zone configurable). Each
  firing bills the latest month that has ended anywhere (UTC+14) for the companies whose own month
  has ended and that are not done yet: companies west of the Scheduler's zone are billed by a later
  firing, and dead-lettered or failed companies are replayed every hour for two days;
- on the push subscriptions Eventarc created for the functions (`gcloud functions deploy
  --trigger-topic` creates the Eventarc trigger and its subscription): an explicit ack deadline of
  600 s (a delivery may take the functions' full 540 s) and, on the monthly trigger's, the worker's
  and the sequencer's, a dead-letter policy of MAX_DELIVERY_ATTEMPTS attempts to billing-dead-letter.
  Deploy `billing_dead_letter` with `--trigger-topic billing-dead-letter` so a dead-lettered
  company is marked failed on its run record with the reason;
- the daily job `billing-reminders-daily` publishing to billing-reminders (function
  `billing_reminders`): payment reminders, each step at most once per invoice (DESIGN 14).

    python infra/setup_scheduler.py --project P --region asia-south1 [--timezone Asia/Kolkata] [--dry-run]
"""

from __future__ import annotations

import argparse
import json
import os

from google.api_core import exceptions as gexc
from google.cloud import scheduler_v1
from google.protobuf import duration_pb2, field_mask_pb2

MONTHLY_TOPIC = "billing-monthly-trigger"
WORKER_TOPIC = "billing-company-invoice"
SEQUENCER_TOPIC = "billing-sequencer"
DEAD_LETTER_TOPIC = "billing-dead-letter"
DEAD_LETTER_SUB = "billing-dead-letter-sub"
JOB_ID = "billing-monthly-run"
MAX_DELIVERY_ATTEMPTS = 5  # README: "a worker message that fails 5 times goes to billing-dead-letter"
ACK_DEADLINE_SECONDS = 600  # Pub/Sub's maximum; above the functions' 540 s timeout
DEAD_LETTERED_TOPICS = (MONTHLY_TOPIC, WORKER_TOPIC, SEQUENCER_TOPIC)
SCHEDULE = "0 * 1,2 * *"  # hourly over the first two days: every timezone's month has ended by then
REMINDER_TOPIC = "billing-reminders"
REMINDER_JOB_ID = "billing-reminders-daily"
REMINDER_SCHEDULE = "0 10 * * *"  # 10:00 every day in the job's time zone


def build_job(project: str, region: str, timezone: str, topic_path: str, schedule: str = SCHEDULE) -> scheduler_v1.Job:
    """The Scheduler job, exactly as it is sent."""
    return scheduler_v1.Job(
        name=f"projects/{project}/locations/{region}/jobs/{JOB_ID}",
        description="Monthly usage billing: hourly on the 1st and 2nd, bills companies whose month has ended",
        schedule=schedule,
        time_zone=timezone,
        pubsub_target=scheduler_v1.PubsubTarget(
            topic_name=topic_path,
            data=json.dumps({"trigger": "scheduler"}).encode(),
            attributes={"source": "cloud-scheduler"},
        ),
        retry_config=scheduler_v1.RetryConfig(
            retry_count=3,
            min_backoff_duration=duration_pb2.Duration(seconds=60),
            max_backoff_duration=duration_pb2.Duration(seconds=600),
        ),
    )


def build_reminder_job(project: str, region: str, timezone: str) -> scheduler_v1.Job:
    """The daily payment-reminder job, exactly as it is sent."""
    return scheduler_v1.Job(
        name=f"projects/{project}/locations/{region}/jobs/{REMINDER_JOB_ID}",
        description="Payment reminders: daily, each step at most once per invoice",
        schedule=REMINDER_SCHEDULE,
        time_zone=timezone,
        pubsub_target=scheduler_v1.PubsubTarget(
            topic_name=f"projects/{project}/topics/{REMINDER_TOPIC}",
            data=json.dumps({"trigger": "scheduler"}).encode(),
            attributes={"source": "cloud-scheduler"},
        ),
        retry_config=scheduler_v1.RetryConfig(
            retry_count=3,
            min_backoff_duration=duration_pb2.Duration(seconds=60),
            max_backoff_duration=duration_pb2.Duration(seconds=600),
        ),
    )


JOB_FIELDS = ("description", "schedule", "time_zone", "pubsub_target", "retry_config")


def ensure_job(client, job: scheduler_v1.Job) -> str:
    """Create the job, update the fields that differ, or leave it; returns what it did."""
    try:
        current = client.get_job(name=job.name)
    except gexc.NotFound:
        parent = job.name.rsplit("/jobs/", 1)[0]
        client.create_job(parent=parent, job=job)
        return "created"
    changed = [f for f in JOB_FIELDS if getattr(current, f) != getattr(job, f)]
    if not changed:
        return "unchanged"
    client.update_job(job=job, update_mask=field_mask_pb2.FieldMask(paths=changed))
    return "updated: " + ", ".join(changed)


def ensure_topics(publisher, subscriber, project: str) -> dict[str, str]:
    """The five topics and the dead-letter subscription; existing ones are left as they are."""
    done = {}
    for name in (MONTHLY_TOPIC, WORKER_TOPIC, SEQUENCER_TOPIC, DEAD_LETTER_TOPIC, REMINDER_TOPIC):
        path = publisher.topic_path(project, name)
        try:
            publisher.create_topic(name=path)
            done[name] = "created"
        except gexc.AlreadyExists:
            done[name] = "exists"
    sub = subscriber.subscription_path(project, DEAD_LETTER_SUB)
    try:
        subscriber.create_subscription(request={
            "name": sub,
            "topic": publisher.topic_path(project, DEAD_LETTER_TOPIC),
            "message_retention_duration": duration_pb2.Duration(seconds=7 * 24 * 3600),
            "ack_deadline_seconds": 60,
        })
        done[DEAD_LETTER_SUB] = "created"
    except gexc.AlreadyExists:
        done[DEAD_LETTER_SUB] = "exists"
    return done


def configure_subscription(subscriber, subscription_path: str, dead_letter_topic: str | None,
                           max_delivery_attempts: int = MAX_DELIVERY_ATTEMPTS) -> bool:
    """The ack deadline and (unless None) the dead-letter policy of one subscription; False if already so."""
    current = subscriber.get_subscription(subscription=subscription_path)
    update: dict = {"name": subscription_path}
    paths = []
    if current.ack_deadline_seconds != ACK_DEADLINE_SECONDS:
        update["ack_deadline_seconds"] = ACK_DEADLINE_SECONDS
        paths.append("ack_deadline_seconds")
    policy = current.dead_letter_policy
    if dead_letter_topic and (policy.dead_letter_topic != dead_letter_topic
                              or policy.max_delivery_attempts != max_delivery_attempts):
        update["dead_letter_policy"] = {"dead_letter_topic": dead_letter_topic,
                                        "max_delivery_attempts": max_delivery_attempts}
        paths.append("dead_letter_policy")
    if not paths:
        return False
    subscriber.update_subscription(request={"subscription": update, "update_mask": {"paths": paths}})
    return True


def apply_dead_letter_policies(publisher, subscriber, project: str) -> list[str]:
    """Ack deadline on every function subscription (Eventarc's), and the dead-letter policy on those
    of the trigger, worker and sequencer topics. Returns the subscriptions changed."""
    dlq = publisher.topic_path(project, DEAD_LETTER_TOPIC)
    own = subscriber.subscription_path(project, DEAD_LETTER_SUB)  # the pull subscription keeps its 60 s
    changed = []
    for name in (*DEAD_LETTERED_TOPICS, DEAD_LETTER_TOPIC):
        for sub in publisher.list_topic_subscriptions(request={"topic": publisher.topic_path(project, name)}):
            if sub != own and configure_subscription(subscriber, sub, dlq if name != DEAD_LETTER_TOPIC else None):
                changed.append(sub)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", default=os.environ.get("GOOGLE_CLOUD_PROJECT"))
    parser.add_argument("--region", default="asia-south1")
    parser.add_argument("--timezone", default=os.environ.get("BILLING_SCHEDULER_TIMEZONE", "Asia/Kolkata"))
    parser.add_argument("--schedule", default=SCHEDULE)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    if not args.project:
        parser.error("--project (or GOOGLE_CLOUD_PROJECT) is required")
    topic = f"projects/{args.project}/topics/{MONTHLY_TOPIC}"
    job = build_job(args.project, args.region, args.timezone, topic, args.schedule)
    reminder_job = build_reminder_job(args.project, args.region, args.timezone)
    if args.dry_run:
        print(scheduler_v1.Job.to_json(job))
        print(scheduler_v1.Job.to_json(reminder_job))
        print("topics:", MONTHLY_TOPIC, WORKER_TOPIC, DEAD_LETTER_TOPIC, REMINDER_TOPIC, "subscription:", DEAD_LETTER_SUB)
        return 0
    from google.cloud import pubsub_v1

    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    print("topics:", ensure_topics(publisher, subscriber, args.project))
    print("dead-letter policies set on:", apply_dead_letter_policies(publisher, subscriber, args.project) or "none changed")
    client = scheduler_v1.CloudSchedulerClient()
    print("scheduler job:", ensure_job(client, job))
    print("reminder job:", ensure_job(client, reminder_job))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
