"""Numbering drafts: one counter transaction gives a batch of drafts their numbers and invoice date."""

from __future__ import annotations

import logging
from typing import Sequence

from billing.domain import numbering
from billing.domain.entities import Invoice
from billing.domain.invoice import Supplier, numbered
from billing.domain.period import local_time
from billing.ports import Clock, InvoiceRepository, SettingsRepository

log = logging.getLogger("billing.services.issuance")


class InvoiceNumbering:
    def __init__(self, invoices: InvoiceRepository, settings_repo: SettingsRepository, clock: Clock):
        self.invoices = invoices
        self.settings_repo = settings_repo
        self.clock = clock

    def number(self, invoice_ids: Sequence[str]) -> list[Invoice]:
        """Give the listed drafts the next numbers, in order, in one transaction, dated now.

        The invoice date and financial year follow the supplier's calendar."""
        supplier = Supplier.required(self.settings_repo.supplier())
        issued_at = local_time(self.clock(), supplier.timezone)
        counter = numbering.counter_id(supplier.prefix, numbering.financial_year(issued_at.date()))
        invoices = self.invoices.number_drafts(
            invoice_ids, counter, lambda draft, seq: numbered(draft, supplier.prefix, seq, issued_at)
        )
        for invoice in invoices:
            log.info("invoice numbered", extra={"json_fields": {
                "invoiceId": invoice.invoice_id, "invoiceNumber": invoice.number}})
        return invoices

    def pending_count(self, limit: int) -> int:
        """How many drafts wait for a number (counted up to limit)."""
        return len(self.invoices.pending_drafts(limit))

    def number_pending(self, batch_size: int = 300) -> list[Invoice]:
        """Number the oldest waiting drafts, one batch (one counter write); [] when none wait."""
        pending = self.invoices.pending_drafts(batch_size)
        return self.number(pending) if pending else []
