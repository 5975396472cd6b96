"""The customer portal (DESIGN 16): a signed per-company link and what it shows, read-only.

A portal token is `{companyId}.{expires}.{signature}`: the signature is HMAC-SHA256 over
`{companyId}.{expires}` with a key derived from BILLING_LINK_SIGNING_KEY under its own label (a
download link's signature can never pass as a portal token, nor the reverse), base64url without
padding. It is valid for 30 days. Every page and file under the token is bound to that company: an
invoice or note of another company is refused whatever its id says.

The page's data (`PortalService.page`) comes with its amounts and dates already formatted as the
invoices print them (the formatters are handed in by the composition root) and, for every issued
invoice with a balance when settings/billing.upiId is set, the UPI QR code of that balance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any, Callable, Mapping

from billing.domain import receivables as rules
from billing.domain.adjustments import DEBIT
from billing.domain.company import Company
from billing.domain.entities import Invoice, Note
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.naming import (
    FILE_KINDS, validate_company_id,
)
from billing.errors import ForbiddenError, NotFoundError, ValidationError
from billing.ports import BlobStore, Clock, CreditNoteRepository, InvoiceRepository, SettingsRepository
from billing.services.adjustments import AdjustmentService
from billing.services.downloads import Download, DownloadService
from billing.services.queries import InvoiceQueries
from billing.services.receivables import ReceivableService

log = logging.getLogger(__name__)

TOKEN_TTL = timedelta(days=30)
KEY_LABEL = b"billing customer portal token v1"  # the derivation label: not the download links' key
MAX_TOKEN_LENGTH = 160
REFUSED = "This link is not valid."
EXPIRED = "This link has expired."

Formatter = Callable[[object], str]
QrRenderer = Callable[[str], bytes]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class PortalTokens:
    """Issues and checks portal tokens; without a signing key the portal is off (every token refused)."""

    def __init__(self, signing_key: str, clock: Clock, ttl: timedelta = TOKEN_TTL):
        self._key = hmac.new(signing_key.encode(), KEY_LABEL, hashlib.sha256).digest() if signing_key else b""
        self.clock = clock
        self.ttl = ttl

    @property
    def enabled(self) -> bool:
        return bool(self._key)

    def _signature(self, company_id: str, expires: int) -> str:
        return _b64(hmac.new(self._key, f"{company_id}.{expires}".encode(), hashlib.sha256).digest())

    def issue(self, company_id: str) -> str:
        """A token for the company, valid for `ttl` from now."""
        validate_company_id(company_id)
        if not self._key:
            raise ForbiddenError("the customer portal is off: BILLING_LINK_SIGNING_KEY is not set")
        expires = int((self.clock() + self.ttl).timestamp())
        return f"{company_id}.{expires}.{self._signature(company_id, expires)}"

    def link(self, company_id: str, base_url: str) -> str | None:
        """`{base_url}/portal/{token}`, or None while the portal is off."""
        if not self._key or not base_url:
            return None
        return f"{base_url.rstrip('/')}/portal/{self.issue(company_id)}"

    def verify(self, token: str) -> str:
        """The company the token was issued for; ForbiddenError (saying nothing about why, beyond
        "expired" for a genuine token that is too old) when it is malformed, changed or expired."""
        if not self._key or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise ForbiddenError(REFUSED)
        parts = token.split(".")
        if len(parts) != 3:
            raise ForbiddenError(REFUSED)
        company_id, expires, signature = parts
        try:
            validate_company_id(company_id)
        except ValidationError:
            raise ForbiddenError(REFUSED) from None
        if not (expires.isdigit() and 0 < len(expires) <= 12):
            raise ForbiddenError(REFUSED)
        if not hmac.compare_digest(self._signature(company_id, int(expires)).encode(), signature.encode()):
            raise ForbiddenError(REFUSED)
        if int(expires) < self.clock().timestamp():
            raise ForbiddenError(EXPIRED)
        return company_id


STATUS_LABEL = {InvoiceStatus.ISSUED.value: "Issued", InvoiceStatus.VOID.value: "Void (cancelled)"}
PAYMENT_LABEL = {"unpaid": "Unpaid", "partially_paid": "Partially paid", "paid": "Paid"}
ROW_LABEL = {"invoice": "Invoice", "debit_note": "Debit note", "credit_note": "Credit note", "payment": "Payment",
             "tds": "TDS", "reversal": "Payment reversed"}

PageView = dict[str, Any]
"""What the portal page's template renders for a company, an invoice or a note (texts and amounts
formatted for people): built once per request, rendered as is."""


class PortalService:
    """What a company's portal shows, and the files it serves (only that company's)."""

    def __init__(self, *, tokens: PortalTokens, queries: InvoiceQueries, invoices: InvoiceRepository,
                 credit_notes: CreditNoteRepository, adjustments: AdjustmentService,
                 receivables: ReceivableService, settings_repo: SettingsRepository, downloads: DownloadService,
                 blobs: BlobStore, money: Formatter, day: Formatter, qr_png: QrRenderer):
        self.tokens = tokens
        self.queries = queries
        self.invoices = invoices
        self.credit_notes = credit_notes
        self.adjustments = adjustments
        self.receivables = receivables
        self.settings_repo = settings_repo
        self.downloads = downloads
        self.blobs = blobs
        self.money = money
        self.day = day
        self.qr_png = qr_png

    def company(self, token: str) -> tuple[str, Company]:
        """(company id, company) of a valid token; ForbiddenError otherwise (also for a
        company that no longer exists: a token says nothing about which companies do)."""
        company_id = self.tokens.verify(token)
        company = self.queries.companies.get(company_id)
        if company is None:
            raise ForbiddenError(REFUSED)
        return company_id, company

    # -- the page --------------------------------------------------------------------------------

    def page(self, company_id: str, company: Company) -> PageView:
        found = self.settings_repo.supplier()
        supplier = found.document if found is not None else {}  # the portal shows the settings as stored
        upi_id = str(supplier.get("upiId") or "").strip()
        payee = str(supplier.get("legalName") or "")
        invoices = []
        for invoice in self.queries.for_company(company_id):
            if not invoice.has_files or not invoice.number:
                continue  # still being issued: not a document yet
            invoices.append(self._invoice(invoice, upi_id, payee))
        issued = [*self.credit_notes.list_for_company(company_id),
                  *self.adjustments.repo(DEBIT).list_for_company(company_id)]
        notes = [self._note(n) for n in issued if n.status is InvoiceStatus.ISSUED]
        notes.sort(key=lambda n: (n["sortDate"], n["number"]), reverse=True)
        statement = self.receivables.statement(company_id, None, None)
        rows = [{"date": self.day(r["date"]), "type": ROW_LABEL.get(r["type"], r["type"]), "document": r["document"],
                 "description": r["description"],
                 "debit": self.money(r["debit"]) if r["debit"] else "",
                 "credit": self.money(r["credit"]) if r["credit"] else "",
                 "balance": self.money(r["balance"])} for r in statement["rows"]]
        due = sum((i["balancePaise"] for i in invoices), 0)
        overdue = sum((i["balancePaise"] for i in invoices if i["overdue"]), 0)
        return {
            "companyId": company_id,
            "companyName": str(company.name or company_id),
            "supplier": {"name": payee, "supportEmail": str(supplier.get("supportEmail") or ""),
                         "upiId": upi_id},
            "balanceDue": self.money(Decimal(due) / 100),
            "overdue": self.money(Decimal(overdue) / 100) if overdue else "",
            "invoices": invoices,
            "notes": notes,
            "statement": {"rows": rows, "closingBalance": self.money(statement["closingBalance"]),
                          "to": self.day(statement["to"])},
        }

    def _invoice(self, invoice: Invoice, upi_id: str, payee: str) -> PageView:
        doc = invoice.document  # the amounts as stored and printed
        view = self.receivables.view(invoice)
        balance_paise = int(round(Decimal(str(view.get("balance", 0))) * 100))
        issued = invoice.status is InvoiceStatus.ISSUED
        number = str(invoice.number)
        upi = None
        if issued and upi_id and balance_paise > 0:
            link = rules.upi_uri(upi_id, payee, balance_paise, number)
            upi = {"link": link, "png": base64.b64encode(self.qr_png(link)).decode("ascii"),
                   "amount": self.money(Decimal(balance_paise) / 100)}
        period = invoice.period_key
        return {
            "id": invoice.invoice_id,
            "number": number,
            "period": period,
            "periodName": _month_name(period),
            "date": self.day(doc.get("invoiceDate")),
            "dueDate": self.day(doc.get("dueDate")),
            "status": STATUS_LABEL.get(invoice.status.value, invoice.status.value),
            "void": not issued,
            "total": self.money(doc.get("totalAmount")),
            "netAmount": self.money(view.get("netAmount", doc.get("totalAmount"))),
            "paid": self.money(Decimal(str(view.get("amountPaid", 0))) + Decimal(str(view.get("tdsAmount", 0)))),
            "balance": self.money(Decimal(balance_paise) / 100),
            "balancePaise": balance_paise if issued else 0,
            "paymentStatus": PAYMENT_LABEL.get(str(view.get("paymentStatus")), "") if issued else "",
            "overdue": bool(view.get("overdue")) and issued,
            "upi": upi,
        }

    def _note(self, note: Note) -> PageView:
        return {"kind": f"{note.kind.capitalize()} note", "number": str(note.number), "date": self.day(note.note_date),
                "sortDate": note.note_date or "", "invoice": note.invoice_number,
                "total": self.money(note.document.get("totalAmount")), "reason": str(note.document.get("reason") or ""),
                "href": f"{note.kind}-notes/{note.note_id}/pdf"}

    # -- files -----------------------------------------------------------------------------------

    def invoice_file(self, company_id: str, invoice_id: str, kind: str) -> Download:
        """One of the company's invoices' PDF (a void one's CANCELLED copy) or CSV."""
        if kind not in FILE_KINDS:
            raise NotFoundError("no such file")
        invoice = self.invoices.find(invoice_id) if invoice_id.startswith(f"{company_id}_") else None
        if invoice is None or invoice.company_id != company_id:
            raise ForbiddenError("This document is not one of this account's.")
        if not invoice.has_files:
            raise NotFoundError("this invoice is not issued yet")
        if kind == "pdf" and invoice.status is InvoiceStatus.VOID:
            return self._file(self.downloads.cancelled_copy(invoice), invoice.cancelled_download_name, kind)
        return self._file(invoice.file_paths[kind], invoice.download_name(kind), kind)

    def note_file(self, company_id: str, kind: str, note_id: str) -> Download:
        """A credit or debit note's PDF, when it is one of the company's."""
        find = self.credit_notes.find if kind == "credit" else self.adjustments.repo(DEBIT).find
        note = find(note_id) if note_id.startswith(f"{company_id}_") else None
        if note is None or note.company_id != company_id:
            raise ForbiddenError("This document is not one of this account's.")
        if note.status is not InvoiceStatus.ISSUED:
            raise NotFoundError("this note is not issued yet")
        return self._file(note.pdf_path, note.download_name, "pdf")

    def statement_pdf(self, company_id: str) -> bytes:
        return self.receivables.statement_pdf(company_id, None, None)

    def _file(self, path: str, name: str, kind: str) -> Download:
        url = self.blobs.signed_url(path, name)
        if url:
            return Download(name, FILE_KINDS[kind], redirect_url=url)
        return Download(name, FILE_KINDS[kind], chunks=self.blobs.open_read(path))


def _month_name(period: str) -> str:
    """"2025-09" -> "September 2025" (as the invoice email names the month)."""
    from datetime import date

    try:
        return date.fromisoformat(f"{period}-01").strftime("%B %Y")
    except ValueError:
        return period
