"""CloudEvent (Pub/Sub messagePublished) handlers: decode, check age, call the run service."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from datetime import datetime, timezone
from typing import Any

from billing.errors import BillingError, TransientError

log = logging.getLogger("billing.events")


def decode_message(cloud_event) -> dict[str, Any]:
    """The JSON payload of a Pub/Sub messagePublished event ({} for an empty message)."""
    data = cloud_event.data or {}
    message = data.get("message", {}) if isinstance(data, dict) else {}
    raw = message.get("data")
    if not raw:
        return {}
    try:
        payload = json.loads(base64.b64decode(raw))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"message data is not base64 JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError(f"message data must be a JSON object, got {type(payload).__name__}")
    return payload


def event_age_seconds(cloud_event, now: datetime) -> float | None:
    """Seconds since the event was published (None when the event carries no time)."""
    stamp = cloud_event["time"] if "time" in cloud_event.get_attributes() else None
    if not stamp:
        return None
    published = datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    return (now - published).total_seconds()


def _too_old(cloud_event, container) -> bool:
    age = event_age_seconds(cloud_event, datetime.now(timezone.utc))
    limit = container.settings.max_event_age_seconds
    if age is not None and age > limit:
        log.error("dropping event older than the configured age", extra={"json_fields": {
            "eventId": cloud_event["id"], "ageSeconds": round(age), "maxAgeSeconds": limit}})
        return True
    return False


def handle_monthly_trigger(cloud_event, container) -> None:
    """Scheduler message -> run record + one message per active company."""
    if _too_old(cloud_event, container):
        return
    try:
        payload = decode_message(cloud_event)
        container.runs_service.start_run(payload.get("month"), payload.get("year"), trigger="scheduler")
    except (ValueError, BillingError) as exc:
        if isinstance(exc, TransientError):
            raise  # Pub/Sub redelivers
        detail = getattr(exc, "detail", str(exc))
        log.error(f"monthly trigger refused its message: {detail}", extra={"json_fields": {
            "eventId": cloud_event["id"], "error": detail}})


def handle_company_message(cloud_event, container) -> None:
    """One company's invoice; transient failures raise (retry), permanent ones are recorded."""
    if _too_old(cloud_event, container):
        return
    try:
        payload = decode_message(cloud_event)
        company_id = str(payload["companyId"])
        month, year = int(payload["month"]), int(payload["year"])
    except (ValueError, KeyError, TypeError) as exc:
        log.error(f"worker message is malformed; acknowledged without retry: {exc}", extra={"json_fields": {
            "eventId": cloud_event["id"], "error": str(exc)}})
        return
    container.runs_service.process_company(company_id, month, year, payload.get("runId"))
