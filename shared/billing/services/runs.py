"""The monthly run: fan out one job per active company, record done / failed / pending per company."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from billing.config import Settings
from billing.domain.period import BillingPeriod, parse_period
from billing.errors import BillingError, NotFoundError, TransientError
from billing.ports import CompanyRepository, Publisher, RunRepository

log = logging.getLogger(__name__)

PERMANENT = "failed"


@dataclass
class RunOutcome:
    """What an in-process run did, per company."""

    period: str
    done: dict[str, str] = field(default_factory=dict)  # companyId -> invoiceNumber
    failed: dict[str, str] = field(default_factory=dict)  # companyId -> reason

    @property
    def ok(self) -> bool:
        return not self.failed


class RunService:
    """Starts runs (Pub/Sub fan-out or in-process) and processes one company of a run."""

    def __init__(
        self,
        *,
        companies: CompanyRepository,
        runs: RunRepository,
        issuance,
        settings: Settings,
        publisher: Publisher | None = None,
        delivery=None,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.companies = companies
        self.runs = runs
        self.issuance = issuance
        self.settings = settings
        self.publisher = publisher
        self.delivery = delivery
        self.clock = clock

    def period(self, month: Any = None, year: Any = None) -> BillingPeriod:
        """The run's month: the one named, or the last completed one in the service's timezone."""
        return parse_period(month, year, self.settings.default_timezone, self.clock())

    def start_run(self, month: Any = None, year: Any = None, trigger: str = "scheduler") -> dict:
        """Record the run and publish one message per active company (idempotent per month)."""
        if self.publisher is None:
            raise BillingError("no publisher configured for the Pub/Sub fan-out")
        period = self.period(month, year)
        company_ids = [cid for cid, _ in self.companies.list_active()]
        self.runs.start(period.key, period.key, company_ids, trigger)
        for cid in company_ids:
            self.publisher.publish(
                self.settings.worker_topic,
                {"companyId": cid, "month": period.month, "year": period.year, "runId": period.key},
                {"companyId": cid, "period": period.key},
            )
        log.info("billing run fanned out", extra={"json_fields": {
            "runId": period.key, "companies": len(company_ids), "trigger": trigger}})
        return {"runId": period.key, "period": period.key, "companies": company_ids,
                "published": len(company_ids), "status": "started"}

    def process_company(self, company_id: str, month: int, year: int, run_id: str | None = None,
                        read_slices: int | None = None) -> dict:
        """Issue (and maybe send) one company's invoice; permanent failures are recorded, not raised.

        A transient failure is raised so the caller (Pub/Sub) retries."""
        run_id = run_id or f"{year:04d}-{month:02d}"
        try:
            invoice = self.issuance.generate(company_id, month, year, read_slices=read_slices)
        except TransientError as exc:
            self._mark(run_id, company_id, "retrying", error=exc.detail)
            raise
        except BillingError as exc:
            self._mark(run_id, company_id, PERMANENT, error=exc.detail, errorType=type(exc).__name__)
            log.warning("company failed permanently", extra={"json_fields": {
                "runId": run_id, "companyId": company_id, "error": exc.detail}})
            return {"companyId": company_id, "state": PERMANENT, "error": exc.detail}
        details: dict[str, Any] = {"invoiceNumber": invoice.get("invoiceNumber")}
        if self.delivery is not None and self.settings.send_email:
            details["delivery"] = self.delivery.deliver_quietly(invoice)
        self._mark(run_id, company_id, "done", **details)
        return {"companyId": company_id, "state": "done", **details}

    def _mark(self, run_id: str, company_id: str, state: str, **details: Any) -> None:
        """Record a company's state on the run. If that fails the error propagates: the
        message is redelivered and, issuance being idempotent, only the record is redone."""
        try:
            self.runs.mark(run_id, company_id, state, **details)
        except Exception as exc:
            log.error("could not update the run record", extra={"json_fields": {
                "runId": run_id, "companyId": company_id, "state": state, "error": str(exc)}})
            raise TransientError(f"could not update run record {run_id}: {exc}") from exc

    def run_in_process(
        self,
        month: Any = None,
        year: Any = None,
        concurrency: int | None = None,
        on_progress: Callable[[dict], None] | None = None,
        trigger: str = "cli",
    ) -> RunOutcome:
        """Bill every active company here, with a bounded pool (the droplet's cron; no Pub/Sub)."""
        period = self.period(month, year)
        company_ids = [cid for cid, _ in self.companies.list_active()]
        self.runs.start(period.key, period.key, company_ids, trigger)
        outcome = RunOutcome(period.key)
        workers = max(1, concurrency or self.settings.run_concurrency)

        def one(cid: str) -> dict:
            try:
                # Companies already run in parallel here: one stream per month reads fastest.
                return self.process_company(cid, period.month, period.year, period.key,
                                            read_slices=1 if workers > 1 else None)
            except Exception as exc:  # transient here too: report it, the operator reruns the month
                reason = exc.detail if isinstance(exc, BillingError) else f"{type(exc).__name__}: {exc}"
                try:
                    self._mark(period.key, cid, PERMANENT, error=reason)
                except TransientError:
                    pass  # reported below and in the exit status either way
                return {"companyId": cid, "state": PERMANENT, "error": reason}

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="billing-run") as pool:
            futures = [pool.submit(one, cid) for cid in company_ids]
            for future in as_completed(futures):
                result = future.result()
                if result["state"] == "done":
                    outcome.done[result["companyId"]] = result.get("invoiceNumber")
                else:
                    outcome.failed[result["companyId"]] = result.get("error", "")
                if on_progress:
                    on_progress(result)
        return outcome

    def status(self, period_key: str) -> dict:
        """The run record with counts per state."""
        BillingPeriod.from_key(period_key, "UTC")  # 422 on a malformed period
        doc = self.runs.get(period_key)
        if doc is None:
            raise NotFoundError(f"No billing run for {period_key}")
        counts: dict[str, int] = {}
        for entry in (doc.get("companies") or {}).values():
            counts[entry.get("state", "pending")] = counts.get(entry.get("state", "pending"), 0) + 1
        return {"runId": period_key, **doc, "counts": counts}
