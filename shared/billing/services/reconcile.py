"""Late calls: the month's calls now vs the calls the current invoice billed (its CSV), call by call.

Both sides are streamed in time order (the month's query; the stored CSV in chunks) and merged
one start instant at a time: memory stays bounded whatever the size of the month. The calls now
are rated with the tariff the invoice was issued with (its stored snapshot), so the difference
shows what the calls changed, not what a later tariff change would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Iterator

from billing.config import Settings
from billing.domain.entities import Invoice
from billing.domain.period import BillingPeriod
from billing.domain.rating import Tariff, UsageSummary
from billing.domain.tariff_history import DatedTariff, MonthAccumulator, stored_history, stretches
from billing.domain.reconcile import MAX_EXAMPLES, CallDiff, CallFigures, Reconciliation, compare_calls
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.totals import InvoiceTotals, PricedPart, compute_totals
from billing.errors import BillingError, NotFoundError
from billing.ports import BilledCallReader, BlobStore, CallLogSource
from billing.services.queries import InvoiceQueries

log = logging.getLogger(__name__)


@dataclass
class CompanyReconcile:
    """One company's outcome in a batch: "clean", "drifted", "skipped" (its invoice is not
    issued), "missing" (no such company or no invoice of that month) or "failed" (with the reason)."""

    company_id: str
    outcome: str
    detail: str = ""
    result: Reconciliation | None = None


class ReconcileService:
    """reconcile(company, month): what changed in the month's calls since its current invoice."""

    def __init__(self, *, queries: InvoiceQueries, calls: CallLogSource, blobs: BlobStore,
                 read_billed: BilledCallReader, settings: Settings):
        self.queries = queries
        self.calls = calls
        self.blobs = blobs
        self.read_billed = read_billed
        self.settings = settings

    def reconcile(self, company_id: str, period_key: str, max_examples: int = MAX_EXAMPLES) -> Reconciliation:
        """The month's current invoice (issued, or void: its CSV stays) compared with the calls now."""
        return self.reconcile_invoice(self.queries.with_files(company_id, period_key), max_examples)

    def reconcile_many(self, company_ids: Iterable[str], period_key: str) -> Iterator[CompanyReconcile]:
        """Each company's month in turn; one company's error is reported with its reason and the
        others are still reconciled (like the monthly run's failures)."""
        for company_id in company_ids:
            try:
                invoice = self.queries.current(company_id, period_key)
                if invoice.status is not InvoiceStatus.ISSUED:
                    yield CompanyReconcile(company_id, "skipped", f"invoice {invoice.number} is "
                                                                  f"{invoice.status.value}, not reconciled")
                    continue
                result = self.reconcile_invoice(invoice)
            except NotFoundError as exc:
                yield CompanyReconcile(company_id, "missing", exc.detail)
                continue
            except BillingError as exc:
                yield CompanyReconcile(company_id, "failed", exc.detail)
                continue
            except Exception as exc:  # one company's surprise must not hide the others' drift
                log.exception("reconcile failed", extra={"json_fields": {"companyId": company_id[:80]}})
                yield CompanyReconcile(company_id, "failed", f"{type(exc).__name__}: {exc}")
                continue
            yield CompanyReconcile(company_id, "drifted" if result.drifted else "clean", result=result)

    def reconcile_invoice(self, invoice: Invoice, max_examples: int = MAX_EXAMPLES) -> Reconciliation:
        """The invoice's billed calls (its CSV) against the month's calls now, rated as it was."""
        month, usage, totals, diff = self._compare(invoice, max_examples)
        was = invoice.document.get("usageData") or {}
        billed = CallFigures(int(was.get("totalCalls", 0)), Decimal(str(was.get("totalBilledMinutes", 0))),
                             invoice.call_charges.decimal)
        return Reconciliation(invoice.company_id, month.key, invoice.number, invoice.invoice_id, invoice.status,
                              billed, CallFigures(usage.total_calls, usage.billed_minutes, totals.call_charges), diff)

    def _compare(self, invoice: Invoice, max_examples: int) -> tuple[BillingPeriod, UsageSummary, InvoiceTotals,
                                                                      CallDiff]:
        """The month's calls now, rated with the invoice's stored tariff(s), merged with its CSV."""
        doc = invoice.document
        non_billable = frozenset(self.settings.non_billable_statuses)
        tariff = Tariff.from_mapping(doc.get("tariff"), non_billable_statuses=non_billable,
                                     default_timezone=invoice.timezone or self.settings.default_timezone)
        period = BillingPeriod.from_key(invoice.period_key, tariff.timezone)
        # An invoice of several tariffs records each (and the days it rated): the same cut again.
        history = (stored_history(doc["tariffs"], default_timezone=tariff.timezone, non_billable_statuses=non_billable)
                   if doc.get("tariffs") else (DatedTariff(None, doc.get("tariff") or {}, tariff),))
        accumulator = MonthAccumulator(stretches(history, period), period)
        current = (accumulator.add(call) for call in self.calls.stream(invoice.company_id, period))
        billed = self.read_billed(self.blobs.open_read(invoice.file_paths["csv"]))
        diff = compare_calls(billed, current, max_examples)
        month = accumulator.summary()
        parts = [PricedPart(s.tariff, u.by_class, s.label, s.days, s.month_days)
                 for s, u in month.parts] if len(month.parts) > 1 else []
        totals = compute_totals(month.total, tariff, str(doc["supplier"]["stateCode"]),
                                str(doc["recipient"]["stateCode"]), period.key, parts)
        return period, month.total, totals, diff
