"""Payment reminders (DESIGN 14): `billing remind` (cron) and the daily Scheduler job.

Each invoice with a balance is reminded at the configured steps (days from its due date; default
-3, 0, 7, 15, 30), each step at most once: the step is claimed on the invoice's receivable in a
transaction (`reminders.{step}`: sending -> sent) before the email goes out, so retries and
concurrent runs send it once. A claim whose send failed is marked failed and may be claimed again by
a later run. Nothing is sent once the balance is zero.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Callable

from billing.domain import receivables as rules
from billing.domain.company import Company
from billing.domain.invoice import Supplier
from billing.domain.receivable import Payment, Receivable, Reminder, ReminderStatus
from billing.ports import (
    Clock, CompanyRepository, InvoiceRepository, Mailer, ReceivableChange, ReceivableRepository,
    ReminderEmailBuilder, SettingsRepository,
)
from billing.services.downloads import DownloadService
from billing.domain.period import invoice_date

log = logging.getLogger(__name__)

RunReport = dict[str, Any]
"""What a reminders run answers (the Scheduler job's JSON body, the CLI's output): the day, the steps
and the invoices sent, skipped and failed. Built here, returned as is."""


class ReminderService:
    def __init__(self, *, receivables: ReceivableRepository, companies: CompanyRepository,
                 invoices: InvoiceRepository, settings_repo: SettingsRepository, downloads: DownloadService,
                 mailer: Mailer | None, build_message: ReminderEmailBuilder, clock: Clock, public_base_url: str):
        self.receivables = receivables
        self.companies = companies
        self.invoices = invoices
        self.settings_repo = settings_repo
        self.downloads = downloads
        self.mailer = mailer
        self.build_message = build_message
        self.clock = clock
        self.public_base_url = public_base_url

    def run(self) -> RunReport:
        """Send today's due reminders; {"date", "sent": [...], "skipped": [...], "failed": [...]}."""
        supplier = Supplier.required(self.settings_repo.supplier())
        steps = rules.reminder_steps(supplier.document.get("reminderSteps"))
        today = invoice_date(self.clock(), supplier.timezone)
        report: RunReport = {"date": today.isoformat(), "steps": list(steps), "sent": [], "skipped": [],
                             "failed": []}
        if self.mailer is None:
            report["skipped"].append({"reason": "email is not configured (SMTP_HOST unset)"})
            return report
        for receivable in self.receivables.with_balance():
            step = receivable.due_reminder(today, steps)
            if step is None:
                continue
            entry = {"invoiceNumber": receivable.invoice_number, "companyId": receivable.company_id, "step": step}
            company = self.companies.get(receivable.company_id)
            to = (company.billing_email or "").strip() if company is not None else ""
            if company is None or not to:
                report["skipped"].append({**entry, "reason": "the company has no billingEmail"})
                continue
            outcome = self._send(receivable, company, supplier, step, to)
            report[outcome].append(entry)
        log.info("reminders run", extra={"json_fields": {k: (len(v) if isinstance(v, list) else v)
                                                         for k, v in report.items()}})
        return report

    def _mark(self, receivable: Receivable, step: int,
              decide: Callable[[Receivable, Reminder | None], Reminder | None]) -> Receivable | None:
        """Write reminders.{step} on the receivable in a transaction: decide(current receivable, its
        record of the step) gives the new record, or None (nothing written)."""
        def update(rec: Receivable | None, _: Payment | None) -> ReceivableChange | None:
            if rec is None:
                return None
            record = decide(rec, rec.reminders.get(step))
            return ReceivableChange(rec.with_reminder(step, record)) if record is not None else None

        change, _ = self.receivables.change(receivable.invoice_id, receivable.company_id, receivable.due_date,
                                            None, update)
        return change.receivable if change is not None else None

    def _send(self, receivable: Receivable, company: Company, supplier: Supplier, step: int,
              to: str) -> str:
        claim = uuid.uuid4().hex
        now = self.clock().isoformat(timespec="seconds")

        def claim_it(rec: Receivable, _: Reminder | None) -> Reminder | None:
            if rec.due_reminder(invoice_date(self.clock(), supplier.timezone), (step,)) != step:
                return None  # paid meanwhile, or claimed by another run
            return Reminder(ReminderStatus.SENDING, claim=claim, claimed_at=now, to=to)

        def mine(rec: Receivable, current: Reminder | None) -> Reminder | None:
            return current if current is not None and current.claim == claim else None

        claimed = self._mark(receivable, step, claim_it)
        if claimed is None:
            return "skipped"
        invoice = self.invoices.find(receivable.invoice_id)
        pdf_link = self.downloads.links(invoice, self.public_base_url or None).get("pdf") if invoice else None
        snapshot = supplier.snapshot()
        upi = snapshot.get("upiId")
        upi_link = rules.upi_uri(str(upi), supplier.legal_name, claimed.balance.paise,
                                 str(receivable.invoice_number)) if upi else None
        try:
            message = self.build_message(claimed, company, supplier, step, pdf_link, upi_link)
            message_id = self.mailer.send(message) if self.mailer is not None else ""
        except Exception as exc:  # noqa: BLE001 - recorded; a later run may claim the step again
            log.error(f"reminder for {receivable.invoice_number} step {step} failed: {exc}")
            error = str(exc)[:300]
            self._mark(receivable, step, lambda rec, cur: (m.failed(error) if (m := mine(rec, cur)) else None))
            return "failed"
        self._mark(receivable, step, lambda rec, cur: (m.sent(now, message_id) if (m := mine(rec, cur)) else None))
        return "sent"
