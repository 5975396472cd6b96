"""The run service and the CloudEvent handlers, over in-memory fakes."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from cloudevents.http import CloudEvent

from billing.config import Settings
from billing.errors import ConfigurationError, TransientError
from billing.events import handle_company_message, handle_monthly_trigger
from billing.services.runs import RunService
from fakes import FakeCompanies, FakePublisher, FakeRuns

NOW = datetime(2025, 10, 5, tzinfo=timezone.utc)


class Issuance:
    """Issues by table: a company id maps to an invoice number or an exception to raise."""

    def __init__(self, outcomes):
        self.outcomes = outcomes
        self.calls = []

    def generate(self, company_id, month, year, read_slices=None):
        self.calls.append((company_id, month, year))
        outcome = self.outcomes[company_id]
        if isinstance(outcome, Exception):
            raise outcome
        return {"invoiceNumber": outcome}


def service(outcomes, active=None):
    companies = FakeCompanies({cid: {"name": cid} for cid in outcomes} | (active or {}))
    return RunService(companies=companies, runs=FakeRuns(), issuance=Issuance(outcomes),
                      settings=Settings(), publisher=FakePublisher(), clock=lambda: NOW)


def test_start_run_fans_out_to_active_companies_only():
    svc = service({"a": "N1", "b": "N2"}, active={"z": {"name": "z", "active": False}})
    result = svc.start_run(None, None)
    assert result["period"] == "2025-09"
    assert [(t, p["companyId"], p["month"], p["year"]) for t, p, _ in svc.publisher.messages] == [
        ("billing-company-invoice", "a", 9, 2025), ("billing-company-invoice", "b", 9, 2025)]
    assert svc.runs.get("2025-09")["companies"] == {"a": {"state": "pending"}, "b": {"state": "pending"}}


def test_permanent_failure_is_recorded_transient_failure_raises():
    svc = service({"ok": "N1", "bad": ConfigurationError("billing.ratePerMinute is required"),
                   "flaky": TransientError("Firestore unavailable")})
    svc.runs.start("2025-09", "2025-09", ["ok", "bad", "flaky"], "test")
    assert svc.process_company("ok", 9, 2025)["state"] == "done"
    assert svc.process_company("bad", 9, 2025) == {
        "companyId": "bad", "state": "failed", "error": "billing.ratePerMinute is required"}
    with pytest.raises(TransientError):
        svc.process_company("flaky", 9, 2025)
    states = {cid: e["state"] for cid, e in svc.runs.get("2025-09")["companies"].items()}
    assert states == {"ok": "done", "bad": "failed", "flaky": "retrying"}


def test_run_in_process_reports_every_company():
    svc = service({"a": "N1", "b": ConfigurationError("no rate"), "c": RuntimeError("boom")})
    seen = []
    outcome = svc.run_in_process(9, 2025, concurrency=2, on_progress=seen.append)
    assert outcome.done == {"a": "N1"}
    assert outcome.failed == {"b": "no rate", "c": "RuntimeError: boom"}
    assert not outcome.ok and len(seen) == 3


class Container:
    def __init__(self, svc, max_age=3600):
        self.runs_service = svc
        self.settings = Settings(max_event_age_seconds=max_age)


def event(payload, published: datetime):
    data = {"message": {"data": base64.b64encode(json.dumps(payload).encode()).decode(), "messageId": "1"}}
    return CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub/x",
                       "id": "evt-1", "time": published.isoformat()}, data)


def test_worker_issues_the_named_company():
    svc = service({"a": "N1"})
    svc.runs.start("2025-09", "2025-09", ["a"], "test")
    handle_company_message(event({"companyId": "a", "month": 9, "year": 2025}, datetime.now(timezone.utc)), Container(svc))
    assert svc.issuance.calls == [("a", 9, 2025)]


def test_events_older_than_the_limit_are_dropped_with_a_log(caplog):
    svc = service({"a": "N1"})
    old = datetime.now(timezone.utc) - timedelta(hours=2)
    with caplog.at_level("ERROR", logger="billing.events"):
        handle_company_message(event({"companyId": "a", "month": 9, "year": 2025}, old), Container(svc, 3600))
        handle_monthly_trigger(event({}, old), Container(svc, 3600))
    assert svc.issuance.calls == [] and svc.publisher.messages == []
    assert caplog.text.count("dropping event older than the configured age") == 2


def test_malformed_worker_message_is_acknowledged_not_retried(caplog):
    svc = service({"a": "N1"})
    with caplog.at_level("ERROR", logger="billing.events"):
        handle_company_message(event({"month": 9}, datetime.now(timezone.utc)), Container(svc))
    assert "malformed" in caplog.text and svc.issuance.calls == []


def test_monthly_trigger_with_a_bad_month_logs_and_acks(caplog):
    svc = service({"a": "N1"})
    with caplog.at_level("ERROR", logger="billing.events"):
        handle_monthly_trigger(event({"month": 13, "year": 2025}, datetime.now(timezone.utc)), Container(svc))
    assert "month must be" in caplog.text and svc.publisher.messages == []
