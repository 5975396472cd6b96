"""Adjustment notes: created, numbered and added to their invoice's ledger in one transaction; then finished.

Partial credit notes live in creditNotes/ (numbered from creditNoteCounters/, the void's series),
debit notes in debitNotes/ (numbered from debitNoteCounters/). The transaction reads the invoice,
the note and the counter: two concurrent notes on one invoice serialize on the invoice document,
so the cap on credits holds across instances.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterator

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from billing.adapters.invoice_document import invoice_from_document
from billing.adapters.note_document import (
    delivery_fields, issued_fields, ledger_fields, note_document, note_from_document,
)
from billing.adapters.firestore_repo import claim_delivery_of, mark_issued_once, run_contended
from billing.adapters.sdk_errors import transient
from billing.domain.delivery import DeliveryChange
from billing.domain.entities import IssuedPdf, Note
from billing.errors import NotFoundError
from billing.ports import NoteBuild


class FirestoreAdjustmentNotes:
    def __init__(self, db: Any, *, notes_collection: str, counters_collection: str, invoices_collection: str,
                 date_field: str, lock_prefix: str, max_attempts: int = 60, max_seconds: float = 90):
        self._db = db
        self._col = db.collection(notes_collection)
        self._counters = db.collection(counters_collection)
        self._invoices = db.collection(invoices_collection)
        self._date_field = date_field
        self._lock_prefix = lock_prefix
        self._max_attempts = max_attempts
        self._max_seconds = max_seconds

    def find(self, note_id: str) -> Note | None:
        with transient(f"reading note {note_id}"):
            snap = self._col.document(note_id).get()
        return note_from_document(snap.to_dict() or {}) if snap.exists else None

    def list_for_company(self, company_id: str) -> list[Note]:
        query = self._col.where(filter=FieldFilter("companyId", "==", company_id))
        with transient("listing notes"):
            docs = [snap.to_dict() or {} for snap in query.stream()]
        docs.sort(key=lambda d: (str(d.get(self._date_field, "")), str(d.get("financialYear", "")),
                                 int(d.get("sequence", 0))))
        return [note_from_document(d) for d in docs]

    def dated(self, start: str, end: str) -> Iterator[Note]:
        query = (self._col.where(filter=FieldFilter(self._date_field, ">=", start))
                 .where(filter=FieldFilter(self._date_field, "<", end)).order_by(self._date_field))
        with transient("reading the month's notes"):
            for snap in query.stream():
                yield note_from_document(snap.to_dict() or {})

    def mark_issued(self, note_id: str, issued: IssuedPdf) -> Note:
        return note_from_document(mark_issued_once(self._db, self._col.document(note_id), issued_fields(issued),
                                                   f"note {note_id}"))

    def record_delivery(self, note_id: str, change: DeliveryChange) -> None:
        with transient(f"updating note {note_id}"):
            self._col.document(note_id).update(delivery_fields(change))

    def claim_delivery(self, note_id: str, claim_id: str, force: bool, now: datetime,
                       timeout_seconds: float) -> Note | None:
        doc = claim_delivery_of(self._db, self._col.document(note_id), claim_id, force, now, timeout_seconds,
                                "claiming the note delivery")
        return note_from_document(doc) if doc is not None else None

    def create_note(self, invoice_id: str, note_id: str, counter_id: str, build: NoteBuild) -> tuple[Note, bool]:
        inv_ref = self._invoices.document(invoice_id)
        note_ref = self._col.document(note_id)
        ctr_ref = self._counters.document(counter_id)

        @firestore.transactional
        def txn(transaction: Any) -> tuple[dict[str, Any], bool]:
            inv_snap, note_snap, ctr_snap = (
                {s.reference.path: s for s in transaction.get_all([inv_ref, note_ref, ctr_ref])}.get(r.path)
                for r in (inv_ref, note_ref, ctr_ref)
            )
            if note_snap is not None and note_snap.exists:
                return note_snap.to_dict() or {}, False
            if inv_snap is None or not inv_snap.exists:
                raise NotFoundError(f"invoice {invoice_id} not found")
            state = (ctr_snap.to_dict() or {}) if ctr_snap is not None and ctr_snap.exists else {}
            seq = int(state.get("next", 1))
            invoice = inv_snap.to_dict() or {}
            note = note_document(build(invoice_from_document(invoice), seq))  # may refuse: nothing written
            transaction.create(note_ref, note)
            transaction.update(inv_ref, ledger_fields(invoice, note))
            transaction.set(ctr_ref, {"next": seq + 1, "writes": int(state.get("writes", 0)) + 1,
                                      "lastNoteId": note_id,
                                      "updatedAt": datetime.now(timezone.utc).isoformat(timespec="milliseconds")})
            return note, True

        # Queued in this process behind the counter's lock (credit notes share the void's: "creditNote:").
        result: tuple[dict[str, Any], bool] = run_contended(
            self._db, self._lock_prefix + counter_id,
            txn, f"creating note {note_id} on {counter_id}", self._max_attempts, self._max_seconds)
        note, created = result
        return note_from_document(note), created
