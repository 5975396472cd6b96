"""One company's steps in a run: rate its month into a draft, finish it once numbered, record its state."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Callable, Mapping, Required, TypedDict

from billing.domain.company import Company
from billing.domain.entities import Invoice
from billing.domain.period import BillingPeriod
from billing.domain.runs import RunChange
from billing.errors import BillingError, OutsideBillingDatesError, TransientError, error_type
from billing.services.runs.common import EARLIEST_ZONE, Finisher, InvoiceReader, Issuer, RunContext, RunState
from billing.services.runs.messages import CompanyJob, FinishJob, SequencerWake, WorkerJob
from billing.domain.lifecycle import InvoiceStatus

log = logging.getLogger("billing.services.runs")


class Result(TypedDict, total=False):
    """One company's step as reported (the CLI's progress line and the in-process run's tally read it)."""

    companyId: Required[str]
    state: Required[str]  # a RunState's value
    reason: str  # waiting, skipped: why
    error: str  # failed: why
    invoiceNumber: str | None  # done
    unplacedCalls: int  # done: call logs no month holds, when any
    note: str  # done, but the month's invoice is void
    delivery: object  # done: the email's outcome, as the deliverer reported it


class CompanyWorker:
    """The worker function's use case (and the in-process run's, one company at a time)."""

    def __init__(self, ctx: RunContext, issuance: Issuer, finisher: Finisher, invoices: InvoiceReader):
        self.ctx = ctx
        self.issuance = issuance
        self.finisher = finisher
        self.invoices = invoices

    def process_company(self, job: CompanyJob, read_slices: int | None = None, batched: bool = True,
                        wake: bool = True, company: Company | None = None) -> Result:
        """Rate one company's month into a draft and wake the sequencer (batched numbering); or,
        with batched=False, issue it whole here. Permanent failures are recorded, not raised.

        A company whose month has not ended in its own timezone is recorded as waiting (a later
        firing publishes it again). A transient failure is raised so the caller (Pub/Sub) retries.
        `company` is the company when the caller already read it."""
        reason = self._not_yet_for(job, company)
        if reason:
            self.ctx.mark(job.run_id, job.company_id, RunChange(RunState.WAITING, reason=reason))
            return {"companyId": job.company_id, "state": RunState.WAITING.value, "reason": reason}

        def step() -> Result:
            if not batched:
                return self._finished(job.run_id, self.issuance.generate(job.company_id, job.query,
                                                                         read_slices=read_slices))
            drafted = self.issuance.draft(job.company_id, job.query, read_slices=read_slices)
            if drafted.status is not InvoiceStatus.DRAFT:
                return self._finished(job.run_id, self.finisher.finish(drafted))
            self.ctx.mark(job.run_id, job.company_id, RunChange(RunState.DRAFTED, invoice_id=drafted.invoice_id))
            if wake:
                self._wake_sequencer(job.run_id)
            return {"companyId": job.company_id, "state": RunState.DRAFTED.value}

        return self._guarded(job.run_id, job.company_id, step)

    def finish_company(self, job: FinishJob) -> Result:
        """The sequencer numbered this company's invoice: finish it (files, email), mark it done."""

        def step() -> Result:
            invoice = self.invoices.current(job.company_id, job.period_key)
            if invoice.status is InvoiceStatus.DRAFT:  # not numbered after all: ask again
                self._wake_sequencer(job.run_id)
                return {"companyId": job.company_id, "state": RunState.DRAFTED.value}
            return self._finished(job.run_id, self.finisher.finish(invoice))

        return self._guarded(job.run_id, job.company_id, step)

    def _guarded(self, run_id: str, company_id: str, step: Callable[[], Result]) -> Result:
        """Run a company's step; transient errors raise (redelivery), permanent ones are recorded."""
        try:
            return step()
        except TransientError as exc:
            self.ctx.mark(run_id, company_id, RunChange(RunState.RETRYING, error=exc.detail))
            raise
        except OutsideBillingDatesError as exc:  # not a failure: this month is not the company's to bill
            self.ctx.mark(run_id, company_id, RunChange(RunState.SKIPPED, reason=exc.detail))
            return {"companyId": company_id, "state": RunState.SKIPPED.value, "reason": exc.detail}
        except BillingError as exc:
            self.ctx.mark(run_id, company_id, RunChange(RunState.FAILED, error=exc.detail, error_type=error_type(exc)))
            log.warning("company failed permanently", extra={"json_fields": {
                "runId": run_id, "companyId": company_id, "error": exc.detail}})
            return {"companyId": company_id, "state": RunState.FAILED.value, "error": exc.detail}

    def _finished(self, run_id: str, invoice: Invoice) -> Result:
        """An issued invoice: email it (once, when configured) and mark its company done."""
        company_id = invoice.company_id
        done = RunChange(RunState.DONE, invoice_number=invoice.number, unplaced_calls=invoice.unplaced_calls or None)
        if invoice.status is InvoiceStatus.VOID:  # voided by an operator without a reissue: left alone
            done = replace(done, note="the month's invoice is void; POST /billing/generate issues its reissue")
        elif self.ctx.delivery is not None and self.ctx.settings.send_email:
            done = replace(done, delivery=self.ctx.delivery.deliver_quietly(invoice))
        self.ctx.mark(run_id, company_id, done)
        return _done(company_id, done)

    def _wake_sequencer(self, run_id: str) -> None:
        if self.ctx.wake is not None:
            self.ctx.wake.wake(run_id)
            return
        self.ctx.require_publisher().publish(self.ctx.settings.sequencer_topic, SequencerWake(run_id))

    def _not_yet_for(self, job: CompanyJob, company: Company | None) -> str | None:
        """Why this company's month has not ended yet (None: bill it, or let issuance refuse it)."""
        try:
            period = BillingPeriod(job.year, job.month, EARLIEST_ZONE)
        except BillingError:
            return None
        if company is None:
            try:
                company = self.ctx.companies.get(job.company_id)
            except TransientError:
                raise
            except BillingError:
                return None  # a malformed document (strict schema): issuance reports it, recorded failed
        return self.ctx.not_yet(company, period, self.ctx.clock())

    def record_undelivered(self, job: WorkerJob, reason: str, error_type: str) -> bool:
        """A worker message that will never be processed (dead-lettered, too old): the company is
        marked failed with the reason, unless it is already done. False when nothing was marked."""
        try:
            return self.ctx.runs.mark(job.run_id, job.company_id, RunChange(
                RunState.FAILED, error=reason, error_type=error_type), unless_done=True)
        except BillingError:
            raise
        except Exception as exc:
            raise TransientError(f"could not update run record {job.run_id}: {exc}") from exc


def _done(company_id: str, done: RunChange) -> Result:
    """The done step's report: the invoice number, and the unplaced calls, note or delivery it recorded."""
    result: Result = {"companyId": company_id, "state": RunState.DONE.value, "invoiceNumber": done.invoice_number}
    if done.unplaced_calls is not None:
        result["unplacedCalls"] = done.unplaced_calls
    if done.note is not None:
        result["note"] = done.note
    if done.delivery is not None:
        result["delivery"] = done.delivery
    return result
