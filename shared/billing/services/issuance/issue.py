"""Issuing: the month's invoice, drafted once (or its reissue after a void), numbered, finished."""

from __future__ import annotations

import logging

from billing.config import Settings
from billing.domain.entities import Invoice
from billing.domain.invoice import Recipient, Supplier
from billing.domain.naming import invoice_id
from billing.domain.period import BillingPeriod, MonthQuery
from billing.errors import IntegrityError
from billing.ports import BlobStore, Clock, InvoiceRepository, SettingsRepository
from billing.services.charges import ChargeService, invoice_charges
from billing.services.issuance.finish import InvoiceFinisher
from billing.services.issuance.inputs import InputLoader, MonthInputs
from billing.services.issuance.numbering import InvoiceNumbering
from billing.services.issuance.rating import RatingPipeline
from billing.services.queries import InvoiceQueries
from billing.domain.lifecycle import InvoiceStatus

log = logging.getLogger("billing.services.issuance")


class IssuanceService:
    """generate (draft, number, finish) and reissue."""

    def __init__(self, *, inputs: InputLoader, queries: InvoiceQueries, rating: RatingPipeline,
                 numbering: InvoiceNumbering, finisher: InvoiceFinisher, invoices: InvoiceRepository,
                 blobs: BlobStore, settings_repo: SettingsRepository, settings: Settings, clock: Clock,
                 charges: ChargeService):
        self.inputs = inputs
        self.charges = charges
        self.queries = queries
        self.rating = rating
        self.numbering = numbering
        self.finisher = finisher
        self.invoices = invoices
        self.blobs = blobs
        self.settings_repo = settings_repo
        self.settings = settings
        self.clock = clock

    def generate(self, company_id: str, query: MonthQuery = MonthQuery(), read_slices: int | None = None,
                 reissue_void: bool = False) -> Invoice:
        """The company's invoice for the month: the current one, or a newly issued one.

        When every invoice of the month is void, the last void one is returned as it is, unless
        reissue_void (POST /billing/generate) asks for the month's reissue: the monthly run, which
        does not ask, never undoes an operator's void without reissue.
        read_slices overrides how many parallel time slices the month is read in (a run that
        already issues several companies at once reads each month as one stream)."""
        return self._numbered_and_finished(self.draft(company_id, query, read_slices, reissue_void))

    def draft(self, company_id: str, query: MonthQuery = MonthQuery(), read_slices: int | None = None,
              reissue_void: bool = False) -> Invoice:
        """The month's invoice: the current one, or a new draft (rated, CSV staged).

        A new draft is the month's first invoice, or its next reissue when all before it are void."""
        inputs = self.inputs.ended(company_id, query, self.clock())
        invoices = self.queries.month(company_id, inputs.period.key)
        if invoices and (invoices[-1].status is not InvoiceStatus.VOID or not reissue_void):
            return invoices[-1]
        revision = invoices[-1].revision + 1 if invoices else 0
        return self._draft_revision(inputs, revision, read_slices)

    def reissue(self, company_id: str, period_key: str, revision: int) -> Invoice:
        """Issue (or finish) revision `revision` of the month from the data as it is now."""
        period = BillingPeriod.from_key(period_key)
        inputs = self.inputs.ended(company_id, MonthQuery.of(period), self.clock())
        found = self.invoices.find(invoice_id(company_id, period_key, revision))
        invoice = found if found is not None else self._draft_revision(inputs, revision, None)
        return self._numbered_and_finished(invoice)

    def _numbered_and_finished(self, invoice: Invoice) -> Invoice:
        if invoice.status is InvoiceStatus.DRAFT:
            numbered = self.numbering.number([invoice.invoice_id])
            invoice = numbered[0] if numbered else self._numbered_elsewhere(invoice.invoice_id)
        return self.finisher.finish(invoice)

    def _numbered_elsewhere(self, inv_id: str) -> Invoice:
        """The invoice another request (or the sequencer) numbered while this one tried."""
        found = self.invoices.find(inv_id)
        if found is None:
            raise IntegrityError(f"invoice {inv_id} disappeared while being numbered")
        return found

    def _draft_revision(self, inputs: MonthInputs, revision: int, read_slices: int | None) -> Invoice:
        inv_id = invoice_id(inputs.company_id, inputs.period.key, revision)
        supplier = Supplier.required(self.settings_repo.supplier())
        recipient = Recipient.of(inputs.company, supplier.state_code)
        voided = None
        if revision:
            voided = self.invoices.find(invoice_id(inputs.company_id, inputs.period.key, revision - 1))
            if voided is None or voided.status is not InvoiceStatus.VOID:
                raise IntegrityError(f"reissue {inv_id} has no void invoice before it")
        # The month is closed for one-off charges before they are read: each lands here or is refused.
        lines, stored = invoice_charges(self.charges.for_invoice(inputs.company_id, inputs.period.key, revision))
        draft = self.rating.rate(inputs, supplier, recipient, read_slices or self.settings.read_slices, revision,
                                 charges=lines)
        invoice, created = self.invoices.create_draft(draft, self.clock(), voided, stored)
        if not created:
            self.blobs.delete(draft.csv.path)  # another request won the race; its CSV is the one kept
            log.info("invoice already drafted by a concurrent request",
                     extra={"json_fields": {"invoiceId": inv_id}})
        return invoice
