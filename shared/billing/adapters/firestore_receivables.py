"""Receivables in Firestore: receivables/{invoiceId}, payments/{companyId}_{reference}, the ageing
aggregates receivableCompanies/{companyId} and receivableTotals/{dueDate}_{shard}, and the per-month
totals receivableMonths/{YYYY-MM}_{shard} (invoiced, collected, outstanding: the console's overview).

Each change is one transaction over the invoice's receivable, the payment (when one is named), the
company's aggregate and one shard of the totals: a payment, a reversal, an invoice opened or voided
moves all of them or none. Two payments at once on one invoice serialise on the receivable (the
second one's transaction reads the first one's balance), so together they can never overpay.
The totals are sharded by company (a month's invoices share a due date; one document per due date
would be written by every company's issuance); so are the month totals.""" 

from __future__ import annotations

import zlib
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from billing.adapters.firestore_repo import run_contended
from billing.adapters.sdk_errors import transient
from billing.domain.receivables import MONTH_FIELDS, add_month, month_delta, move_outstanding
from billing.ports import ReceivableChange, ReceivableUpdate

TOTAL_SHARDS = 16


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

    def get(self, invoice_id: str) -> dict[str, Any] | None:
        with transient(f"reading the receivable of {invoice_id}"):
            snap = self._receivables.document(invoice_id).get()
        return snap.to_dict() if snap.exists else None

    def payment(self, payment_id: str) -> dict[str, Any] | None:
        with transient(f"reading payment {payment_id}"):
            snap = self._payments.document(payment_id).get()
        return snap.to_dict() if snap.exists else None

    def payments_for_company(self, company_id: str) -> list[dict[str, Any]]:
        query = self._payments.where(filter=FieldFilter("companyId", "==", company_id))
        with transient("reading the company's payments"):
            docs = [snap.to_dict() or {} for snap in query.stream()]
        return sorted(docs, key=lambda d: (str(d.get("date")), str(d.get("recordedAt"))))

    def payments_dated(self, start: str, end: str) -> list[dict[str, Any]]:
        by_date = (self._payments.where(filter=FieldFilter("date", ">=", start))
                   .where(filter=FieldFilter("date", "<", end)))
        reversed_in = (self._payments.where(filter=FieldFilter("reversal.at", ">=", start))
                       .where(filter=FieldFilter("reversal.at", "<", end)))
        with transient("reading the month's payments"):
            docs = {str(d.get("paymentId")): d for d in (snap.to_dict() or {} for q in (by_date, reversed_in)
                                                       for snap in q.stream())}
        return sorted(docs.values(), key=lambda d: (str(d.get("date")), str(d.get("recordedAt"))))

    def change(self, invoice_id: str, company_id: str, due: str, payment_id: str | None,
               update: ReceivableUpdate) -> tuple[ReceivableChange | None, dict[str, Any] | None]:
        rec_ref = self._receivables.document(invoice_id)
        pay_ref = self._payments.document(payment_id) if payment_id else None
        co_ref = self._companies.document(company_id)
        shard = zlib.crc32(company_id.encode()) % TOTAL_SHARDS
        tot_ref = self._totals.document(f"{due}_{shard:02d}")

        @firestore.transactional
        def txn(transaction: Any) -> tuple[ReceivableChange | None, dict[str, Any] | None]:
            refs = [r for r in (rec_ref, pay_ref, co_ref, tot_ref) if r is not None]
            snaps = {s.reference.path: s for s in transaction.get_all(refs)}

            def doc(ref: Any) -> dict[str, Any] | None:
                snap = snaps.get(ref.path) if ref is not None else None
                return (snap.to_dict() or {}) if snap is not None and snap.exists else None

            receivable, payment = doc(rec_ref), doc(pay_ref)
            result = update(receivable, payment)
            if result is None:
                return None, receivable
            period = str(result.receivable.get("period") or "")  # the billing month, known once read
            delta = month_delta(receivable, result.receivable)
            month_ref = [self._months.document(f"{period}_{shard:02d}")] if period and any(delta.values()) else []
            month: dict[str, Any] = {}
            if month_ref:
                month_snap = next(iter(transaction.get_all(month_ref)), None)  # still before any write
                month = (month_snap.to_dict() or {}) if month_snap is not None and month_snap.exists else {}
            now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
            transaction.set(rec_ref, {**result.receivable, "updatedAt": now})
            if result.payment is not None and pay_ref is not None:
                transaction.set(pay_ref, result.payment)
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

        changed: tuple[ReceivableChange | None, dict[str, Any] | None] = run_contended(
            self._db, co_ref.path, txn, f"recording on the receivable of {invoice_id}",
            self._max_attempts, self._max_seconds)
        return changed

    def with_balance(self) -> Iterator[dict[str, Any]]:
        query = self._receivables.where(filter=FieldFilter("balancePaise", ">", 0))
        with transient("reading the receivables with a balance"):
            for snap in query.stream():
                yield snap.to_dict() or {}

    def aging_page(self, page_size: int, after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        query = self._companies.order_by(FieldPath.document_id())
        if after:
            query = query.start_after({FieldPath.document_id(): self._companies.document(after)})
        with transient("reading the ageing page"):
            docs = [snap.to_dict() or {} for snap in query.limit(page_size + 1).stream()]
        more = len(docs) > page_size
        docs = docs[:page_size]
        return docs, (str(docs[-1]["companyId"]) if more and docs else None)

    def aging_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        with transient("reading the ageing totals"):
            for snap in self._totals.stream():
                doc = snap.to_dict() or {}
                totals[str(doc["dueDate"])] = totals.get(str(doc["dueDate"]), 0) + int(doc.get("paise", 0))
        return {due: paise for due, paise in totals.items() if paise}

    def tds_payments(self, quarter_key: str) -> list[dict[str, Any]]:
        query = self._payments.where(filter=FieldFilter("tdsKey", "==", quarter_key))
        with transient("reading the quarter's TDS"):
            docs = [snap.to_dict() or {} for snap in query.stream()]
        return sorted(docs, key=lambda d: (str(d.get("companyId")), str(d.get("date")), str(d.get("reference"))))

    def mark_tds_matched(self, payment_id: str, fields: Mapping[str, Any]) -> None:
        with transient(f"marking the TDS of {payment_id} matched"):
            self._payments.document(payment_id).update(dict(fields))

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
