"""The invoice's own rules: the parties it names, the draft it is rated into, how numbering dates it.

The stored document a draft becomes is built by the adapters' mapper (`adapters.invoice_document`).

Ids, paths and file names are in `naming`; the CSV's reconciliation rows in `csv_rows`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping

from billing.domain import gst, numbering
from billing.domain.company import Company
from billing.domain.period import BillingPeriod, zone
from billing.domain.rating import Tariff, UsageSummary
from billing.domain.totals import InvoiceTotals, due_date
from billing.domain.entities import Invoice
from billing.domain.naming import invoice_id
from billing.errors import ConfigurationError, ValidationError

DEFAULT_SAC = "998319"
SUPPLIER_TIMEZONE = "Asia/Kolkata"
MISSING = "supplier settings (settings/billing) are missing"
MAX_CSV_ATTACHMENT_BYTES = 5_000_000  # larger CSVs are linked from the email, not attached
SUPPLIER_EXTRAS = ("supportEmail", "phone", "bank", "logoPath", "website", "pan", "cin", "upiId")
# The supplier's bank details, in the order invoices and emails show them.
BANK_FIELDS = (
    ("accountName", "Account name"), ("bankName", "Bank"), ("accountNumber", "Account number"),
    ("ifsc", "IFSC"), ("branch", "Branch"), ("upiId", "UPI ID"),
)


def _party_gstin_and_state(gstin: object, state_code: object, default: str) -> tuple[str | None, str]:
    clean = gst.validate_gstin(str(gstin)) if gstin else None
    return clean, gst.recipient_state_code(clean, state_code, default)


@dataclass(frozen=True)
class Supplier:
    """The service operator, as invoices show it: settings/billing, validated (`from_doc`).

    The settings document travels with it (`document`): GET /billing/settings/supplier answers it as
    stored, and the settings other rules own (reminder steps, Tally ledgers, the debit note prefix)
    are read from it by those rules."""

    legal_name: str
    address: str
    gstin: str | None
    state_code: str
    sac_code: str
    prefix: str
    extras: Mapping[str, Any]
    timezone: str = "Asia/Kolkata"  # the calendar of invoice dates and financial years
    credit_note_prefix: str = "CN"
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def required(found: "Supplier | None") -> "Supplier":
        """The supplier, or ConfigurationError when settings/billing is not set."""
        if found is None:
            raise ConfigurationError(MISSING)
        return found

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> "Supplier":
        """Validated supplier settings (settings/billing), or ConfigurationError saying what is wrong."""
        if not doc:
            raise ConfigurationError(MISSING)
        name = doc.get("legalName")
        if not name:
            raise ConfigurationError("supplier settings need legalName")
        try:
            gstin, state = _party_gstin_and_state(doc.get("gstin"), doc.get("stateCode"), "")
        except ValidationError as exc:
            raise ConfigurationError(f"supplier settings: {exc.detail}") from None
        if not state:
            raise ConfigurationError("supplier settings need stateCode or gstin")
        prefix = numbering.validate_prefix(doc.get("invoicePrefix") or "")
        tz = str(doc.get("timezone") or SUPPLIER_TIMEZONE)
        try:
            zone(tz)
        except ConfigurationError as exc:
            raise ConfigurationError(f"supplier settings: {exc.detail}") from None
        extras = {k: doc[k] for k in SUPPLIER_EXTRAS if k in doc}
        cn_prefix = doc.get("creditNotePrefix") or "CN"
        try:
            numbering.validate_prefix(cn_prefix)
        except ConfigurationError:
            raise ConfigurationError(
                f"creditNotePrefix must be 1-4 characters of A-Z, a-z, 0-9 or '-', got {cn_prefix!r}") from None
        return cls(str(name), str(doc.get("address", "")), gstin, state,
                   str(doc.get("sacCode") or DEFAULT_SAC), prefix, extras, tz, str(cn_prefix), doc)

    def snapshot(self) -> dict[str, Any]:
        """The supplier as stored on (and printed from) each invoice."""
        return {
            "legalName": self.legal_name,
            "address": self.address,
            "gstin": self.gstin,
            "stateCode": self.state_code,
            "stateName": gst.STATE_NAMES.get(self.state_code, ""),
            "sacCode": self.sac_code,
            **self.extras,
        }


@dataclass(frozen=True)
class Recipient:
    """The customer as the invoice names it: the company as it was when its month was rated (its GSTIN
    checked, its state resolved)."""

    company_id: str
    legal_name: str
    address: str | None
    gstin: str | None
    state_code: str
    billing_email: str | None

    @classmethod
    def of(cls, company: Company, supplier_state: str) -> "Recipient":
        """The company as the invoice's recipient; ConfigurationError for a malformed GSTIN or no name."""
        try:
            gstin, state = _party_gstin_and_state(company.gstin, company.state_code, supplier_state)
        except ValidationError as exc:
            raise ConfigurationError(f"company '{company.company_id}': {exc.detail}") from None
        if not company.invoice_name:
            raise ConfigurationError(f"company '{company.company_id}' has no name")
        return cls(company.company_id, company.invoice_name, company.address, gstin, state, company.billing_email)

    @property
    def state_name(self) -> str:
        return gst.STATE_NAMES.get(self.state_code, "")


def inputs_digest(*parts: Any) -> str:
    """SHA-256 over the inputs an invoice was computed from (stable key order)."""
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True)
class StagedCsv:
    """The month's CSV as written to its staging object."""

    path: str
    checksum: str
    rows: int


@dataclass(frozen=True)
class InvoiceDraft:
    """Everything an invoice says except its number and date (those come from numbering)."""

    company_id: str
    period: BillingPeriod
    tariff: Tariff
    tariff_snapshot: Mapping[str, Any]
    supplier: Supplier
    recipient: Recipient
    usage: UsageSummary
    totals: InvoiceTotals
    csv: StagedCsv
    files: Mapping[str, str]  # kind -> gs:// URI of the final object
    revision: int = 0  # k for the month's k-th reissue
    # With dated tariffs: each tariff the month used, the days it rated (Stretch.to_json).
    tariffs: tuple[Mapping[str, Any], ...] = ()
    unplaced_count: int = 0  # the company's call logs no month holds
    unplaced_ids: tuple[str, ...] = ()  # the first of them

    @property
    def invoice_id(self) -> str:
        return invoice_id(self.company_id, self.period.key, self.revision)



def numbered(invoice: Invoice, prefix: str, seq: int, issued_at: datetime) -> Invoice:
    """The draft numbered (draft -> issuing): number, financial year, sequence, dates.

    issued_at is the numbering instant in the supplier's timezone: the invoice date is that instant
    with its offset (the old API's format), the due date the same time paymentTermsDays later, and
    the financial year is that of its calendar date."""
    fy = numbering.financial_year(issued_at.date())
    return invoice.start_issuing(numbering.format_invoice_number(prefix, fy, seq), fy, issued_at.isoformat(),
                                 due_date(issued_at, invoice.payment_terms_days).isoformat(), sequence=seq)
