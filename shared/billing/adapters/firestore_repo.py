"""Firestore adapters: companies, supplier settings, invoices with numbering (call logs: firestore_calls)."""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from billing.adapters import schemas
from billing.adapters.company_document import company_from_document, company_row, company_to_write
from billing.adapters.invoice_document import (
    draft_document, invoice_from_document, numbering_fields, replaced_by_fields, replaces_of,
)
from billing.adapters.note_document import delivery_fields, issued_fields
from billing.adapters.supplier_document import supplier_from_document
from billing.adapters.sdk_errors import is_transient, transient
from billing.config import Settings
from billing.domain.company import Company, CompanyRow
from billing.domain.delivery import DeliveryChange
from billing.domain.entities import Invoice, IssuedPdf
from billing.domain.invoice import InvoiceDraft, Supplier
from billing.domain.lifecycle import InvoiceStatus
from billing.errors import ConfigurationError, TransientError, ValidationError
from billing.ports import Clock, utc_now

log = logging.getLogger(__name__)
T = TypeVar("T")



class FirestoreCompanies:
    """companies/{companyId} (type-checked by the strict schema, adapters.schemas, on the way in and out),
    and its dated tariffs companies/{companyId}/tariffs/{YYYY-MM-DD}."""

    def __init__(self, db: firestore.Client, settings: Settings):
        self._col = db.collection(settings.companies_collection)
        self._name = settings.companies_collection

    def get(self, company_id: str) -> Company | None:
        """The company as stored; ConfigurationError naming every field of the wrong type."""
        with transient(f"reading company {company_id}"):
            snap = self._col.document(company_id).get()
        if not snap.exists:
            return None
        return company_from_document(company_id, snap.to_dict() or {}, f"{self._name}/{company_id}")

    def tariffs(self, company_id: str) -> list[tuple[str, Mapping[str, Any]]]:
        """Every dated tariff (a handful per company: read whole)."""
        with transient(f"reading the tariffs of company {company_id}"):
            return [(snap.id, snap.to_dict() or {})
                    for snap in self._col.document(company_id).collection("tariffs").stream()]

    def list_active(self) -> Iterator[tuple[str, Company | None]]:
        """Every company whose `active` is not the boolean false, unchecked: a company whose
        document is malformed (e.g. `active: "false"`) is listed (None), and fails when billed."""
        for snap in self._col.order_by("__name__").stream():
            doc = snap.to_dict() or {}
            if doc.get("active", True) is not False:
                yield snap.id, _or_none(snap.id, doc, f"{self._name}/{snap.id}")

    def page(self, after: str | None, limit: int) -> list[CompanyRow]:
        """Up to `limit` companies by id, after the id `after`, unchecked."""
        query = self._col.order_by("__name__")
        if after is not None:
            # A document reference is a valid cursor on __name__ (the SDK's annotation omits it).
            cursor: Any = self._col.document(after)
            query = query.start_after(cursor)
        with transient("listing companies"):
            return [company_row(snap.id, snap.to_dict() or {}) for snap in query.limit(limit).stream()]

    def validate(self, company_id: str, doc: Mapping[str, Any]) -> Company:
        """The company; ValidationError naming every field of the wrong type (nothing written)."""
        return company_to_write(company_id, doc)

    def put(self, company_id: str, doc: Mapping[str, Any]) -> None:
        """Create or replace the document (validated first: nothing is written when it fails)."""
        self.validate(company_id, doc)
        with transient(f"writing company {company_id}"):
            self._col.document(company_id).set(dict(doc))


def _or_none(company_id: str, doc: Mapping[str, Any], where: str) -> Company | None:
    """The listed company, or None when its document is malformed (billing it reports why)."""
    try:
        return company_from_document(company_id, doc, where)
    except ConfigurationError:
        return None


class FirestoreSettings:
    """settings/billing: the supplier, type-checked by the strict schema."""

    def __init__(self, db: firestore.Client, settings: Settings):
        self._ref = db.document(settings.settings_document)
        self._path = settings.settings_document

    def supplier(self) -> Supplier | None:
        """The supplier; ConfigurationError naming every field of the wrong type, or a broken rule."""
        with transient("reading the supplier settings"):
            snap = self._ref.get()
        if not snap.exists:
            return None
        return supplier_from_document(snap.to_dict() or {}, self._path)

    def validate(self, doc: Mapping[str, Any]) -> None:
        problems = schemas.settings_problems(doc, writing=True)
        if problems:
            raise ValidationError("supplier settings: " + "; ".join(problems))

    def put(self, doc: Mapping[str, Any]) -> None:
        """Create or replace the supplier document (validated first)."""
        self.validate(doc)
        with transient("writing the supplier settings"):
            self._ref.set(dict(doc))


_counter_locks: dict[str, threading.Lock] = {}
_counter_locks_guard = threading.Lock()


def _counter_lock(counter_id: str) -> threading.Lock:
    with _counter_locks_guard:
        return _counter_locks.setdefault(counter_id, threading.Lock())


def mark_issued_once(db: Any, ref: Any, fields: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Apply the fields that mark a document issued, unless it already is (the first finisher's
    issuedAt stays); returns the document as stored."""

    @firestore.transactional
    def txn(transaction: Any) -> None:
        snap = ref.get(transaction=transaction)
        if InvoiceStatus.of(snap.to_dict() or {}) is not InvoiceStatus.ISSUED:
            transaction.update(ref, dict(fields))

    # Concurrent finishers of one document (retried requests) queue behind run_contended's lock.

    run_contended(db, ref.path, txn, f"marking {what} issued")
    with transient(f"reading {what}"):
        return ref.get().to_dict() or {}


def claim_delivery_of(db: Any, ref: Any, claim_id: str, force: bool, now: datetime, timeout_seconds: float,
                      action: str) -> dict[str, Any] | None:
    """Move a document's `delivery` to "sending" under claim_id in a transaction (invoices and credit
    notes alike), or None when it must not be sent: already sent (unless force), or another sender's
    claim younger than timeout_seconds. Returns the document as claimed."""

    @firestore.transactional
    def txn(transaction: Any) -> dict[str, Any] | None:
        snap = ref.get(transaction=transaction)
        doc = snap.to_dict() or {}
        delivery = dict(doc.get("delivery") or {})
        if delivery.get("status") == "sent" and not force:
            return None
        claimed_at = delivery.get("claimedAt")
        if delivery.get("status") == "sending" and claimed_at:
            if (now - datetime.fromisoformat(claimed_at)).total_seconds() < timeout_seconds:
                return None
        delivery.update({
            "status": "sending", "claim": claim_id, "claimedAt": now.isoformat(),
            "attempts": int(delivery.get("attempts", 0)) + 1,
        })
        transaction.update(ref, {"delivery": delivery})
        return {**doc, "delivery": delivery}

    with transient(action):
        result: dict[str, Any] | None = txn(db.transaction(max_attempts=20))
        return result


def run_contended(db: Any, lock_id: str, txn: Callable[[Any], T], action: str,
                  max_attempts: int = 60, max_seconds: float = 90) -> T:
    """Run a transaction on a hot document (a counter), backing off between aborted rounds.

    The client retries an aborted transaction immediately; under contention from several instances
    we also back off so contenders spread out. In one process, transactions on the same document
    queue behind a lock: they would only abort each other in Firestore."""
    deadline = time.monotonic() + max_seconds
    for attempt in range(max_attempts):
        if time.monotonic() > deadline:
            break
        try:
            with _counter_lock(lock_id):
                return txn(db.transaction(max_attempts=5))
        except Exception as exc:
            # The client gives up on contention with ValueError raised *from* the last Aborted.
            if isinstance(exc, gexc.Aborted) or isinstance(exc.__cause__, gexc.Aborted):
                time.sleep(min(2.0, 0.02 * (2 ** min(attempt, 6))) * random.random())
                continue
            if is_transient(exc):
                raise TransientError(f"Firestore unavailable while {action}: {exc}") from exc
            raise
    raise TransientError(f"too much contention while {action}")


class FirestoreInvoices:
    """invoices/{id}: created as drafts, numbered from invoiceCounters/{prefix}_{FY} in transactions.

    A transaction numbers one invoice (on demand) or a batch of drafts (the monthly run); it is
    what guarantees one number per invoice and no gaps, across instances.
    Within one process, transactions on the same counter are also queued behind a lock: they
    would only contend for the counter's lock in Firestore and abort each other.
    """

    def __init__(self, db: firestore.Client, settings: Settings, max_attempts: int = 60, max_seconds: float = 90,
                 clock: Clock = utc_now):
        self._db = db
        self._clock = clock
        self._max_seconds = max_seconds
        self._col = db.collection(settings.invoices_collection)
        self._counters = db.collection(settings.counters_collection)
        self._max_attempts = max_attempts

    def find(self, invoice_id: str) -> Invoice | None:
        doc = self.get(invoice_id)
        return invoice_from_document(doc) if doc is not None else None

    def find_for_company(self, company_id: str, year: int | None = None) -> list[Invoice]:
        query = self._col.where(filter=FieldFilter("companyId", "==", company_id))
        docs: list[dict[str, Any]] = [snap.to_dict() or {} for snap in query.stream()]
        if year is not None:
            docs = [d for d in docs if str(d.get("billingPeriod", {}).get("month", "")).startswith(f"{year}-")]
        docs.sort(key=lambda d: d.get("billingPeriod", {}).get("month", ""), reverse=True)
        return [invoice_from_document(doc) for doc in docs]

    def find_dated(self, start: str, end: str) -> Iterator[Invoice]:
        """Numbered invoices with invoiceDate in [start, end): ISO strings in one timezone sort as dates."""
        query = (self._col.where(filter=FieldFilter("invoiceDate", ">=", start))
                 .where(filter=FieldFilter("invoiceDate", "<", end)).order_by("invoiceDate"))
        with transient("reading the month's invoices"):
            for snap in query.stream():
                yield invoice_from_document(snap.to_dict() or {})

    def get(self, invoice_id: str) -> dict[str, Any] | None:
        """The stored document as it is (not part of the port: what tests and benchmarks inspect)."""
        snap = self._col.document(invoice_id).get()
        return snap.to_dict() if snap.exists else None

    def create_draft(self, draft: InvoiceDraft, created_at: datetime, replacing: Invoice | None = None,
                     one_off_charges: Sequence[Mapping[str, Any]] = ()) -> tuple[Invoice, bool]:
        """Create the invoice unless it exists (create-only); returns (invoice, created)."""
        invoice_id = draft.invoice_id
        doc = draft_document(draft, created_at, replaces_of(replacing), one_off_charges)
        ref = self._col.document(invoice_id)
        try:
            with transient(f"creating invoice {invoice_id}"):
                ref.create(doc)
            return invoice_from_document(doc), True
        except gexc.AlreadyExists:
            existing = self.find(invoice_id)
            if existing is None:  # deleted in between: never by this service
                raise TransientError(f"invoice {invoice_id} vanished while being created") from None
            return existing, False

    def pending_drafts(self, limit: int) -> list[str]:
        """Ids of invoices still waiting for a number, oldest first."""
        query = (self._col.where(filter=FieldFilter("status", "==", InvoiceStatus.DRAFT.value))
                 .order_by("createdAt").order_by("__name__").limit(limit))
        with transient("listing draft invoices"):
            return [snap.id for snap in query.select([]).stream()]

    def number_drafts(self, invoice_ids: Sequence[str], counter_id: str,
                      number: Callable[[Invoice, int], Invoice]) -> list[Invoice]:
        """One transaction: the listed invoices still drafts take the counter's next numbers in order;
        returns those it numbered.

        The counter document is written once per transaction (its `writes` field counts them)."""
        refs = [self._col.document(i) for i in invoice_ids]
        ctr_ref = self._counters.document(counter_id)

        @firestore.transactional
        def txn(transaction: Any) -> list[Invoice]:
            snaps = list(transaction.get_all(refs)) if refs else []
            docs = {snap.id: snap.to_dict() for snap in snaps if snap.exists}
            counter = ctr_ref.get(transaction=transaction)
            state = (counter.to_dict() or {}) if counter.exists else {}
            seq = int(state.get("next", 1))
            first = seq
            result = []
            for ref in refs:
                doc = docs.get(ref.id)
                if doc is None or InvoiceStatus.of(doc) is not InvoiceStatus.DRAFT:
                    continue  # gone, or numbered by someone else meanwhile
                fields = numbering_fields(number(invoice_from_document(doc), seq))
                transaction.update(ref, fields)
                result.append(invoice_from_document({**doc, **fields}))
                seq += 1
            if seq > first:
                updated_at = self._clock().isoformat(timespec="milliseconds")
                transaction.set(ctr_ref, {"next": seq, "writes": int(state.get("writes", 0)) + 1,
                                          "lastInvoiceId": refs[-1].id, "updatedAt": updated_at})
            return result

        # The client retries an aborted transaction immediately; under heavy contention on one
        # counter (several instances) we also back off between rounds so contenders spread out.
        numbered: list[Invoice] = run_contended(
            self._db, counter_id, txn, f"numbering {len(refs)} invoice(s) on {counter_id}",
            self._max_attempts, self._max_seconds)
        return numbered

    def mark_issued(self, invoice_id: str, pdf: IssuedPdf) -> Invoice:
        return invoice_from_document(mark_issued_once(self._db, self._col.document(invoice_id), issued_fields(pdf),
                                                      f"invoice {invoice_id}"))

    def link_replacement(self, invoice_id: str, reissue_id: str) -> None:
        self.update(invoice_id, replaced_by_fields(reissue_id))

    def update(self, invoice_id: str, fields: Mapping[str, Any]) -> None:
        """Merge fields (dotted paths) into a stored invoice: not part of the port (its write paths are
        typed); for tests that set up a state, like `get`."""
        with transient(f"updating invoice {invoice_id}"):
            self._col.document(invoice_id).update(dict(fields))

    def claim_delivery(self, invoice_id: str, claim_id: str, force: bool, now: datetime,
                       timeout_seconds: float) -> Invoice | None:
        """Move the invoice's delivery to "sending" under claim_id, or None when it must not be sent.

        Not sent again: an invoice already sent (unless force), or one another sender is sending
        right now (a claim younger than timeout_seconds)."""
        doc = claim_delivery_of(self._db, self._col.document(invoice_id), claim_id, force, now, timeout_seconds,
                                "claiming the invoice delivery")
        return invoice_from_document(doc) if doc is not None else None

    def record_delivery(self, invoice_id: str, change: DeliveryChange) -> None:
        with transient(f"updating invoice {invoice_id}"):
            self._col.document(invoice_id).update(delivery_fields(change))

