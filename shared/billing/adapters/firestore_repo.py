"""Firestore adapters: companies, supplier settings, invoices with numbering, runs (call logs: firestore_calls)."""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from billing.config import Settings
from billing.errors import TransientError

log = logging.getLogger(__name__)

TRANSIENT = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.InternalServerError,
    gexc.TooManyRequests,
    gexc.Aborted,
)


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class FirestoreCompanies:
    """companies/{companyId}."""

    def __init__(self, db: firestore.Client, settings: Settings):
        self._col = db.collection(settings.companies_collection)

    def get(self, company_id: str) -> dict | None:
        snap = self._col.document(company_id).get()
        return snap.to_dict() if snap.exists else None

    def list_active(self) -> Iterator[tuple[str, dict]]:
        for snap in self._col.order_by("__name__").stream():
            doc = snap.to_dict() or {}
            if doc.get("active", True) is not False:
                yield snap.id, doc


class FirestoreSettings:
    """settings/billing: the supplier."""

    def __init__(self, db: firestore.Client, settings: Settings):
        self._ref = db.document(settings.settings_document)

    def supplier(self) -> dict | None:
        snap = self._ref.get()
        return snap.to_dict() if snap.exists else None


_counter_locks: dict[str, threading.Lock] = {}
_counter_locks_guard = threading.Lock()


def _counter_lock(counter_id: str) -> threading.Lock:
    with _counter_locks_guard:
        return _counter_locks.setdefault(counter_id, threading.Lock())


class FirestoreInvoices:
    """invoices/{companyId}_{YYYY-MM}, numbered from invoiceCounters/{prefix}_{FY} in one transaction.

    The transaction is what guarantees one number per invoice and no gaps, across instances.
    Within one process, transactions on the same counter are also queued behind a lock: they
    would only contend for the counter's lock in Firestore and abort each other.
    """

    def __init__(self, db: firestore.Client, settings: Settings, max_attempts: int = 60, max_seconds: float = 90):
        self._db = db
        self._max_seconds = max_seconds
        self._col = db.collection(settings.invoices_collection)
        self._counters = db.collection(settings.counters_collection)
        self._max_attempts = max_attempts

    def get(self, invoice_id: str) -> dict | None:
        snap = self._col.document(invoice_id).get()
        return snap.to_dict() if snap.exists else None

    def create_numbered(
        self, invoice_id: str, counter_id: str, build: Callable[[int], dict]
    ) -> tuple[dict, bool]:
        inv_ref = self._col.document(invoice_id)
        ctr_ref = self._counters.document(counter_id)

        @firestore.transactional
        def txn(transaction) -> tuple[dict, bool]:
            snap = inv_ref.get(transaction=transaction)
            if snap.exists:
                return snap.to_dict(), False
            counter = ctr_ref.get(transaction=transaction)
            seq = int((counter.to_dict() or {}).get("next", 1)) if counter.exists else 1
            doc = build(seq)
            transaction.set(
                ctr_ref,
                {"next": seq + 1, "lastInvoiceId": invoice_id, "updatedAt": _now_iso()},
            )
            transaction.create(inv_ref, doc)
            return doc, True

        # The client retries an aborted transaction immediately; under heavy contention on one
        # counter (several instances) we also back off between rounds so contenders spread out.
        deadline = time.monotonic() + self._max_seconds
        for attempt in range(self._max_attempts):
            if time.monotonic() > deadline:
                break
            try:
                with _counter_lock(counter_id):
                    return txn(self._db.transaction(max_attempts=5))
            except (gexc.Aborted, ValueError) as exc:
                if isinstance(exc, ValueError) and "Failed to commit" not in str(exc):
                    raise
                time.sleep(min(2.0, 0.02 * (2 ** min(attempt, 6))) * random.random())
            except TRANSIENT as exc:
                raise TransientError(f"Firestore unavailable while numbering the invoice: {exc}") from exc
        raise TransientError(f"could not allocate an invoice number for {invoice_id}: too much contention")

    def update(self, invoice_id: str, fields: Mapping[str, Any]) -> None:
        self._col.document(invoice_id).update(dict(fields))

    def list_for_company(self, company_id: str, year: int | None = None) -> list[dict]:
        query = self._col.where(filter=FieldFilter("companyId", "==", company_id))
        docs = [snap.to_dict() for snap in query.stream()]
        if year is not None:
            docs = [d for d in docs if str(d.get("billingPeriod", {}).get("month", "")).startswith(f"{year}-")]
        return sorted(docs, key=lambda d: d.get("billingPeriod", {}).get("month", ""), reverse=True)


class FirestoreRuns:
    """billingRuns/{YYYY-MM}: which companies are done, failed (with reason) or pending."""

    def __init__(self, db: firestore.Client, settings: Settings):
        self._col = db.collection(settings.runs_collection)

    def start(self, run_id: str, period_key: str, company_ids: list[str], trigger: str) -> dict:
        ref = self._col.document(run_id)

        @firestore.transactional
        def txn(transaction) -> dict:
            snap = ref.get(transaction=transaction)
            doc = snap.to_dict() if snap.exists else {
                "period": period_key, "createdAt": _now_iso(), "companies": {}, "triggers": [],
            }
            for cid in company_ids:
                doc["companies"].setdefault(cid, {"state": "pending"})
            doc["triggers"] = (doc.get("triggers") or [])[-19:] + [{"at": _now_iso(), "by": trigger}]
            doc["updatedAt"] = _now_iso()
            transaction.set(ref, doc)
            return doc

        return txn(self._col._client.transaction(max_attempts=20))

    def mark(self, run_id: str, company_id: str, state: str, **details: Any) -> None:
        entry = {"state": state, "at": _now_iso(), **details}
        # update() with a field path replaces this company's entry whole (no stale error left).
        path = FieldPath("companies", company_id).to_api_repr()
        try:
            self._col.document(run_id).update({path: entry, "updatedAt": _now_iso()})
        except gexc.NotFound:  # a worker message without a run record (published by hand)
            self._col.document(run_id).set({"companies": {company_id: entry}, "updatedAt": _now_iso()}, merge=True)

    def get(self, run_id: str) -> dict | None:
        snap = self._col.document(run_id).get()
        return snap.to_dict() if snap.exists else None


def claim_delivery(db, settings: Settings, invoice_id: str, claim_id: str, force: bool,
                   now: datetime, timeout) -> dict | None:
    """Move the invoice's delivery to "sending" under claim_id, or None when it must not be sent.

    Not sent again: an invoice already sent (unless force), or one another sender is sending
    right now (a claim younger than timeout)."""
    ref = db.collection(settings.invoices_collection).document(invoice_id)

    @firestore.transactional
    def txn(transaction) -> dict | None:
        snap = ref.get(transaction=transaction)
        delivery = dict((snap.to_dict() or {}).get("delivery") or {})
        if delivery.get("status") == "sent" and not force:
            return None
        claimed_at = delivery.get("claimedAt")
        if delivery.get("status") == "sending" and claimed_at:
            if now - datetime.fromisoformat(claimed_at) < timeout:
                return None
        delivery.update({
            "status": "sending", "claim": claim_id, "claimedAt": now.isoformat(),
            "attempts": int(delivery.get("attempts", 0)) + 1,
        })
        transaction.update(ref, {"delivery": delivery})
        return delivery

    try:
        return txn(db.transaction(max_attempts=20))
    except TRANSIENT as exc:
        raise TransientError(f"Firestore unavailable while claiming the delivery: {exc}") from exc
