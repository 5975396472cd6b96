"""The console's invoice list in Firestore: one billing month a page at a time by document id, with
equality filters only, so Firestore serves every shape from its automatic single-field indexes (no
offset, no scan). Issued and void invoices are listed from their receivables (small documents that
carry the payment status); invoices still being issued from the invoices themselves."""

from __future__ import annotations

from typing import Any

from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from billing.adapters.invoice_document import invoice_from_document
from billing.adapters.receivable_document import receivable_from_document
from billing.adapters.sdk_errors import transient
from billing.domain.lifecycle import InvoiceStatus
from billing.ports import InvoiceRow

IN_PROGRESS = (InvoiceStatus.DRAFT.value, InvoiceStatus.ISSUING.value)


class FirestoreInvoiceListing:
    def __init__(self, db: Any, *, invoices: str = "invoices", receivables: str = "receivables"):
        self._invoices = db.collection(invoices)
        self._receivables = db.collection(receivables)

    def page(self, period_key: str, status: str | None, payment_status: str | None, size: int,
             after: str | None) -> tuple[list[InvoiceRow], str | None]:
        in_progress = status in IN_PROGRESS
        base = self._invoices if in_progress else self._receivables
        if in_progress:
            query = base.where(filter=FieldFilter("billingPeriod.month", "==", period_key)).where(
                filter=FieldFilter("status", "==", status))
        else:
            query = base.where(filter=FieldFilter("period", "==", period_key))
            if status:
                query = query.where(filter=FieldFilter("invoiceStatus", "==", status))
            if payment_status:
                query = query.where(filter=FieldFilter("paymentStatus", "==", payment_status))
        query = query.order_by(FieldPath.document_id())
        if after:
            query = query.start_after({FieldPath.document_id(): base.document(after)})
        with transient("reading a page of the month's invoices"):
            snaps = list(query.limit(size + 1).stream())
        more = len(snaps) > size
        snaps = snaps[:size]
        rows: list[InvoiceRow] = [(invoice_from_document(s.to_dict() or {}), None) if in_progress
                                  else (None, receivable_from_document(s.to_dict() or {})) for s in snaps]
        return rows, (snaps[-1].id if more and snaps else None)
