"""Issue a company's invoice for a month, exactly once, and read issued invoices back.

The steps, each safe to repeat after a crash:
  1. validate everything (nothing is written on bad input);
  2. an existing invoice is taken up where it stands (issued: returned as it is);
  3. draft: stream the month's calls once, in one or more time slices, rate them, write the CSV
     to a unique staging object, and create the invoice document create-only as a "draft"
     (every amount, no number); if another request created it first, that one is used;
  4. number: a transaction on the financial year's counter gives drafts their numbers and
     invoice date (one draft on demand; a batch of hundreds in the monthly run's sequencer);
  5. finish from the document alone: promote the staged CSV, render and upload the PDF
     (create-only, deterministic bytes), mark the invoice "issued".
A retry that finds a "draft" resumes at step 4, an "issuing" one at step 5.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterator, Mapping, Sequence

from billing.config import Settings
from billing.domain import numbering
from billing.domain.invoice import (
    FILE_KINDS, InvoiceDraft, StagedCsv, Supplier, csv_reconciliation_rows, download_name, draft_document,
    file_paths, invoice_id, numbering_fields, recipient_snapshot, staging_path, validate_company_id,
)
from billing.domain.period import BillingPeriod, local_time, parse_period, parse_year
from billing.domain.rating import CallRecord, Tariff, UsageAccumulator, UsageSummary
from billing.domain.totals import InvoiceTotals, compute_totals
from billing.errors import IntegrityError, NotFoundError
from billing.ports import (
    BlobStore, CallCsvFactory, CallLogSource, Clock, CompanyRepository, InvoiceRepository, PdfRenderer,
    SettingsRepository,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonthInputs:
    """What an invoice is computed from: the company, its tariff and the month."""

    company_id: str
    company: Mapping[str, Any]
    tariff: Tariff
    period: BillingPeriod

    @property
    def invoice_id(self) -> str:
        return invoice_id(self.company_id, self.period.key)

    @property
    def csv_name(self) -> str:
        return f"{self.company_id}_{self.period.key}_calls.csv"


@dataclass(frozen=True)
class _SliceResult:
    accumulator: UsageAccumulator
    rows: int
    minutes: Decimal
    amount: Decimal


class IssuanceService:
    """generate / get / list invoices over the ports."""

    def __init__(
        self,
        *,
        companies: CompanyRepository,
        settings_repo: SettingsRepository,
        calls: CallLogSource,
        invoices: InvoiceRepository,
        blobs: BlobStore,
        csv_writer: CallCsvFactory,
        settings: Settings,
        render_pdf: PdfRenderer,
        clock: Clock,
    ):
        self.companies = companies
        self.settings_repo = settings_repo
        self.calls = calls
        self.invoices = invoices
        self.blobs = blobs
        self.csv_writer = csv_writer
        self.settings = settings
        self.render_pdf = render_pdf
        self.clock = clock

    # -- issuing -------------------------------------------------------------------------------

    def generate(self, company_id: str, month: Any = None, year: Any = None,
                 read_slices: int | None = None) -> dict[str, Any]:
        """The company's invoice for the month: the existing one, or a newly issued one.

        read_slices overrides how many parallel time slices the month is read in (a run that
        already issues several companies at once reads each month as one stream)."""
        doc = self.draft(company_id, month, year, read_slices)
        if doc.get("status") == "draft":
            numbered = self.number([doc["invoiceId"]])
            doc = numbered[0] if numbered else self._numbered_elsewhere(doc["invoiceId"])
        return self.finish(doc)

    def _numbered_elsewhere(self, inv_id: str) -> dict[str, Any]:
        """The invoice another request (or the sequencer) numbered while this one tried."""
        doc = self.invoices.get(inv_id)
        if doc is None:
            raise IntegrityError(f"invoice {inv_id} disappeared while being numbered")
        return doc

    def draft(self, company_id: str, month: Any = None, year: Any = None,
              read_slices: int | None = None) -> dict[str, Any]:
        """The month's invoice document: the existing one, or a new draft (rated, CSV staged)."""
        inputs = self.inputs(company_id, month, year)
        existing = self.invoices.get(inputs.invoice_id)
        if existing is not None:
            return existing
        supplier = Supplier.from_doc(self.settings_repo.supplier())
        recipient = recipient_snapshot(company_id, inputs.company, supplier.state_code)
        draft = self.rate(inputs, supplier, recipient, read_slices or self.settings.read_slices)
        doc, created = self.invoices.create_draft(inputs.invoice_id, draft_document(draft, self.clock()))
        if not created:
            self.blobs.delete(draft.csv.path)  # another request won the race; its CSV is the one kept
            log.info("invoice already drafted by a concurrent request",
                     extra={"json_fields": {"invoiceId": inputs.invoice_id}})
        return doc

    def number(self, invoice_ids: Sequence[str]) -> list[dict[str, Any]]:
        """Give the listed drafts the next numbers, in order, in one transaction, dated now.

        The invoice date and financial year follow the supplier's calendar."""
        supplier = Supplier.from_doc(self.settings_repo.supplier())
        issued_at = local_time(self.clock(), supplier.timezone)
        counter = numbering.counter_id(supplier.prefix, numbering.financial_year(issued_at.date()))
        docs = self.invoices.number_drafts(
            invoice_ids, counter, lambda doc, seq: numbering_fields(doc, supplier.prefix, seq, issued_at)
        )
        for doc in docs:
            log.info("invoice numbered", extra={"json_fields": {
                "invoiceId": doc.get("invoiceId"), "invoiceNumber": doc.get("invoiceNumber")}})
        return docs

    def pending_count(self, limit: int) -> int:
        """How many drafts wait for a number (counted up to limit)."""
        return len(self.invoices.pending_drafts(limit))

    def number_pending(self, batch_size: int = 300) -> list[dict[str, Any]]:
        """Number the oldest waiting drafts, one batch (one counter write); [] when none wait."""
        pending = self.invoices.pending_drafts(batch_size)
        return self.number(pending) if pending else []

    def inputs(self, company_id: str, month: Any = None, year: Any = None) -> MonthInputs:
        """The validated company, tariff and month (NotFound / Validation / Configuration errors)."""
        validate_company_id(company_id)
        company = self.companies.get(company_id)
        if company is None:
            raise NotFoundError(f"Invoice generation failed: Company '{company_id}' not found")
        tariff = Tariff.from_mapping(
            company.get("billing"),
            default_timezone=self.settings.default_timezone,
            non_billable_statuses=frozenset(self.settings.non_billable_statuses),
        )
        period = parse_period(month, year, tariff.timezone, self.clock())
        return MonthInputs(company_id, company, tariff, period)

    def rate(self, inputs: MonthInputs, supplier: Supplier, recipient: Mapping[str, Any],
             slices: int) -> InvoiceDraft:
        """Read the month once, rate it and stage its CSV: everything but the number."""
        staging = staging_path(inputs.company_id, inputs.period.key, uuid.uuid4().hex)
        usage, totals, csv = self._rate_month(inputs, supplier, recipient, staging, slices)
        paths = file_paths(inputs.company_id, inputs.period.key)
        return InvoiceDraft(
            company_id=inputs.company_id, period=inputs.period, tariff=inputs.tariff,
            tariff_snapshot=dict(inputs.company.get("billing") or {}), supplier=supplier,
            recipient=recipient, usage=usage, totals=totals, csv=csv,
            files={kind: self.blobs.uri(path) for kind, path in paths.items()},
        )

    def _rate_month(self, inputs: MonthInputs, supplier: Supplier, recipient: Mapping[str, Any],
                    staging: str, slices: int) -> tuple[UsageSummary, InvoiceTotals, StagedCsv]:
        """Rate each time slice into its own CSV part (in parallel), then compose parts + trailer."""
        sources = self.calls.slices(inputs.company_id, inputs.period, max(1, slices))
        parts = [f"{staging}.part{i:02d}" for i in range(len(sources))]
        if len(sources) == 1:
            results = [self._rate_slice(inputs, sources[0], parts[0], True)]
        else:
            with ThreadPoolExecutor(len(sources), thread_name_prefix="rate-slice") as pool:
                results = list(pool.map(self._rate_slice, [inputs] * len(sources), sources, parts,
                                        [i == 0 for i in range(len(sources))]))
        accumulator = results[0].accumulator
        for other in results[1:]:
            accumulator.merge(other.accumulator)
        usage = accumulator.summary()
        totals = compute_totals(usage, inputs.tariff, supplier.state_code, recipient["stateCode"])
        trailer = f"{staging}.trailer"
        self._write_trailer(inputs, trailer, results, totals)
        checksum = self.blobs.compose(parts + [trailer], staging, FILE_KINDS["csv"], inputs.csv_name)
        for path in parts + [trailer]:
            self.blobs.delete(path)
        return usage, totals, StagedCsv(staging, checksum, sum(r.rows for r in results))

    def _rate_slice(self, inputs: MonthInputs, calls: Iterator[CallRecord], part: str,
                    header: bool) -> _SliceResult:
        accumulator = UsageAccumulator(inputs.tariff, inputs.period)
        with self.blobs.writer(part, FILE_KINDS["csv"], inputs.csv_name) as out:
            writer = self.csv_writer(out, inputs.period.tz, inputs.tariff.rate_per_minute, header)
            for call in calls:
                writer.write(accumulator.add(call))
            writer.flush()
        return _SliceResult(accumulator, writer.rows, writer.minutes_written, writer.amount_written)

    def _write_trailer(self, inputs: MonthInputs, path: str, results: list[_SliceResult],
                       totals: InvoiceTotals) -> None:
        minutes = sum((r.minutes for r in results), Decimal(0))
        amount = sum((r.amount for r in results), Decimal(0))
        rows = csv_reconciliation_rows(minutes, amount, totals, inputs.tariff)
        with self.blobs.writer(path, FILE_KINDS["csv"], inputs.csv_name) as out:
            self.csv_writer(out, inputs.period.tz, inputs.tariff.rate_per_minute, False).finish(rows)

    def finish(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Make a numbered ("issuing") invoice complete from its document alone (idempotent)."""
        if doc.get("status") == "issued":
            return doc
        if doc.get("status") != "issuing":
            raise IntegrityError(f"invoice {doc.get('invoiceId')} is {doc.get('status')!r}, not numbered yet")
        inv_id = invoice_id(doc["companyId"], doc["billingPeriod"]["month"])
        paths = file_paths(doc["companyId"], doc["billingPeriod"]["month"])
        staging = doc["files"].get("csvStaging")
        self._store_csv(doc, paths["csv"], staging)
        pdf = self.render_pdf(doc)
        if not self.blobs.put_create_only(paths["pdf"], pdf, FILE_KINDS["pdf"], download_name(doc, "pdf")):
            log.info("invoice PDF already stored; kept as it is", extra={"json_fields": {"invoiceId": inv_id}})
        self.invoices.update(inv_id, {
            "status": "issued",
            "issuedAt": self.clock().isoformat(timespec="milliseconds"),
            "files.pdfMd5": hashlib.md5(pdf).hexdigest(),
        })
        if staging:
            self.blobs.delete(staging)
        final = self.invoices.get(inv_id)
        return final if final is not None else {**doc, "status": "issued"}

    def _store_csv(self, doc: Mapping[str, Any], final: str, staging: str | None) -> None:
        if self.blobs.exists(final):
            return
        if not staging or not self.blobs.exists(staging):
            raise IntegrityError(
                f"invoice {doc['invoiceNumber']} ({doc.get('invoiceId')}) is missing its staged CSV "
                f"({staging}); it needs an operator"
            )
        self.blobs.promote(staging, final)

    # -- reading -------------------------------------------------------------------------------

    def get(self, company_id: str, period_key: str) -> dict[str, Any]:
        """The company-month's invoice (NotFound when there is none)."""
        validate_company_id(company_id)
        BillingPeriod.from_key(period_key)
        doc = self.invoices.get(invoice_id(company_id, period_key))
        if doc is None:
            raise NotFoundError(f"Invoice for company '{company_id}' and period {period_key} not found")
        return doc

    def list(self, company_id: str, year: Any = None) -> list[dict[str, Any]]:
        """The company's invoices, newest first, optionally of one year."""
        validate_company_id(company_id)
        year_int = parse_year(year) if year not in (None, "") else None
        if self.companies.get(company_id) is None:
            raise NotFoundError(f"Company '{company_id}' not found")
        return self.invoices.list_for_company(company_id, year_int)

    def issued(self, company_id: str, period_key: str) -> dict[str, Any]:
        """The month's invoice, which must be issued (its files exist)."""
        doc = self.get(company_id, period_key)
        if doc.get("status") != "issued":
            raise NotFoundError(f"invoice {doc.get('invoiceNumber')} is not issued yet")
        return doc
