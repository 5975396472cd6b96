"""The rating pipeline: read the month once (in parallel time slices), rate it, stage its CSV."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterator, Sequence

from billing.domain.csv_rows import csv_invoice_rows, csv_reconciliation_rows
from billing.domain.invoice import InvoiceDraft, Recipient, StagedCsv, Supplier
from billing.domain.naming import FILE_KINDS, file_paths, staging_path
from billing.domain.rating import CallRecord, UnplacedCalls, UsageSummary
from billing.domain.tariff_history import MonthAccumulator
from billing.domain.totals import InvoiceTotals, compute_totals
from billing.ports import BlobStore, CallCsvFactory, CallLogSource, HashingWriter
from billing.services.issuance.inputs import MonthInputs


class _Discard:
    """A CSV destination that keeps nothing (the preview rates exactly like issuance, writing nothing)."""

    def write(self, data: bytes) -> int:
        return len(data)

    def md5_base64(self) -> str:
        return ""


@dataclass(frozen=True)
class _SliceResult:
    accumulator: MonthAccumulator
    rows: int
    minutes: Decimal
    amount: Decimal


class RatingPipeline:
    def __init__(self, calls: CallLogSource, blobs: BlobStore, csv_writer: CallCsvFactory):
        self.calls = calls
        self.blobs = blobs
        self.csv_writer = csv_writer

    def rate(self, inputs: MonthInputs, supplier: Supplier, recipient: Recipient,
             slices: int, revision: int = 0, stage: bool = True,
             charges: Sequence[tuple[str, Decimal]] = ()) -> InvoiceDraft:
        """Read the month once, rate it and stage its CSV: everything but the number.

        charges: the month's one-off charges (description, amount), lines after the fee.
        stage=False rates the very same way but sends the CSV nowhere (the preview)."""
        staging = staging_path(inputs.company_id, inputs.period.key, uuid.uuid4().hex) if stage else None
        usage, totals, csv, unplaced = self._rate_month(inputs, supplier, recipient, staging, slices, charges)
        paths = file_paths(inputs.company_id, inputs.period.key, revision)
        return InvoiceDraft(
            company_id=inputs.company_id, period=inputs.period, tariff=inputs.tariff,
            tariff_snapshot=dict(inputs.stretches[-1].dated.billing), supplier=supplier,
            tariffs=tuple(s.to_json() for s in inputs.stretches) if len(inputs.history) > 1 else (),
            recipient=recipient, usage=usage, totals=totals, csv=csv,
            files={kind: self.blobs.uri(path) if stage else "" for kind, path in paths.items()},
            revision=revision, unplaced_count=unplaced.count, unplaced_ids=tuple(unplaced.ids),
        )

    def _rate_month(self, inputs: MonthInputs, supplier: Supplier, recipient: Recipient,
                    staging: str | None, slices: int, charges: Sequence[tuple[str, Decimal]]
                    ) -> tuple[UsageSummary, InvoiceTotals, StagedCsv, UnplacedCalls]:
        """Rate each time slice into its own CSV part (in parallel), then compose parts + trailer
        (the company's unplaced call logs, the reconciliation and summary rows).

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
        month = accumulator.summary()
        usage = month.total
        # Several tariffs in the month: each stretch's usage priced by its own; the fee by the days
        # each covers inside the company's billing dates.
        priced = month.priced(inputs.billed_from, inputs.billed_to)
        totals = compute_totals(usage, inputs.tariff, supplier.state_code, recipient.state_code,
                                inputs.period.key, priced, charges)
        rows = sum(r.rows for r in results)
        if staging is None:
            unplaced, _ = self._write_trailer(inputs, None, results, totals)
            return usage, totals, StagedCsv("", "", rows), unplaced
        trailer = f"{staging}.trailer"
        unplaced, trailer_rows = self._write_trailer(inputs, trailer, results, totals)
        checksum = self._compose(inputs, staging, parts, trailer)
        return usage, totals, StagedCsv(staging, checksum, rows + trailer_rows), unplaced

    def _compose(self, inputs: MonthInputs, staging: str, parts: list[str | None], trailer: str) -> str:
        """The staged CSV from its parts and trailer (the parts deleted); its checksum."""
        stored = [p for p in parts if p is not None]
        checksum = self.blobs.compose(stored + [trailer], staging, FILE_KINDS["csv"], inputs.csv_name)
        for path in stored + [trailer]:
            self.blobs.delete(path)
        return checksum

    def _csv_out(self, path: str | None, inputs: MonthInputs) -> AbstractContextManager[HashingWriter]:
        if path is None:
            return nullcontext(_Discard())
        return self.blobs.writer(path, FILE_KINDS["csv"], inputs.csv_name)

    def _rate_slice(self, inputs: MonthInputs, calls: Iterator[CallRecord], part: str | None,
                    header: bool) -> _SliceResult:
        accumulator = MonthAccumulator(inputs.stretches, inputs.period)
        with self._csv_out(part, inputs) as out:
            writer = self.csv_writer(out, inputs.period.tz, inputs.tariff.rate_per_minute, header)
            for call in calls:
                writer.write(accumulator.add(call))
            writer.flush()
        return _SliceResult(accumulator, writer.rows, writer.minutes_written, writer.amount_written)

    def _write_trailer(self, inputs: MonthInputs, path: str | None, results: list[_SliceResult],
                       totals: InvoiceTotals) -> tuple[UnplacedCalls, int]:
        """The trailer: the company's unplaced call logs (read here, once), then the reconciliation
        and summary rows. Returns the unplaced calls and how many rows of them it wrote."""
        minutes = sum((r.minutes for r in results), Decimal(0))
        amount = sum((r.amount for r in results), Decimal(0))
        rows = csv_reconciliation_rows(minutes, amount, totals, inputs.tariff)
        unplaced = UnplacedCalls()
        with self._csv_out(path, inputs) as out:
            writer = self.csv_writer(out, inputs.period.tz, inputs.tariff.rate_per_minute, False)
            for call in self.calls.unplaced(inputs.company_id):
                unplaced.add(call)
                writer.write_unplaced(call)
            writer.finish(rows, csv_invoice_rows(totals))
        return unplaced, writer.rows
