"""Firestore adapters: companies, supplier settings, call logs (streamed), invoices with numbering."""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Sequence

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from billing.config import CallLogSchema, Settings
from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord
from billing.adapters.sdk_errors import is_transient, transient
from billing.errors import TransientError

log = logging.getLogger(__name__)



def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class FirestoreCompanies:
    """companies/{companyId}."""

    def __init__(self, db: firestore.Client, settings: Settings):
        self._col = db.collection(settings.companies_collection)

    def get(self, company_id: str) -> dict[str, Any] | None:
        snap = self._col.document(company_id).get()
        return snap.to_dict() if snap.exists else None

    def list_active(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for snap in self._col.order_by("__name__").stream():
            doc = snap.to_dict() or {}
            if doc.get("active", True) is not False:
                yield snap.id, doc


class FirestoreSettings:
    """settings/billing: the supplier."""

    def __init__(self, db: firestore.Client, settings: Settings):
        self._ref = db.document(settings.settings_document)

    def supplier(self) -> dict[str, Any] | None:
        snap = self._ref.get()
        return snap.to_dict() if snap.exists else None


class FirestoreCallLogs:
    """Call logs, streamed with one ordered range query and a field projection."""

    page_size = 5000

    def __init__(self, db: firestore.Client, settings: Settings):
        self._db = db
        self._settings = settings
        self._schema: CallLogSchema = settings.call_logs

    def query(self, company_id: str, start: datetime, end: datetime):
        s = self._schema
        if s.layout == "subcollection":
            col = (
                self._db.collection(self._settings.companies_collection)
                .document(company_id)
                .collection(s.collection)
            )
            query = col
        else:
            query = self._db.collection(s.collection).where(
                filter=FieldFilter(s.company_field, "==", company_id)
            )
        fields = [
            s.started_at_field, s.duration_field, s.status_field,
            s.direction_field, s.from_field, s.to_field, s.agent_field,
        ]
        return (
            query.where(filter=FieldFilter(s.started_at_field, ">=", start))
            .where(filter=FieldFilter(s.started_at_field, "<", end))
            .order_by(s.started_at_field)
            .select(fields)
        )

    def slices(self, company_id: str, period: BillingPeriod, count: int) -> list[Iterator[CallRecord]]:
        """The month cut into `count` consecutive time slices, each read lazily with its own query.

        Read in parallel, they finish well before one long stream: the emulator (and Firestore)
        serve the slices concurrently. Each slice decodes the raw RunQuery protobufs directly into
        CallRecords, skipping the per-document snapshot objects of the stock stream().
        """
        start, end = period.start, period.end
        step = (end - start) / count
        bounds = [start + step * i for i in range(count)] + [end]
        return [self._raw_stream(company_id, bounds[i], bounds[i + 1]) for i in range(count)]

    def _raw_stream(self, company_id: str, start: datetime, end: datetime) -> Iterator[CallRecord]:
        """Calls in [start, end), page by page (bounded memory: at most one page in flight)."""
        from google.cloud.firestore_v1.types import document as doc_types
        from google.cloud.firestore_v1.types import firestore as fs_types
        from google.cloud.firestore_v1.types import query as query_types

        s = self._schema
        query = self.query(company_id, start, end).order_by("__name__")
        rpc = self._db._firestore_api._transport.grpc_channel.unary_stream(
            "/google.firestore.v1.Firestore/RunQuery",
            request_serializer=fs_types.RunQueryRequest.serialize,
            response_deserializer=fs_types.RunQueryResponse.pb().FromString,
        )
        parent = query._parent._parent_info()[0]
        base = query._to_protobuf()
        fields = (s.started_at_field, s.duration_field, s.status_field, s.direction_field,
                  s.from_field, s.to_field, s.agent_field)
        cursor = None
        while True:
            structured = query_types.StructuredQuery(base)
            structured.limit = self.page_size
            if cursor is not None:
                structured.start_at = query_types.Cursor(values=cursor, before=False)
            request = fs_types.RunQueryRequest(parent=parent, structured_query=structured)
            count, last = 0, None
            try:
                for response in rpc(request, metadata=self._db._rpc_metadata, timeout=600):
                    if not response.HasField("document"):
                        continue
                    last = response.document
                    count += 1
                    values = last.fields
                    started, duration, status, direction, from_no, to_no, agent = (
                        _value(values[f]) if f in values else None for f in fields
                    )
                    yield CallRecord(
                        call_id=last.name.rsplit("/", 1)[1], started_at=started, duration_seconds=duration,
                        status=status, direction=direction, from_number=from_no, to_number=to_no,
                        agent_id=agent,
                    )
            except Exception as exc:  # grpc errors arrive raw on this path
                code = getattr(exc, "code", None)
                if callable(code) and str(code()).split(".")[-1] in (
                    "UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "RESOURCE_EXHAUSTED", "ABORTED"
                ):
                    raise TransientError(f"Firestore unavailable while reading call logs: {code()}") from exc
                raise
            if count < self.page_size:
                return
            cursor = [
                doc_types.Value.wrap(last.fields[s.started_at_field]),
                doc_types.Value(reference_value=last.name),
            ]

    def stream(self, company_id: str, period: BillingPeriod) -> Iterator[CallRecord]:
        """The whole month as one ordered stream (raw protobufs, no snapshots)."""
        return self._raw_stream(company_id, period.start, period.end)


def _value(v) -> Any:
    """A raw google.firestore.v1.Value protobuf as the Python value the rating core expects."""
    kind = v.WhichOneof("value_type")
    if kind == "timestamp_value":
        ts = v.timestamp_value
        return datetime.fromtimestamp(ts.seconds, timezone.utc).replace(microsecond=ts.nanos // 1000)
    if kind == "integer_value":
        return v.integer_value
    if kind == "double_value":
        return v.double_value
    if kind == "string_value":
        return v.string_value
    if kind == "boolean_value":
        return v.boolean_value
    if kind == "null_value" or kind is None:
        return None
    return f"<{kind}>"  # maps, arrays, bytes...: not a duration, reported as an anomaly


_counter_locks: dict[str, threading.Lock] = {}
_counter_locks_guard = threading.Lock()


def _counter_lock(counter_id: str) -> threading.Lock:
    with _counter_locks_guard:
        return _counter_locks.setdefault(counter_id, threading.Lock())


class FirestoreInvoices:
    """invoices/{id}: created as drafts, numbered from invoiceCounters/{prefix}_{FY} in transactions.

    A transaction numbers one invoice (on demand) or a batch of drafts (the monthly run); it is
    what guarantees one number per invoice and no gaps, across instances.
    Within one process, transactions on the same counter are also queued behind a lock: they
    would only contend for the counter's lock in Firestore and abort each other.
    """

    def __init__(self, db: firestore.Client, settings: Settings, max_attempts: int = 60, max_seconds: float = 90):
        self._db = db
        self._max_seconds = max_seconds
        self._col = db.collection(settings.invoices_collection)
        self._counters = db.collection(settings.counters_collection)
        self._max_attempts = max_attempts

    def get(self, invoice_id: str) -> dict[str, Any] | None:
        snap = self._col.document(invoice_id).get()
        return snap.to_dict() if snap.exists else None

    def create_draft(self, invoice_id: str, doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create the invoice unless it exists (create-only); returns (document, created)."""
        ref = self._col.document(invoice_id)
        try:
            with transient(f"creating invoice {invoice_id}"):
                ref.create(doc)
            return doc, True
        except gexc.AlreadyExists:
            existing = self.get(invoice_id)
            if existing is None:  # deleted in between: never by this service
                raise TransientError(f"invoice {invoice_id} vanished while being created") from None
            return existing, False

    def pending_drafts(self, limit: int) -> list[str]:
        """Ids of invoices still waiting for a number, oldest first."""
        query = (self._col.where(filter=FieldFilter("status", "==", "draft"))
                 .order_by("createdAt").order_by("__name__").limit(limit))
        with transient("listing draft invoices"):
            return [snap.id for snap in query.select([]).stream()]

    def number_drafts(
        self, invoice_ids: Sequence[str], counter_id: str,
        number: Callable[[Mapping[str, Any], int], dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """One transaction: the listed invoices still "draft" take the counter's next numbers in order;
        returns those it numbered.

        The counter document is written once per transaction (its `writes` field counts them)."""
        refs = [self._col.document(i) for i in invoice_ids]
        ctr_ref = self._counters.document(counter_id)

        @firestore.transactional
        def txn(transaction: Any) -> list[dict[str, Any]]:
            snaps = list(transaction.get_all(refs)) if refs else []
            docs = {snap.id: snap.to_dict() for snap in snaps if snap.exists}
            counter = ctr_ref.get(transaction=transaction)
            state = (counter.to_dict() or {}) if counter.exists else {}
            seq = int(state.get("next", 1))
            first = seq
            result = []
            for ref in refs:
                doc = docs.get(ref.id)
                if doc is None or doc.get("status") != "draft":
                    continue  # gone, or numbered by someone else meanwhile
                fields = number(doc, seq)
                transaction.update(ref, fields)
                result.append({**doc, **fields})
                seq += 1
            if seq > first:
                transaction.set(ctr_ref, {"next": seq, "writes": int(state.get("writes", 0)) + 1,
                                          "lastInvoiceId": refs[-1].id, "updatedAt": _now_iso()})
            return result

        # The client retries an aborted transaction immediately; under heavy contention on one
        # counter (several instances) we also back off between rounds so contenders spread out.
        deadline = time.monotonic() + self._max_seconds
        for attempt in range(self._max_attempts):
            if time.monotonic() > deadline:
                break
            try:
                with _counter_lock(counter_id):
                    numbered: list[dict[str, Any]] = txn(self._db.transaction(max_attempts=5))
                    return numbered
            except Exception as exc:
                # The client gives up on contention with ValueError raised *from* the last Aborted.
                if isinstance(exc, gexc.Aborted) or isinstance(exc.__cause__, gexc.Aborted):
                    time.sleep(min(2.0, 0.02 * (2 ** min(attempt, 6))) * random.random())
                    continue
                if is_transient(exc):
                    raise TransientError(f"Firestore unavailable while numbering invoices: {exc}") from exc
                raise
        raise TransientError(f"could not number {len(refs)} invoice(s) on {counter_id}: too much contention")

    def update(self, invoice_id: str, fields: Mapping[str, Any]) -> None:
        with transient(f"updating invoice {invoice_id}"):
            self._col.document(invoice_id).update(dict(fields))

    def claim_delivery(self, invoice_id: str, claim_id: str, force: bool, now: datetime,
                       timeout_seconds: float) -> dict[str, Any] | None:
        """Move the invoice's delivery to "sending" under claim_id, or None when it must not be sent.

        Not sent again: an invoice already sent (unless force), or one another sender is sending
        right now (a claim younger than timeout_seconds)."""
        ref = self._col.document(invoice_id)

        @firestore.transactional
        def txn(transaction: Any) -> dict[str, Any] | None:
            snap = ref.get(transaction=transaction)
            delivery = dict((snap.to_dict() or {}).get("delivery") or {})
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
            return delivery

        with transient("claiming the invoice delivery"):
            result: dict[str, Any] | None = txn(self._db.transaction(max_attempts=20))
            return result

    def list_for_company(self, company_id: str, year: int | None = None) -> list[dict[str, Any]]:
        query = self._col.where(filter=FieldFilter("companyId", "==", company_id))
        docs: list[dict[str, Any]] = [snap.to_dict() or {} for snap in query.stream()]
        if year is not None:
            docs = [d for d in docs if str(d.get("billingPeriod", {}).get("month", "")).startswith(f"{year}-")]
        return sorted(docs, key=lambda d: d.get("billingPeriod", {}).get("month", ""), reverse=True)
