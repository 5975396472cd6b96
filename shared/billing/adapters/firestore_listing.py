"""The console's invoice list in Firestore: one billing month's invoices (or receivables, when the
list is filtered by payment status) by document id, a page at a time, with equality filters only, so
Firestore serves every shape from its automatic single-field indexes (no offset, no scan)."""

from __future__ import annotations

from typing import Any

from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from billing.adapters.sdk_errors import transient
from billing.ports import InvoiceRow


class FirestoreInvoiceListing:
    def __init__(self, db: Any, *, invoices: str = "invoices", receivables: str = "receivables"):
        self._db = db
        self._invoices = db.collection(invoices)
        self._receivables = db.collection(receivables)

    def page(self, period_key: str, status: str | None, payment_status: str | None, size: int,
             after: str | None) -> tuple[list[InvoiceRow], str | None]:
        if payment_status:  # only receivables know it: read them, then their invoices
            base, other = self._receivables, self._invoices
            query = base.where(filter=FieldFilter("period", "==", period_key)).where(
                filter=FieldFilter("paymentStatus", "==", payment_status))
            if status:
                query = query.where(filter=FieldFilter("invoiceStatus", "==", status))
        else:
            base, other = self._invoices, self._receivables
            query = base.where(filter=FieldFilter("billingPeriod.month", "==", period_key))
            if status:
                query = query.where(filter=FieldFilter("status", "==", status))
        query = query.order_by(FieldPath.document_id())
        if after:
            query = query.start_after({FieldPath.document_id(): base.document(after)})
        with transient("reading a page of the month's invoices"):
            snaps = list(query.limit(size + 1).stream())
            more = len(snaps) > size
            snaps = snaps[:size]
            ids = [s.id for s in snaps]
            found = {s.id: s.to_dict() or {} for s in self._db.get_all([other.document(i) for i in ids])
                     if s.exists} if ids else {}
        rows: list[InvoiceRow] = []
        for snap in snaps:
            first, second = snap.to_dict() or {}, found.get(snap.id)
            if payment_status:
                if second is None:
                    continue  # a receivable whose invoice is gone: nothing to show
                rows.append((second, first))
            else:
                rows.append((first, second))
        return rows, (ids[-1] if more and ids else None)
