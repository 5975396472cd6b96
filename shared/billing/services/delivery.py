"""Email delivery of issued invoices, credit and debit notes, recorded on the document, never sent twice by accident.

`deliver_quietly` (used by the monthly run) sends an invoice once: one already sent is left alone.
`send(...)` (the API's /send) resends on purpose; `send_credit_note(...)` and `send_debit_note(...)`
likewise for a note. A failed send is recorded (status, attempts, last error) and never touches the document itself.

Exactly-once is guarded by a claim: before talking to SMTP the document's delivery record moves to
"sending" with a claim id in a transaction; a concurrent sender sees the claim and stops.
A claim older than CLAIM_TIMEOUT (a crashed sender) may be taken over.

Email goes to the company's billingEmail as it is at the moment of sending (not the snapshot on
the document), unless an admin names the recipients: {"to": ["a@b.example", ...]}.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Callable

from billing.domain.delivery import DeliveryChange, DeliveryFailed, DeliverySent, DeliverySkipped
from billing.domain.invoice import MAX_CSV_ATTACHMENT_BYTES
from billing.domain.entities import Invoice, Note
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.recipients import recipients_override
from billing.domain.naming import validate_company_id
from billing.errors import BillingError, ConfigurationError, ConflictError, NotFoundError, ValidationError
from billing.ports import (
    AdjustmentNoteRepository, BlobStore, Clock, CreditNoteEmailBuilder, CreditNoteRepository, InvoiceEmailBuilder,
    InvoiceRepository, Mailer,
)
from billing.services.downloads import DownloadService
from billing.services.queries import InvoiceQueries

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=10)


DeliveryAnswer = dict[str, Any]
"""What a send did ({status, attempts, messageId, to} / {status, reason} / the stored delivery record
with a note): the JSON the API answers for the send routes and the run records, returned as is."""
Claim = Callable[[str, str, bool, datetime, float], Invoice | Note | None]


@dataclass(frozen=True)
class _Outgoing:
    """What differs between sending an invoice and a note."""

    kind: str  # "invoice", "credit note" or "debit note"
    id_field: str  # "invoiceId", "creditNoteId" or "debitNoteId", in the logs
    doc_id: str
    number: str
    record: Callable[[str, DeliveryChange], None]
    build: Callable[[list[str]], EmailMessage]
    get: Callable[[str], Invoice | Note | None]
    claim: Claim


class DeliveryService:
    """Sends invoice and credit note emails through a Mailer and records each attempt on the document."""

    def __init__(
        self,
        *,
        queries: InvoiceQueries,
        invoices: InvoiceRepository,
        credit_notes: CreditNoteRepository,
        blobs: BlobStore,
        downloads: DownloadService,
        mailer: Mailer | None,
        build_message: InvoiceEmailBuilder,
        build_credit_note_message: CreditNoteEmailBuilder,
        clock: Clock,
        public_base_url: str = "",
        unavailable_reason: str = "email is not configured (SMTP_HOST unset)",
        debit_notes: AdjustmentNoteRepository | None = None,
        build_debit_note_message: CreditNoteEmailBuilder | None = None,
        portal_link: Callable[[str, str], str | None] | None = None,
    ):
        self.queries = queries
        self.invoices = invoices
        self.credit_notes = credit_notes
        self.blobs = blobs
        self.downloads = downloads
        self.mailer = mailer
        self.build_message = build_message
        self.build_credit_note_message = build_credit_note_message
        self.clock = clock
        self.public_base_url = public_base_url.rstrip("/")
        self.unavailable_reason = unavailable_reason
        self.debit_notes = debit_notes
        self.build_debit_note_message = build_debit_note_message
        self.portal_link = portal_link  # (company id, base URL) -> the customer portal's link

    def send(self, company_id: str, period_key: str, force: bool = False, body: object = None) -> DeliveryAnswer:
        """Send the month's issued invoice; with force, also when it was sent before. body: {"to": [...]}."""
        to = recipients_override(body)
        invoice = self.queries.current(company_id, period_key)
        if invoice.status is InvoiceStatus.VOID:
            raise ConflictError(self._void_message(invoice))
        return self._deliver_invoice(invoice, force=force, raise_errors=True, to=to)

    def deliver_quietly(self, invoice: Invoice) -> DeliveryAnswer:
        """Send the issued invoice (the run's finished one, as stored) once if not sent yet;
        failures are recorded and returned, never raised."""
        try:
            return self._deliver_invoice(invoice, force=False, raise_errors=False, to=None)
        except Exception as exc:  # delivery must never undo or block the invoice
            log.exception("delivery failed unexpectedly")
            return {"status": "failed", "lastError": f"{type(exc).__name__}: {exc}"}

    def send_credit_note(self, company_id: str, credit_note_id: str, body: object = None) -> DeliveryAnswer:
        """Email the issued credit note (again, on purpose); recorded on the credit note. body: {"to": [...]}."""
        return self._send_note("credit note", self.credit_notes, self.build_credit_note_message, company_id,
                               credit_note_id, body, force=True)

    def send_debit_note(self, company_id: str, debit_note_id: str, body: object = None,
                        force: bool = True) -> DeliveryAnswer:
        """Email the issued debit note, its PDF attached; recorded on the debit note. body: {"to": [...]}.

        As for a credit note, the API's send is a resend on purpose (force); the claim still keeps a
        retry that arrives while a send is under way from sending it twice, and without force a note
        already sent is not sent again."""
        if self.debit_notes is None or self.build_debit_note_message is None:
            raise ConflictError("debit note email is not wired here")
        return self._send_note("debit note", self.debit_notes, self.build_debit_note_message, company_id,
                               debit_note_id, body, force=force)

    def _send_note(self, label: str, repo: CreditNoteRepository | AdjustmentNoteRepository,
                   build_message: CreditNoteEmailBuilder, company_id: str, note_id: str, body: object,
                   force: bool) -> DeliveryAnswer:
        """A credit or debit note's email: the note of this company, issued, its stored PDF attached."""
        to = recipients_override(body)
        validate_company_id(company_id)
        note = repo.find(note_id) if note_id else None
        if note is None or note.company_id != company_id:
            raise NotFoundError(f"{label.capitalize()} '{note_id}' of company '{company_id}' not found")
        number = str(note.number)
        if note.status is not InvoiceStatus.ISSUED:
            raise ConflictError(f"{label} {number} is not issued yet (its PDF is being stored); "
                                "send it once it is issued")

        def build(recipients: list[str]) -> EmailMessage:
            link = self.blobs.signed_url(note.pdf_path, note.download_name)
            return build_message(note, self.blobs.read(note.pdf_path), link, recipients)

        outgoing = _Outgoing(label, f"{note.kind}NoteId", note_id, number, repo.record_delivery, build, repo.find,
                             repo.claim_delivery)
        return self._deliver(outgoing, company_id, to, force=force, raise_errors=True)

    def _void_message(self, invoice: Invoice) -> str:
        voided_by = invoice.document.get("voidedBy") or {}
        company, month = invoice.company_id, invoice.period_key
        instead = (f"send its reissue (POST /billing/invoices/{company}/{month}/send once it is issued)"
                   if invoice.replaced_by else
                   f"issue its reissue first (POST /billing/generate/{company}?month=..&year=.. with an admin key)")
        return (f"invoice {invoice.number} is void: it was cancelled by credit note "
                f"{voided_by.get('creditNoteNumber')} and cannot be sent; {instead}, or send the credit note "
                f"(POST /billing/credit-notes/{company}/{voided_by.get('creditNoteId')}/send)")

    def _deliver_invoice(self, invoice: Invoice, force: bool, raise_errors: bool,
                         to: list[str] | None) -> DeliveryAnswer:
        if invoice.status is not InvoiceStatus.ISSUED:
            raise ConflictError(f"invoice {invoice.number} is not issued yet; nothing to send")

        def build(recipients: list[str]) -> EmailMessage:
            paths = invoice.file_paths
            pdf = self.blobs.read(paths["pdf"])
            size = self.blobs.size(paths["csv"])
            csv_bytes = self.blobs.read(paths["csv"]) if size is not None and size <= MAX_CSV_ATTACHMENT_BYTES else None
            links = self.downloads.links(invoice, self.public_base_url or None)
            portal = self.portal_link(invoice.company_id, self.public_base_url) \
                if self.portal_link is not None and self.public_base_url else None
            if portal:
                links = {**links, "portal": portal}
            return self.build_message(invoice, self.queries.replaces(invoice), pdf, csv_bytes, links,
                                      recipients)

        outgoing = _Outgoing("invoice", "invoiceId", invoice.invoice_id, str(invoice.number),
                             self.invoices.record_delivery, build, self.invoices.find, self.invoices.claim_delivery)
        return self._deliver(outgoing, invoice.company_id, to, force, raise_errors)

    def _deliver(self, out: _Outgoing, company_id: str, to: list[str] | None, force: bool,
                 raise_errors: bool) -> DeliveryAnswer:
        recipients = to or self._billing_email(company_id)
        if not recipients:
            reason = "company has no billingEmail"
            out.record(out.doc_id, DeliverySkipped(reason))
            return {"status": "skipped", "reason": reason}
        if self.mailer is None:
            if raise_errors:  # the caller asked for this send: answer 409, write nothing
                raise ConflictError(self.unavailable_reason)
            out.record(out.doc_id, DeliverySkipped(self.unavailable_reason))
            return {"status": "skipped", "reason": self.unavailable_reason}

        claimed = out.claim(out.doc_id, uuid.uuid4().hex, force, self.clock(), CLAIM_TIMEOUT.total_seconds())
        if claimed is None:
            current = out.get(out.doc_id)
            record = current.document.get("delivery", {}) if current is not None else {}
            return {**record, "note": "already sent or being sent; not sent again"}
        return self._send(out, claimed.delivery.attempts, recipients, raise_errors)

    def _billing_email(self, company_id: str) -> list[str]:
        """The company's billingEmail now (one address, or several separated by commas/semicolons)."""
        company = self.queries.companies.get(company_id)
        return company.billing_emails if company is not None else []

    def _send(self, out: _Outgoing, attempts: int, recipients: list[str], raise_errors: bool) -> DeliveryAnswer:
        """Build and send the claimed email; record the outcome on the document (the claim released)."""
        assert self.mailer is not None  # checked before claiming
        try:
            message_id = self.mailer.send(out.build(recipients))
        except Exception as exc:  # recorded, and the claim released, whatever went wrong
            detail = self._record_failure(out, attempts, exc)
            if raise_errors:
                raise
            return {"status": "failed", "attempts": attempts, "lastError": detail}
        to = ", ".join(recipients)
        out.record(out.doc_id, DeliverySent(attempts, message_id, to, self.clock()))
        log.info(f"{out.kind} emailed", extra={"json_fields": {out.id_field: out.doc_id, "messageId": message_id}})
        return {"status": "sent", "attempts": attempts, "messageId": message_id, "to": to}

    def _record_failure(self, out: _Outgoing, attempts: int, exc: Exception) -> str:
        detail = exc.detail if isinstance(exc, BillingError) else f"{type(exc).__name__}: {exc}"
        # a bad address or template will not fix itself on retry
        permanent = bool(getattr(exc, "permanent", isinstance(exc, (ConfigurationError, ValidationError))))
        out.record(out.doc_id, DeliveryFailed(attempts, detail, permanent, self.clock()))
        log.warning(f"{out.kind} email failed: {detail}",
                    extra={"json_fields": {out.id_field: out.doc_id, "attempts": attempts}})
        return detail
