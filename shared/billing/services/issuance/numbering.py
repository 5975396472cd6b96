"""Numbering drafts: one counter transaction gives a batch of drafts their numbers and invoice date."""

from __future__ import annotations

import logging
from typing import Any, Sequence

from billing.domain import numbering
from billing.domain.invoice import Supplier, numbering_fields
from billing.domain.period import local_time
from billing.ports import Clock, InvoiceRepository, SettingsRepository

log = logging.getLogger("billing.services.issuance")


class InvoiceNumbering:
    def __init__(self, invoices: InvoiceRepository, settings_repo: SettingsRepository, clock: Clock):
        self.invoices = invoices
        self.settings_repo = settings_repo
        self.clock = clock

    def number(self, invoice_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Give the listed drafts the next numbers, in order, in one transaction, dated now.

        The invoice date and financial year follow the supplier's calendar."""
        supplier = Supplier.required(self.settings_repo.supplier())
        issued_at = local_time(self.clock(), supplier.timezone)
        counter = numbering.counter_id(supplier.prefix, numbering.financial_year(issued_at.date()))
        docs = self.invoices.number_drafts(
            invoice_ids, counter, lambda doc, seq: numbering_fields(doc, supplier.prefix, seq, issued_at)
        )
        for doc in docs:
            log.info("invoice numbered", extra={"json_fields": {
                "invoiceId": doc.get("invoiceId"), "invoiceNumber": doc.get("invoiceNumber")}})
        return docs

    def pending_count(self, limit: int) -> int:
        """How many drafts wait for a number (counted up to limit)."""
        return len(self.invoices.pending_drafts(limit))

    def number_pending(self, batch_size: int = 300) -> list[dict[str, Any]]:
        """Number the oldest waiting drafts, one batch (one counter write); [] when none wait."""
        pending = self.invoices.pending_drafts(batch_size)
        return self.number(pending) if pending else []
