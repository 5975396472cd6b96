"""Adjustment notes (GST section 34, CGST rule 53): partial credit notes and debit notes on one invoice.

A note adjusts one issued invoice by lines (taxable values) or by minutes at the invoice's rate;
its tax is split as on the invoice (CGST+SGST within a state, IGST across), each component rounded
half up to paise. Credit notes share the void's series (`{creditNotePrefix}/{FY}/{seq}`); debit
notes have their own (`{debitNotePrefix}/{FY}/{seq}`, default `DN`).

The invoice keeps a ledger of its notes (`adjustments`), written in the same transaction that
numbers and creates each note: the credits can never exceed its remaining taxable value
(taxable value + debits - credits), whatever the concurrency.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Mapping, Sequence

from billing.domain import numbering
from billing.domain.entities import Invoice, Note
from billing.domain.gst import TaxBreakdown, compute_gst
from billing.domain.invoice import Supplier
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import positive_amount, quantize, to_decimal
from billing.domain.presenter import paise, paise_to_rupees
from billing.domain.totals import LineItem
from billing.errors import ConfigurationError, ConflictError, ValidationError

MAX_REASON = 500
MAX_LINES = 50
MAX_DESCRIPTION = 200
MAX_KEY = 200
MAX_MINUTES = Decimal(10_000_000)  # far above any month; keeps the arithmetic exact
MAX_TAXABLE = Decimal(10_000_000_000)  # Rs 1000 crore
DEFAULT_DEBIT_NOTE_PREFIX = "DN"
SettlementFigures = Mapping[str, Any]
"""The reconcile figures a settle note records (billed, current, added, removed, changed), stored as
the reconcile answered them (domain/settlement.py)."""
_KEY = re.compile(r"^[ -~]{1,200}$")  # printable ASCII (an HTTP header value)


@dataclass(frozen=True)
class NoteKind:
    """What differs between a credit note and a debit note: names, series, GSTR-1 type, sign."""

    name: str  # "credit" | "debit"
    title: str  # the words rule 53 asks for
    id_field: str
    number_field: str
    date_field: str
    ntty: str  # GSTR-1 note type
    suffix: str  # in the note's id
    sign: int  # on the invoice's net amount

    def pdf_path(self, company_id: str, period_key: str, note_id: str) -> str:
        """Where the note's PDF is stored (credit notes beside the void's; create-only), as `Note.pdf_path`."""
        return f"{self.name}-notes/{company_id}/{period_key}/{note_id}_{self.name}-note.pdf"


CREDIT = NoteKind("credit", "Credit Note", "creditNoteId", "creditNoteNumber", "creditNoteDate", "C", "cn", -1)
DEBIT = NoteKind("debit", "Debit Note", "debitNoteId", "debitNoteNumber", "debitNoteDate", "D", "dn", 1)
KINDS = {k.name: k for k in (CREDIT, DEBIT)}


def debit_note_prefix(settings_doc: Mapping[str, Any] | None) -> str:
    """settings/billing `debitNotePrefix` (default DN), under the invoice prefix's rules."""
    prefix = (settings_doc or {}).get("debitNotePrefix") or DEFAULT_DEBIT_NOTE_PREFIX
    try:
        return numbering.validate_prefix(prefix)
    except ConfigurationError:
        raise ConfigurationError(
            f"debitNotePrefix must be 1-4 characters of A-Z, a-z, 0-9 or '-', got {prefix!r}") from None


@dataclass(frozen=True)
class RequestedLine:
    description: str
    taxable: Decimal


@dataclass(frozen=True)
class NoteRequest:
    """A validated request: the invoice it names, why, and either lines or minutes."""

    invoice_number: str
    reason: str
    lines: tuple[RequestedLine, ...] = ()
    minutes: Decimal | None = None

    def digest(self, kind: NoteKind) -> str:
        """What makes two requests "the same" (an Idempotency-Key replay must match it)."""
        blob = json.dumps([kind.name, self.invoice_number, self.reason,
                           [[ln.description, str(ln.taxable)] for ln in self.lines],
                           None if self.minutes is None else str(self.minutes)], separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def _json_number(value: object, field: str) -> object:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{field} must be a JSON number, got {value!r}")
    return value


def validate_request(body: object, kind: NoteKind) -> NoteRequest:
    """The request's JSON body as a NoteRequest, or ValidationError saying what is wrong."""
    shape = ('{"invoiceNumber", "reason", "lines": [{"description", "taxableValue"}]} '
             'or {"invoiceNumber", "reason", "minutes": n}')
    if not isinstance(body, Mapping):
        raise ValidationError(f"the body must be a JSON object {shape}")
    unknown = sorted(set(body) - {"invoiceNumber", "reason", "lines", "minutes"})
    if unknown:
        raise ValidationError(f"unknown field(s) {', '.join(unknown)}; the body is {shape}")
    number = body.get("invoiceNumber")
    if not isinstance(number, str) or not number.strip():
        raise ValidationError(f"invoiceNumber is required: the number of the invoice this {kind.name} note adjusts")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError(f"reason is required: why the {kind.name} note is issued (printed on it)")
    if len(reason) > MAX_REASON:
        raise ValidationError(f"reason must be at most {MAX_REASON} characters")
    has_lines, has_minutes = "lines" in body, "minutes" in body
    if has_lines == has_minutes:
        raise ValidationError(f"give either lines or minutes (not both, not neither): {shape}")
    if has_minutes:
        minutes = to_decimal(_json_number(body["minutes"], "minutes"), "minutes")
        if minutes > MAX_MINUTES:
            raise ValidationError(f"minutes must be at most {MAX_MINUTES}, got {body['minutes']!r}")
        if minutes <= 0 or minutes != minutes.quantize(Decimal("0.001")):
            raise ValidationError(f"minutes must be a positive number (at most 3 decimals), got {body['minutes']!r}")
        return NoteRequest(number.strip(), reason.strip(), minutes=minutes)
    raw = body["lines"]
    if not isinstance(raw, list) or not raw or len(raw) > MAX_LINES:
        raise ValidationError(f"lines must be a list of 1 to {MAX_LINES} {{description, taxableValue}} objects")
    lines = []
    for i, line in enumerate(raw):
        if not isinstance(line, Mapping) or set(line) != {"description", "taxableValue"}:
            raise ValidationError(f"lines[{i}] must be exactly {{\"description\", \"taxableValue\"}}")
        text = line["description"]
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_DESCRIPTION:
            raise ValidationError(f"lines[{i}].description must be 1 to {MAX_DESCRIPTION} characters")
        field = f"lines[{i}].taxableValue"
        taxable = positive_amount(_json_number(line["taxableValue"], field), field, MAX_TAXABLE)
        lines.append(RequestedLine(text.strip(), taxable))
    return NoteRequest(number.strip(), reason.strip(), lines=tuple(lines))


def validate_idempotency_key(key: object) -> str | None:
    if key is None or key == "":
        return None
    if not isinstance(key, str) or not _KEY.match(key) or not key.strip():
        raise ValidationError(f"Idempotency-Key must be 1 to {MAX_KEY} printable ASCII characters, not all blank")
    return key


def note_id(invoice_id: str, kind: NoteKind, token: str) -> str:
    """A note's id: its invoice's id, its kind and a token (the Idempotency-Key's hash, or random)."""
    return f"{invoice_id}_{kind.suffix}-{token}"


def key_token(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class NoteAmounts:
    lines: tuple[LineItem, ...]
    tax: TaxBreakdown

    @property
    def taxable(self) -> Decimal:
        return self.tax.taxable_value

    @property
    def total(self) -> Decimal:
        return self.taxable + self.tax.total


def invoice_rate(invoice: Mapping[str, Any]) -> Decimal:
    """The invoice's rate per minute (its tariff snapshot's)."""
    rate = (invoice.get("tariff") or {}).get("ratePerMinute")
    if rate is None:
        items = invoice.get("lineItems") or []
        rate = items[0].get("rate") if items else None
    if rate is None:
        raise ValidationError(f"invoice {invoice.get('invoiceNumber')} shows no rate per minute; give lines instead")
    return to_decimal(rate, "ratePerMinute")


def tax_as_on(invoice: Mapping[str, Any], taxable: Decimal) -> TaxBreakdown:
    """The tax on `taxable` split as on the invoice: its kind (intra/inter-state) and rate."""
    breakdown = invoice.get("taxBreakdown") or {}
    rate = to_decimal(breakdown.get("rate", 0), "taxBreakdown.rate")
    intra = breakdown.get("type", "intra-state") == "intra-state"
    return compute_gst(taxable, rate, "supplier", "supplier" if intra else "recipient")


def note_amounts(invoice: Mapping[str, Any], request: NoteRequest) -> NoteAmounts:
    """The note's lines and tax: minutes at the invoice's rate, or the given taxable values."""
    if request.minutes is not None:
        rate = invoice_rate(invoice)
        amount = quantize(request.minutes * rate)
        if amount <= 0:
            raise ValidationError(f"{request.minutes} minutes at {rate}/min is less than one paisa")
        lines: tuple[LineItem, ...] = (LineItem("Voice agent usage (per minute)", request.minutes, rate, amount, "min"),)
    else:
        lines = tuple(LineItem(ln.description, Decimal(1), ln.taxable, ln.taxable, "") for ln in request.lines)
    taxable = sum((ln.amount for ln in lines), Decimal(0))
    return NoteAmounts(lines, tax_as_on(invoice, taxable))


def remaining_taxable_paise(invoice: Invoice) -> int:
    """What can still be credited: the invoice's taxable value + its debits - its credits, in paise."""
    return invoice.subtotal.paise + sum(e.taxable.paise * e.sign for e in invoice.ledger)


def net_amount(invoice: Mapping[str, Any]) -> float:
    """The invoice's total - its credit notes' totals + its debit notes' totals (a JSON number)."""
    total = int((invoice.get("amountsPaise") or {}).get("total", paise(to_decimal(invoice.get("totalAmount", 0), "total"))))
    return paise_to_rupees(total + sum(int(e["paise"]["total"]) * KINDS[e["kind"]].sign
                                       for e in invoice.get("adjustments") or []))


def check_cap(invoice: Invoice, kind: NoteKind, amounts: NoteAmounts) -> None:
    """A credit note may not take the invoice below zero taxable value (422 before anything is written)."""
    if kind is not CREDIT:
        return
    remaining = remaining_taxable_paise(invoice)
    if paise(amounts.taxable) > remaining:
        raise ValidationError(
            f"a credit of {quantize(amounts.taxable)} taxable value exceeds what invoice "
            f"{invoice.number} has left to credit ({paise_to_rupees(remaining):.2f}: its taxable value "
            f"{invoice.document.get('subtotal')} + debit notes - credit notes)")


def check_adjustable(invoice: Invoice, kind: NoteKind) -> None:
    """Only an issued invoice is adjusted; a void one was credited in full already."""
    if invoice.status is InvoiceStatus.ISSUED:
        return
    if invoice.status is InvoiceStatus.VOID:
        raise ConflictError(f"invoice {invoice.number} is void (credited in full); "
                            f"a {kind.name} note adjusts an issued invoice (its reissue, if any)")
    raise ConflictError(f"invoice {invoice.number} is still being issued ({invoice.status.value}); "
                        f"issue the {kind.name} note once it is issued")


def check_no_adjustments(invoice: Invoice) -> None:
    """A void credits the invoice in full: refused (409) once it has partial credit notes or debit
    notes, which a full credit would double-count or leave standing."""
    if invoice.ledger:
        raise ConflictError(
            f"invoice {invoice.number} has {len(invoice.ledger)} credit/debit note(s) "
            f"({', '.join(e.number for e in invoice.ledger)}); a void credits it in full and would not match them. "
            "Adjust it with credit or debit notes instead")


@dataclass(frozen=True)
class NoteDraft:
    """A credit or debit note as the domain makes it, numbered (it is stored "issuing" until its PDF is).

    `amounts` None: a void's credit note, crediting the whole invoice (its lines and amounts as the
    invoice stores them); else a partial note's lines and tax. The stored shape is the adapters'
    (`adapters/note_document.py`)."""

    kind: NoteKind
    note_id: str
    invoice: Invoice  # the invoice it adjusts, as the numbering transaction read it
    series: str  # the prefix of its number
    sequence: int
    note_date: date
    supplier: Supplier
    reason: str
    pdf_uri: str
    created_at: datetime
    amounts: NoteAmounts | None = None
    request_digest: str | None = None
    settlement: SettlementFigures | None = None

    @property
    def financial_year(self) -> str:
        return numbering.financial_year(self.note_date)

    @property
    def number(self) -> str:
        return numbering.format_invoice_number(self.series, self.financial_year, self.sequence)


def same_request(existing: Note, digest: str) -> None:
    """An Idempotency-Key replayed with another body is a conflict (409), not a new note."""
    if existing.request_digest != digest:
        raise ConflictError(
            f"this Idempotency-Key already made {existing.kind} note {existing.number or ''} from a different "
            "request; send a new key for a new note")
