"""Partial credit notes and debit notes on one issued invoice (DESIGN section 13), exactly once.

The steps, each safe to repeat after a crash, like the void's:
  1. validate everything (nothing is written on a refusal): the body, the Idempotency-Key, the
     company, the invoice number among the month's invoices, its status, section 34's time limit
     (credit notes only);
  2. one transaction creates the note `{invoiceId}_{cn|dn}-{token}` (token: the key's hash, or
     random without a key) with the next number of its series, adds it to the invoice's ledger
     (`adjustments`) and advances the counter; the cap on credits is checked inside it, on the
     invoice as the transaction read it;
  3. finish the note from its document alone: render and store its PDF (create-only), mark it issued.
A retried request with the same key finds the note and runs step 3 again; a note left unfinished
by a crash without a key is finished by the next note on that invoice (or `finish_pending`).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import date
from typing import Any, Callable, Mapping

from billing.domain import adjustments as adj
from billing.domain import credit_note as cn_rules
from billing.domain.entities import Invoice, IssuedPdf, Note
from billing.domain.invoice import Supplier
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.naming import FILE_KINDS, validate_company_id
from billing.domain.numbering import counter_id, financial_year
from billing.domain.period import invoice_date
from billing.errors import NotFoundError
from billing.ports import AdjustmentNoteRepository, BlobStore, Clock, NoteBuild, NotePdfRenderer, SettingsRepository
from billing.services.downloads import Download
from billing.services.issuance.finish import store_pdf
from billing.services.queries import InvoiceQueries

log = logging.getLogger(__name__)
PDF = "application/pdf"
BeforeFinish = Callable[[Note], None]
StoredNote = dict[str, Any]
"""A note's answer: its document as stored, returned as is (the API's credit/debit note JSON)."""


def finish_note(blobs: BlobStore, clock: Clock, note: Note, pdf: bytes,
                mark_issued: Callable[[str, IssuedPdf], Note]) -> Note:
    """Store a numbered note's PDF (create-only: a retry keeps the first copy) and mark it issued
    with the PDF's checksum (idempotent); the void's credit notes and partial notes alike."""
    if note.status is InvoiceStatus.ISSUED:
        return note
    note.mark_issued()  # refuses what the lifecycle does not allow
    stored = store_pdf(blobs, clock, note.note_id, note.pdf_path, pdf, note.download_name, f"{note.kind} note",
                       adj.KINDS[note.kind].id_field)
    return mark_issued(note.note_id, stored)


def open_note_pdf(blobs: BlobStore, note: Note) -> Download:
    """An issued credit or debit note's PDF: a signed-URL redirect, or its bytes streamed."""
    if note.status is not InvoiceStatus.ISSUED:
        raise NotFoundError(f"{note.kind} note {note.number} is not issued yet")
    url = blobs.signed_url(note.pdf_path, note.download_name)
    if url:
        return Download(note.download_name, PDF, redirect_url=url)
    return Download(note.download_name, PDF, chunks=blobs.open_read(note.pdf_path))


class AdjustmentService:
    """create (partial credit note / debit note), finish, and reading notes back."""

    def __init__(self, *, queries: InvoiceQueries, notes: Mapping[str, AdjustmentNoteRepository],
                 settings_repo: SettingsRepository, blobs: BlobStore, render: NotePdfRenderer, clock: Clock,
                 new_token: Callable[[], str] = lambda: uuid.uuid4().hex[:24],
                 on_note: Callable[[Invoice, str, int], object] | None = None):
        self.queries = queries
        self.on_note = on_note  # counts the note on the invoice's receivable (idempotent by note id)
        self.notes = notes
        self.settings_repo = settings_repo
        self.blobs = blobs
        self.render = render
        self.clock = clock
        self.new_token = new_token

    def repo(self, kind: adj.NoteKind) -> AdjustmentNoteRepository:
        return self.notes[kind.name]

    # -- creating ------------------------------------------------------------------------------

    def create(self, kind_name: str, company_id: str, period_key: str, body: object,
               idempotency_key: str | None = None) -> StoredNote:
        """Issue one note on the named invoice of the company-month; the same key returns the same note."""
        return dict(self.issue(kind_name, company_id, period_key, body, idempotency_key).document)

    def issue(self, kind_name: str, company_id: str, period_key: str, body: object,
              idempotency_key: str | None = None, settlement: adj.SettlementFigures | None = None,
              before_finish: BeforeFinish | None = None) -> Note:
        """create's note (a settle's records the reconcile figures it settles)."""
        kind = adj.KINDS[kind_name]
        request = adj.validate_request(body, kind)
        key = adj.validate_idempotency_key(idempotency_key)
        target = self.target(company_id, period_key, request.invoice_number)
        digest = request.digest(kind)
        note_id = adj.note_id(target.invoice_id, kind, adj.key_token(key) if key else self.new_token())
        existing = self.repo(kind).find(note_id)
        if existing is not None:
            adj.same_request(existing, digest)
            return self._finished(target, existing, before_finish)
        build, counter = self._builder(target, kind, request, note_id, digest, settlement)
        note, created = self.repo(kind).create_note(target.invoice_id, note_id, counter, build)
        if created:
            log.info(f"{kind.name} note created", extra={"json_fields": {
                "invoiceId": target.invoice_id, "noteId": note_id, "number": note.number}})
        else:
            adj.same_request(note, digest)  # a concurrent request with the same key
        return self._finished(target, note, before_finish)

    def _builder(self, target: Invoice, kind: adj.NoteKind, request: adj.NoteRequest, note_id: str, digest: str,
                 settlement: adj.SettlementFigures | None) -> tuple[NoteBuild, str]:
        """Step 1's checks on the invoice as read (nothing written on a refusal), then the transaction's
        build (the checks again, on the invoice as the transaction reads it) and the counter it numbers from."""
        supplier = Supplier.required(self.settings_repo.supplier())
        prefix = supplier.credit_note_prefix if kind is adj.CREDIT else adj.debit_note_prefix(supplier.document)
        now = self.clock()
        today = invoice_date(now, supplier.timezone)
        adj.check_adjustable(target, kind)
        if kind is adj.CREDIT:
            cn_rules.check_time_limit(request.invoice_number, date.fromisoformat(str(target.invoice_date)[:10]), today)
        adj.check_cap(target, kind, adj.note_amounts(target.document, request))  # re-checked in the txn
        self.finish_pending(target)
        pdf_uri = self.blobs.uri(kind.pdf_path(target.company_id, target.period_key, note_id))

        def build(invoice: Invoice, seq: int) -> adj.NoteDraft:
            adj.check_adjustable(invoice, kind)
            amounts = adj.note_amounts(invoice.document, request)
            adj.check_cap(invoice, kind, amounts)
            return adj.NoteDraft(kind, note_id, invoice, prefix, seq, today, supplier, request.reason, pdf_uri,
                                 now, amounts, digest, settlement)

        return build, counter_id(prefix, financial_year(today))

    def _finished(self, invoice: Invoice, note: Note, before_finish: BeforeFinish | None) -> Note:
        """Step 3: the note finished (after before_finish, e.g. a settle note's CSV) and counted."""
        if before_finish is not None:
            before_finish(note)
        return self._counted(invoice, self.finish(note))

    def _counted(self, invoice: Invoice, note: Note) -> Note:
        """The issued note counted on the invoice's balance (a retry counts it again harmlessly)."""
        if self.on_note is not None:
            total = note.total.paise
            self.on_note(invoice, note.note_id, total if note.kind == adj.DEBIT.name else -total)
        return note

    def target(self, company_id: str, period_key: str, number: str) -> Invoice:
        """The month's invoice with this number (Validation / NotFound errors)."""
        return self.queries.find_by_number(company_id, period_key, number)

    # -- finishing -----------------------------------------------------------------------------

    def finish(self, note: Note) -> Note:
        """Store the note's PDF (create-only, deterministic bytes) and mark it issued (idempotent)."""
        if note.status is InvoiceStatus.ISSUED:
            return note
        return finish_note(self.blobs, self.clock, note, self.render(note),
                           self.repo(adj.KINDS[note.kind]).mark_issued)

    def finish_pending(self, invoice: Invoice) -> list[Note]:
        """Finish the invoice's notes a crash left unfinished (from its ledger)."""
        finished = []
        for entry in invoice.ledger:
            note = self.repo(adj.KINDS[entry.kind]).find(entry.note_id)
            if note is not None and note.status is not InvoiceStatus.ISSUED:
                finished.append(self._counted(invoice, self.finish(note)))
        return finished

    # -- reading -------------------------------------------------------------------------------

    def list(self, kind_name: str, company_id: str) -> list[StoredNote]:
        """The company's notes of this kind as stored, oldest first."""
        self.queries.require_company(company_id)
        return [dict(n.document) for n in self.repo(adj.KINDS[kind_name]).list_for_company(company_id)]

    def get(self, kind_name: str, company_id: str, note_id: str) -> StoredNote:
        return dict(self.note(kind_name, company_id, note_id).document)

    def note(self, kind_name: str, company_id: str, note_id: str) -> Note:
        """The company's note (NotFound when it is another company's or absent)."""
        kind = adj.KINDS[kind_name]
        validate_company_id(company_id)
        note = self.repo(kind).find(note_id) if note_id else None
        if note is None or note.company_id != company_id:
            raise NotFoundError(f"{kind.title} '{note_id}' of company '{company_id}' not found")
        return note

    def open_pdf(self, kind_name: str, company_id: str, note_id: str) -> Download:
        return open_note_pdf(self.blobs, self.note(kind_name, company_id, note_id))
