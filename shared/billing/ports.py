"""The service layer's view of the outside world: small Protocols the adapters and fakes implement."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from decimal import Decimal
from email.message import EmailMessage
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

from billing.domain.adjustments import NoteDraft
from billing.domain.charges import OneOffCharge
from billing.domain.company import Company, CompanyRow
from billing.domain.credit_note import Void
from billing.domain.delivery import DeliveryChange
from billing.domain.entities import Invoice, IssuedPdf, Note
from billing.domain.invoice import InvoiceDraft, Supplier
from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord, RatedCall, UnplacedCall
from billing.domain.receivable import CompanyOutstanding, Payment, Receivable, TdsMatch
from billing.domain.reconcile import BilledCall
from billing.domain.runs import Fanout, RunChange, RunEntry, RunState, RunSummary

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default Clock: now, in UTC (the container injects it; tests inject a fixed one)."""
    return datetime.now(timezone.utc)

PdfRenderer = Callable[[Mapping[str, Any]], bytes]
"""A JSON answer printed as a PDF (the account statement: the same figures GET /statement answers)."""
NotePdfRenderer = Callable[[Note], bytes]
"""A credit or debit note's PDF (deterministic bytes), printed from the stored document the entity
carries, as the invoice's is."""
InvoicePdfRenderer = Callable[[Invoice], bytes]
"""The invoice's PDF (deterministic bytes). The adapter prints from the stored document the entity
carries (its supplier and recipient snapshots, usage, tariff and amounts as stored): the entity's
typed fields are a subset of what the page shows, and the PDF must stay byte-identical."""
PreviewAnswer = dict[str, Any]
"""The JSON body of GET /billing/preview (openapi.json's preview answer): the rated draft in the
stored invoice's shape, built once by the adapters' mapper and returned as it is."""
PreviewBuilder = Callable[[InvoiceDraft, datetime, Sequence[OneOffCharge]], PreviewAnswer]
"""(the rated draft, now, the month's one-off charges) -> the preview answer."""

PdfStamper = Callable[[bytes, Invoice], bytes]
"""(a void invoice's original PDF, the invoice) -> its copy stamped CANCELLED (deterministic bytes)."""


class CompanyRepository(Protocol):
    def get(self, company_id: str) -> Company | None:
        """The company, or None; ConfigurationError when a field has the wrong type
        (the strict schema, DESIGN 11: field, value and expected type named)."""

    def tariffs(self, company_id: str) -> list[tuple[str, Mapping[str, Any]]]:
        """(YYYY-MM-DD, document) of companies/{id}/tariffs: the dated tariffs, any order (each
        document is parsed and checked by the domain's tariff history, which names the bad one)."""

    def list_active(self) -> Iterator[tuple[str, Company | None]]:
        """(companyId, company) of every company whose `active` is not the boolean false, unchecked:
        a malformed one is listed with None (and reported failed when billed)."""

    def page(self, after: str | None, limit: int) -> list[CompanyRow]:
        """Up to `limit` companies ordered by id, after the id `after`, read unchecked."""

    def validate(self, company_id: str, doc: Mapping[str, Any]) -> Company:
        """The document sent to be written (free-form JSON until the schema accepts it) as the
        company; ValidationError naming every field of the wrong type."""

    def put(self, company: Company) -> None:
        """Create or replace its document as sent (`company.document`), validated again first (nothing
        written when it fails)."""


class SettingsRepository(Protocol):
    def supplier(self) -> Supplier | None:
        """The supplier (settings/billing, its document beside it), or None when not set;
        ConfigurationError when a field has the wrong type or the supplier's rules refuse it."""

    def validate(self, doc: Mapping[str, Any]) -> None:
        """ValidationError naming every field of the wrong type (the document sent is free-form JSON
        until the schema accepts it)."""

    def put(self, supplier: Supplier) -> None:
        """Create or replace the supplier document as sent (`supplier.document`), validated again first."""


class CallLogSource(Protocol):
    def stream(self, company_id: str, period: BillingPeriod) -> Iterator[CallRecord]:
        """The company's calls that started in [period.start, period.end), ordered by start."""

    def slices(self, company_id: str, period: BillingPeriod, count: int) -> list[Iterator[CallRecord]]:
        """The same calls as consecutive time slices (1 to 31 of them), each ordered by start.

        Read one after another they equal stream(); a source may return fewer or more slices than
        `count` (never more than 31) when the month's size calls for it."""

    def unplaced(self, company_id: str) -> Iterator[UnplacedCall]:
        """The company's call logs no month holds (startedAt missing or not a timestamp), any order."""


class InvoiceRepository(Protocol):
    """invoices/{id}, read and written as entities (the adapters' mapper keeps the stored shape)."""

    def find(self, invoice_id: str) -> Invoice | None:
        """The invoice, or None."""

    def find_for_company(self, company_id: str, year: int | None = None) -> list[Invoice]:
        """The company's invoices, newest period first."""

    def find_dated(self, start: str, end: str) -> Iterator[Invoice]:
        """Numbered invoices whose invoiceDate is in [start, end) (ISO strings), streamed."""

    def create_draft(self, draft: InvoiceDraft, created_at: datetime, replacing: Invoice | None = None,
                     one_off_charges: Sequence[OneOffCharge] = ()) -> tuple[Invoice, bool]:
        """Store the rated draft as invoice draft.invoice_id unless it exists (create-only): a reissue
        names the void invoice it replaces, and the month's one-off charges are stored with it.
        Returns (the invoice as stored, created)."""

    def pending_drafts(self, limit: int) -> list[str]:
        """Ids of invoices still waiting for a number (drafts), oldest first."""

    def number_drafts(self, invoice_ids: Sequence[str], counter_id: str,
                      number: Callable[[Invoice, int], Invoice]) -> list[Invoice]:
        """In one transaction: each listed invoice still a draft takes the counter's next number
        (in list order) and becomes number(draft, seq) (`Invoice.start_issuing`); the counter is
        written once. Returns the invoices it numbered (not those already numbered by someone else)."""

    def link_replacement(self, invoice_id: str, reissue_id: str) -> None:
        """Name the reissue that replaces a void invoice (`replacedBy`)."""

    def mark_issued(self, invoice_id: str, pdf: IssuedPdf) -> Invoice:
        """Atomically mark it issued with its PDF's facts, unless it already is (the first
        finisher's stay); the invoice as stored."""

    def claim_delivery(self, invoice_id: str, claim_id: str, force: bool, now: datetime,
                       timeout_seconds: float) -> Invoice | None:
        """Move the invoice's delivery to "sending" under claim_id, atomically (the invoice as claimed);
        None when it must not be sent (already sent and not forced, or another sender's claim is
        younger than the timeout)."""

    def record_delivery(self, invoice_id: str, change: DeliveryChange) -> None:
        """Record what one sender did on the invoice's delivery (its claim released); nothing else changes."""


NoteBuild = Callable[[Invoice, int], NoteDraft]
"""(the invoice as the transaction read it, the counter's next number) -> the note; may raise (a refusal)."""
VoidBuild = Callable[[Invoice, int], tuple[NoteDraft, Void]]
"""(the issued invoice as the transaction read it, the counter's next number) -> its credit note and the void."""


class CreditNoteRepository(Protocol):
    def find(self, credit_note_id: str) -> Note | None:
        """The credit note, or None."""

    def list_for_company(self, company_id: str) -> list[Note]:
        """The company's credit notes, oldest first."""

    def dated(self, start: str, end: str) -> Iterator[Note]:
        """Credit notes whose creditNoteDate is in [start, end) (ISO strings), streamed."""

    def record_delivery(self, credit_note_id: str, change: DeliveryChange) -> None:
        """Record what one sender did on the credit note's delivery (its claim released)."""

    def mark_issued(self, credit_note_id: str, issued: IssuedPdf) -> Note:
        """Atomically mark it issued (its PDF stored), unless it already is; the note as stored."""

    def claim_delivery(self, credit_note_id: str, claim_id: str, force: bool, now: datetime,
                       timeout_seconds: float) -> Note | None:
        """As InvoiceRepository.claim_delivery, on the credit note's `delivery`."""

    def void_invoice(self, invoice_id: str, credit_note_id: str, counter_id: str,
                     build: VoidBuild) -> tuple[Invoice | None, Note | None]:
        """In one transaction: if the invoice is issued, build(invoice, seq) gives the credit note
        (created with the counter's next number, seq) and the void; both are written and the counter
        advanced. An invoice in any other state is left as it is.
        Returns (invoice as it is afterwards or None, its credit note or None)."""


class AdjustmentNoteRepository(Protocol):
    """Partial credit notes (in the credit notes' collection) or debit notes (their own), each
    created and numbered in one transaction with its invoice's ledger (`adjustments`)."""

    def find(self, note_id: str) -> Note | None:
        """The note, or None."""

    def list_for_company(self, company_id: str) -> list[Note]:
        """The company's notes of this kind, oldest first."""

    def dated(self, start: str, end: str) -> Iterator[Note]:
        """Notes whose date is in [start, end) (ISO strings), streamed."""

    def mark_issued(self, note_id: str, issued: IssuedPdf) -> Note:
        """Atomically mark it issued (its PDF stored), unless it already is; the note as stored."""

    def record_delivery(self, note_id: str, change: DeliveryChange) -> None:
        """Record what one sender did on the note's delivery (its claim released)."""

    def claim_delivery(self, note_id: str, claim_id: str, force: bool, now: datetime,
                       timeout_seconds: float) -> Note | None:
        """As InvoiceRepository.claim_delivery, on the note's `delivery`."""

    def create_note(self, invoice_id: str, note_id: str, counter_id: str, build: NoteBuild) -> tuple[Note, bool]:
        """In one transaction: unless note_id exists, build(invoice, seq) gives the note (created with
        the counter's next number, seq), which is written with its line in the invoice's ledger, and
        the counter advanced. build may raise (a refusal): then nothing is written.
        Returns (the note, whether this call created it)."""


class ChargeRepository(Protocol):
    """One-off charges, companies/{id}/charges/{chargeId}, and each month's closing for charges
    (domain/charges.py has the rule)."""

    def add(self, charge: OneOffCharge) -> tuple[OneOffCharge, bool]:
        """In one transaction: the stored charge with this charge's id when it exists (False); else,
        unless its month is invoiced or being issued (ConflictError saying so), this charge (True)."""

    def close(self, company_id: str, period_key: str, revision: int) -> None:
        """Close the month for charges before drafting revision `revision` of its invoice, in a
        transaction that serialises with add (a later add is refused)."""

    def for_month(self, company_id: str, period_key: str) -> list[OneOffCharge]:
        """The month's charges (a handful: read whole), any order."""


BilledCallReader = Callable[[Iterable[bytes]], Iterator[BilledCall]]
"""Parses an invoice's stored CSV (its bytes, in chunks) into the billed calls, in file order."""


class HashingWriter(Protocol):
    def write(self, data: bytes) -> int: ...

    def md5_base64(self) -> str:
        """The base64 MD5 of everything written so far."""


class BlobStore(Protocol):
    def writer(self, path: str, content_type: str, filename: str) -> AbstractContextManager[HashingWriter]:
        """A streaming writer to a new object (used for staging objects with unique names)."""

    def compose(self, sources: list[str], dest: str, content_type: str, filename: str) -> str:
        """Concatenate up to 32 objects, in order, into dest; returns a checksum of the result."""

    def promote(self, staging_path: str, final_path: str) -> None:
        """Copy a staged object to its final name unless the final one exists (create-only)."""

    def put_create_only(self, path: str, data: bytes, content_type: str, filename: str) -> bool:
        """Upload unless the object exists; False when it already existed (never overwrites)."""

    def exists(self, path: str) -> bool: ...

    def size(self, path: str) -> int | None:
        """Size in bytes, None when absent."""

    def read(self, path: str) -> bytes: ...

    def open_read(self, path: str) -> Iterable[bytes]:
        """The object's bytes in chunks (for streaming downloads)."""

    def delete(self, path: str) -> None: ...

    def signed_url(self, path: str, filename: str) -> str | None:
        """A V4 signed download URL, or None where signing is unavailable."""

    def uri(self, path: str) -> str:
        """gs://bucket/path."""


class CallCsvSink(Protocol):
    """Rated calls as CSV rows, streamed; keeps the column sums the reconciliation rows need."""

    @property
    def rows(self) -> int: ...

    @property
    def minutes_written(self) -> Decimal: ...

    @property
    def amount_written(self) -> Decimal: ...

    def write(self, rated: RatedCall) -> None: ...

    def write_unplaced(self, call: UnplacedCall) -> None:
        """A row for a call log no month holds, with its reason (bills nothing)."""

    def flush(self) -> None: ...

    def finish(self, summary_rows: Iterable[tuple[str, Decimal, Decimal]],
               invoice_rows: Iterable[tuple[str, Decimal]] = ()) -> None:
        """Write the (label, minutes, amount) reconciliation rows, the invoice's (label, amount)
        summary rows, and flush."""


class CallCsvFactory(Protocol):
    def __call__(self, out: HashingWriter, tz: tzinfo, rate_per_minute: Decimal, header: bool = True) -> CallCsvSink:
        """A CSV sink writing to `out` (the header row only when asked); each call priced at the
        rate rating gave it (RatedCall.rate), else at rate_per_minute."""


class RunRepository(Protocol):
    """billingRuns/{YYYY-MM} (a small summary) and billingRuns/{YYYY-MM}/companies/{id} (one per company)."""

    def record_trigger(self, run_id: str, period_key: str, trigger: str) -> RunSummary:
        """Create the summary if needed, append the trigger (capped); returns the summary."""

    def summary(self, run_id: str) -> RunSummary | None:
        """The summary, or None."""

    def save_fanout(self, run_id: str, fanout: Fanout) -> None:
        """Replace the summary's fan-out progress (id, cursor, counts, finished)."""

    def states(self, run_id: str) -> dict[str, RunEntry]:
        """companyId -> its entry (state, at, fan-out id, invoice number) for every company on the run."""

    def set_states(self, run_id: str, entries: Mapping[str, RunChange]) -> None:
        """Write many companies' states at once (batched)."""

    def mark(self, run_id: str, company_id: str, change: RunChange, *, unless_done: bool = False) -> bool:
        """Record one company's state (attempts counted); False when unless_done found it done."""

    def with_unplaced_calls(self, run_id: str, limit: int) -> list[RunEntry]:
        """Up to `limit` companies recorded with unplaced call logs, most first."""

    def company(self, run_id: str, company_id: str) -> RunEntry | None:
        """One company's entry, or None."""

    def counts(self, run_id: str, states: Iterable[RunState]) -> dict[RunState, int]:
        """How many companies are in each state (aggregation queries, no document reads)."""

    def in_state(self, run_id: str, state: RunState, page_size: int,
                 after: str | None) -> tuple[list[RunEntry], str | None]:
        """A page of the companies in a state, by id after `after`; and the next page's token."""


class WakeClaims(Protocol):
    """Create-only markers: the first claim of a key wins until the key is released."""

    def claim(self, run_id: str, key: str) -> bool:
        """True for the one caller that created the marker (or when unsure: a spare wake is harmless)."""

    def release(self, run_id: str, key: str) -> None: ...


class OutgoingMessage(Protocol):
    """A Pub/Sub message (services/runs/messages.py): its JSON body and its attributes."""

    def to_payload(self) -> Mapping[str, object]: ...

    def attributes(self) -> Mapping[str, str]: ...


class Publisher(Protocol):
    def publish(self, topic: str, message: OutgoingMessage) -> str:
        """Publish the message as JSON; returns the message id once the broker has it."""

    def publish_many(self, topic: str, messages: Sequence[OutgoingMessage]) -> Callable[[], int]:
        """Start publishing every message (batched, asynchronously); the returned wait() blocks
        until the broker has them all and returns how many, or raises TransientError."""


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> str:
        """Send an email; returns its Message-ID."""


class InvoiceEmailBuilder(Protocol):
    def __call__(self, invoice: Invoice, replaces: Mapping[str, str | None] | None, pdf_bytes: bytes,
                 csv_bytes: bytes | None, links: Mapping[str, str], to: Sequence[str]) -> EmailMessage:
        """The invoice email to `to`, ready for a Mailer; replaces: the void invoice's and its credit
        note's numbers when it is a reissue ({invoiceNumber, creditNoteNumber})."""


class CreditNoteEmailBuilder(Protocol):
    def __call__(self, note: Note, pdf_bytes: bytes, link: str | None, to: Sequence[str]) -> EmailMessage:
        """The credit (or debit) note email to `to` (its PDF attached), ready for a Mailer."""


@dataclass(frozen=True)
class ReceivableChange:
    """What one receivables transaction writes: the invoice's receivable, maybe a payment, and how
    much the balance moved (the per-company and total ageing aggregates move by it, at its due date)."""

    receivable: Receivable
    payment: Payment | None = None
    delta_paise: int = 0


ReceivableUpdate = Callable[[Receivable | None, Payment | None], "ReceivableChange | None"]


class ReceivableRepository(Protocol):
    """receivables/{invoiceId}, payments/{companyId}_{reference} and the ageing aggregates."""

    def get(self, invoice_id: str) -> Receivable | None:
        """The invoice's receivable, or None (not opened yet)."""

    def payment(self, payment_id: str) -> Payment | None: ...

    def payments_for_company(self, company_id: str) -> list[Payment]:
        """The company's payments (reversed ones included), by date."""

    def payments_dated(self, start: str, end: str) -> list[Payment]:
        """Payments whose date is in [start, end) (ISO dates), and those reversed in it."""

    def change(self, invoice_id: str, company_id: str, due: str, payment_id: str | None,
               update: ReceivableUpdate) -> tuple[ReceivableChange | None, Receivable | None]:
        """In one transaction: update(receivable or None, payment or None) says what to write (None:
        nothing); the receivable, the payment and the aggregates (by delta_paise at `due`) are written
        together. An exception from update writes nothing. Returns (the change or None, the
        receivable as stored afterwards)."""

    def with_balance(self) -> Iterator[Receivable]:
        """Every receivable with a balance above zero (balancePaise > 0), streamed."""

    def aging_page(self, page_size: int, after: str | None) -> tuple[list[CompanyOutstanding], str | None]:
        """Companies with an outstanding balance (by due date), by id after `after`; and the next
        page's token."""

    def aging_totals(self) -> dict[str, int]:
        """Due date -> outstanding paise over every company."""

    def tds_payments(self, quarter_key: str) -> list[Payment]:
        """Payments with TDS in a financial-year quarter (`2025-26-Q3`), reversed ones included."""

    def mark_tds_matched(self, payment_id: str, match: TdsMatch) -> None:
        """Record on a payment that its TDS is in Form 26AS."""

    def month_totals(self, first: str, last: str) -> dict[str, dict[str, int]]:
        """Billing month (YYYY-MM, first..last inclusive) -> {invoices, invoicedPaise, collectedPaise,
        outstandingPaise}: aggregates moved by change() in the same transaction (months without any absent)."""

    def rebuild_month(self, period: str, invoice_status: Callable[[str], str | None]) -> dict[str, int]:
        """The month totals of `period` recomputed from its receivables (streamed) and set exactly,
        each written only where it differs; a receivable without `invoiceStatus` gets
        invoice_status(invoiceId) (left as it is when that is None). A change() meanwhile is never
        lost (the part it moved is computed again). Returns counts: receivables, shardsWritten,
        statusFilled, statusUnknown, rounds."""


InvoiceRow = tuple[Invoice | None, Receivable | None]
"""A row of the console's invoice list: (the invoice, None) while it is being issued, (None, its
receivable) once issued or void."""


class InvoiceListing(Protocol):
    """The console's invoice list: one billing month's invoices by document id, a page at a time."""

    def page(self, period_key: str, status: str | None, payment_status: str | None, size: int,
             after: str | None) -> tuple[list[InvoiceRow], str | None]:
        """Up to `size` rows of the month after document id `after`, and the next page's token (or None).

        Issued and void invoices (status None, "issued" or "void"; any payment_status) are read from
        their receivables, one small document each: (None, receivable). Invoices still being issued
        (status "draft" or "issuing", no payment status) from the invoices: (invoice, None)."""


class ReminderEmailBuilder(Protocol):
    def __call__(self, receivable: Receivable, company: Company, supplier: Supplier,
                 step: int, pdf_link: str | None, upi_link: str | None) -> EmailMessage:
        """The payment reminder for one invoice at one step (days from the due date)."""
