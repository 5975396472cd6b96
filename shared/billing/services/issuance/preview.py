"""The invoice as it would be issued now, month to date for the current month: nothing is written."""

from __future__ import annotations

from billing.config import Settings
from billing.domain.invoice import Recipient, Supplier
from billing.domain.period import MonthQuery
from billing.ports import Clock, PreviewAnswer, PreviewBuilder, SettingsRepository
from billing.services.charges import ChargeService, invoice_charges
from billing.services.issuance.inputs import InputLoader
from billing.services.issuance.rating import RatingPipeline


class PreviewService:
    def __init__(self, *, inputs: InputLoader, rating: RatingPipeline, settings_repo: SettingsRepository,
                 settings: Settings, clock: Clock, charges: ChargeService, preview_document: PreviewBuilder):
        self.inputs = inputs
        self.charges = charges
        self.rating = rating
        self.settings_repo = settings_repo
        self.settings = settings
        self.clock = clock
        self.preview_document = preview_document  # the draft as the stored document's shape (adapters)

    def preview(self, company_id: str, query: MonthQuery = MonthQuery(),
                read_slices: int | None = None) -> PreviewAnswer:
        """The same reading and rating as issuance, its CSV sent nowhere; nothing is written anywhere."""
        now = self.clock()
        inputs = self.inputs.to_date(company_id, query, now)
        supplier = Supplier.required(self.settings_repo.supplier())
        recipient = Recipient.of(inputs.company, supplier.state_code)
        lines, stored = invoice_charges(self.charges.for_preview(company_id, inputs.period.key))
        draft = self.rating.rate(inputs, supplier, recipient, read_slices or self.settings.read_slices, stage=False,
                                 charges=lines)
        return self.preview_document(draft, now, stored)
