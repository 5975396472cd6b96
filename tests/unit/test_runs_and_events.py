"""The run service and the CloudEvent handlers over in-memory fakes: assertions on the run record."""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from cloudevents.http import CloudEvent

from billing.adapters.invoice_document import invoice_from_document
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.entrypoints.events import (
    handle_company_message, handle_dead_letter, handle_monthly_trigger, handle_sequencer_message,
)
from billing.errors import ConfigurationError, TransientError, ValidationError
from billing.services.runs.messages import CompanyJob, FinishJob, worker_job
from fakes import MemoryPublisher, fake_container

NOW = datetime(2025, 10, 5, tzinfo=timezone.utc)


class Issuance:
    """Issues by table: a company id maps to an invoice number or an exception to raise.

    Like the real service it drafts, numbers drafts in batches (counting the batches) and finishes."""

    def __init__(self, outcomes):
        self.outcomes = outcomes
        self.issued = []
        self.docs = {}
        self.batches = 0

    def _check(self, company_id):
        outcome = self.outcomes[company_id]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def generate(self, company_id, query, read_slices=None):
        doc = self.draft(company_id, query).document
        if doc["status"] == "draft":
            self._number([company_id])
        return self.finish(invoice_from_document(dict(self.docs[company_id])))

    def draft(self, company_id, query, read_slices=None):
        self._check(company_id)
        key = f"{int(query.year):04d}-{int(query.month):02d}"
        doc = self.docs.setdefault(company_id, {"companyId": company_id, "invoiceId": f"{company_id}_{key}",
                                                "status": "draft", "billingPeriod": {"month": key}})
        return invoice_from_document(dict(doc))

    def pending_count(self, limit):
        return min(limit, sum(d["status"] == "draft" for d in self.docs.values()))

    def _number(self, company_ids):
        self.batches += 1
        for cid in company_ids:
            self.docs[cid].update(status="issuing", invoiceNumber=self._check(cid))
        return [invoice_from_document(dict(self.docs[cid])) for cid in company_ids]

    def number_pending(self, batch_size=300):
        waiting = sorted(cid for cid, d in self.docs.items() if d["status"] == "draft")[:batch_size]
        return self._number(waiting) if waiting else []

    def finish(self, invoice):
        cid = invoice.company_id
        if self.docs[cid]["status"] != "issued":
            self.issued.append(cid)
            self.docs[cid]["status"] = "issued"
        return invoice_from_document(dict(self.docs[cid]))

    def current(self, company_id, period_key):
        return invoice_from_document(dict(self.docs[company_id]))


def service(outcomes, active=None, publisher=None, **settings):
    """The run's services over fakes, with an issuer by table standing in for issuance."""
    issuance = Issuance(outcomes)
    c = fake_container(Settings(**settings), companies={cid: {"name": cid} for cid in outcomes} | (active or {}),
                       publisher=publisher or MemoryPublisher(), clock=lambda: NOW,
                       issuance=issuance, finisher=issuance, numbering=issuance, queries=issuance)
    c.run_context.sleep = lambda seconds: None
    return c


def job(company_id, month, year, run_id=None):
    return CompanyJob(company_id, month, year, run_id or f"{year:04d}-{month:02d}")


def deliver(svc, month=None, year=None):
    """Process every message published so far, and those they cause, like the worker and the
    sequencer functions would."""
    while svc.publisher.messages:
        messages = list(svc.publisher.messages)
        svc.publisher.messages.clear()
        for topic, payload, _ in messages:
            if topic == svc.settings.sequencer_topic:
                svc.sequencer.sequence(payload.get("runId"))
            elif payload.get("companyId"):
                message = worker_job(payload)
                if isinstance(message, FinishJob):
                    svc.run_worker.finish_company(message)
                else:
                    svc.run_worker.process_company(message)


def test_start_run_fans_out_to_active_companies_only_and_records_them_pending():
    svc = service({"a": "N1", "b": "N2"}, active={"z": {"name": "z", "active": False}})
    result = svc.run_fanout.start_run(MonthQuery())
    assert (result["period"], result["published"], result["companies"]) == ("2025-09", 2, 2)
    assert [(t, p["companyId"], p["month"], p["year"]) for t, p, _ in svc.publisher.messages] == [
        ("billing-company-invoice", "a", 9, 2025), ("billing-company-invoice", "b", 9, 2025)]
    assert svc.runs.state_of("2025-09") == {"a": "pending", "b": "pending"}
    fanout = svc.runs.summary("2025-09").document["fanout"]
    assert (fanout["finished"], fanout["cursor"], fanout["position"], fanout["published"]) == (True, "b", 2, 2)


def test_permanent_failure_is_recorded_transient_failure_raises():
    svc = service({"ok": "N1", "bad": ConfigurationError("billing.ratePerMinute is required"),
                   "flaky": TransientError("Firestore unavailable")})
    assert svc.run_worker.process_company(job("ok", 9, 2025), batched=False)["state"] == "done"
    assert svc.run_worker.process_company(job("bad", 9, 2025)) == {
        "companyId": "bad", "state": "failed", "error": "billing.ratePerMinute is required"}
    with pytest.raises(TransientError):
        svc.run_worker.process_company(job("flaky", 9, 2025))
    assert svc.runs.state_of("2025-09") == {"ok": "done", "bad": "failed", "flaky": "retrying"}
    assert svc.runs.company("2025-09", "ok").invoice_number == "N1"
    assert svc.runs.company("2025-09", "bad").error_type == "ConfigurationError"


def test_run_in_process_reports_every_company_and_a_rerun_bills_only_the_rest():
    svc = service({"a": "N1", "b": ConfigurationError("no rate"), "c": RuntimeError("boom")})
    seen = []
    outcome = svc.in_process_runs.run_in_process(MonthQuery(9, 2025), concurrency=2, on_progress=seen.append)
    assert outcome.done == {"a": "N1"}
    assert outcome.failed == {"b": "no rate", "c": "RuntimeError: boom"}
    assert not outcome.ok and len(seen) == 3
    assert svc.runs.state_of("2025-09") == {"a": "done", "b": "failed", "c": "failed"}

    svc.issuance.outcomes.update({"b": "N2", "c": "N3"})
    again = svc.in_process_runs.run_in_process(MonthQuery(9, 2025))
    assert again.ok and again.done == {"a": "N1", "b": "N2", "c": "N3"} and again.earlier == {"a"}
    assert sorted(svc.issuance.issued) == ["a", "b", "c"]  # a was not issued again
    assert svc.runs.state_of("2025-09") == {"a": "done", "b": "done", "c": "done"}


def test_a_rerun_publishes_only_the_companies_not_done():
    svc = service({"a": "N1", "b": ConfigurationError("no rate"), "c": "N3"})
    svc.run_fanout.start_run(MonthQuery(9, 2025))
    svc.publisher.messages = [m for m in svc.publisher.messages if m[1]["companyId"] != "c"]  # c still in flight
    deliver(svc)
    assert svc.runs.state_of("2025-09") == {"a": "done", "b": "failed", "c": "pending"}
    svc.run_fanout.start_run(MonthQuery(9, 2025))  # another firing: failed b is replayed, recently published c is not doubled
    assert svc.publisher.companies() == ["b"]


def test_a_fan_out_stopped_halfway_resumes_at_its_cursor():
    ids = [f"c{i:02d}" for i in range(10)]
    svc = service({cid: f"N{cid}" for cid in ids}, publisher=MemoryPublisher(fail_after_batches=2),
                  run_fanout_chunk=3)
    with pytest.raises(KeyboardInterrupt):
        svc.run_fanout.start_run(MonthQuery(9, 2025), fanout_id="event-1")
    fanout = svc.runs.summary("2025-09").document["fanout"]
    assert (fanout["finished"], fanout["position"], fanout["cursor"]) == (False, 3, "c02")
    first = svc.publisher.companies()
    assert first == ids[:6]  # the second chunk was handed over but never confirmed

    svc.publisher = MemoryPublisher()
    result = svc.run_fanout.start_run(MonthQuery(9, 2025), fanout_id="event-1")  # Pub/Sub redelivers the same event
    assert svc.publisher.companies() == ids[3:]
    assert (result["resumedFrom"], result["published"]) == (3, 10)
    assert svc.runs.summary("2025-09").document["fanout"]["finished"] is True

    svc.publisher = MemoryPublisher()
    assert svc.run_fanout.start_run(MonthQuery(9, 2025), fanout_id="event-1")["status"] == "already fanned out"
    assert svc.publisher.companies() == []


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


def test_every_timezone_is_billed_once_its_month_has_ended_and_none_is_failed_for_it():
    zones = {"akl": "Pacific/Auckland", "kol": "Asia/Kolkata", "utc": "UTC", "lax": "America/Los_Angeles"}
    companies = {cid: {"name": cid, "billing": {"ratePerMinute": 2, "maintenanceFee": 100, "timezone": tz}}
                 for cid, tz in zones.items()}
    clock = Clock(datetime(2025, 11, 1, 2, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))))
    svc = fake_container(companies=companies, calls={}, clock=clock, render_pdf=lambda doc: b"PDF")
    runs, invoices = svc.runs, svc.invoices

    def fire():
        result = svc.run_fanout.start_run(MonthQuery(), fanout_id=f"firing-{clock.now.isoformat()}")
        published = svc.publisher.companies()
        deliver(svc)
        assert runs.counts("2025-10", ["failed"]) == {"failed": 0}
        return result["period"], sorted(published)

    assert fire() == ("2025-10", ["akl", "kol"])  # 02:00 IST on the 1st
    assert runs.state_of("2025-10") == {"akl": "done", "kol": "done", "utc": "waiting", "lax": "waiting"}
    assert "ends 2025-11-01T00:00:00-07:00 in America/Los_Angeles" in runs.company("2025-10", "lax").reason
    # A worker handed a company too early (a stale or manual message) records waiting, not failed.
    assert svc.run_worker.process_company(job("lax", 10, 2025))["state"] == "waiting"

    clock.now = datetime(2025, 11, 1, 0, 30, tzinfo=timezone.utc)  # 06:00 IST
    assert fire() == ("2025-10", ["utc"])
    clock.now = datetime(2025, 11, 1, 7, 30, tzinfo=timezone.utc)  # 00:30 in Los Angeles
    assert fire() == ("2025-10", ["lax"])
    clock.now = datetime(2025, 11, 2, 17, 30, tzinfo=timezone.utc)  # the last hourly firing
    assert fire() == ("2025-10", [])
    assert runs.state_of("2025-10") == dict.fromkeys(zones, "done")
    numbers = sorted(doc["invoiceNumber"] for doc in invoices.docs.values())
    assert [int(n.rsplit("/", 1)[1]) for n in numbers] == [1, 2, 3, 4]


@pytest.mark.parametrize("now, period", [
    (datetime(2025, 10, 31, 9, 59, tzinfo=timezone.utc), "2025-09"),  # 23:59 in UTC+14: October not over
    (datetime(2025, 10, 31, 10, 0, tzinfo=timezone.utc), "2025-10"),  # October ended in Kiribati
    (datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc), "2025-12"),
])
def test_a_firing_without_a_month_bills_the_latest_month_ended_anywhere(now, period):
    svc = service({"a": "N1"})
    svc.clock = lambda: now
    assert svc.run_context.period(MonthQuery()).key == period


def test_a_named_month_that_has_ended_nowhere_is_refused():
    svc = service({"a": "N1"})
    with pytest.raises(ValidationError, match="has not ended"):
        svc.run_fanout.start_run(MonthQuery(10, 2025))
    assert svc.runs.summaries == {}


def test_status_counts_every_state_and_pages_the_failed_companies():
    svc = service({f"f{i}": ConfigurationError(f"bad {i}") for i in range(5)} | {"ok": "N1"})
    svc.in_process_runs.run_in_process(MonthQuery(9, 2025))
    first = svc.run_status.status("2025-09", page_size="2")
    assert first["counts"] == {"pending": 0, "waiting": 0, "retrying": 0, "drafted": 0, "done": 1, "failed": 5,
                               "skipped": 0}
    assert first["total"] == 6
    assert [(f["companyId"], f["error"], f["errorType"]) for f in first["failed"]] == [
        ("f0", "bad 0", "ConfigurationError"), ("f1", "bad 1", "ConfigurationError")]
    pages = [first["failed"]]
    token = first["nextPageToken"]
    while token:
        page = svc.run_status.status("2025-09", page_size="2", page_token=token)
        pages.append(page["failed"])
        token = page["nextPageToken"]
    assert [[f["companyId"] for f in p] for p in pages] == [["f0", "f1"], ["f2", "f3"], ["f4"]]
    with pytest.raises(ValidationError):
        svc.run_status.status("2025-09", page_size="0")
    with pytest.raises(ValidationError):
        svc.run_status.status("2025-09", page_token="../x")


def test_request_run_pubsub_mode_publishes_one_trigger_message():
    svc = service({"a": "N1"})
    result = svc.run_trigger.request_run(MonthQuery(9, 2025))
    assert result["status"] == "requested" and result["period"] == "2025-09"
    assert [(t, p) for t, p, _ in svc.publisher.messages] == [
        ("billing-monthly-trigger", {"month": 9, "year": 2025, "trigger": "http"})]
    # Recorded once the broker has the message, so the status URL answers at once; no company state
    # is written here (the trigger function fans out).
    assert svc.runs.summaries["2025-09"]["triggers"] == [{"by": "http (requested)"}]
    assert svc.runs.companies == {}
    svc.publisher = MemoryPublisher(fail_after_batches=None)
    svc.publisher.publish = lambda *args: (_ for _ in ()).throw(TransientError("topic missing"))
    with pytest.raises(TransientError):
        svc.run_trigger.request_run(MonthQuery(8, 2025))
    assert "2025-08" not in svc.runs.summaries  # publishing failed: nothing written


def test_request_run_in_process_mode_bills_in_the_background():
    svc = service({"a": "N1", "b": "N2"}, run_mode="in-process")
    assert svc.run_trigger.request_run()["status"] == "started"
    deadline = time.monotonic() + 10
    while svc.runs.state_of("2025-09") != {"a": "done", "b": "done"}:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert svc.publisher.messages == []
    assert svc.runs.summaries["2025-09"]["triggers"] == [{"by": "http"}]


class Container:
    """What the event handlers use of the container, with the event age limit set."""

    def __init__(self, svc, max_age=3600):
        self.run_fanout, self.run_worker, self.sequencer = svc.run_fanout, svc.run_worker, svc.sequencer
        self.runs, self.run_alerts = svc.runs, svc.run_alerts
        self.settings = Settings(max_event_age_seconds=max_age)


def event(payload, published: datetime, attributes=None, event_id="evt-1"):
    data = {"message": {"data": base64.b64encode(json.dumps(payload).encode()).decode(), "messageId": event_id,
                        "attributes": attributes or {}}}
    return CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub/x",
                       "id": event_id, "time": published.isoformat()}, data)


def test_worker_issues_the_named_company():
    svc = service({"a": "N1"})
    handle_company_message(event({"companyId": "a", "month": 9, "year": 2025}, datetime.now(timezone.utc)),
                           Container(svc))
    assert svc.runs.company("2025-09", "a").state == "drafted"  # rated; the sequencer numbers it
    [(topic, payload, _)] = svc.publisher.messages
    assert topic == "billing-sequencer"
    svc.publisher.messages.clear()
    handle_sequencer_message(event(payload, datetime.now(timezone.utc)), Container(svc))
    [(topic, finish, _)] = svc.publisher.messages
    assert topic == "billing-company-invoice" and finish["step"] == "finish"
    handle_company_message(event(finish, datetime.now(timezone.utc)), Container(svc))
    assert svc.runs.company("2025-09", "a").state == "done"
    assert svc.runs.company("2025-09", "a").invoice_number == "N1"


def test_monthly_trigger_event_fans_out_under_its_event_id():
    svc = service({"a": "N1"})
    handle_monthly_trigger(event({"trigger": "scheduler"}, datetime.now(timezone.utc), event_id="m-7"),
                           Container(svc))
    assert svc.runs.summary("2025-09").document["fanout"]["id"] == "m-7"
    assert svc.runs.state_of("2025-09") == {"a": "pending"}


def test_events_older_than_the_limit_are_dropped_and_the_company_marked(caplog):
    svc = service({"a": "N1"})
    old = datetime.now(timezone.utc) - timedelta(hours=2)
    with caplog.at_level("ERROR", logger="billing.events"):
        handle_company_message(event({"companyId": "a", "month": 9, "year": 2025, "runId": "2025-09"}, old),
                               Container(svc, 3600))
        handle_monthly_trigger(event({}, old), Container(svc, 3600))
    assert svc.issuance.issued == [] and svc.publisher.messages == []
    assert caplog.text.count("dropping event older than the configured age") == 2
    record = svc.runs.company("2025-09", "a").document
    assert record["state"] == "failed" and record["errorType"] == "EventTooOld"
    assert "BILLING_MAX_EVENT_AGE_SECONDS" in record["error"]


def test_a_dead_lettered_message_marks_its_company_failed_with_the_reason():
    svc = service({"a": "N1", "b": "N2"})
    svc.run_worker.process_company(job("b", 9, 2025), batched=False)
    attrs = {"CloudPubSubDeadLetterSourceDeliveryCount": "10",
             "CloudPubSubDeadLetterSourceSubscription": "projects/p/subscriptions/worker"}
    for cid in ("a", "b"):
        handle_dead_letter(event({"companyId": cid, "month": 9, "year": 2025, "runId": "2025-09"},
                                 datetime.now(timezone.utc), attrs), Container(svc))
    record = svc.runs.company("2025-09", "a").document
    assert (record["state"], record["errorType"]) == ("failed", "DeadLettered")
    assert "after 10 delivery attempts on projects/p/subscriptions/worker" in record["error"]
    assert svc.runs.company("2025-09", "b").state == "done"  # done before it was dead-lettered: kept


def test_malformed_worker_message_is_acknowledged_not_retried(caplog):
    svc = service({"a": "N1"})
    with caplog.at_level("ERROR", logger="billing.events"):
        handle_company_message(event({"month": 9}, datetime.now(timezone.utc)), Container(svc))
    assert "malformed" in caplog.text and svc.runs.companies == {}


def test_monthly_trigger_with_a_bad_month_logs_and_acks(caplog):
    svc = service({"a": "N1"})
    with caplog.at_level("ERROR", logger="billing.events"):
        handle_monthly_trigger(event({"month": 13, "year": 2025}, datetime.now(timezone.utc)), Container(svc))
    assert "month must be" in caplog.text and svc.publisher.messages == [] and svc.runs.summaries == {}


@pytest.mark.parametrize("env, mode", [
    ({}, "in-process"),
    ({"PUBSUB_EMULATOR_HOST": "127.0.0.1:8085"}, "pubsub"),
    ({"K_SERVICE": "billing-http"}, "pubsub"),
    ({"K_SERVICE": "x", "BILLING_RUN_MODE": "in-process"}, "in-process"),
])
def test_run_mode_follows_configuration(env, mode):
    assert Settings.from_env(env).run_mode == mode


def test_an_unknown_run_mode_is_refused():
    with pytest.raises(ConfigurationError, match="BILLING_RUN_MODE"):
        Settings.from_env({"BILLING_RUN_MODE": "carrier-pigeon"})


def test_a_run_numbers_its_invoices_in_batches_not_one_transaction_each():
    """Workers draft, the sequencer numbers the drafts in batches and hands them back to finish."""
    ids = [f"c{i:03d}" for i in range(250)]
    svc = service({cid: f"N{cid}" for cid in ids}, numbering_batch=100)
    svc.run_fanout.start_run(MonthQuery(9, 2025))
    deliver(svc)
    assert svc.runs.state_of("2025-09") == {cid: "done" for cid in ids}
    assert sorted(svc.issuance.issued) == ids
    assert svc.issuance.batches == 3  # ceil(250 / 100) counter transactions, not 250

    in_process = service({cid: f"N{cid}" for cid in ids}, numbering_batch=100)
    assert in_process.in_process_runs.run_in_process(MonthQuery(9, 2025), concurrency=4).ok
    assert in_process.issuance.batches == 3


# -- one sequencer wake per window (services.runs.wake) -------------------------------------------

def waking_service(outcomes, clock=lambda: NOW):
    issuance = Issuance(outcomes)
    c = fake_container(Settings(), companies={cid: {"name": cid} for cid in outcomes}, clock=clock,
                       issuance=issuance, finisher=issuance, numbering=issuance, queries=issuance)
    c.run_context.sleep = lambda seconds: None
    return c


def wakes(svc):
    return sum(topic == svc.settings.sequencer_topic for topic, _, _ in svc.publisher.messages)


def test_many_drafts_in_one_window_publish_one_wake_and_every_company_is_issued():
    ids = [f"c{i:03d}" for i in range(120)]
    svc = waking_service({cid: f"N{cid}" for cid in ids})
    svc.run_fanout.start_run(MonthQuery(9, 2025))
    for _, payload, _ in list(svc.publisher.messages):
        svc.run_worker.process_company(worker_job(payload))
    assert wakes(svc) == 1
    deliver(svc)
    assert sorted(svc.issuance.issued) == ids


def test_after_the_sequencer_is_idle_the_next_draft_wakes_it_again():
    svc = waking_service({"a": "N1", "b": "N2"})
    svc.run_worker.process_company(job("a", 9, 2025))
    deliver(svc)
    svc.run_worker.process_company(job("b", 9, 2025))  # same window, but the sequencer released its claim
    assert wakes(svc) == 1
    deliver(svc)
    assert svc.issuance.issued == ["a", "b"]


def test_a_draft_made_while_the_sequencer_releases_is_numbered_by_its_last_look():
    svc = waking_service({"a": "N1", "late": "N2"})
    svc.run_worker.process_company(job("a", 9, 2025))
    claims = svc.wake_claims
    release = claims.release

    def release_after_a_late_draft(run_id, key):
        svc.run_worker.process_company(job("late", 9, 2025))  # the claim is still held: no wake published
        release(run_id, key)

    claims.release = release_after_a_late_draft
    svc.publisher.messages.clear()
    assert svc.sequencer.sequence("2025-09") == 2 and wakes(svc) == 0


def test_a_wake_that_could_not_be_published_leaves_the_window_free_for_the_retry():
    svc = waking_service({"a": "N1"})
    publish = svc.publisher.publish
    svc.publisher.publish = lambda *args: (_ for _ in ()).throw(TransientError("pubsub down"))
    with pytest.raises(TransientError):
        svc.run_worker.process_company(job("a", 9, 2025))
    svc.publisher.publish = publish
    svc.run_worker.process_company(job("a", 9, 2025))  # the redelivery
    assert wakes(svc) == 1


def test_the_next_window_wakes_again_when_a_claim_was_never_released():
    times = [NOW]
    svc = waking_service({"a": "N1", "b": "N2"}, clock=lambda: times[0])
    svc.run_worker.process_company(job("a", 9, 2025))
    svc.run_worker.process_company(job("b", 9, 2025))
    assert wakes(svc) == 1  # (the sequencer never ran: its claim stays)
    times[0] = NOW + timedelta(seconds=61)
    svc.run_worker.finish_company(FinishJob("a", 9, 2025, "2025-09"))  # still a draft: asks again, new window
    assert wakes(svc) == 2


def test_the_run_status_shows_the_companies_with_unplaced_call_logs():
    from billing.domain.rating import CallRecord

    start = datetime(2025, 9, 2, tzinfo=timezone.utc)
    calls = {"odd": [CallRecord("ok", start, 60), CallRecord("s", "2025-09-02", 60),  # type: ignore[arg-type]
                     CallRecord("m", None, 60)],
             "fine": [CallRecord("ok", start, 60)]}
    companies = {cid: {"name": cid, "billing": {"ratePerMinute": 2}} for cid in calls}
    svc = fake_container(companies=companies, calls=calls, render_pdf=lambda doc: b"PDF",
                         clock=lambda: datetime(2025, 10, 2, tzinfo=timezone.utc))
    assert svc.in_process_runs.run_in_process(MonthQuery(9, 2025)).ok
    status = svc.run_status.status("2025-09")
    assert status["unplacedCalls"] == [{"companyId": "odd", "count": 2}]
    assert status["counts"]["done"] == 2
    assert svc.invoices.docs["odd_2025-09"]["totalAmount"] == 2.36  # one minute at 2 + GST: the others bill nothing
