"""Starting a run: the manual trigger, and the resumable fan-out of one message per due company."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from billing.domain.company import Company as CompanyEntity
from billing.domain.period import BillingPeriod, MonthQuery
from billing.ports import Publisher
from billing.services.runs.common import RunContext, RunState
from billing.services.runs.in_process import InProcessRuns
from billing.services.runs.messages import CompanyJob, Message, MonthlyTrigger

log = logging.getLogger("billing.services.runs")

Company = tuple[str, CompanyEntity | None]


@dataclass
class Fanout:
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
    def from_doc(cls, doc: Mapping[str, Any]) -> "Fanout":
        return cls(id=str(doc["id"]), total=int(doc.get("total", 0)), started_at=str(doc.get("startedAt", "")),
                   cursor=str(doc.get("cursor", "")), position=int(doc.get("position", 0)),
                   published=int(doc.get("published", 0)), waiting=int(doc.get("waiting", 0)),
                   skipped=int(doc.get("skipped", 0)), finished=bool(doc.get("finished", False)))

    def result(self, period: BillingPeriod, status: str) -> dict[str, Any]:
        return {"runId": period.key, "period": period.key, "status": status, "companies": self.total,
                "published": self.published, "waiting": self.waiting, "skipped": self.skipped,
                "resumedFrom": self.resumed_from}


class RunTrigger:
    """POST /billing/run: publish to the monthly topic (pubsub mode) or bill here in the background."""

    def __init__(self, ctx: RunContext, in_process: InProcessRuns):
        self.ctx = ctx
        self.in_process = in_process

    def request_run(self, query: MonthQuery = MonthQuery(), trigger: str = "http") -> dict[str, Any]:
        period = self.ctx.period(query)
        if self.ctx.settings.run_mode == "in-process":
            return self.in_process.start_in_background(period, trigger)
        payload = MonthlyTrigger(period.month, period.year, trigger).to_payload()
        self.ctx.require_publisher().publish(self.ctx.settings.monthly_topic, payload, {"source": trigger})
        # Only once the broker has the message: the status URL answers at once (nothing half-written
        # when publishing failed).
        self.ctx.runs.record_trigger(period.key, period.key, f"{trigger} (requested)")
        return {"runId": period.key, "period": period.key, "mode": "pubsub", "status": "requested"}


class FanoutService:
    """The monthly trigger's message -> one worker message per company that is due and not done."""

    def __init__(self, ctx: RunContext):
        self.ctx = ctx

    def start_run(self, query: MonthQuery = MonthQuery(), trigger: str = "scheduler",
                  fanout_id: str | None = None) -> dict[str, Any]:
        """Publish one message per company that is due and not done; resume a fan-out cut short.

        fanout_id is the triggering event's id: a redelivery of the same event continues from the
        summary's cursor instead of starting again."""
        publisher = self.ctx.require_publisher()
        period, now = self.ctx.period(query), self.ctx.clock()
        summary = self.ctx.runs.record_trigger(period.key, period.key, trigger)
        last = dict(summary.get("fanout") or {})
        if fanout_id and last.get("id") == fanout_id and last.get("finished"):
            return Fanout.from_doc(last).result(period, "already fanned out")
        companies = sorted(self.ctx.companies.list_active(), key=lambda item: item[0])
        fanout = self._begin(last, fanout_id, len(companies))
        states = self.ctx.runs.states(period.key)
        remaining = [(cid, doc) for cid, doc in companies if cid > fanout.cursor]
        self._fan_out(publisher, period, now, remaining, _Plan(states, last, fanout))
        log.info("billing run fanned out", extra={"json_fields": {"runId": period.key, "trigger": trigger,
                                                                 **fanout.to_doc()}})
        return fanout.result(period, "fanned out")

    def _begin(self, last: Mapping[str, Any], fanout_id: str | None, total: int) -> Fanout:
        """The same event's unfinished fan-out resumed at its cursor, or a new one from the start."""
        if fanout_id and last.get("id") == fanout_id:
            resumed = Fanout.from_doc(last)
            resumed.total, resumed.resumed_from = total, resumed.position
            return resumed
        return Fanout(id=fanout_id or uuid.uuid4().hex, total=total, started_at=self.ctx.clock().isoformat())

    def _fan_out(self, publisher: Publisher, period: BillingPeriod, now: datetime,
                 remaining: Sequence[Company], plan: "_Plan") -> None:
        """Chunk by chunk: record states, publish (batched), and advance the cursor once confirmed.

        The next chunk is handed to the publisher before the previous one is waited for, so
        the broker always has work; the cursor only moves past confirmed messages."""
        in_flight: tuple[Callable[[], int], str, int] | None = None
        size = self.ctx.settings.run_fanout_chunk
        fanout = plan.fanout
        for start in range(0, len(remaining), size):
            chunk = remaining[start:start + size]
            entries, messages = self._plan(period, now, chunk, plan)
            if entries:
                self.ctx.runs.set_states(period.key, entries)
            wait = publisher.publish_many(self.ctx.settings.worker_topic, messages) if messages else (lambda: 0)
            if in_flight is not None:
                self._confirm(period, fanout, *in_flight)
            in_flight = (wait, chunk[-1][0], fanout.position + len(chunk))
        if in_flight is not None:
            self._confirm(period, fanout, *in_flight)
        fanout.finished = True
        self.ctx.runs.save_fanout(period.key, fanout.to_doc())

    def _confirm(self, period: BillingPeriod, fanout: Fanout, wait: Callable[[], int], cursor: str,
                 position: int) -> None:
        fanout.published += wait()
        fanout.cursor, fanout.position = cursor, position
        self.ctx.runs.save_fanout(period.key, fanout.to_doc())

    def _plan(self, period: BillingPeriod, now: datetime, chunk: Sequence[Company],
              plan: "_Plan") -> tuple[dict[str, dict[str, Any]], list[Message]]:
        """Which companies of the chunk to publish, and the states to record for them."""
        entries: dict[str, dict[str, Any]] = {}
        messages: list[Message] = []
        for cid, doc in chunk:
            current = plan.states.get(cid) or {}
            if current.get("state") == RunState.DONE or self._queued(cid, current, plan.last, now):
                plan.fanout.skipped += 1
                continue
            reason = self.ctx.not_yet(doc, period, now)
            if reason:
                plan.fanout.waiting += 1
                if current.get("state") != RunState.WAITING:
                    entries[cid] = {"state": RunState.WAITING.value, "reason": reason, "at": now.isoformat()}
                continue
            entries[cid] = {"state": RunState.PENDING.value, "fanout": plan.fanout.id, "at": now.isoformat()}
            messages.append(CompanyJob(cid, period.month, period.year, period.key).to_message())
        return entries, messages

    def _queued(self, cid: str, current: Mapping[str, Any], last: Mapping[str, Any], now: datetime) -> bool:
        """Published recently by a fan-out that confirmed it: another copy would only add load."""
        if current.get("state") not in (RunState.PENDING, RunState.RETRYING) or current.get("fanout") != last.get("id"):
            return False
        if not (last.get("finished") or cid <= str(last.get("cursor", ""))):
            return False
        try:
            at = datetime.fromisoformat(str(current.get("at")))
        except ValueError:
            return False
        return (now - at).total_seconds() < self.ctx.settings.run_republish_after_seconds


@dataclass
class _Plan:
    """What a fan-out decides by: the recorded states, the last fan-out, this one's progress."""

    states: Mapping[str, Mapping[str, Any]]
    last: Mapping[str, Any]
    fanout: Fanout
