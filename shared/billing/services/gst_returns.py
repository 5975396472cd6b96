"""GST returns: the GSTR-1 data of the invoices and credit notes dated in a month (DESIGN 9)."""

from __future__ import annotations

from typing import Any

from billing.domain.gstr1 import Gstr1Builder
from billing.domain.invoice import Supplier
from billing.domain.period import BillingPeriod
from billing.errors import ConfigurationError
from billing.ports import CreditNoteRepository, InvoiceRepository, SettingsRepository
from billing.domain.lifecycle import InvoiceStatus


class GstReturnService:
    """Streams a month's documents through the GSTR-1 builder; writes nothing."""

    def __init__(self, *, invoices: InvoiceRepository, credit_notes: CreditNoteRepository,
                 settings_repo: SettingsRepository):
        self.invoices = invoices
        self.credit_notes = credit_notes
        self.settings_repo = settings_repo

    def gstr1(self, period_key: str) -> dict[str, Any]:
        """GSTR-1 for the month YYYY-MM (documents dated in it, in the supplier's calendar)."""
        period = BillingPeriod.from_key(period_key)
        supplier = Supplier.from_doc(self.settings_repo.supplier())
        if not supplier.gstin:
            raise ConfigurationError("GSTR-1 needs the supplier's GSTIN in settings/billing")
        start, end = period.key, period.next().key  # ISO date strings of one calendar sort as dates
        builder = Gstr1Builder(supplier.gstin, supplier.state_code, period.year, period.month)
        for invoice in self.invoices.dated(start, end):
            if invoice.get("invoiceNumber") and (InvoiceStatus.of(invoice) or InvoiceStatus.DRAFT).numbered:
                builder.add_invoice(invoice)
        for note in self.credit_notes.dated(start, end):
            if note.get("creditNoteNumber"):
                builder.add_credit_note(note)
        return builder.result()
