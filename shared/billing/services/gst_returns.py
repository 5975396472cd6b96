"""GST returns: the GSTR-1 data of the invoices, credit notes and debit notes dated in a month (DESIGN 9, 13)."""

from __future__ import annotations

from billing.domain.gstr1 import Gstr1Builder, Gstr1Return
from billing.domain.invoice import Supplier
from billing.domain.period import BillingPeriod
from billing.errors import ConfigurationError
from billing.ports import AdjustmentNoteRepository, CreditNoteRepository, InvoiceRepository, SettingsRepository


class GstReturnService:
    """Streams a month's documents through the GSTR-1 builder; writes nothing."""

    def __init__(self, *, invoices: InvoiceRepository, credit_notes: CreditNoteRepository,
                 settings_repo: SettingsRepository, debit_notes: AdjustmentNoteRepository | None = None):
        self.invoices = invoices
        self.debit_notes = debit_notes
        self.credit_notes = credit_notes
        self.settings_repo = settings_repo

    def gstr1(self, period_key: str) -> Gstr1Return:
        """GSTR-1 for the month YYYY-MM (documents dated in it, in the supplier's calendar)."""
        period = BillingPeriod.from_key(period_key)
        supplier = Supplier.required(self.settings_repo.supplier())
        if not supplier.gstin:
            raise ConfigurationError("GSTR-1 needs the supplier's GSTIN in settings/billing")
        start, end = period.key, period.next().key  # ISO date strings of one calendar sort as dates
        builder = Gstr1Builder(supplier.gstin, supplier.state_code, period.year, period.month)
        for invoice in self.invoices.find_dated(start, end):
            if invoice.number and invoice.status.numbered:
                builder.add_invoice(invoice)
        for note in self.credit_notes.dated(start, end):
            if note.number:
                builder.add_credit_note(note.document)
        for note in self.debit_notes.dated(start, end) if self.debit_notes is not None else ():
            if note.number:
                builder.add_debit_note(note.document)
        return builder.result()
