"""The monthly run: fan out one job per company whose month has ended, record each company's state.

Run records (DESIGN 3): a small summary `billingRuns/{YYYY-MM}` and one document per company
`billingRuns/{YYYY-MM}/companies/{companyId}`; counts come from aggregation queries.

A firing without month/year bills the latest month that has ended anywhere on Earth (UTC+14):
every company whose own month has ended is published, the others wait for a later firing
(the Scheduler fires hourly over the first two days of each month).

Numbering in batches: workers rate each company's month into a draft invoice (in parallel) and
wake the sequencer; the sequencer (one instance) numbers the waiting drafts in batches of up to
`numbering_batch` per counter transaction, in draft order, and hands each numbered invoice back to
the workers to finish (PDF, CSV, email). No invoice of a run takes its own counter transaction.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Protocol, Sequence

from billing.config import Settings
from billing.domain.period import BillingPeriod, parse_period
from billing.errors import BillingError, NotFoundError, TransientError, ValidationError, error_type
from billing.ports import CompanyRepository, Publisher, RunRepository
from billing.services import run_problems
from billing.services.run_alerts import RunAlerts
from billing.services.sequencer_wake import SequencerWake

log = logging.getLogger(__name__)

PENDING, WAITING, RETRYING, DONE, FAILED = "pending", "waiting", "retrying", "done", "failed"
DRAFTED = "drafted"  # rated; waiting for the sequencer's number
PERMANENT = FAILED
STATES = (PENDING, WAITING, RETRYING, DRAFTED, DONE, FAILED)
# The first timezone in which any month ends (Kiribati, UTC+14; the Etc sign is inverted).
EARLIEST_ZONE = "Etc/GMT-14"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 500
TOKEN = re.compile(r"[a-z0-9_-]{1,64}")

Message = tuple[Mapping[str, Any], Mapping[str, str]]


class Issuer(Protocol):
    def generate(self, company_id: str, month: Any = None, year: Any = None,
                 read_slices: int | None = None) -> dict[str, Any]: ...

    def draft(self, company_id: str, month: Any = None, year: Any = None,
              read_slices: int | None = None) -> dict[str, Any]: ...

    def number_pending(self, batch_size: int = 300) -> list[dict[str, Any]]: ...

    def pending_count(self, limit: int) -> int: ...

    def finish(self, doc: dict[str, Any]) -> dict[str, Any]: ...

    def get(self, company_id: str, period_key: str) -> dict[str, Any]: ...


class Deliverer(Protocol):
    def deliver_quietly(self, invoice: Mapping[str, Any]) -> Any: ...


@dataclass
class RunOutcome:
    """What an in-process run did, per company."""

    period: str
    done: dict[str, str | None] = field(default_factory=dict)  # companyId -> invoiceNumber
    failed: dict[str, str] = field(default_factory=dict)  # companyId -> reason
    waiting: dict[str, str] = field(default_factory=dict)  # companyId -> why not yet
    earlier: set[str] = field(default_factory=set)  # done by an earlier run of the month

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class _Fanout:
    """Progress of one fan-out, saved in the summary as its resume cursor."""

    id: str
    total: int
    started_at: str
    cursor: str = ""  # the last company id whose message the broker confirmed
    position: int = 0  # companies passed, in id order
    published: int = 0
    waiting: int = 0
    skipped: int = 0
    resumed_from: int | None = None
    finished: bool = False

    def to_doc(self) -> dict[str, Any]:
        return {"id": self.id, "total": self.total, "startedAt": self.started_at, "cursor": self.cursor,
                "position": self.position, "published": self.published, "waiting": self.waiting,
                "skipped": self.skipped, "resumedFrom": self.resumed_from, "finished": self.finished}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> "_Fanout":
        return cls(id=str(doc["id"]), total=int(doc.get("total", 0)), started_at=str(doc.get("startedAt", "")),
                   cursor=str(doc.get("cursor", "")), position=int(doc.get("position", 0)),
                   published=int(doc.get("published", 0)), waiting=int(doc.get("waiting", 0)),
                   skipped=int(doc.get("skipped", 0)), finished=bool(doc.get("finished", False)))


class RunService:
    """Starts runs (Pub/Sub fan-out or in-process), processes one company, reports a run."""

    def __init__(
        self,
        *,
        companies: CompanyRepository,
        runs: RunRepository,
        issuance: Issuer,
        settings: Settings,
        publisher: Publisher | None = None,
        delivery: Deliverer | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        sleep: Callable[[float], None] = time.sleep,
        wake: SequencerWake | None = None,
        alerts: RunAlerts | None = None,
    ):
        self.wake = wake  # coalesces the sequencer's wakes (None: one per call)
        self.alerts = alerts  # emails the operator once about a run that needs a person
        self.sleep = sleep
        self.companies = companies
        self.runs = runs
        self.issuance = issuance
        self.settings = settings
        self.publisher = publisher
        self.delivery = delivery
        self.clock = clock
        self._running: set[str] = set()
        self._running_lock = threading.Lock()

    # -- which month, which companies ------------------------------------------------------------

    def period(self, month: Any = None, year: Any = None) -> BillingPeriod:
        """The run's month: the one named (ended somewhere), or the latest one ended in UTC+14."""
        return parse_period(month, year, EARLIEST_ZONE, self.clock())

    def month_end(self, company: Mapping[str, Any] | None, period: BillingPeriod) -> BillingPeriod | None:
        """The period in the company's own timezone, or None when its timezone is unusable."""
        billing = (company or {}).get("billing")
        tz = (billing.get("timezone") if isinstance(billing, Mapping) else None) or self.settings.default_timezone
        try:
            return BillingPeriod(period.year, period.month, str(tz))
        except BillingError:
            return None  # issuance reports the configuration error; it is not "not yet"

    def not_yet(self, company: Mapping[str, Any] | None, period: BillingPeriod, now: datetime) -> str | None:
        """Why the company's month has not ended yet at `now`, or None when it can be billed."""
        own = self.month_end(company, period)
        if own is None or own.end <= now:
            return None
        return f"{period.key} ends {own.end.isoformat()} in {own.timezone}"

    # -- starting a run --------------------------------------------------------------------------

    def request_run(self, month: Any = None, year: Any = None, trigger: str = "http") -> dict[str, Any]:
        """The manual trigger: publish to the monthly topic (pubsub mode) or bill here in the background."""
        period = self.period(month, year)
        if self.settings.run_mode == "in-process":
            return self.start_in_background(period, trigger)
        publisher = self._publisher()
        publisher.publish(self.settings.monthly_topic,
                          {"month": period.month, "year": period.year, "trigger": trigger}, {"source": trigger})
        # Only once the broker has the message: the status URL answers at once (nothing half-written
        # when publishing failed).
        self.runs.record_trigger(period.key, period.key, f"{trigger} (requested)")
        return {"runId": period.key, "period": period.key, "mode": "pubsub", "status": "requested"}

    def start_run(self, month: Any = None, year: Any = None, trigger: str = "scheduler",
                  fanout_id: str | None = None) -> dict[str, Any]:
        """Publish one message per company that is due and not done; resume a fan-out cut short.

        fanout_id is the triggering event's id: a redelivery of the same event continues from the
        summary's cursor instead of starting again."""
        publisher = self._publisher()
        period, now = self.period(month, year), self.clock()
        summary = self.runs.record_trigger(period.key, period.key, trigger)
        last = dict(summary.get("fanout") or {})
        if fanout_id and last.get("id") == fanout_id and last.get("finished"):
            return self._fanout_result(period, _Fanout.from_doc(last), "already fanned out")
        companies = sorted(self.companies.list_active(), key=lambda item: item[0])
        fanout = self._begin(last, fanout_id, len(companies))
        states = self.runs.states(period.key)
        remaining = [(cid, doc) for cid, doc in companies if cid > fanout.cursor]
        self._fan_out(publisher, period, now, remaining, states, last, fanout)
        log.info("billing run fanned out", extra={"json_fields": {"runId": period.key, "trigger": trigger,
                                                                 **fanout.to_doc()}})
        return self._fanout_result(period, fanout, "fanned out")

    def _publisher(self) -> Publisher:
        if self.publisher is None:
            raise BillingError("no publisher configured for the Pub/Sub fan-out")
        return self.publisher

    def _begin(self, last: Mapping[str, Any], fanout_id: str | None, total: int) -> _Fanout:
        """The same event's unfinished fan-out resumed at its cursor, or a new one from the start."""
        if fanout_id and last.get("id") == fanout_id:
            resumed = _Fanout.from_doc(last)
            resumed.total, resumed.resumed_from = total, resumed.position
            return resumed
        return _Fanout(id=fanout_id or uuid.uuid4().hex, total=total, started_at=self.clock().isoformat())

    def _fan_out(self, publisher: Publisher, period: BillingPeriod, now: datetime,
                 remaining: Sequence[tuple[str, Mapping[str, Any]]], states: Mapping[str, Mapping[str, Any]],
                 last: Mapping[str, Any], fanout: _Fanout) -> None:
        """Chunk by chunk: record states, publish (batched), and advance the cursor once confirmed.

        The next chunk is handed to the publisher before the previous one is waited for, so
        the broker always has work; the cursor only moves past confirmed messages."""
        in_flight: tuple[Callable[[], int], str, int] | None = None
        size = self.settings.run_fanout_chunk
        for start in range(0, len(remaining), size):
            chunk = remaining[start:start + size]
            entries, messages = self._plan(period, now, chunk, states, last, fanout)
            if entries:
                self.runs.set_states(period.key, entries)
            wait = publisher.publish_many(self.settings.worker_topic, messages) if messages else (lambda: 0)
            if in_flight is not None:
                self._confirm(period, fanout, *in_flight)
            in_flight = (wait, chunk[-1][0], fanout.position + len(chunk))
        if in_flight is not None:
            self._confirm(period, fanout, *in_flight)
        fanout.finished = True
        self.runs.save_fanout(period.key, fanout.to_doc())

    def _confirm(self, period: BillingPeriod, fanout: _Fanout, wait: Callable[[], int], cursor: str,
                 position: int) -> None:
        fanout.published += wait()
        fanout.cursor, fanout.position = cursor, position
        self.runs.save_fanout(period.key, fanout.to_doc())

    def _plan(self, period: BillingPeriod, now: datetime, chunk: Sequence[tuple[str, Mapping[str, Any]]],
              states: Mapping[str, Mapping[str, Any]], last: Mapping[str, Any],
              fanout: _Fanout) -> tuple[dict[str, dict[str, Any]], list[Message]]:
        """Which companies of the chunk to publish, and the states to record for them."""
        entries: dict[str, dict[str, Any]] = {}
        messages: list[Message] = []
        for cid, doc in chunk:
            current = states.get(cid) or {}
            if current.get("state") == DONE or self._queued(cid, current, last, now):
                fanout.skipped += 1
                continue
            reason = self.not_yet(doc, period, now)
            if reason:
                fanout.waiting += 1
                if current.get("state") != WAITING:
                    entries[cid] = {"state": WAITING, "reason": reason, "at": now.isoformat()}
                continue
            entries[cid] = {"state": PENDING, "fanout": fanout.id, "at": now.isoformat()}
            messages.append(({"companyId": cid, "month": period.month, "year": period.year, "runId": period.key},
                             {"companyId": cid, "period": period.key}))
        return entries, messages

    def _queued(self, cid: str, current: Mapping[str, Any], last: Mapping[str, Any], now: datetime) -> bool:
        """Published recently by a fan-out that confirmed it: another copy would only add load."""
        if current.get("state") not in (PENDING, RETRYING) or current.get("fanout") != last.get("id"):
            return False
        if not (last.get("finished") or cid <= str(last.get("cursor", ""))):
            return False
        try:
            at = datetime.fromisoformat(str(current.get("at")))
        except ValueError:
            return False
        return (now - at).total_seconds() < self.settings.run_republish_after_seconds

    @staticmethod
    def _fanout_result(period: BillingPeriod, fanout: _Fanout, status: str) -> dict[str, Any]:
        return {"runId": period.key, "period": period.key, "status": status, "companies": fanout.total,
                "published": fanout.published, "waiting": fanout.waiting, "skipped": fanout.skipped,
                "resumedFrom": fanout.resumed_from}

    # -- one company -----------------------------------------------------------------------------

    def process_company(self, company_id: str, month: int, year: int, run_id: str | None = None,
                        read_slices: int | None = None, batched: bool = True, wake: bool = True) -> dict[str, Any]:
        """Rate one company's month into a draft and wake the sequencer (batched numbering); or,
        with batched=False, issue it whole here. Permanent failures are recorded, not raised.

        A company whose month has not ended in its own timezone is recorded as waiting (a later
        firing publishes it again). A transient failure is raised so the caller (Pub/Sub) retries."""
        run_id = run_id or f"{year:04d}-{month:02d}"
        reason = self._not_yet_for(company_id, month, year)
        if reason:
            self._mark(run_id, company_id, WAITING, reason=reason)
            return {"companyId": company_id, "state": WAITING, "reason": reason}

        def step() -> dict[str, Any]:
            if not batched:
                return self._finished(run_id, self.issuance.generate(company_id, month, year, read_slices=read_slices))
            doc = self.issuance.draft(company_id, month, year, read_slices=read_slices)
            if doc.get("status") != "draft":
                return self._finished(run_id, self.issuance.finish(doc))
            self._mark(run_id, company_id, DRAFTED, invoiceId=doc.get("invoiceId"))
            if wake:
                self._wake_sequencer(run_id)
            return {"companyId": company_id, "state": DRAFTED}

        return self._guarded(run_id, company_id, step)

    def finish_company(self, company_id: str, month: int, year: int, run_id: str | None = None) -> dict[str, Any]:
        """The sequencer numbered this company's invoice: finish it (files, email), mark it done."""
        run_id = run_id or f"{year:04d}-{month:02d}"

        def step() -> dict[str, Any]:
            doc = self.issuance.get(company_id, f"{year:04d}-{month:02d}")
            if doc.get("status") == "draft":  # not numbered after all: ask again
                self._wake_sequencer(run_id)
                return {"companyId": company_id, "state": DRAFTED}
            return self._finished(run_id, self.issuance.finish(doc))

        return self._guarded(run_id, company_id, step)

    def _guarded(self, run_id: str, company_id: str, step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run a company's step; transient errors raise (redelivery), permanent ones are recorded."""
        try:
            return step()
        except TransientError as exc:
            self._mark(run_id, company_id, RETRYING, error=exc.detail)
            raise
        except BillingError as exc:
            self._mark(run_id, company_id, FAILED, error=exc.detail, errorType=error_type(exc))
            log.warning("company failed permanently", extra={"json_fields": {
                "runId": run_id, "companyId": company_id, "error": exc.detail}})
            return {"companyId": company_id, "state": FAILED, "error": exc.detail}

    def _finished(self, run_id: str, invoice: Mapping[str, Any]) -> dict[str, Any]:
        """An issued invoice: email it (once, when configured) and mark its company done."""
        company_id = str(invoice["companyId"])
        details: dict[str, Any] = {"invoiceNumber": invoice.get("invoiceNumber")}
        if invoice.get("status") == "void":  # voided by an operator without a reissue: left alone
            details["note"] = "the month's invoice is void; POST /billing/generate issues its reissue"
        elif self.delivery is not None and self.settings.send_email:
            details["delivery"] = self.delivery.deliver_quietly(invoice)
        self._mark(run_id, company_id, DONE, **details)
        return {"companyId": company_id, "state": DONE, **details}

    def _wake_sequencer(self, run_id: str) -> None:
        if self.wake is not None:
            self.wake.wake(run_id)
            return
        publisher = self._publisher()
        publisher.publish(self.settings.sequencer_topic, {"runId": run_id}, {"runId": run_id})

    # -- the sequencer: numbers in batches -------------------------------------------------------

    def sequence(self, run_id: str | None = None) -> int:
        """Number the waiting drafts in batches (one counter write each) and hand each numbered
        invoice to the workers to finish. Waits briefly while the run's companies are still being
        rated, so that batches fill up. Returns how many invoices it numbered."""
        deadline = time.monotonic() + self.settings.sequencer_max_seconds
        batch, numbered, last_seen = self.settings.numbering_batch, 0, -1
        while True:
            waiting = self.issuance.pending_count(batch)
            if waiting == 0:
                if self.wake is None:
                    return numbered
                self.wake.release(run_id)  # then look once more: a draft made before the release
                if not self.issuance.pending_count(batch):  # is seen here, one after it wakes us
                    return numbered
                continue
            rating = sum(self.runs.counts(run_id, (PENDING, RETRYING)).values()) if run_id else 0
            # Wait for a fuller batch only while drafts keep arriving (and not past the deadline).
            if waiting < batch and rating and waiting != last_seen and time.monotonic() < deadline:
                last_seen = waiting
                self.sleep(self.settings.sequencer_settle_seconds)
                continue
            docs = self.issuance.number_pending(batch)
            numbered += len(docs)
            last_seen = -1
            self._hand_back(docs)

    def _hand_back(self, docs: Sequence[Mapping[str, Any]]) -> None:
        messages: list[Message] = []
        for doc in docs:
            month_key = str(doc["billingPeriod"]["month"])
            year, month = int(month_key[:4]), int(month_key[5:7])
            payload = {"step": "finish", "companyId": doc["companyId"], "month": month, "year": year,
                       "runId": month_key, "invoiceId": doc.get("invoiceId")}
            messages.append((payload, {"companyId": str(doc["companyId"]), "period": month_key}))
        if messages:
            self._publisher().publish_many(self.settings.worker_topic, messages)()

    def _not_yet_for(self, company_id: str, month: int, year: int) -> str | None:
        """Why this company's month has not ended yet (None: bill it, or let issuance refuse it)."""
        try:
            period = BillingPeriod(int(year), int(month), EARLIEST_ZONE)
        except (BillingError, TypeError, ValueError):
            return None
        return self.not_yet(self.companies.get(company_id), period, self.clock())

    def record_undelivered(self, payload: Mapping[str, Any], reason: str, error_type: str) -> bool:
        """A worker message that will never be processed (dead-lettered, too old): the company is
        marked failed with the reason, unless it is already done. False when nothing was marked."""
        try:
            company_id, month, year = str(payload["companyId"]), int(payload["month"]), int(payload["year"])
        except (KeyError, TypeError, ValueError):
            return False
        run_id = str(payload.get("runId") or f"{year:04d}-{month:02d}")
        try:
            return self.runs.mark(run_id, company_id, FAILED, unless_done=True, error=reason, errorType=error_type)
        except BillingError:
            raise
        except Exception as exc:
            raise TransientError(f"could not update run record {run_id}: {exc}") from exc

    def _mark(self, run_id: str, company_id: str, state: str, **details: Any) -> None:
        """Record a company's state on the run. If that fails the error propagates: the
        message is redelivered and, issuance being idempotent, only the record is redone."""
        try:
            self.runs.mark(run_id, company_id, state, **details)
        except Exception as exc:
            log.error("could not update the run record", extra={"json_fields": {
                "runId": run_id, "companyId": company_id, "state": state, "error": str(exc)}})
            raise TransientError(f"could not update run record {run_id}: {exc}") from exc

    # -- in-process runs (the droplet: CLI and POST /billing/run) -------------------------------

    def run_in_process(
        self,
        month: Any = None,
        year: Any = None,
        concurrency: int | None = None,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        trigger: str = "cli",
    ) -> RunOutcome:
        """Bill every due company not yet done, here, with a bounded pool (no Pub/Sub)."""
        period, now = self.period(month, year), self.clock()
        self.runs.record_trigger(period.key, period.key, trigger)
        outcome = RunOutcome(period.key)
        todo = self._prepare_in_process(period, now, outcome)
        workers = max(1, concurrency or self.settings.run_concurrency)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="billing-run") as pool:
            # 1. rate every company into a draft, in parallel; 2. number the drafts here, in batches
            # (this process is the run's only sequencer); 3. finish the numbered ones, in parallel.
            drafted = self._in_pool(pool, todo, lambda cid: self._one_in_process(cid, period, workers),
                                    outcome, on_progress)
            def number_all() -> None:
                while self.issuance.number_pending(self.settings.numbering_batch):
                    pass

            _, unserved = run_problems.guarded(self.runs, period.key, DRAFTED, "numbering drafts", number_all)
            outcome.failed.update(unserved)
            drafted = [cid for cid in drafted if cid not in unserved]
            self._in_pool(pool, drafted, lambda cid: self._finish_in_process(cid, period), outcome, on_progress)
        if self.alerts is not None:
            self.alerts.check(period.key)
        return outcome

    def _prepare_in_process(self, period: BillingPeriod, now: datetime, outcome: RunOutcome) -> list[str]:
        """Record pending / waiting companies; returns the ones to bill now."""
        states = self.runs.states(period.key)
        entries: dict[str, dict[str, Any]] = {}
        todo: list[str] = []
        for cid, doc in sorted(self.companies.list_active(), key=lambda item: item[0]):
            current = states.get(cid) or {}
            if current.get("state") == DONE:
                outcome.done[cid] = current.get("invoiceNumber")
                outcome.earlier.add(cid)
            elif reason := self.not_yet(doc, period, now):
                outcome.waiting[cid] = reason
                entries[cid] = {"state": WAITING, "reason": reason}
            else:
                todo.append(cid)
                entries[cid] = {"state": PENDING}
        self.runs.set_states(period.key, entries)
        return todo

    @staticmethod
    def _in_pool(pool: ThreadPoolExecutor, company_ids: Sequence[str], work: Callable[[str], dict[str, Any]],
                 outcome: RunOutcome, on_progress: Callable[[dict[str, Any]], None] | None) -> list[str]:
        """Run `work` for each company; tally finished ones; return the ids left drafted."""
        drafted = []
        for future in as_completed([pool.submit(work, cid) for cid in company_ids]):
            result = future.result()
            if result["state"] == DRAFTED:
                drafted.append(str(result["companyId"]))
                continue
            _tally(outcome, result)
            if on_progress:
                on_progress(result)
        return sorted(drafted)

    def _finish_in_process(self, cid: str, period: BillingPeriod) -> dict[str, Any]:
        return self._reported(cid, period, lambda: self.finish_company(cid, period.month, period.year, period.key))

    def _one_in_process(self, cid: str, period: BillingPeriod, workers: int) -> dict[str, Any]:
        # Companies already run in parallel here: one stream per month reads fastest.
        return self._reported(cid, period, lambda: self.process_company(
            cid, period.month, period.year, period.key, read_slices=1 if workers > 1 else None, wake=False))

    def _reported(self, cid: str, period: BillingPeriod, step: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            return step()
        except Exception as exc:  # transient here too: report it, the operator reruns the month
            reason = exc.detail if isinstance(exc, BillingError) else f"{type(exc).__name__}: {exc}"
            try:
                self._mark(period.key, cid, FAILED, error=reason, errorType=error_type(exc))
            except TransientError:
                pass  # reported below and in the exit status either way
            return {"companyId": cid, "state": FAILED, "error": reason}

    def start_in_background(self, period: BillingPeriod, trigger: str = "http") -> dict[str, Any]:
        """Run the month in a background thread of this process (one at a time per month)."""
        result = {"runId": period.key, "period": period.key, "mode": "in-process"}
        with self._running_lock:
            if period.key in self._running:
                return {**result, "status": "already running"}
            self._running.add(period.key)
        thread = threading.Thread(target=self._background, args=(period, trigger), daemon=True,
                                  name=f"billing-run-{period.key}")
        thread.start()
        return {**result, "status": "started"}

    def _background(self, period: BillingPeriod, trigger: str) -> None:
        try:
            outcome = self.run_in_process(period.month, period.year, trigger=trigger)
            log.info("background billing run finished", extra={"json_fields": {
                "runId": period.key, "done": len(outcome.done), "failed": len(outcome.failed),
                "waiting": len(outcome.waiting)}})
        except Exception:  # a thread has no caller: the run record and this log are the report
            log.exception("background billing run stopped", extra={"json_fields": {"runId": period.key}})
        finally:
            with self._running_lock:
                self._running.discard(period.key)

    # -- reporting -------------------------------------------------------------------------------

    def status(self, period_key: str, page_size: Any = None, page_token: str | None = None) -> dict[str, Any]:
        """Counts per state and a page of the failed companies with their reasons."""
        BillingPeriod.from_key(period_key, "UTC")  # 422 on a malformed period
        size = _page_size(page_size)
        if page_token is not None and not TOKEN.fullmatch(page_token):
            raise ValidationError("pageToken is not one this API returned")
        summary = self.runs.summary(period_key)
        counts = self.runs.counts(period_key, STATES)
        if summary is None and not any(counts.values()):
            raise NotFoundError(f"No billing run for {period_key}")
        failed, next_token = self.runs.in_state(period_key, FAILED, size, page_token)
        keep = ("createdAt", "updatedAt", "triggers", "fanout")
        return {"runId": period_key, "period": period_key, **{k: (summary or {}).get(k) for k in keep},
                "counts": counts, "total": sum(counts.values()),
                "failed": [_failure(entry) for entry in failed], "nextPageToken": next_token}


def _tally(outcome: RunOutcome, result: Mapping[str, Any]) -> None:
    cid, state = str(result["companyId"]), result["state"]
    if state == DONE:
        outcome.done[cid] = result.get("invoiceNumber")
    elif state == WAITING:
        outcome.waiting[cid] = str(result.get("reason", ""))
    else:
        outcome.failed[cid] = str(result.get("error", ""))


def _failure(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: entry.get(k) for k in ("companyId", "error", "errorType", "at", "attempts")}


def _page_size(raw: Any) -> int:
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise ValidationError(f"pageSize must be an integer 1-{MAX_PAGE_SIZE}, got {raw!r}")
    return int(text)

