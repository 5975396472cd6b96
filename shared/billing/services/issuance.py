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

A company-month can hold several invoices: the first (`{c}_{YYYY-MM}`) and, after voids, reissues
(`..._r1`, `..._r2`, ...), each with its own files. Only the last can be anything but "void" (a
reissue is drafted only once every earlier one is void), so the month's invoices are found by
walking the ids from the first; the common case (a first invoice that is not void) is one read.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterator, Mapping, Sequence

from billing.config import Settings
from billing.domain import numbering
from billing.domain.invoice import (
    FILE_KINDS, InvoiceDraft, StagedCsv, Supplier, csv_reconciliation_rows, document_file_paths, document_id,
    download_name, draft_document, file_paths, invoice_id, numbering_fields, preview_document, recipient_snapshot,
    revision_of, staging_path, validate_company_id,
)
from billing.domain.period import MIN_YEAR, BillingPeriod, local_time, parse_period, parse_year, zone
from billing.domain.rating import CallRecord, Tariff, UsageAccumulator, UsageSummary
from billing.domain.totals import InvoiceTotals, compute_totals
from billing.errors import IntegrityError, NotFoundError, ValidationError
from billing.ports import (
    BlobStore, CallCsvFactory, CallLogSource, Clock, CompanyRepository, HashingWriter, InvoiceRepository,
    PdfRenderer, SettingsRepository,
)

MAX_REVISIONS = 1000  # reissues of one company-month; far beyond any real correction history

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


class _Discard:
    """A CSV destination that keeps nothing (the preview rates exactly like issuance, writing nothing)."""

    def write(self, data: bytes) -> int:
        return len(data)

    def md5_base64(self) -> str:
        return ""


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
                 read_slices: int | None = None, reissue_void: bool = False) -> dict[str, Any]:
        """The company's invoice for the month: the current one, or a newly issued one.

        When every invoice of the month is void, the last void one is returned as it is, unless
        reissue_void (POST /billing/generate) asks for the month's reissue: the monthly run, which
        does not ask, never undoes an operator's void without reissue.
        read_slices overrides how many parallel time slices the month is read in (a run that
        already issues several companies at once reads each month as one stream)."""
        doc = self.draft(company_id, month, year, read_slices, reissue_void)
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
              read_slices: int | None = None, reissue_void: bool = False) -> dict[str, Any]:
        """The month's invoice document: the current one, or a new draft (rated, CSV staged).

        A new draft is the month's first invoice, or its next reissue when all before it are void."""
        inputs = self.inputs(company_id, month, year)
        docs = self.month_invoices(company_id, inputs.period.key)
        if docs and (docs[-1].get("status") != "void" or not reissue_void):
            return docs[-1]
        revision = revision_of(docs[-1]) + 1 if docs else 0
        return self._draft_revision(inputs, revision, read_slices)

    def reissue(self, company_id: str, period_key: str, revision: int) -> dict[str, Any]:
        """Issue (or finish) revision `revision` of the month from the data as it is now."""
        period = BillingPeriod.from_key(period_key)
        inputs = self.inputs(company_id, period.month, period.year)
        doc = self.invoices.get(invoice_id(company_id, period_key, revision))
        if doc is None:
            doc = self._draft_revision(inputs, revision, None)
        if doc.get("status") == "draft":
            numbered = self.number([doc["invoiceId"]])
            doc = numbered[0] if numbered else self._numbered_elsewhere(doc["invoiceId"])
        return self.finish(doc)

    def _draft_revision(self, inputs: MonthInputs, revision: int, read_slices: int | None) -> dict[str, Any]:
        inv_id = invoice_id(inputs.company_id, inputs.period.key, revision)
        supplier = Supplier.from_doc(self.settings_repo.supplier())
        recipient = recipient_snapshot(inputs.company_id, inputs.company, supplier.state_code)
        draft = self.rate(inputs, supplier, recipient, read_slices or self.settings.read_slices, revision)
        doc, created = self.invoices.create_draft(inv_id, draft_document(draft, self.clock()))
        if not created:
            self.blobs.delete(draft.csv.path)  # another request won the race; its CSV is the one kept
            log.info("invoice already drafted by a concurrent request",
                     extra={"json_fields": {"invoiceId": inv_id}})
        return doc

    def month_invoices(self, company_id: str, period_key: str) -> list[dict[str, Any]]:
        """Every invoice of the company-month, oldest first (the first, then its reissues)."""
        docs: list[dict[str, Any]] = []
        for revision in range(MAX_REVISIONS):
            doc = self.invoices.get(invoice_id(company_id, period_key, revision))
            if doc is None:
                break
            docs.append(doc)
            if doc.get("status") != "void":
                break  # only the last invoice of a month can be anything but void
        return docs

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
        company, tariff = self._company_and_tariff(company_id, "Invoice generation")
        period = parse_period(month, year, tariff.timezone, self.clock())
        return MonthInputs(company_id, company, tariff, period)

    def _company_and_tariff(self, company_id: str, action: str) -> tuple[Mapping[str, Any], Tariff]:
        """The company document and its validated tariff (NotFound / Validation / Configuration)."""
        validate_company_id(company_id)
        company = self.companies.get(company_id)
        if company is None:
            raise NotFoundError(f"{action} failed: Company '{company_id}' not found")
        tariff = Tariff.from_mapping(
            company.get("billing"),
            default_timezone=self.settings.default_timezone,
            non_billable_statuses=frozenset(self.settings.non_billable_statuses),
        )
        return company, tariff

    def rate(self, inputs: MonthInputs, supplier: Supplier, recipient: Mapping[str, Any],
             slices: int, revision: int = 0, stage: bool = True) -> InvoiceDraft:
        """Read the month once, rate it and stage its CSV: everything but the number.

        stage=False rates the very same way but sends the CSV nowhere (the preview)."""
        staging = staging_path(inputs.company_id, inputs.period.key, uuid.uuid4().hex) if stage else None
        usage, totals, csv = self._rate_month(inputs, supplier, recipient, staging, slices)
        paths = file_paths(inputs.company_id, inputs.period.key, revision)
        return InvoiceDraft(
            company_id=inputs.company_id, period=inputs.period, tariff=inputs.tariff,
            tariff_snapshot=dict(inputs.company.get("billing") or {}), supplier=supplier,
            recipient=recipient, usage=usage, totals=totals, csv=csv,
            files={kind: self.blobs.uri(path) if stage else "" for kind, path in paths.items()},
            revision=revision,
        )

    def _rate_month(self, inputs: MonthInputs, supplier: Supplier, recipient: Mapping[str, Any],
                    staging: str | None, slices: int) -> tuple[UsageSummary, InvoiceTotals, StagedCsv]:
        """Rate each time slice into its own CSV part (in parallel), then compose parts + trailer.

        Without a staging path every part goes to a discarding sink and nothing is stored."""
        sources = self.calls.slices(inputs.company_id, inputs.period, max(1, slices))
        parts: list[str | None] = [f"{staging}.part{i:02d}" if staging else None for i in range(len(sources))]
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
        rows = sum(r.rows for r in results)
        if staging is None:
            self._write_trailer(inputs, None, results, totals)
            return usage, totals, StagedCsv("", "", rows)
        trailer = f"{staging}.trailer"
        self._write_trailer(inputs, trailer, results, totals)
        stored = [p for p in parts if p is not None]
        checksum = self.blobs.compose(stored + [trailer], staging, FILE_KINDS["csv"], inputs.csv_name)
        for path in stored + [trailer]:
            self.blobs.delete(path)
        return usage, totals, StagedCsv(staging, checksum, rows)

    def _csv_out(self, path: str | None, inputs: MonthInputs) -> AbstractContextManager[HashingWriter]:
        if path is None:
            return nullcontext(_Discard())
        return self.blobs.writer(path, FILE_KINDS["csv"], inputs.csv_name)

    def _rate_slice(self, inputs: MonthInputs, calls: Iterator[CallRecord], part: str | None,
                    header: bool) -> _SliceResult:
        accumulator = UsageAccumulator(inputs.tariff, inputs.period)
        with self._csv_out(part, inputs) as out:
            writer = self.csv_writer(out, inputs.period.tz, inputs.tariff.rate_per_minute, header)
            for call in calls:
                writer.write(accumulator.add(call))
            writer.flush()
        return _SliceResult(accumulator, writer.rows, writer.minutes_written, writer.amount_written)

    def _write_trailer(self, inputs: MonthInputs, path: str | None, results: list[_SliceResult],
                       totals: InvoiceTotals) -> None:
        minutes = sum((r.minutes for r in results), Decimal(0))
        amount = sum((r.amount for r in results), Decimal(0))
        rows = csv_reconciliation_rows(minutes, amount, totals, inputs.tariff)
        with self._csv_out(path, inputs) as out:
            self.csv_writer(out, inputs.period.tz, inputs.tariff.rate_per_minute, False).finish(rows)

    def finish(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Make a numbered ("issuing") invoice complete from its document alone (idempotent)."""
        if doc.get("status") in ("issued", "void"):
            return doc
        if doc.get("status") != "issuing":
            raise IntegrityError(f"invoice {doc.get('invoiceId')} is {doc.get('status')!r}, not numbered yet")
        inv_id = document_id(doc)
        paths = document_file_paths(doc)
        staging = doc["files"].get("csvStaging")
        if revision_of(doc):
            self._link_replaced(doc)
        self._store_csv(doc, paths["csv"], staging)
        pdf = self.render_pdf(doc)
        if not self.blobs.put_create_only(paths["pdf"], pdf, FILE_KINDS["pdf"], download_name(doc, "pdf")):
            log.info("invoice PDF already stored; kept as it is", extra={"json_fields": {"invoiceId": inv_id}})
        final = self.invoices.mark_issued(inv_id, {
            "status": "issued",
            "issuedAt": self.clock().isoformat(timespec="milliseconds"),
            "files.pdfMd5": hashlib.md5(pdf).hexdigest(),
        })
        if staging:
            self.blobs.delete(staging)
        return final

    def _link_replaced(self, doc: Mapping[str, Any]) -> None:
        """A reissue's void predecessor names it in `replacedBy` (set by the void when it asked for
        the reissue; set here when the reissue came later, from generate)."""
        previous = invoice_id(doc["companyId"], doc["billingPeriod"]["month"], revision_of(doc) - 1)
        before = self.invoices.get(previous)
        if before is not None and not before.get("replacedBy"):
            self.invoices.update(previous, {"replacedBy": document_id(doc)})

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

    def history(self, company_id: str, period_key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(the month's current invoice, every invoice of the month oldest first); NotFound when none.

        Current: the issued one; else the last void one; else the one being issued."""
        validate_company_id(company_id)
        BillingPeriod.from_key(period_key)
        docs = self.month_invoices(company_id, period_key)
        if not docs:
            raise NotFoundError(f"Invoice for company '{company_id}' and period {period_key} not found")
        issued = [d for d in docs if d.get("status") == "issued"]
        void = [d for d in docs if d.get("status") == "void"]
        return (issued or void or docs)[-1], docs

    def get(self, company_id: str, period_key: str) -> dict[str, Any]:
        """The company-month's current invoice (NotFound when there is none)."""
        return self.history(company_id, period_key)[0]

    def list(self, company_id: str, year: Any = None) -> list[dict[str, Any]]:
        """The company's invoices (reissues and void ones included), newest first, optionally of one year."""
        validate_company_id(company_id)
        year_int = parse_year(year) if year not in (None, "") else None
        if self.companies.get(company_id) is None:
            raise NotFoundError(f"Company '{company_id}' not found")
        docs = self.invoices.list_for_company(company_id, year_int)
        return sorted(docs, key=lambda d: (str((d.get("billingPeriod") or {}).get("month", "")), revision_of(d)),
                      reverse=True)

    def issued(self, company_id: str, period_key: str) -> dict[str, Any]:
        """The month's current invoice, which must have its files (issued, or void: files stay)."""
        doc = self.get(company_id, period_key)
        if doc.get("status") not in ("issued", "void"):
            raise NotFoundError(f"invoice {doc.get('invoiceNumber')} is not issued yet")
        return doc

    # -- preview -------------------------------------------------------------------------------

    def preview(self, company_id: str, month: Any = None, year: Any = None,
                read_slices: int | None = None) -> dict[str, Any]:
        """The invoice as it would be issued now, month to date for the current month: the same
        reading and rating as issuance, its CSV sent nowhere; nothing is written anywhere."""
        company, tariff = self._company_and_tariff(company_id, "Invoice preview")
        now = self.clock()
        inputs = MonthInputs(company_id, company, tariff, preview_period(month, year, tariff.timezone, now))
        supplier = Supplier.from_doc(self.settings_repo.supplier())
        recipient = recipient_snapshot(company_id, company, supplier.state_code)
        draft = self.rate(inputs, supplier, recipient, read_slices or self.settings.read_slices, stage=False)
        return preview_document(draft, now)


def _month_number(value: Any, name: str, pattern: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(pattern, text):
        raise ValidationError(f"{name} must be {'an integer 1-12' if name == 'month' else 'a four-digit year'}, "
                              f"got {value!r}")
    return int(text)


def preview_period(month: Any, year: Any, tz: str, now: datetime) -> BillingPeriod:
    """The month to preview: the one named (ended, or the current one: month to date), default the
    current month in the company's timezone; a month that has not started is refused."""
    local = now.astimezone(zone(tz))
    if month in (None, "") and year in (None, ""):
        return BillingPeriod(local.year, local.month, tz)
    if month in (None, "") or year in (None, ""):
        raise ValidationError("give both month and year, or neither (for the current month to date)")
    m = _month_number(month, "month", r"[0-9]{1,2}")
    y = _month_number(year, "year", r"[0-9]{4}")
    if not 1 <= m <= 12:
        raise ValidationError(f"month must be an integer 1-12, got {month!r}")
    if y < MIN_YEAR:
        raise ValidationError(f"year must be {MIN_YEAR} or later, got {year!r}")
    if (y, m) > (local.year, local.month):
        raise ValidationError(f"{y:04d}-{m:02d} has not started yet in {tz}; a preview covers the current "
                              "month to date or an earlier month")
    return BillingPeriod(y, m, tz)
