"""The invoice, credit note and debit note as typed values: status, money as INR, lines, period, number, ids.

Each is frozen; a change of status is a new value from a transition method (`start_issuing`,
`mark_issued`, `void`), which refuses what the lifecycle does not allow (draft -> issuing -> issued
-> void) with `TransitionRefused`. The stored document they were read from travels with them
(`document`): the API returns it as stored (its JSON numbers byte for byte), so the entity adds
types beside it and never re-derives the old API's numbers. The Firestore shape <-> entity mapping
is in one adapter (`billing.adapters.invoice_document`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

from billing.domain.delivery import Delivery
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import INR
from billing.domain.naming import file_name, file_paths, invoice_id, stem
from billing.errors import ConflictError



class TransitionRefused(ConflictError):
    """A change of status the lifecycle does not allow (draft -> issuing -> issued -> void only)."""


def _to(status: InvoiceStatus, target: InvoiceStatus, what: str) -> InvoiceStatus:
    if not status.allows(target):
        raise TransitionRefused(f"{what} is {status.value!r} and cannot become {target.value!r}")
    return target


@dataclass(frozen=True)
class InvoiceLine:
    """One line as printed: quantity and rate at their computed precision, the amount in paise."""

    description: str
    quantity: Decimal
    rate: Decimal
    amount: INR
    unit: str = ""


@dataclass(frozen=True)
class TaxAmounts:
    cgst: INR
    sgst: INR
    igst: INR

    @property
    def total(self) -> INR:
        return self.cgst + self.sgst + self.igst


@dataclass(frozen=True)
class IssuedPdf:
    """What storing a numbered document's PDF establishes: when it was issued, the PDF's checksum."""

    issued_at: datetime
    md5: str  # hex


@dataclass(frozen=True)
class LedgerEntry:
    """One line of an invoice's ledger of partial credit notes and debit notes (`adjustments`)."""

    note_id: str
    kind: str  # "credit" or "debit"
    number: str
    taxable: INR
    total: INR
    settle: bool = False  # a settle's note (late calls)

    @property
    def sign(self) -> int:
        """On the invoice's taxable value and net amount: a debit adds, a credit takes away."""
        return 1 if self.kind == "debit" else -1


@dataclass(frozen=True)
class Invoice:
    """One invoice of a company-month (revision k for its k-th reissue)."""

    company_id: str
    period_key: str  # YYYY-MM
    timezone: str  # the calendar of its period
    status: InvoiceStatus
    revision: int
    lines: tuple[InvoiceLine, ...]
    call_charges: INR
    subtotal: INR
    tax: TaxAmounts
    total: INR
    number: str | None = None  # from numbering on
    financial_year: str | None = None
    invoice_date: str | None = None  # ISO instant with the supplier's offset, as stored
    due_date: str | None = None
    voided_by: str | None = None  # the credit note's id
    replaced_by: str | None = None  # the reissue's id
    adjusted: bool = False  # partial credit notes or debit notes were issued against it
    sequence: int | None = None  # its place in the financial year's series, from numbering on
    payment_terms_days: int = 7  # the due date is the invoice date this many days later
    staged_csv: str | None = None  # the staging object its CSV waits in until it is issued
    unplaced_calls: int = 0  # the company's call logs no month holds, when it was rated
    place_of_supply: str = ""  # state code
    recipient_gstin: str | None = None  # None: an unregistered (B2C) recipient
    sac_code: str = ""  # the service's SAC, as the supplier stated it
    reverse_charge: bool = False
    tax_rate: Decimal = Decimal(0)  # GST percent, as stored (18.0)
    delivery: Delivery = Delivery()  # its email's record
    ledger: tuple[LedgerEntry, ...] = ()  # its partial credit notes and debit notes, oldest first
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def invoice_id(self) -> str:
        return invoice_id(self.company_id, self.period_key, self.revision)

    @property
    def previous_id(self) -> str:
        """The id of the invoice a reissue replaces (the month's revision before it)."""
        return invoice_id(self.company_id, self.period_key, self.revision - 1)

    @property
    def gst(self) -> INR:
        return self.tax.total

    @property
    def file_paths(self) -> dict[str, str]:
        """Where its PDF and CSV are stored."""
        return file_paths(self.company_id, self.period_key, self.revision)

    @property
    def cancelled_pdf_path(self) -> str:
        """Where its copy stamped CANCELLED is stored (beside the original)."""
        return self.file_paths["pdf"].removesuffix(".pdf") + "_cancelled.pdf"

    def download_name(self, kind: str) -> str:
        """The file name a browser or a mail client shows for its PDF or CSV."""
        return file_name(stem(self.number or "", self.company_id, self.period_key), kind)

    @property
    def cancelled_download_name(self) -> str:
        return f"{stem(self.number or '', self.company_id, self.period_key)}_invoice_cancelled.pdf"

    @property
    def has_files(self) -> bool:
        """Issued, or void (voiding keeps the files)."""
        return self.status.has_files

    @property
    def label(self) -> str:
        """How errors name it: its number, else its id."""
        return f"invoice {self.number or self.invoice_id}"

    def start_issuing(self, number: str, financial_year: str, invoice_date: str, due_date: str,
                      sequence: int | None = None) -> "Invoice":
        """Numbered and dated (draft -> issuing)."""
        return replace(self, status=_to(self.status, InvoiceStatus.ISSUING, self.label), number=number,
                       financial_year=financial_year, invoice_date=invoice_date, due_date=due_date,
                       sequence=sequence)

    def mark_issued(self) -> "Invoice":
        """Its files are stored (issuing -> issued)."""
        return replace(self, status=_to(self.status, InvoiceStatus.ISSUED, self.label))

    def void(self, credit_note_id: str, reissue_id: str | None) -> "Invoice":
        """Cancelled by a credit note, maybe replaced by a reissue (issued -> void)."""
        return replace(self, status=_to(self.status, InvoiceStatus.VOID, self.label), voided_by=credit_note_id,
                       replaced_by=reissue_id)


@dataclass(frozen=True)
class Note:
    """A credit note (a void's, or a partial one) or a debit note against one invoice."""

    kind: str  # "credit" or "debit"
    note_id: str
    company_id: str
    period_key: str
    invoice_id: str
    status: InvoiceStatus
    taxable: INR
    tax: INR
    total: INR
    number: str | None = None
    note_date: str | None = None  # ISO date, as stored
    invoice_number: str = ""  # the original invoice's
    scope: str = "full"  # "full": a void's credit note; "partial": an adjustment
    request_digest: str | None = None  # a partial note's request (an Idempotency-Key replay must match it)
    delivery: Delivery = Delivery()
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        return f"{self.kind} note {self.number or self.note_id}"

    @property
    def pdf_path(self) -> str:
        """Where its PDF is stored (a void's credit note and partial ones alike; create-only)."""
        return f"{self.kind}-notes/{self.company_id}/{self.period_key}/{self.note_id}_{self.kind}-note.pdf"

    @property
    def csv_path(self) -> str:
        """A settle note's CSV of the calls it covers (create-only)."""
        return f"{self.kind}-notes/{self.company_id}/{self.period_key}/{self.note_id}_calls.csv"

    @property
    def download_name(self) -> str:
        """"CN/26-27/00001" of vysedeck 2025-09 -> "CN-26-27-00001_vysedeck_2025-09_credit-note.pdf"."""
        return f"{stem(self.number or '', self.company_id, self.period_key)}_{self.kind}-note.pdf"

    def mark_issued(self) -> "Note":
        """Its PDF is stored (issuing -> issued)."""
        return replace(self, status=_to(self.status, InvoiceStatus.ISSUED, self.label))
