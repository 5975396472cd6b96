"""Void an issued invoice with a GST credit note, and reissue it, exactly once (DESIGN section 9).

The steps, each safe to repeat after a crash, like issuance's:
  1. validate everything (nothing is written on a refusal): the body, the company, the invoice
     number among the month's invoices, the section 34 time limit;
  2. one transaction voids the invoice: it creates the credit note `{invoiceId}_cn` with the next
     number of its own series, voids the invoice (voidedBy, and replacedBy: the reissue's id,
     decided here) and advances the credit-note counter; an invoice already void is left alone;
  3. finish the credit note from its document alone: render and store its PDF (create-only),
     mark it issued; store the void invoice's copy stamped CANCELLED beside its original
     (create-only, deterministic bytes: the original PDF and the credit note's number and date);
  4. with a reissue, issue revision k+1 of the month exactly as generate would (draft, number,
     finish), from the data as it is now.
A retried (or concurrent) void finds the invoice void and runs steps 3-4 again, which only
complete what is missing: one credit note, one reissue, the same numbers and files. A repeated
request with another reason or reissue choice than the first is refused (409, saying what the
first did), writing nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from billing.domain import credit_note as cn_rules
from billing.domain.adjustments import CREDIT, NoteDraft, check_no_adjustments
from billing.domain.entities import Invoice, Note
from billing.domain.invoice import Supplier
from billing.domain.naming import credit_note_id, credit_note_pdf_path, invoice_id, validate_company_id
from billing.domain.numbering import financial_year
from billing.domain.period import invoice_date
from billing.errors import ConflictError, IntegrityError, NotFoundError
from billing.ports import (
    BlobStore, Clock, CreditNoteRepository, InvoiceRepository, NotePdfRenderer, SettingsRepository, VoidBuild,
)
from billing.services.adjustments import StoredNote, finish_note, open_note_pdf
from billing.services.downloads import Download, DownloadService
from billing.services.issuance.issue import IssuanceService
from billing.services.queries import InvoiceQueries
from billing.domain.lifecycle import InvoiceStatus

log = logging.getLogger(__name__)
VoidAnswer = dict[str, Any]
"""The CLI's answer to a void, {"voided", "creditNote", "reissued"}: the documents as stored (JSON)."""


@dataclass(frozen=True)
class VoidResult:
    """What a void produced: the void invoice, the credit note that cancels it, the reissue if asked for."""

    voided: Invoice
    credit_note: Note
    reissued: Invoice | None = None

    def to_json(self) -> VoidAnswer:
        return {"voided": dict(self.voided.document), "creditNote": dict(self.credit_note.document),
                "reissued": dict(self.reissued.document) if self.reissued else None}


class CorrectionService:
    """void (credit note + optional reissue), and reading credit notes back."""

    def __init__(
        self,
        *,
        issuance: IssuanceService,
        queries: InvoiceQueries,
        invoices: InvoiceRepository,
        credit_notes: CreditNoteRepository,
        settings_repo: SettingsRepository,
        blobs: BlobStore,
        render_credit_note: NotePdfRenderer,
        downloads: DownloadService,
        clock: Clock,
        on_void: Callable[[Invoice], object] | None = None,
    ):
        self.issuance = issuance
        self.queries = queries
        self.invoices = invoices
        self.credit_notes = credit_notes
        self.settings_repo = settings_repo
        self.blobs = blobs
        self.render_credit_note = render_credit_note
        self.downloads = downloads
        self.clock = clock
        self.on_void = on_void  # counts the credit note on the invoice's receivable (idempotent)

    # -- voiding -------------------------------------------------------------------------------

    def void(self, company_id: str, period_key: str, body: object) -> VoidResult:
        """The void invoice, its credit note and its reissue (None unless asked for)."""
        number, reason, reissue = cn_rules.validate_void_request(body)
        target = self.queries.find_by_number(company_id, period_key, number)
        if target.status is InvoiceStatus.VOID:
            self._same_request(target, reason, reissue)
            return self._complete(target)  # a retried request: what its void produced
        if target.status is not InvoiceStatus.ISSUED:
            raise ConflictError(f"invoice {number} is still being issued ({target.status.value}); "
                                "void it once it is issued")
        check_no_adjustments(target)
        supplier = Supplier.required(self.settings_repo.supplier())
        now = self.clock()
        today = invoice_date(now, supplier.timezone)
        cn_rules.check_time_limit(number, date.fromisoformat(str(target.invoice_date)[:10]), today)
        cn_id = credit_note_id(target.invoice_id)
        reissue_id = invoice_id(company_id, period_key, target.revision + 1) if reissue else None
        pdf_uri = self.blobs.uri(credit_note_pdf_path(company_id, period_key, cn_id))
        counter = cn_rules.counter_id(supplier.credit_note_prefix, financial_year(today))

        def build(invoice: Invoice, seq: int) -> tuple[NoteDraft, cn_rules.Void]:
            check_no_adjustments(invoice)  # as the transaction read it: no partial note slipped in
            invoice.void(cn_id, reissue_id)  # refuses what the lifecycle does not allow
            note = NoteDraft(CREDIT, cn_id, invoice, supplier.credit_note_prefix, seq, today, supplier, reason,
                             pdf_uri, now)
            return note, cn_rules.Void(cn_id, note.number, today, reissue_id, reason, now)

        return self._void_and_complete(target, cn_id, counter, build, reason, reissue)

    def _void_and_complete(self, target: Invoice, cn_id: str, counter: str, build: VoidBuild, reason: str,
                           reissue: bool) -> VoidResult:
        """Step 2's transaction, then steps 3-4 (the same request again when another voided it meanwhile)."""
        invoice, note = self.credit_notes.void_invoice(target.invoice_id, cn_id, counter, build)
        if invoice is None:
            raise IntegrityError(f"invoice {target.invoice_id} vanished while being voided")
        if invoice.status is not InvoiceStatus.VOID:
            raise ConflictError(f"invoice {target.number} is {invoice.status.value!r} and cannot be voided now")
        if note is None:  # voided meanwhile by a concurrent request: the same one, or 409
            self._same_request(invoice, reason, reissue)
        else:
            log.info("invoice voided", extra={"json_fields": {
                "invoiceId": target.invoice_id, "creditNoteNumber": note.number,
                "reissue": invoice.replaced_by}})
        return self._complete(invoice)

    @staticmethod
    def _same_request(voided: Invoice, reason: str, reissue: bool) -> None:
        """409 when the invoice was voided by a request with another reason or reissue choice."""
        conflict = cn_rules.repeat_conflict(voided.document, reason, reissue)
        if conflict:
            raise ConflictError(conflict)

    def _complete(self, invoice: Invoice) -> VoidResult:
        """Finish what a void started (the credit note's PDF, the reissue), from the documents alone."""
        note = self.credit_notes.find(str(invoice.voided_by))
        if note is None:
            raise IntegrityError(f"void invoice {invoice.number} has no credit note "
                                 f"{invoice.voided_by}; it needs an operator")
        note = self.finish_credit_note(note)
        self.downloads.cancelled_copy(invoice)
        reissued = None
        if invoice.replaced_by:
            reissued = self.issuance.reissue(invoice.company_id, invoice.period_key, invoice.revision + 1)
        voided = self.invoices.find(invoice.invoice_id) or invoice
        if self.on_void is not None:
            self.on_void(voided)
        return VoidResult(voided, note, reissued)

    def finish_credit_note(self, note: Note) -> Note:
        """Store the credit note's PDF (create-only, deterministic bytes) and mark it issued."""
        if note.status is InvoiceStatus.ISSUED:
            return note
        return finish_note(self.blobs, self.clock, note, self.render_credit_note(note),
                           self.credit_notes.mark_issued)

    # -- reading -------------------------------------------------------------------------------

    def list(self, company_id: str) -> list[StoredNote]:
        """The company's credit notes as stored, oldest first."""
        self.queries.require_company(company_id)
        return [dict(n.document) for n in self.credit_notes.list_for_company(company_id)]

    def get(self, company_id: str, credit_note_id: str) -> StoredNote:
        return dict(self.note(company_id, credit_note_id).document)

    def note(self, company_id: str, credit_note_id: str) -> Note:
        """The company's credit note (NotFound when it is another company's or absent)."""
        validate_company_id(company_id)
        note = self.credit_notes.find(credit_note_id) if credit_note_id else None
        if note is None or note.company_id != company_id:
            raise NotFoundError(f"Credit note '{credit_note_id}' of company '{company_id}' not found")
        return note

    def open_pdf(self, company_id: str, credit_note_id: str) -> Download:
        """The credit note's PDF: a signed-URL redirect, or its bytes streamed."""
        return open_note_pdf(self.blobs, self.note(company_id, credit_note_id))
