"""The run's per-state counters on the Firestore emulator equal a count of the run's records at
every step of a month: a run with a failure, workers retried (the same state again, a transient
retry, an undelivered message after the company is done), a state recorded by several deliveries
at once, and a rerun once the failure is fixed. A run created before the counters existed is
counted by aggregation queries."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

import pytest
from google.cloud import firestore

from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.domain.runs import RunChange, RunState
from billing.services.runs.common import STATES
from billing.services.runs.messages import CompanyJob
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

NOW = datetime(2025, 11, 20, 9, 0, tzinfo=timezone.utc)
RUN = "2025-09"


def exact(c: Container) -> dict[str, int]:
    """The counters, checked against a count query per state and a read of every record."""
    kept = c.runs.counts(RUN, STATES)
    assert kept == c.runs.counted(RUN, STATES)
    states = [(s.to_dict() or {}).get("state") for s in c.runs._companies(RUN).stream()]  # type: ignore[attr-defined]
    assert sum(kept.values()) == len(states)
    return {state: n for state, n in kept.items() if n}


@pytest.fixture
def c(storage_emulator, firestore_emulator) -> Container:
    settings = Settings(project=f"counts-{uuid.uuid4().hex[:8]}", bucket=f"b-{uuid.uuid4().hex[:8]}")
    c = Container(settings, clock=lambda: NOW)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    return c


def test_counters_equal_the_records_through_a_month(c):
    companies = c.firestore.collection("companies")
    companies.document("webxpress").update({"billing.ratePerMinute": firestore.DELETE_FIELD})
    outcome = c.in_process_runs.run_in_process(MonthQuery(9, 2025), concurrency=2)
    assert not outcome.ok
    assert c.runs.summary(RUN).document.get("countsKept") is True
    assert exact(c) == {"done": 2, "failed": 1}

    # Workers retried: the same company's message delivered again (done again: nothing moves),
    # a transient failure and its retry, an undelivered message after the company is done.
    job = CompanyJob("vysedeck", 9, 2025, RUN)
    assert c.run_worker.process_company(job, batched=False)["state"] == "done"
    assert exact(c) == {"done": 2, "failed": 1}
    c.runs.mark(RUN, "dcgpac", RunChange(RunState.RETRYING, error="Firestore unavailable"))
    assert exact(c) == {"done": 1, "retrying": 1, "failed": 1}
    c.runs.mark(RUN, "dcgpac", RunChange(RunState.RETRYING, error="Firestore unavailable again"))
    c.runs.mark(RUN, "dcgpac", RunChange(RunState.DONE))
    assert exact(c) == {"done": 2, "failed": 1}
    assert c.run_worker.record_undelivered(job, "dead-lettered", "TransientError") is False
    assert exact(c) == {"done": 2, "failed": 1}

    # Eight deliveries of one state change at once: it is counted once.
    c.runs.set_states(RUN, {"late-co": RunChange(RunState.PENDING)})
    assert exact(c) == {"done": 2, "failed": 1, "pending": 1}
    start = threading.Barrier(8)

    def deliver() -> None:
        start.wait()
        c.runs.mark(RUN, "late-co", RunChange(RunState.FAILED, error="no such company"))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert exact(c) == {"done": 2, "failed": 2}
    assert c.runs.company(RUN, "late-co").attempts == 8

    # The failure fixed, the month run again: only what was not done is redone.
    companies.document("webxpress").update({"billing.ratePerMinute": 0.5})
    c.runs.set_states(RUN, {"late-co": RunChange(RunState.SKIPPED, reason="removed")})
    assert c.in_process_runs.run_in_process(MonthQuery(9, 2025), concurrency=2).ok
    assert exact(c) == {"done": 3, "skipped": 1}
    report = c.run_status.status(RUN)
    assert report["counts"]["done"] == 3 and report["total"] == 4 and report["failed"] == []


def test_a_run_from_before_the_counters_is_counted_by_queries(c):
    c.runs.set_states(RUN, {"vysedeck": RunChange(RunState.DONE), "dcgpac": RunChange(RunState.FAILED, error="x")})
    c.firestore.collection("billingRuns").document(RUN).set({"period": RUN, "createdAt": "earlier"})
    for ref in c.firestore.collection("billingRuns").document(RUN).collection("stateCounts").list_documents():
        ref.delete()
    assert c.runs.counts(RUN, STATES) == {**{s: 0 for s in STATES}, "done": 1, "failed": 1}
    c.runs.record_trigger(RUN, RUN, "cli")  # re-triggered: still counted by queries (no counters kept)
    assert "countsKept" not in c.runs.summary(RUN).document
    assert c.runs.counts(RUN, STATES)["done"] == 1
