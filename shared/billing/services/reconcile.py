"""Late calls: the month's calls now vs the calls the current invoice billed (its CSV), call by call.

Both sides are streamed in time order (the month's query; the stored CSV in chunks) and merged
one start instant at a time: memory stays bounded whatever the size of the month. The calls now
are rated with the tariff the invoice was issued with (its stored snapshot), so the difference
shows what the calls changed, not what a later tariff change would.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Iterator

from billing.config import Settings
from billing.domain.naming import document_file_paths
from billing.domain.period import BillingPeriod
from billing.domain.presenter import money_number, plain_number
from billing.domain.rating import Tariff
from billing.domain.tariff_history import DatedTariff, MonthAccumulator, stored_history, stretches
from billing.domain.reconcile import MAX_EXAMPLES, compare_calls
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.totals import PricedPart, compute_totals
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
    result: dict[str, Any] = field(default_factory=dict)


def _figures(calls: int, minutes: Decimal, charges: Decimal) -> dict[str, Any]:
    return {"calls": calls, "billedMinutes": plain_number(minutes), "callCharges": money_number(charges)}


class ReconcileService:
    """reconcile(company, month): what changed in the month's calls since its current invoice."""

    def __init__(self, *, queries: InvoiceQueries, calls: CallLogSource, blobs: BlobStore,
                 read_billed: BilledCallReader, settings: Settings):
        self.queries = queries
        self.calls = calls
        self.blobs = blobs
        self.read_billed = read_billed
        self.settings = settings

    def reconcile(self, company_id: str, period_key: str, max_examples: int = MAX_EXAMPLES) -> dict[str, Any]:
        """The month's current invoice (issued, or void: its CSV stays) compared with the calls now."""
        return self.reconcile_invoice(self.queries.issued(company_id, period_key), max_examples)

    def reconcile_many(self, company_ids: Iterable[str], period_key: str) -> Iterator[CompanyReconcile]:
        """Each company's month in turn; one company's error is reported with its reason and the
        others are still reconciled (like the monthly run's failures)."""
        for company_id in company_ids:
            try:
                invoice = self.queries.get(company_id, period_key)
                if InvoiceStatus.of(invoice) is not InvoiceStatus.ISSUED:
                    yield CompanyReconcile(company_id, "skipped", f"invoice {invoice.get('invoiceNumber')} is "
                                                                  f"{invoice.get('status')}, not reconciled")
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
            yield CompanyReconcile(company_id, "drifted" if result["drifted"] else "clean", result=result)

    def reconcile_invoice(self, invoice: dict[str, Any], max_examples: int = MAX_EXAMPLES) -> dict[str, Any]:
        company_id = str(invoice["companyId"])
        stored_period = invoice["billingPeriod"]
        tariff = Tariff.from_mapping(
            invoice.get("tariff"),
            default_timezone=str(stored_period.get("timezone") or self.settings.default_timezone),
            non_billable_statuses=frozenset(self.settings.non_billable_statuses),
        )
        period = BillingPeriod.from_key(str(stored_period["month"]), tariff.timezone)
        # An invoice of several tariffs records each (and the days it rated): the same cut again.
        history = (stored_history(invoice["tariffs"], default_timezone=tariff.timezone,
                                  non_billable_statuses=frozenset(self.settings.non_billable_statuses))
                   if invoice.get("tariffs") else (DatedTariff(None, invoice.get("tariff") or {}, tariff),))
        accumulator = MonthAccumulator(stretches(history, period), period)
        current = (accumulator.add(call) for call in self.calls.stream(company_id, period))
        billed = self.read_billed(self.blobs.open_read(document_file_paths(invoice)["csv"]))
        diff = compare_calls(billed, current, max_examples)

        month = accumulator.summary()
        usage = month.total
        parts = [PricedPart(s.tariff, u.by_class, s.label, s.days, s.month_days)
                 for s, u in month.parts] if len(month.parts) > 1 else []
        totals = compute_totals(usage, tariff, str(invoice["supplier"]["stateCode"]),
                                str(invoice["recipient"]["stateCode"]), period.key, parts)
        was = invoice.get("usageData") or {}
        billed_calls = int(was.get("totalCalls", 0))
        billed_minutes = Decimal(str(was.get("totalBilledMinutes", 0)))
        billed_charges = Decimal(int((invoice.get("amountsPaise") or {}).get("callCharges", 0))) / 100
        return {
            "companyId": company_id,
            "month": period.key,
            "invoiceNumber": invoice.get("invoiceNumber"),
            "invoiceId": invoice.get("invoiceId"),
            "invoiceStatus": invoice.get("status"),
            "billed": _figures(billed_calls, billed_minutes, billed_charges),
            "current": _figures(usage.total_calls, usage.billed_minutes, totals.call_charges),
            "added": diff.added,
            "removed": diff.removed,
            "changed": diff.changed,
            "drifted": diff.drifted,
            "difference": _figures(usage.total_calls - billed_calls, usage.billed_minutes - billed_minutes,
                                   totals.call_charges - billed_charges),
            "examples": diff.examples,
        }
