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

import logging
import uuid
from datetime import date
from typing import Any, Callable, Mapping

from billing.domain import adjustments as adj
from billing.domain import credit_note as cn_rules
from billing.domain.entities import Invoice
from billing.domain.invoice import Supplier
from billing.domain.lifecycle import InvoiceStatus, transition
from billing.domain.naming import validate_company_id
from billing.domain.numbering import counter_id, financial_year
from billing.domain.period import invoice_date
from billing.errors import NotFoundError
from billing.ports import AdjustmentNoteRepository, BlobStore, Clock, PdfRenderer, SettingsRepository
from billing.services.downloads import Download
from billing.services.issuance.finish import store_pdf_and_mark_issued
from billing.services.queries import InvoiceQueries

log = logging.getLogger(__name__)
PDF = "application/pdf"
BeforeFinish = Callable[[adj.NoteKind, Mapping[str, Any]], None]
NoteBuild = Callable[[Mapping[str, Any], int], tuple[dict[str, Any], dict[str, Any]]]


class AdjustmentService:
    """create (partial credit note / debit note), finish, and reading notes back."""

    def __init__(self, *, queries: InvoiceQueries, notes: Mapping[str, AdjustmentNoteRepository],
                 settings_repo: SettingsRepository, blobs: BlobStore, render: PdfRenderer, clock: Clock,
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
               idempotency_key: str | None = None, extra: Mapping[str, Any] | None = None,
               before_finish: BeforeFinish | None = None) -> dict[str, Any]:
        """Issue one note on the named invoice of the company-month; the same key returns the same note."""
        kind = adj.KINDS[kind_name]
        request = adj.validate_request(body, kind)
        key = adj.validate_idempotency_key(idempotency_key)
        target = self.target(company_id, period_key, request.invoice_number)
        digest = request.digest(kind)
        note_id = adj.note_id(target.invoice_id, kind, adj.key_token(key) if key else self.new_token())
        existing = self.repo(kind).get(note_id)
        if existing is not None:
            adj.same_request(existing, digest, kind)
            return self._finished(target, kind, existing, before_finish)
        build, counter = self._builder(target, kind, request, note_id, digest, extra)
        note, created = self.repo(kind).create_note(target.invoice_id, note_id, counter, build)
        if created:
            log.info(f"{kind.name} note created", extra={"json_fields": {
                "invoiceId": target.invoice_id, "noteId": note_id, "number": kind.number(note)}})
        else:
            adj.same_request(note, digest, kind)  # a concurrent request with the same key
        return self._finished(target, kind, note, before_finish)

    def _builder(self, target: Invoice, kind: adj.NoteKind, request: adj.NoteRequest, note_id: str, digest: str,
                 extra: Mapping[str, Any] | None) -> tuple[NoteBuild, str]:
        """Step 1's checks on the invoice as read (nothing written on a refusal), then the transaction's
        build (the checks again, on the invoice as the transaction reads it) and the counter it numbers from."""
        supplier = Supplier.required(self.settings_repo.supplier())
        prefix = supplier.credit_note_prefix if kind is adj.CREDIT else adj.debit_note_prefix(supplier.document)
        now = self.clock()
        today = invoice_date(now, supplier.timezone)
        adj.check_adjustable(target.document, kind)
        if kind is adj.CREDIT:
            cn_rules.check_time_limit(request.invoice_number, date.fromisoformat(str(target.invoice_date)[:10]), today)
        adj.check_cap(target.document, kind, adj.note_amounts(target.document, request))  # re-checked in the txn
        self.finish_pending(target)
        pdf_uri = self.blobs.uri(kind.pdf_path(target.company_id, target.period_key, note_id))

        def build(invoice: Mapping[str, Any], seq: int) -> tuple[dict[str, Any], dict[str, Any]]:
            adj.check_adjustable(invoice, kind)
            amounts = adj.note_amounts(invoice, request)
            adj.check_cap(invoice, kind, amounts)
            note = adj.note_document(
                invoice, kind, amounts, note_id=note_id, prefix=prefix, seq=seq, note_date=today,
                supplier=supplier.snapshot(), reason=request.reason, request_digest=digest, pdf_uri=pdf_uri,
                created_at=now, extra=extra)
            return note, adj.with_entry(invoice, adj.ledger_entry(note, kind))

        return build, counter_id(prefix, financial_year(today))

    def _finished(self, invoice: Invoice, kind: adj.NoteKind, note: dict[str, Any],
                  before_finish: BeforeFinish | None) -> dict[str, Any]:
        """Step 3: the note finished (after before_finish, e.g. a settle note's CSV) and counted."""
        if before_finish is not None:
            before_finish(kind, note)
        return self._counted(invoice, kind, self.finish(kind, note))

    def _counted(self, invoice: Invoice, kind: adj.NoteKind, note: dict[str, Any]) -> dict[str, Any]:
        """The issued note counted on the invoice's balance (a retry counts it again harmlessly)."""
        if self.on_note is not None:
            total = int(note["amountsPaise"]["total"])
            self.on_note(invoice, str(note[kind.id_field]), total if kind is adj.DEBIT else -total)
        return note

    def target(self, company_id: str, period_key: str, number: str) -> Invoice:
        """The month's invoice with this number (Validation / NotFound errors)."""
        return self.queries.find_by_number(company_id, period_key, number)

    # -- finishing -----------------------------------------------------------------------------

    def finish(self, kind: adj.NoteKind, note: dict[str, Any]) -> dict[str, Any]:
        """Store the note's PDF (create-only, deterministic bytes) and mark it issued (idempotent)."""
        if InvoiceStatus.of(note) is InvoiceStatus.ISSUED:
            return note
        transition(note, InvoiceStatus.ISSUED, f"{kind.name} note {kind.number(note)}")
        note_id = str(note[kind.id_field])
        path = kind.pdf_path(note["companyId"], note["billingPeriod"]["month"], note_id)
        return store_pdf_and_mark_issued(self.blobs, self.clock, note_id, path, self.render(note),
                                         kind.download_name(note), self.repo(kind).mark_issued,
                                         f"{kind.name} note", kind.id_field)

    def finish_pending(self, invoice: Invoice) -> list[dict[str, Any]]:
        """Finish the invoice's notes a crash left unfinished (from its ledger)."""
        finished = []
        for entry in adj.notes_of(invoice.document):
            kind = adj.KINDS[entry["kind"]]
            note = self.repo(kind).get(str(entry["id"]))
            if note is not None and InvoiceStatus.of(note) is not InvoiceStatus.ISSUED:
                finished.append(self._counted(invoice, kind, self.finish(kind, note)))
        return finished

    # -- reading -------------------------------------------------------------------------------

    def list(self, kind_name: str, company_id: str) -> list[dict[str, Any]]:
        self.queries.require_company(company_id)
        return self.repo(adj.KINDS[kind_name]).list_for_company(company_id)

    def get(self, kind_name: str, company_id: str, note_id: str) -> dict[str, Any]:
        kind = adj.KINDS[kind_name]
        validate_company_id(company_id)
        note = self.repo(kind).get(note_id) if note_id else None
        if note is None or note.get("companyId") != company_id:
            raise NotFoundError(f"{kind.title} '{note_id}' of company '{company_id}' not found")
        return note

    def open_pdf(self, kind_name: str, company_id: str, note_id: str) -> Download:
        kind = adj.KINDS[kind_name]
        validate_company_id(company_id)
        note = self.repo(kind).find(note_id) if note_id else None
        if note is None or note.company_id != company_id:
            raise NotFoundError(f"{kind.title} '{note_id}' of company '{company_id}' not found")
        if note.status is not InvoiceStatus.ISSUED:
            raise NotFoundError(f"{kind.name} note {note.number} is not issued yet")
        path = kind.pdf_path(company_id, note.period_key, note_id)
        name = kind.download_name(note.document)
        url = self.blobs.signed_url(path, name)
        if url:
            return Download(name, PDF, redirect_url=url)
        return Download(name, PDF, chunks=self.blobs.open_read(path))
