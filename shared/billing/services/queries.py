"""The read side: a company-month's invoices, as corrections, delivery, downloads, reconcile and the API read them."""

from __future__ import annotations

from typing import Any, Mapping

from billing.domain.credit_note import replaces_fields
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

    def by_number(self, company_id: str, period_key: str, number: str) -> dict[str, Any]:
        """The company-month's invoice with this number (ValidationError naming the month's numbers)."""
        validate_company_id(company_id)
        BillingPeriod.from_key(period_key)
        self.require_company(company_id)
        docs = self.month_invoices(company_id, period_key)
        target = next((d for d in docs if d.get("invoiceNumber") == number), None)
        if target is None:
            known = ", ".join(str(d.get("invoiceNumber")) for d in docs if d.get("invoiceNumber"))
            raise ValidationError(
                f"{number!r} is not an invoice of company '{company_id}' for {period_key}"
                + (f" (its invoices: {known})" if known else " (it has no invoice)"))
        return target

    def require_company(self, company_id: str) -> None:
        """NotFound unless the company exists (its id checked first)."""
        validate_company_id(company_id)
        if self.companies.get(company_id) is None:
            raise NotFoundError(f"Company '{company_id}' not found")

    def month_invoices(self, company_id: str, period_key: str) -> list[dict[str, Any]]:
        """Every invoice of the company-month, oldest first (the first, then its reissues)."""
        docs: list[dict[str, Any]] = []
        for revision in range(MAX_REVISIONS):
            doc = self.invoices.get(invoice_id(company_id, period_key, revision))
            if doc is None:
                break
            docs.append(doc)
            if InvoiceStatus.of(doc) is not InvoiceStatus.VOID:
                break  # only the last invoice of a month can be anything but void
        return docs

    def history(self, company_id: str, period_key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(the month's current invoice, every invoice of the month oldest first); NotFound when none.

        Current: the issued one; else the last void one; else the one being issued."""
        validate_company_id(company_id)
        BillingPeriod.from_key(period_key)
        docs = self.month_invoices(company_id, period_key)
        if not docs:
            raise NotFoundError(f"Invoice for company '{company_id}' and period {period_key} not found")
        issued = [d for d in docs if InvoiceStatus.of(d) is InvoiceStatus.ISSUED]
        void = [d for d in docs if InvoiceStatus.of(d) is InvoiceStatus.VOID]
        return (issued or void or docs)[-1], docs

    def get(self, company_id: str, period_key: str) -> dict[str, Any]:
        """The company-month's current invoice (NotFound when there is none)."""
        return self.history(company_id, period_key)[0]

    def list(self, company_id: str, year: str | None = None) -> list[dict[str, Any]]:
        """The company's invoices (reissues and void ones included), newest first, optionally of one year."""
        validate_company_id(company_id)
        year_int = parse_year(year) if year not in (None, "") else None
        self.require_company(company_id)
        docs = self.invoices.list_for_company(company_id, year_int)
        return sorted(docs, key=lambda d: (str((d.get("billingPeriod") or {}).get("month", "")), revision_of(d)),
                      reverse=True)

    def issued(self, company_id: str, period_key: str) -> dict[str, Any]:
        """The month's current invoice, which must have its files (issued, or void: files stay)."""
        doc = self.get(company_id, period_key)
        status = InvoiceStatus.of(doc)
        if status is None or not status.has_files:
            raise NotFoundError(f"invoice {doc.get('invoiceNumber')} is not issued yet")
        return doc

    def replaces(self, doc: Mapping[str, Any]) -> dict[str, Any] | None:
        """What a reissue replaces ({invoiceNumber, creditNoteNumber}); None for a month's first invoice.

        Reissues issued before this was stored carry the void invoice's id instead: read from it."""
        value = doc.get("replaces")
        if isinstance(value, Mapping):
            return dict(value)
        if not revision_of(doc):
            return None
        previous = self.invoices.get(invoice_id(str(doc["companyId"]), str(doc["billingPeriod"]["month"]),
                                                revision_of(doc) - 1))
        return replaces_fields(previous) if previous else None
