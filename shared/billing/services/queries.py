"""The read side: a company-month's invoices, as corrections, delivery, downloads, reconcile and the API read them."""

from __future__ import annotations

from typing import Any, Mapping

from billing.domain.credit_note import replaces_fields
from billing.domain.entities import Invoice
from billing.domain.naming import invoice_id, revision_of, validate_company_id
from billing.domain.period import BillingPeriod, parse_year
from billing.errors import NotFoundError, ValidationError
from billing.ports import CompanyRepository, InvoiceRepository
from billing.domain.lifecycle import InvoiceStatus

MAX_REVISIONS = 1000  # reissues of one company-month; far beyond any real correction history


class InvoiceQueries:
    def __init__(self, companies: CompanyRepository, invoices: InvoiceRepository):
        self.companies = companies
        self.invoices = invoices

    # -- entity reads (what services use) ------------------------------------------------------

    def find_by_number(self, company_id: str, period_key: str, number: str) -> Invoice:
        """The company-month's invoice with this number (ValidationError naming the month's numbers)."""
        validate_company_id(company_id)
        BillingPeriod.from_key(period_key)
        self.require_company(company_id)
        invoices = self.month(company_id, period_key)
        target = next((i for i in invoices if i.number == number), None)
        if target is None:
            known = ", ".join(str(i.number) for i in invoices if i.number)
            raise ValidationError(
                f"{number!r} is not an invoice of company '{company_id}' for {period_key}"
                + (f" (its invoices: {known})" if known else " (it has no invoice)"))
        return target

    def require_company(self, company_id: str) -> None:
        """NotFound unless the company exists (its id checked first)."""
        validate_company_id(company_id)
        if self.companies.get(company_id) is None:
            raise NotFoundError(f"Company '{company_id}' not found")

    def month(self, company_id: str, period_key: str) -> list[Invoice]:
        """Every invoice of the company-month, oldest first (the first, then its reissues)."""
        invoices: list[Invoice] = []
        for revision in range(MAX_REVISIONS):
            invoice = self.invoices.find(invoice_id(company_id, period_key, revision))
            if invoice is None:
                break
            invoices.append(invoice)
            if invoice.status is not InvoiceStatus.VOID:
                break  # only the last invoice of a month can be anything but void
        return invoices

    def current_and_history(self, company_id: str, period_key: str) -> tuple[Invoice, list[Invoice]]:
        """(the month's current invoice, every invoice of the month oldest first); NotFound when none.

        Current: the issued one; else the last void one; else the one being issued."""
        validate_company_id(company_id)
        BillingPeriod.from_key(period_key)
        invoices = self.month(company_id, period_key)
        if not invoices:
            raise NotFoundError(f"Invoice for company '{company_id}' and period {period_key} not found")
        issued = [i for i in invoices if i.status is InvoiceStatus.ISSUED]
        void = [i for i in invoices if i.status is InvoiceStatus.VOID]
        return (issued or void or invoices)[-1], invoices

    def current(self, company_id: str, period_key: str) -> Invoice:
        """The company-month's current invoice (NotFound when there is none)."""
        return self.current_and_history(company_id, period_key)[0]

    def for_company(self, company_id: str, year: str | None = None) -> list[Invoice]:
        """The company's invoices (reissues and void ones included), newest first, optionally of one year."""
        validate_company_id(company_id)
        year_int = parse_year(year) if year not in (None, "") else None
        self.require_company(company_id)
        invoices = self.invoices.find_for_company(company_id, year_int)
        return sorted(invoices, key=lambda i: (i.period_key, i.revision), reverse=True)

    def with_files(self, company_id: str, period_key: str) -> Invoice:
        """The month's current invoice, which must have its files (issued, or void: files stay)."""
        invoice = self.current(company_id, period_key)
        if not invoice.has_files:
            raise NotFoundError(f"invoice {invoice.number} is not issued yet")
        return invoice

    def replaces(self, invoice: Invoice) -> dict[str, str | None] | None:
        """What a reissue replaces ({invoiceNumber, creditNoteNumber}); None for a month's first invoice.

        Reissues issued before this was stored carry the void invoice's id instead: read from it."""
        value = invoice.document.get("replaces")
        if isinstance(value, Mapping):
            return {str(k): None if v is None else str(v) for k, v in value.items()}
        if not invoice.revision:
            return None
        previous = self.invoices.find(invoice_id(invoice.company_id, invoice.period_key, invoice.revision - 1))
        return replaces_fields(previous) if previous else None
