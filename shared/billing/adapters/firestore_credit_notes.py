"""creditNotes/{id}: created, numbered and the invoice voided in one transaction; then only finished."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from billing.adapters.invoice_document import invoice_from_document
from billing.adapters.note_document import (
    delivery_fields, issued_fields, note_document, note_from_document, void_fields,
)
from billing.adapters.firestore_repo import claim_delivery_of, mark_issued_once, run_contended
from billing.adapters.sdk_errors import transient
from billing.config import Settings
from billing.domain.delivery import DeliveryChange
from billing.domain.entities import Invoice, IssuedPdf, Note
from billing.domain.lifecycle import InvoiceStatus
from billing.ports import VoidBuild


class FirestoreCreditNotes:
    """Credit notes, numbered from creditNoteCounters/{prefix}_{FY} (their own gapless series).

    The transaction that numbers a credit note also creates it and voids its invoice: either all
    three happen or none, so a retried or concurrent void can never make a second credit note or
    leave a gap."""

    def __init__(self, db: Any, settings: Settings, max_attempts: int = 60, max_seconds: float = 90):
        self._db = db
        self._col = db.collection(settings.credit_notes_collection)
        self._invoices = db.collection(settings.invoices_collection)
        self._counters = db.collection(settings.credit_note_counters_collection)
        self._max_attempts = max_attempts
        self._max_seconds = max_seconds

    def find(self, credit_note_id: str) -> Note | None:
        with transient(f"reading credit note {credit_note_id}"):
            snap = self._col.document(credit_note_id).get()
        return note_from_document(snap.to_dict() or {}) if snap.exists else None

    def list_for_company(self, company_id: str) -> list[Note]:
        query = self._col.where(filter=FieldFilter("companyId", "==", company_id))
        with transient("listing credit notes"):
            docs = [snap.to_dict() or {} for snap in query.stream()]
        docs.sort(key=lambda d: (str(d.get("creditNoteDate", "")), str(d.get("financialYear", "")),
                                 int(d.get("sequence", 0))))
        return [note_from_document(d) for d in docs]

    def dated(self, start: str, end: str) -> Iterator[Note]:
        """Credit notes with creditNoteDate in [start, end), streamed."""
        query = (self._col.where(filter=FieldFilter("creditNoteDate", ">=", start))
                 .where(filter=FieldFilter("creditNoteDate", "<", end)).order_by("creditNoteDate"))
        with transient("reading the month's credit notes"):
            for snap in query.stream():
                yield note_from_document(snap.to_dict() or {})

    def mark_issued(self, credit_note_id: str, issued: IssuedPdf) -> Note:
        return note_from_document(mark_issued_once(self._db, self._col.document(credit_note_id),
                                                   issued_fields(issued), f"credit note {credit_note_id}"))

    def record_delivery(self, credit_note_id: str, change: DeliveryChange) -> None:
        with transient(f"updating credit note {credit_note_id}"):
            self._col.document(credit_note_id).update(delivery_fields(change))

    def claim_delivery(self, credit_note_id: str, claim_id: str, force: bool, now: datetime,
                       timeout_seconds: float) -> Note | None:
        doc = claim_delivery_of(self._db, self._col.document(credit_note_id), claim_id, force, now,
                                timeout_seconds, "claiming the credit note delivery")
        return note_from_document(doc) if doc is not None else None

    def void_invoice(self, invoice_id: str, credit_note_id: str, counter_id: str,
                     build: VoidBuild) -> tuple[Invoice | None, Note | None]:
        inv_ref = self._invoices.document(invoice_id)
        cn_ref = self._col.document(credit_note_id)
        ctr_ref = self._counters.document(counter_id)

        @firestore.transactional
        def txn(transaction: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
            inv_snap, cn_snap, ctr_snap = (
                {s.reference.path: s for s in transaction.get_all([inv_ref, cn_ref, ctr_ref])}.get(r.path)
                for r in (inv_ref, cn_ref, ctr_ref)
            )
            invoice = inv_snap.to_dict() if inv_snap is not None and inv_snap.exists else None
            existing = cn_snap.to_dict() if cn_snap is not None and cn_snap.exists else None
            if invoice is None or InvoiceStatus.of(invoice) is not InvoiceStatus.ISSUED or existing is not None:
                return invoice, existing
            state = (ctr_snap.to_dict() or {}) if ctr_snap is not None and ctr_snap.exists else {}
            seq = int(state.get("next", 1))
            draft, void = build(invoice_from_document(invoice), seq)
            credit_note, void_update = note_document(draft), void_fields(void)
            transaction.create(cn_ref, credit_note)
            transaction.update(inv_ref, void_update)
            transaction.set(ctr_ref, {"next": seq + 1, "writes": int(state.get("writes", 0)) + 1,
                                      "lastCreditNoteId": credit_note_id,
                                      "updatedAt": datetime.now(timezone.utc).isoformat(timespec="milliseconds")})
            return {**invoice, **void_update}, credit_note

        result: tuple[dict[str, Any] | None, dict[str, Any] | None] = run_contended(
            self._db, "creditNote:" + counter_id, txn, f"voiding {invoice_id} on {counter_id}",
            self._max_attempts, self._max_seconds)
        invoice, note = result
        return (invoice_from_document(invoice) if invoice is not None else None,
                note_from_document(note) if note is not None else None)
