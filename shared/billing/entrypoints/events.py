"""CloudEvent (Pub/Sub messagePublished) handlers: decode, check age, call the run service."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import datetime, timezone
from typing import Any, Mapping, Protocol

from billing.config import Settings
from billing.domain.runs import RunState
from billing.errors import BillingError, TransientError
from billing.ports import RunRepository
from billing.services import run_problems
from billing.services.run_alerts import RunAlerts
from billing.services.runs.fanout import FanoutService
from billing.services.runs.messages import FinishJob, MonthlyTrigger, SequencerWake, WorkerJob, worker_job
from billing.services.runs.sequencer import Sequencer
from billing.services.runs.worker import CompanyWorker
from billing.services.reminders import ReminderService

log = logging.getLogger("billing.events")

# Attributes Pub/Sub adds to a message it forwards to a dead-letter topic.
DEAD_LETTER_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"
DEAD_LETTER_SUBSCRIPTION = "CloudPubSubDeadLetterSourceSubscription"


class EventContainer(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def run_fanout(self) -> FanoutService: ...

    @property
    def run_worker(self) -> CompanyWorker: ...

    @property
    def sequencer(self) -> Sequencer: ...

    @property
    def runs(self) -> RunRepository: ...

    @property
    def run_alerts(self) -> RunAlerts: ...


def decode_message(cloud_event: Any) -> dict[str, object]:
    """The JSON payload of a Pub/Sub messagePublished event ({} for an empty message)."""
    raw = _message(cloud_event).get("data")
    if not raw:
        return {}
    try:
        payload = json.loads(base64.b64decode(raw))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"message data is not base64 JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError(f"message data must be a JSON object, got {type(payload).__name__}")
    return payload


def _message(cloud_event: Any) -> Mapping[str, Any]:
    data = cloud_event.data or {}
    message = data.get("message", {}) if isinstance(data, dict) else {}
    return message if isinstance(message, dict) else {}


def message_attributes(cloud_event: Any) -> dict[str, str]:
    """The Pub/Sub message's attributes."""
    attributes = _message(cloud_event).get("attributes") or {}
    return {str(k): str(v) for k, v in attributes.items()} if isinstance(attributes, dict) else {}


def event_age_seconds(cloud_event: Any, now: datetime) -> float | None:
    """Seconds since the event was published (None when the event carries no time)."""
    stamp = cloud_event["time"] if "time" in cloud_event.get_attributes() else None
    if not stamp:
        return None
    published = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    return (now - published).total_seconds()


def _too_old(cloud_event: Any, container: EventContainer) -> str | None:
    """Why the event is dropped as too old (logged), or None to process it."""
    age = event_age_seconds(cloud_event, datetime.now(timezone.utc))
    limit = container.settings.max_event_age_seconds
    if age is None or age <= limit:
        return None
    log.error("dropping event older than the configured age", extra={"json_fields": {
        "eventId": cloud_event["id"], "ageSeconds": round(age), "maxAgeSeconds": limit}})
    return (f"message dropped unprocessed: {age / 3600:.1f} h old, over BILLING_MAX_EVENT_AGE_SECONDS "
            f"({limit} s); run the month again to bill it")


def handle_monthly_trigger(cloud_event: Any, container: EventContainer) -> None:
    """Scheduler message -> run record + one message per due company (resumes a cut-short fan-out)."""
    if _too_old(cloud_event, container):
        return  # the next hourly firing runs the month again
    try:
        trigger = MonthlyTrigger.from_payload(decode_message(cloud_event))
        run_id = container.run_fanout.ctx.period(trigger.query).key
        run_problems.guarded(container.runs, run_id, RunState.PENDING, "fanning out the run (monthly trigger)",
                             lambda: container.run_fanout.start_run(trigger.query, trigger=trigger.trigger,
                                                                    fanout_id=str(cloud_event["id"])))
        container.run_alerts.check(run_id)
    except (ValueError, BillingError) as exc:
        if isinstance(exc, TransientError):
            raise  # Pub/Sub redelivers; the fan-out resumes at its cursor
        detail = getattr(exc, "detail", str(exc))
        log.error(f"monthly trigger refused its message: {detail}", extra={"json_fields": {
            "eventId": cloud_event["id"], "error": detail}})


def handle_company_message(cloud_event: Any, container: EventContainer) -> None:
    """One company's invoice; transient failures raise (retry), permanent ones are recorded."""
    try:
        job = worker_job(decode_message(cloud_event))
    except (ValueError, KeyError, TypeError) as exc:
        log.error(f"worker message is malformed; acknowledged without retry: {exc}", extra={"json_fields": {
            "eventId": cloud_event["id"], "error": str(exc)}})
        return
    reason = _too_old(cloud_event, container)
    if reason:
        container.run_worker.record_undelivered(job, reason, "EventTooOld")
        return
    if isinstance(job, FinishJob):  # the sequencer numbered it: files, email, done
        container.run_worker.finish_company(job)
        return
    container.run_worker.process_company(job)


def handle_sequencer_message(cloud_event: Any, container: EventContainer) -> None:
    """Drafts are waiting: number them in batches (this function runs as a single instance)."""
    try:
        wake = SequencerWake.from_payload(decode_message(cloud_event))
    except ValueError as exc:
        log.error(f"sequencer message is not JSON; numbering anyway: {exc}")
        wake = SequencerWake()
    numbered, _ = run_problems.guarded(container.runs, wake.run_id, RunState.DRAFTED, "numbering drafts (sequencer)",
                                       lambda: container.sequencer.sequence(wake.run_id))
    container.run_alerts.check(wake.run_id)
    log.info("sequencer numbered drafts", extra={"json_fields": {"numbered": numbered, "runId": wake.run_id}})


def handle_dead_letter(cloud_event: Any, container: EventContainer) -> None:
    """A message Pub/Sub gave up on: mark its company failed with the reason (unless done)."""
    try:
        payload = decode_message(cloud_event)
    except ValueError as exc:
        log.error(f"dead-lettered message is not JSON; dropped: {exc}", extra={"json_fields": {
            "eventId": cloud_event["id"]}})
        return
    attributes = message_attributes(cloud_event)
    data = cloud_event.data if isinstance(cloud_event.data, dict) else {}
    attempts = attributes.get(DEAD_LETTER_COUNT) or data.get("deliveryAttempt") or "?"
    source = attributes.get(DEAD_LETTER_SUBSCRIPTION, "its subscription")
    reason = (f"dead-lettered after {attempts} delivery attempts on {source}; "
              "the next firing (or POST /billing/run for the month) replays it")
    fields = {"eventId": cloud_event["id"], "attempts": attempts, "payload": payload}
    if "companyId" not in payload:
        log.error("monthly trigger or sequencer wake dead-lettered; the next firing (or the next draft) "
                  "runs it again", extra={"json_fields": fields})
        return
    marked = _record_undelivered(container, payload, reason)
    log.error("worker message dead-lettered" + ("" if marked else " (company already done)"),
              extra={"json_fields": fields})


def _record_undelivered(container: EventContainer, payload: Mapping[str, object], reason: str) -> bool:
    """Mark the dead-lettered job's company failed; False when nothing was marked (malformed, done)."""
    try:
        job: WorkerJob = worker_job(payload)
    except (KeyError, TypeError, ValueError):
        return False
    return container.run_worker.record_undelivered(job, reason, "DeadLettered")


class ReminderContainer(Protocol):
    @property
    def reminders(self) -> ReminderService: ...


def handle_reminders(cloud_event: Any, container: ReminderContainer) -> None:
    """The daily Scheduler job: today's payment reminders. A redelivery (or a failure retried) sends
    nothing twice: each step is claimed on the invoice's receivable before its email goes out."""
    report = container.reminders.run()
    log.info("reminders sent", extra={"json_fields": {
        "eventId": cloud_event["id"], "sent": len(report["sent"]), "skipped": len(report["skipped"]),
        "failed": len(report["failed"])}})
