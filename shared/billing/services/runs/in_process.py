"""In-process runs (the droplet: CLI and POST /billing/run): every due company here, in a thread pool."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Callable, Mapping, Sequence

from billing.domain.company import Company
from billing.domain.period import BillingPeriod, MonthQuery
from billing.domain.runs import RunChange
from billing.errors import BillingError, TransientError, error_type
from billing.services import run_problems
from billing.services.runs import answers
from billing.services.runs.answers import JsonAnswer
from billing.services.runs.common import Numberer, RunContext, RunState
from billing.services.runs.messages import CompanyJob, FinishJob
from billing.services.runs.worker import CompanyWorker, Result

log = logging.getLogger("billing.services.runs")

Progress = Callable[[Result], None]


@dataclass
class RunOutcome:
    """What an in-process run did, per company."""

    period: str
    done: dict[str, str | None] = field(default_factory=dict)  # companyId -> invoiceNumber
    failed: dict[str, str] = field(default_factory=dict)  # companyId -> reason
    waiting: dict[str, str] = field(default_factory=dict)  # companyId -> why not yet
    skipped: dict[str, str] = field(default_factory=dict)  # companyId -> why its month is not billed
    earlier: set[str] = field(default_factory=set)  # done by an earlier run of the month

    @property
    def ok(self) -> bool:
        return not self.failed

    def tally(self, result: Result) -> None:
        cid, state = result["companyId"], result["state"]
        if state == RunState.DONE:
            self.done[cid] = result.get("invoiceNumber")
        elif state == RunState.WAITING:
            self.waiting[cid] = str(result.get("reason", ""))
        elif state == RunState.SKIPPED:
            self.skipped[cid] = str(result.get("reason", ""))
        else:
            self.failed[cid] = str(result.get("error", ""))


class InProcessRuns:
    def __init__(self, ctx: RunContext, worker: CompanyWorker, numbering: Numberer):
        self.ctx = ctx
        self.worker = worker
        self.numbering = numbering
        self._running: set[str] = set()
        self._running_lock = threading.Lock()

    def run_in_process(self, query: MonthQuery = MonthQuery(), concurrency: int | None = None,
                       on_progress: Progress | None = None, trigger: str = "cli") -> RunOutcome:
        """Bill every due company not yet done, here, with a bounded pool (no Pub/Sub)."""
        period, now = self.ctx.period(query), self.ctx.clock()
        self.ctx.runs.record_trigger(period.key, period.key, trigger)
        outcome = RunOutcome(period.key)
        todo = self._prepare(period, now, outcome)
        workers = max(1, concurrency or self.ctx.settings.run_concurrency)
        # Companies already run in parallel here: one stream per month reads fastest.
        slices = 1 if workers > 1 else None

        def draft(cid: str) -> Result:  # the same messages as the Pub/Sub run, handled here
            job = CompanyJob(cid, period.month, period.year, period.key)
            return self.worker.process_company(job, read_slices=slices, wake=False, company=todo[cid])

        def finish(cid: str) -> Result:
            return self.worker.finish_company(FinishJob(cid, period.month, period.year, period.key))

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="billing-run") as pool:
            # 1. rate every company into a draft, in parallel; 2. number the drafts here, in batches
            # (this process is the run's only sequencer); 3. finish the numbered ones, in parallel.
            drafted = self._in_pool(pool, sorted(todo), period, draft, outcome, on_progress)
            drafted = self._number_all(period, drafted, outcome)
            self._in_pool(pool, drafted, period, finish, outcome, on_progress)
        if self.ctx.alerts is not None:
            self.ctx.alerts.check(period.key)
        return outcome

    def _number_all(self, period: BillingPeriod, drafted: list[str], outcome: RunOutcome) -> list[str]:
        """Number every waiting draft here; the drafted companies left to finish (those numbering
        could not serve are recorded failed)."""

        def number_all() -> None:
            while self.numbering.number_pending(self.ctx.settings.numbering_batch):
                pass

        _, unserved = run_problems.guarded(self.ctx.runs, period.key, RunState.DRAFTED,
                                           "numbering drafts", number_all)
        outcome.failed.update(unserved)
        return [cid for cid in drafted if cid not in unserved]

    def _prepare(self, period: BillingPeriod, now: datetime, outcome: RunOutcome) -> dict[str, Company | None]:
        """Record pending / waiting companies; returns the ones to bill now, each with its Company
        (None: a malformed document, read again and reported failed when billed)."""
        states = self.ctx.runs.states(period.key)
        entries: dict[str, RunChange] = {}
        todo: dict[str, Company | None] = {}
        for cid, doc in sorted(self.ctx.companies.list_active(), key=lambda item: item[0]):
            current = states.get(cid)
            if current is not None and current.state is RunState.DONE:
                outcome.done[cid] = current.invoice_number
                outcome.earlier.add(cid)
            elif reason := self.ctx.not_yet(doc, period, now):
                outcome.waiting[cid] = reason
                entries[cid] = RunChange(RunState.WAITING, reason=reason)
            else:
                todo[cid] = doc
                entries[cid] = RunChange(RunState.PENDING)
        self.ctx.runs.set_states(period.key, entries)
        return todo

    def _in_pool(self, pool: ThreadPoolExecutor, company_ids: Sequence[str], period: BillingPeriod,
                 work: Callable[[str], Result], outcome: RunOutcome, on_progress: Progress | None) -> list[str]:
        """Run `work` for each company (failures reported); tally finished ones; return the ids left drafted."""
        drafted = []
        futures = [pool.submit(self._reported, cid, period, partial(work, cid)) for cid in company_ids]
        for future in as_completed(futures):
            result = future.result()
            if result["state"] == RunState.DRAFTED:
                drafted.append(result["companyId"])
                continue
            outcome.tally(result)
            if on_progress:
                on_progress(result)
        return sorted(drafted)

    def _reported(self, cid: str, period: BillingPeriod, step: Callable[[], Result]) -> Result:
        try:
            return step()
        except Exception as exc:  # transient here too: report it, the operator reruns the month
            reason = exc.detail if isinstance(exc, BillingError) else f"{type(exc).__name__}: {exc}"
            try:
                self.ctx.mark(period.key, cid, RunChange(RunState.FAILED, error=reason, error_type=error_type(exc)))
            except TransientError:
                pass  # reported below and in the exit status either way
            return {"companyId": cid, "state": RunState.FAILED.value, "error": reason}

    def start_in_background(self, period: BillingPeriod, trigger: str = "http") -> JsonAnswer:
        """Run the month in a background thread of this process (one at a time per month)."""
        with self._running_lock:
            if period.key in self._running:
                return answers.requested(period, "in-process", "already running")
            self._running.add(period.key)
        thread = threading.Thread(target=self._background, args=(period, trigger), daemon=True,
                                  name=f"billing-run-{period.key}")
        thread.start()
        return answers.requested(period, "in-process", "started")

    def _background(self, period: BillingPeriod, trigger: str) -> None:
        try:
            outcome = self.run_in_process(MonthQuery.of(period), trigger=trigger)
            log.info("background billing run finished", extra={"json_fields": {
                "runId": period.key, "done": len(outcome.done), "failed": len(outcome.failed),
                "waiting": len(outcome.waiting)}})
        except Exception:  # a thread has no caller: the run record and this log are the report
            log.exception("background billing run stopped", extra={"json_fields": {"runId": period.key}})
        finally:
            with self._running_lock:
                self._running.discard(period.key)
