"""Receivables in Firestore: receivables/{invoiceId}, payments/{companyId}_{reference}, the ageing
aggregates receivableCompanies/{companyId} and receivableTotals/{dueDate}_{shard}, and the per-month
totals receivableMonths/{YYYY-MM}_{shard} (invoiced, collected, outstanding: the console's overview).

Each change is one transaction over the invoice's receivable, the payment (when one is named), the
company's aggregate and one shard of the totals: a payment, a reversal, an invoice opened or voided
moves all of them or none. Two payments at once on one invoice serialise on the receivable (the
second one's transaction reads the first one's balance), so together they can never overpay.
The totals are sharded by company (a month's invoices share a due date; one document per due date
would be written by every company's issuance); so are the month totals.

rebuild_month() recomputes a month's totals from its receivables (a backfill over data written before
the month totals existed, or a repair): see its docstring for why a payment landing meanwhile is
never lost.""" 

from __future__ import annotations

import zlib
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from billing.adapters.firestore_repo import run_contended
from billing.adapters.sdk_errors import transient
from billing.adapters.receivable_document import (
    outstanding_from_document, payment_document, payment_from_document, receivable_document, receivable_from_document,
    tds_match_fields,
)
from billing.domain.receivable import CompanyOutstanding, Payment, Receivable, TdsMatch
from billing.domain.receivables import MONTH_FIELDS, add_month, month_delta, move_outstanding
from billing.errors import TransientError
from billing.ports import ReceivableChange, ReceivableUpdate

TOTAL_SHARDS = 16
REBUILD_PAGE = 500
REBUILD_ROUNDS = 8


def shard_of(company_id: str) -> int:
    return zlib.crc32(company_id.encode()) % TOTAL_SHARDS


class FirestoreReceivables:
    def __init__(self, db: Any, *, receivables: str = "receivables", payments: str = "payments",
                 companies: str = "receivableCompanies", totals: str = "receivableTotals",
                 months: str = "receivableMonths",
                 max_attempts: int = 60, max_seconds: float = 90):
        self._db = db
        self._receivables = db.collection(receivables)
        self._payments = db.collection(payments)
        self._companies = db.collection(companies)
        self._totals = db.collection(totals)
        self._months = db.collection(months)
        self._max_attempts = max_attempts
        self._max_seconds = max_seconds

    def get(self, invoice_id: str) -> Receivable | None:
        with transient(f"reading the receivable of {invoice_id}"):
            snap = self._receivables.document(invoice_id).get()
        return receivable_from_document(snap.to_dict() or {}) if snap.exists else None

    def payment(self, payment_id: str) -> Payment | None:
        with transient(f"reading payment {payment_id}"):
            snap = self._payments.document(payment_id).get()
        return payment_from_document(snap.to_dict() or {}) if snap.exists else None

    def payments_for_company(self, company_id: str) -> list[Payment]:
        query = self._payments.where(filter=FieldFilter("companyId", "==", company_id))
        with transient("reading the company's payments"):
            docs = [snap.to_dict() or {} for snap in query.stream()]
        return [payment_from_document(d) for d in sorted(docs, key=lambda d: (str(d.get("date")),
                                                                               str(d.get("recordedAt"))))]

    def payments_dated(self, start: str, end: str) -> list[Payment]:
        by_date = (self._payments.where(filter=FieldFilter("date", ">=", start))
                   .where(filter=FieldFilter("date", "<", end)))
        reversed_in = (self._payments.where(filter=FieldFilter("reversal.at", ">=", start))
                       .where(filter=FieldFilter("reversal.at", "<", end)))
        with transient("reading the month's payments"):
            docs = {str(d.get("paymentId")): d for d in (snap.to_dict() or {} for q in (by_date, reversed_in)
                                                       for snap in q.stream())}
        return [payment_from_document(d) for d in sorted(docs.values(), key=lambda d: (str(d.get("date")),
                                                                                       str(d.get("recordedAt"))))]

    def change(self, invoice_id: str, company_id: str, due: str, payment_id: str | None,
               update: ReceivableUpdate) -> tuple[ReceivableChange | None, Receivable | None]:
        rec_ref = self._receivables.document(invoice_id)
        pay_ref = self._payments.document(payment_id) if payment_id else None
        co_ref = self._companies.document(company_id)
        shard = shard_of(company_id)
        tot_ref = self._totals.document(f"{due}_{shard:02d}")

        @firestore.transactional
        def txn(transaction: Any) -> tuple[ReceivableChange | None, Receivable | None]:
            refs = [r for r in (rec_ref, pay_ref, co_ref, tot_ref) if r is not None]
            snaps = {s.reference.path: s for s in transaction.get_all(refs)}

            def doc(ref: Any) -> dict[str, Any] | None:
                snap = snaps.get(ref.path) if ref is not None else None
                return (snap.to_dict() or {}) if snap is not None and snap.exists else None

            stored_rec, stored_pay = doc(rec_ref), doc(pay_ref)
            receivable = receivable_from_document(stored_rec) if stored_rec is not None else None
            result = update(receivable, payment_from_document(stored_pay) if stored_pay is not None else None)
            if result is None:
                return None, receivable
            period = result.receivable.period or ""  # the billing month, known once read
            delta = month_delta(receivable, result.receivable)
            month_ref = [self._months.document(f"{period}_{shard:02d}")] if period and any(delta.values()) else []
            month: dict[str, Any] = {}
            if month_ref:
                month_snap = next(iter(transaction.get_all(month_ref)), None)  # still before any write
                month = (month_snap.to_dict() or {}) if month_snap is not None and month_snap.exists else {}
            now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            transaction.set(rec_ref, {**receivable_document(result.receivable), "updatedAt": now})
            if result.payment is not None and pay_ref is not None:
                transaction.set(pay_ref, payment_document(result.payment))
            if result.delta_paise:
                company = doc(co_ref) or {"companyId": company_id}
                outstanding = move_outstanding(company.get("outstanding") or {}, due, result.delta_paise)
                if outstanding:
                    transaction.set(co_ref, {"companyId": company_id, "outstanding": outstanding, "updatedAt": now})
                else:
                    transaction.delete(co_ref)  # only companies with a balance have one: the page reads no others
                total = int((doc(tot_ref) or {}).get("paise", 0)) + result.delta_paise
                if total:
                    transaction.set(tot_ref, {"dueDate": due, "paise": total, "updatedAt": now})
                else:
                    transaction.delete(tot_ref)
            if month_ref:
                transaction.set(month_ref[0], {"period": period, **add_month(month, delta), "updatedAt": now})
            return result, result.receivable

        changed: tuple[ReceivableChange | None, Receivable | None] = run_contended(
            self._db, co_ref.path, txn, f"recording on the receivable of {invoice_id}",
            self._max_attempts, self._max_seconds)
        return changed

    def with_balance(self) -> Iterator[Receivable]:
        query = self._receivables.where(filter=FieldFilter("balancePaise", ">", 0))
        with transient("reading the receivables with a balance"):
            for snap in query.stream():
                yield receivable_from_document(snap.to_dict() or {})

    def aging_page(self, page_size: int, after: str | None) -> tuple[list[CompanyOutstanding], str | None]:
        query = self._companies.order_by(FieldPath.document_id())
        if after:
            query = query.start_after({FieldPath.document_id(): self._companies.document(after)})
        with transient("reading the ageing page"):
            docs = [snap.to_dict() or {} for snap in query.limit(page_size + 1).stream()]
        more = len(docs) > page_size
        docs = docs[:page_size]
        return [outstanding_from_document(d) for d in docs], (str(docs[-1]["companyId"]) if more and docs else None)

    def aging_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        with transient("reading the ageing totals"):
            for snap in self._totals.stream():
                doc = snap.to_dict() or {}
                totals[str(doc["dueDate"])] = totals.get(str(doc["dueDate"]), 0) + int(doc.get("paise", 0))
        return {due: paise for due, paise in totals.items() if paise}

    def tds_payments(self, quarter_key: str) -> list[Payment]:
        query = self._payments.where(filter=FieldFilter("tdsKey", "==", quarter_key))
        with transient("reading the quarter's TDS"):
            docs = [snap.to_dict() or {} for snap in query.stream()]
        return [payment_from_document(d) for d in sorted(docs, key=lambda d: (str(d.get("companyId")), str(d.get("date")),
                                                                               str(d.get("reference"))))]

    def mark_tds_matched(self, payment_id: str, match: TdsMatch) -> None:
        with transient(f"marking the TDS of {payment_id} matched"):
            self._payments.document(payment_id).update(tds_match_fields(match))

    def month_totals(self, first: str, last: str) -> dict[str, dict[str, int]]:
        query = (self._months.where(filter=FieldFilter("period", ">=", first))
                 .where(filter=FieldFilter("period", "<=", last)))
        result: dict[str, dict[str, int]] = {}
        with transient("reading the month totals"):
            for snap in query.stream():
                doc = snap.to_dict() or {}
                period = str(doc.get("period"))
                result[period] = add_month(result.get(period, {}), {f: int(doc.get(f, 0)) for f in MONTH_FIELDS})
        return result

    # -- backfill -------------------------------------------------------------------------------

    def rebuild_month(self, period: str, invoice_status: Callable[[str], str | None]) -> dict[str, int]:
        """The month totals of `period` recomputed from its receivables and set exactly per shard
        (written only where they differ: a second run writes nothing); a receivable without
        `invoiceStatus` gets invoice_status(invoiceId) (skipped when that is None).

        Safe against change() meanwhile without locking the month: every change that moves a
        month's totals writes its shard in the same transaction. Each shard's version (update time,
        or absent) is taken before the receivables are read, and the shard is set in a transaction
        only if that version is still the one read there; otherwise a payment (or note) landed on
        that shard meanwhile and the shard is computed again. The receivables are read a page at a
        time, summed per shard as they stream: memory does not grow with the month."""
        refs = {s: self._months.document(f"{period}_{s:02d}") for s in range(TOTAL_SHARDS)}
        report = {"receivables": 0, "shardsWritten": 0, "statusFilled": 0, "statusUnknown": 0, "rounds": 0}
        pending = set(refs)
        while pending:
            if report["rounds"] == REBUILD_ROUNDS:
                raise TransientError(f"the month totals of {period} kept changing while being rebuilt "
                                     f"(shards {sorted(pending)}): run it again")
            report["rounds"] += 1
            versions = self._versions(refs, pending)
            sums: dict[int, dict[str, int]] = {s: {} for s in pending}
            seen = 0
            for snap in self._month_receivables(period):
                doc = snap.to_dict() or {}
                shard = shard_of(str(doc.get("companyId", "")))
                if report["rounds"] == 1:
                    seen += 1
                    if not doc.get("invoiceStatus"):
                        filled = self._fill_status(snap, invoice_status)
                        report["statusFilled" if filled else "statusUnknown"] += 1
                if shard in sums:
                    sums[shard] = add_month(sums[shard], month_delta(None, receivable_from_document(doc)))
            if report["rounds"] == 1:
                report["receivables"] = seen
            for s in sorted(pending):
                outcome = self._set_shard(refs[s], period, versions[s], sums[s])
                if outcome != "changed":
                    pending.discard(s)
                    report["shardsWritten"] += outcome == "written"
        return report

    def _versions(self, refs: dict[int, Any], shards: set[int]) -> dict[int, Any]:
        result: dict[int, Any] = {}
        with transient("reading the month totals"):
            for snap in self._db.get_all([refs[s] for s in shards]):
                shard = int(snap.id.rsplit("_", 1)[1])
                result[shard] = snap.update_time if snap.exists else None
        return result

    def _month_receivables(self, period: str) -> Iterator[Any]:
        query = self._receivables.where(filter=FieldFilter("period", "==", period)).order_by(FieldPath.document_id())
        after: Any = None
        while True:
            page = query.start_after({FieldPath.document_id(): after}) if after is not None else query
            with transient(f"reading the receivables of {period}"):
                snaps = list(page.limit(REBUILD_PAGE).stream())
            yield from snaps
            if len(snaps) < REBUILD_PAGE:
                return
            after = snaps[-1].reference

    def _fill_status(self, snap: Any, invoice_status: Callable[[str], str | None]) -> bool:
        """invoiceStatus written on a receivable that has none, unless it changed since it was read
        (then it is read again: a void meanwhile has set it already)."""
        for _ in range(REBUILD_ROUNDS):
            doc = snap.to_dict() or {}
            if doc.get("invoiceStatus"):
                return True
            status = invoice_status(str(doc.get("invoiceId") or snap.id))
            if not status:
                return False
            with transient(f"filling the invoice status of {snap.id}"):
                try:
                    snap.reference.update({"invoiceStatus": status},
                                          option=self._db.write_option(last_update_time=snap.update_time))
                    return True
                except gexc.FailedPrecondition:  # changed since read: not a configuration error
                    snap = snap.reference.get()
        raise TransientError(f"the receivable {snap.id} kept changing while its invoice status was filled")

    def _set_shard(self, ref: Any, period: str, version: Any, total: dict[str, int]) -> str:
        """"written", "same" (already exact), or "changed" (a change() wrote the shard meanwhile)."""

        @firestore.transactional
        def txn(transaction: Any) -> str:
            snap = next(iter(transaction.get_all([ref])))
            if (snap.update_time if snap.exists else None) != version:
                return "changed"
            stored = (snap.to_dict() or {}) if snap.exists else None
            if not int(total.get("invoices", 0)):
                if stored is None:
                    return "same"
                transaction.delete(ref)  # live updates never create a shard without a receivable
                return "written"
            exact = {"period": period, **add_month({}, total)}
            if stored is not None and all(stored.get(k) == v for k, v in exact.items()):
                return "same"
            now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            transaction.set(ref, {**exact, "updatedAt": now})
            return "written"

        outcome: str = run_contended(self._db, ref.path, txn, f"rebuilding {ref.id}",
                                     self._max_attempts, self._max_seconds)
        return outcome
