"""In-memory implementations of the project's ports, for service tests (outcomes, not calls);
`fake_container()` wires the real services over them (mypy checks each fake against its Protocol)."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import threading
from contextlib import contextmanager
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from billing.adapters import schemas
from billing.adapters.csv_export import CallCsvWriter
from billing.adapters.charge_document import charge_document, charge_from_document
from billing.adapters.company_document import company_from_document, company_row, company_to_write
from billing.adapters.csv_import import read_billed_calls
from billing.adapters.supplier_document import supplier_from_document
from billing.adapters.invoice_document import (
    draft_document, invoice_from_document, numbering_fields, replaced_by_fields, replaces_of,
)
from billing.adapters.note_document import (
    delivery_fields, issued_fields, ledger_fields, note_document, note_from_document, void_fields,
)
from billing.adapters.run_documents import CLEARED as RUN_CLEARED
from billing.adapters.run_documents import (
    entry_fields, entry_from_document, fanout_document, summary_from_document, trigger_document,
)
from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.company import Company, CompanyRow
from billing.domain.delivery import DeliveryChange
from billing.domain.entities import Invoice, IssuedPdf, Note
from billing.domain.invoice import InvoiceDraft, Supplier
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord, UnplacedCall, unplaced_reason
from billing.domain.charges import OneOffCharge, closed_reason
from billing.domain.naming import invoice_id as month_invoice_id
from billing.errors import ConfigurationError, ConflictError, NotFoundError, ValidationError
from billing.ports import (
    AdjustmentNoteRepository,
    BilledCallReader, BlobStore, CallCsvFactory, CallLogSource, ChargeRepository, Clock, CompanyRepository,
    CreditNoteRepository, InvoiceListing, InvoicePdfRenderer, InvoiceRepository, InvoiceRow, NoteBuild,
    NotePdfRenderer, OutgoingMessage, PdfRenderer, PdfStamper, Publisher,
    ReceivableChange, ReceivableRepository,
    ReceivableUpdate, RunRepository, SettingsRepository, VoidBuild, WakeClaims, utc_now,
)
from billing.adapters.receivable_document import (
    payment_document, payment_from_document, receivable_document, receivable_from_document, tds_match_fields,
)
from billing.domain.receivable import CompanyOutstanding, Payment, Receivable, TdsMatch
from billing.domain.receivables import add_month, month_delta, move_outstanding
from billing.domain.runs import Fanout, RunChange, RunEntry, RunState, RunSummary, Trigger
from billing.seed import SUPPLIER


def merge(doc: dict[str, Any], fields: Mapping[str, Any]) -> None:
    """Firestore's update(): dotted keys are paths into nested maps."""
    for key, value in fields.items():
        target = doc
        parts = key.split(".")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = copy.deepcopy(value)


class FakeCompanies:
    """companies/{id} in memory, type-checked by the same strict schema as the Firestore adapter."""

    def __init__(self, docs: Mapping[str, dict[str, Any]] | None = None,
                 tariffs: Mapping[str, Mapping[str, dict[str, Any]]] | None = None):
        self.docs = dict(docs or {})
        self.dated = {cid: dict(t) for cid, t in (tariffs or {}).items()}  # company -> {YYYY-MM-DD: doc}

    def tariffs(self, company_id: str) -> list[tuple[str, Mapping[str, Any]]]:
        return [(day, copy.deepcopy(doc)) for day, doc in self.dated.get(company_id, {}).items()]

    def get(self, company_id: str) -> Company | None:
        doc = self.docs.get(company_id)
        if doc is None:
            return None
        return company_from_document(company_id, copy.deepcopy(doc), f"companies/{company_id}")

    def list_active(self) -> Iterator[tuple[str, Company | None]]:
        for cid in sorted(self.docs):
            if self.docs[cid].get("active", True) is not False:
                try:
                    yield cid, company_from_document(cid, copy.deepcopy(self.docs[cid]), f"companies/{cid}")
                except ConfigurationError:
                    yield cid, None

    def page(self, after: str | None, limit: int) -> list[CompanyRow]:
        ids = [cid for cid in sorted(self.docs) if after is None or cid > after]
        return [company_row(cid, copy.deepcopy(self.docs[cid])) for cid in ids[:limit]]

    def validate(self, company_id: str, doc: Mapping[str, Any]) -> Company:
        return company_to_write(company_id, doc)

    def put(self, company: Company) -> None:
        self.validate(company.company_id, company.document)
        self.docs[company.company_id] = copy.deepcopy(dict(company.document))


class FakeSettings:
    def __init__(self, supplier: dict[str, Any] | None):
        self.doc = supplier  # settings/billing as stored

    def supplier(self) -> Supplier | None:
        if self.doc is None:
            return None
        return supplier_from_document(copy.deepcopy(self.doc), "settings/billing")

    def validate(self, doc: Mapping[str, Any]) -> None:
        problems = schemas.settings_problems(doc, writing=True)
        if problems:
            raise ValidationError("supplier settings: " + "; ".join(problems))

    def put(self, supplier: Supplier) -> None:
        self.validate(supplier.document)
        self.doc = copy.deepcopy(dict(supplier.document))


class FakeCallLogs:
    """Calls per company, filtered to the period and ordered by start, like the query."""

    def __init__(self, calls: Mapping[str, list[CallRecord]] | None = None):
        self.calls = {k: list(v) for k, v in (calls or {}).items()}
        self.streams = 0

    def _ordered(self, company_id: str, start: datetime, end: datetime) -> list[CallRecord]:
        rows = [c for c in self.calls.get(company_id, [])
                if isinstance(c.started_at, datetime) and start <= c.started_at < end]
        return sorted(rows, key=lambda c: c.started_at or start)

    def unplaced(self, company_id: str) -> Iterator[UnplacedCall]:
        """Calls whose started_at is None (stands for a missing field) or not a datetime."""
        for c in self.calls.get(company_id, []):
            if not isinstance(c.started_at, datetime):
                yield UnplacedCall(c.call_id, unplaced_reason(c.started_at, present=c.started_at is not None))

    def stream(self, company_id: str, period: BillingPeriod) -> Iterator[CallRecord]:
        self.streams += 1
        yield from self._ordered(company_id, period.start, period.end)

    def slices(self, company_id: str, period: BillingPeriod, count: int) -> list[Iterator[CallRecord]]:
        """`count` equal time slices of the month (one slice is the whole stream)."""
        self.streams += 1
        step = (period.end - period.start) / count
        bounds = [period.start + step * i for i in range(count)] + [period.end]
        return [iter(self._ordered(company_id, bounds[i], bounds[i + 1])) for i in range(count)]


SlicedCallLogs = FakeCallLogs  # every source offers slices now; kept for the tests that name it


class FakeInvoices:
    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.counters: dict[str, int] = {}
        self.counter_writes: dict[str, int] = {}
        self._lock = threading.Lock()

    def find(self, invoice_id: str) -> Invoice | None:
        doc = self.get(invoice_id)
        return invoice_from_document(doc) if doc is not None else None

    def find_for_company(self, company_id: str, year: int | None = None) -> list[Invoice]:
        with self._lock:
            docs = [copy.deepcopy(d) for d in self.docs.values() if d["companyId"] == company_id]
        if year is not None:
            docs = [d for d in docs if d["billingPeriod"]["month"].startswith(f"{year}-")]
        docs.sort(key=lambda d: str(d["billingPeriod"]["month"]), reverse=True)
        return [invoice_from_document(doc) for doc in docs]

    def find_dated(self, start: str, end: str) -> Iterator[Invoice]:
        with self._lock:
            docs = [copy.deepcopy(d) for d in self.docs.values() if start <= str(d.get("invoiceDate", "")) < end]
        for doc in sorted(docs, key=lambda d: str(d["invoiceDate"])):
            yield invoice_from_document(doc)

    def get(self, invoice_id: str) -> dict[str, Any] | None:
        """The stored document (not part of the port: what tests inspect)."""
        with self._lock:
            doc = self.docs.get(invoice_id)
            return copy.deepcopy(doc) if doc is not None else None

    def create_draft(self, draft: InvoiceDraft, created_at: datetime, replacing: Invoice | None = None,
                     one_off_charges: Sequence[OneOffCharge] = ()) -> tuple[Invoice, bool]:
        invoice_id = draft.invoice_id
        doc = draft_document(draft, created_at, replaces_of(replacing), one_off_charges)
        with self._lock:
            if invoice_id in self.docs:
                return invoice_from_document(copy.deepcopy(self.docs[invoice_id])), False
            self.docs[invoice_id] = copy.deepcopy(doc)
            return invoice_from_document(copy.deepcopy(doc)), True

    def pending_drafts(self, limit: int) -> list[str]:
        with self._lock:
            drafts = [(d["createdAt"], i) for i, d in self.docs.items() if d.get("status") == "draft"]
        return [i for _, i in sorted(drafts)[:limit]]

    def number_drafts(self, invoice_ids: Sequence[str], counter_id: str,
                      number: Callable[[Invoice, int], Invoice]) -> list[Invoice]:
        with self._lock:
            seq = self.counters.get(counter_id, 1)
            first, result = seq, []
            for invoice_id in invoice_ids:
                doc = self.docs.get(invoice_id)
                if doc is None or doc.get("status") != "draft":
                    continue
                doc.update(numbering_fields(number(invoice_from_document(copy.deepcopy(doc)), seq)))
                seq += 1
                result.append(invoice_from_document(copy.deepcopy(doc)))
            if seq > first:
                self.counters[counter_id] = seq
                self.counter_writes[counter_id] = self.counter_writes.get(counter_id, 0) + 1
            return result

    def update(self, invoice_id: str, fields: Mapping[str, Any]) -> None:
        with self._lock:
            merge(self.docs[invoice_id], fields)

    def mark_issued(self, invoice_id: str, pdf: IssuedPdf) -> Invoice:
        with self._lock:
            if self.docs[invoice_id].get("status") != "issued":
                merge(self.docs[invoice_id], issued_fields(pdf))
            return invoice_from_document(copy.deepcopy(self.docs[invoice_id]))

    def link_replacement(self, invoice_id: str, reissue_id: str) -> None:
        self.update(invoice_id, replaced_by_fields(reissue_id))

    def claim_delivery(self, invoice_id: str, claim_id: str, force: bool, now: datetime,
                       timeout_seconds: float) -> Invoice | None:
        with self._lock:
            claimed = claim_in(self.docs[invoice_id], claim_id, force, now, timeout_seconds)
            return invoice_from_document(copy.deepcopy(self.docs[invoice_id])) if claimed is not None else None

    def record_delivery(self, invoice_id: str, change: DeliveryChange) -> None:
        with self._lock:
            merge(self.docs[invoice_id], delivery_fields(change))


class FakeCharges:
    """companies/{id}/charges and the months' closing in memory, over a FakeInvoices: add and close
    are atomic under one lock, like the Firestore transactions on the month's document."""

    def __init__(self, invoices: FakeInvoices) -> None:
        self.invoices = invoices
        self.docs: dict[tuple[str, str], dict[str, Any]] = {}  # (company, chargeId) -> charge
        self.closed: dict[tuple[str, str], int] = {}  # (company, month) -> revision closed for
        self._lock = threading.Lock()

    def add(self, charge: OneOffCharge) -> tuple[OneOffCharge, bool]:
        company_id, period_key, charge_id = charge.company_id, charge.period, charge.charge_id
        with self._lock:
            existing = self.docs.get((company_id, charge_id))
            if existing is not None:
                return charge_from_document(existing), False
            month: list[Invoice] = []
            for revision in range(100):
                found = self.invoices.find(month_invoice_id(company_id, period_key, revision))
                if found is None:
                    break
                month.append(found)
                if found.status is not InvoiceStatus.VOID:
                    break
            reason = closed_reason(period_key, month, self.closed.get((company_id, period_key)))
            if reason:
                raise ConflictError(reason)
            self.docs[(company_id, charge_id)] = charge_document(charge)
            return charge, True

    def close(self, company_id: str, period_key: str, revision: int) -> None:
        with self._lock:
            key = (company_id, period_key)
            self.closed[key] = max(revision, self.closed.get(key, revision))

    def for_month(self, company_id: str, period_key: str) -> list[OneOffCharge]:
        with self._lock:
            return [charge_from_document(d) for (c, _), d in self.docs.items()
                    if c == company_id and d["period"] == period_key]


def claim_in(doc: dict[str, Any], claim_id: str, force: bool, now: datetime,
             timeout_seconds: float) -> dict[str, Any] | None:
    """The delivery claim's rule on one in-memory document (the caller holds the lock)."""
    delivery: dict[str, Any] = doc.setdefault("delivery", {})
    if delivery.get("status") == "sent" and not force:
        return None
    claimed_at = delivery.get("claimedAt")
    if delivery.get("status") == "sending" and claimed_at:
        if (now - datetime.fromisoformat(claimed_at)).total_seconds() < timeout_seconds:
            return None
    delivery.update({"status": "sending", "claim": claim_id, "claimedAt": now.isoformat(),
                     "attempts": int(delivery.get("attempts", 0)) + 1})
    return copy.deepcopy(delivery)


class _FakeWriter:
    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self._md5 = hashlib.md5()

    def write(self, data: bytes) -> int:
        self._md5.update(data)
        return self.buffer.write(data)

    def md5_base64(self) -> str:
        return base64.b64encode(self._md5.digest()).decode()


class FakeBlobs:
    """Objects in a dict; final objects are create-only, like GCS with if_generation_match=0."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.meta: dict[str, dict[str, str]] = {}
        self.writes: dict[str, int] = {}
        self._lock = threading.Lock()

    def uri(self, path: str) -> str:
        return f"gs://fake-bucket/{path}"

    @contextmanager
    def writer(self, path: str, content_type: str, filename: str) -> Iterator[_FakeWriter]:
        out = _FakeWriter()
        yield out
        self._store(path, out.buffer.getvalue(), content_type, filename)

    def _store(self, path: str, data: bytes, content_type: str, filename: str) -> None:
        with self._lock:
            self.objects[path] = data
            self.meta[path] = {"contentType": content_type, "filename": filename}
            self.writes[path] = self.writes.get(path, 0) + 1

    def compose(self, sources: list[str], dest: str, content_type: str, filename: str) -> str:
        if len(sources) > 32:
            raise ValueError("Cloud Storage composes at most 32 objects")
        data = b"".join(self.objects[p] for p in sources)
        self._store(dest, data, content_type, filename)
        return "md5:" + hashlib.md5(data).hexdigest()

    def promote(self, staging_path: str, final_path: str) -> None:
        with self._lock:
            if final_path in self.objects:
                return
            self.objects[final_path] = self.objects[staging_path]
            self.meta[final_path] = dict(self.meta[staging_path])
            self.writes[final_path] = self.writes.get(final_path, 0) + 1

    def put_create_only(self, path: str, data: bytes, content_type: str, filename: str) -> bool:
        with self._lock:
            if path in self.objects:
                return False
        self._store(path, data, content_type, filename)
        return True

    def exists(self, path: str) -> bool:
        return path in self.objects

    def size(self, path: str) -> int | None:
        return len(self.objects[path]) if path in self.objects else None

    def read(self, path: str) -> bytes:
        if path not in self.objects:
            raise NotFoundError(f"file {path} not found")
        return self.objects[path]

    def open_read(self, path: str) -> Iterable[bytes]:
        return iter([self.read(path)])

    def delete(self, path: str) -> None:
        with self._lock:
            self.objects.pop(path, None)

    def signed_url(self, path: str, filename: str) -> str | None:
        return None


class FakeMailer:
    """Keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        self.sent.append(message)
        return f"<{len(self.sent)}@fake>"


class MemoryRuns:
    """The RunRepository port in memory: a summary and one entry per company, stored as Firestore
    stores them (the run records' mapper), and read back as the typed records."""

    def __init__(self) -> None:
        self.summaries: dict[str, dict[str, Any]] = {}
        self.companies: dict[str, dict[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def record_trigger(self, run_id: str, period_key: str, trigger: str) -> RunSummary:
        with self._lock:
            doc = self.summaries.setdefault(run_id, {"period": period_key, "triggers": []})
            doc["triggers"] = doc["triggers"][-19:] + [trigger_document(Trigger(by=trigger))]
            return summary_from_document(copy.deepcopy(doc), run_id)

    def summary(self, run_id: str) -> RunSummary | None:
        doc = self.summaries.get(run_id)
        return summary_from_document(copy.deepcopy(doc), run_id) if doc is not None else None

    def save_fanout(self, run_id: str, fanout: Fanout) -> None:
        with self._lock:
            self.summaries.setdefault(run_id, {})["fanout"] = fanout_document(fanout)

    def states(self, run_id: str) -> dict[str, RunEntry]:
        return {cid: entry_from_document(cid, copy.deepcopy(doc)) for cid, doc in self.companies.get(run_id, {}).items()}

    def _write(self, run_id: str, company_id: str, change: RunChange) -> dict[str, Any]:
        entry = self.companies.setdefault(run_id, {}).setdefault(company_id, {"companyId": company_id})
        for name in RUN_CLEARED:
            entry.pop(name, None)
        entry.update(copy.deepcopy(entry_fields(company_id, change, "2000-01-01T00:00:00+00:00")))
        return entry

    def set_states(self, run_id: str, entries: Mapping[str, RunChange]) -> None:
        with self._lock:
            for company_id, change in entries.items():
                self._write(run_id, company_id, change)

    def mark(self, run_id: str, company_id: str, change: RunChange, *, unless_done: bool = False) -> bool:
        with self._lock:
            current = self.companies.get(run_id, {}).get(company_id, {})
            if unless_done and current.get("state") == "done":
                return False
            entry = self._write(run_id, company_id, change)
            entry["attempts"] = entry.get("attempts", 0) + 1
            return True

    def company(self, run_id: str, company_id: str) -> RunEntry | None:
        doc = self.companies.get(run_id, {}).get(company_id)
        return entry_from_document(company_id, copy.deepcopy(doc)) if doc is not None else None

    def counts(self, run_id: str, states: Iterable[RunState]) -> dict[RunState, int]:
        entries = self.companies.get(run_id, {}).values()
        return {s: sum(1 for e in entries if e.get("state") == s) for s in states}

    def in_state(self, run_id: str, state: RunState, page_size: int,
                 after: str | None) -> tuple[list[RunEntry], str | None]:
        ids = sorted(cid for cid, e in self.companies.get(run_id, {}).items()
                     if e.get("state") == state and (after is None or cid > after))
        page = [entry_from_document(cid, copy.deepcopy(self.companies[run_id][cid])) for cid in ids[:page_size]]
        return page, (ids[page_size - 1] if len(ids) > page_size else None)

    def with_unplaced_calls(self, run_id: str, limit: int) -> list[RunEntry]:
        found = [entry_from_document(cid, copy.deepcopy(e)) for cid, e in self.companies.get(run_id, {}).items()
                 if e.get("unplacedCalls", 0) > 0]
        return sorted(found, key=lambda f: -f.unplaced_calls)[:limit]

    def state_of(self, run_id: str) -> dict[str, Any]:
        """companyId -> state, for assertions."""
        return {cid: e.get("state") for cid, e in self.companies.get(run_id, {}).items()}


class MemoryPublisher:
    """Keeps published messages as (topic, payload, attributes); publish_many's wait() may be told
    to fail (a killed fan-out)."""

    def __init__(self, fail_after_batches: int | None = None):
        self.messages: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.fail_after_batches = fail_after_batches
        self.batches = 0

    def publish(self, topic: str, message: OutgoingMessage) -> str:
        self.messages.append((topic, dict(message.to_payload()), dict(message.attributes())))
        return str(len(self.messages))

    def publish_many(self, topic: str, messages: Sequence[OutgoingMessage]) -> Callable[[], int]:
        self.batches += 1
        if self.fail_after_batches is not None and self.batches > self.fail_after_batches:
            raise KeyboardInterrupt("fan-out stopped")  # like a process killed mid-fan-out
        for message in messages:
            self.publish(topic, message)
        return lambda: len(messages)

    def companies(self, topic: str = "billing-company-invoice") -> list[str]:
        return [p["companyId"] for t, p, _ in self.messages if t == topic]


class FakeCreditNotes:
    """creditNotes/ over a FakeInvoices: void_invoice is atomic under the invoices' lock.
    `get` is the stored document as it is (what tests inspect)."""

    def __init__(self, invoices: FakeInvoices) -> None:
        self.invoices = invoices
        self.docs: dict[str, dict[str, Any]] = {}
        self.counters: dict[str, int] = {}

    def find(self, credit_note_id: str) -> Note | None:
        doc = self.get(credit_note_id)
        return note_from_document(doc) if doc is not None else None

    def get(self, credit_note_id: str) -> dict[str, Any] | None:
        with self.invoices._lock:
            doc = self.docs.get(credit_note_id)
            return copy.deepcopy(doc) if doc is not None else None

    def list_for_company(self, company_id: str) -> list[Note]:
        with self.invoices._lock:
            docs = [copy.deepcopy(d) for d in self.docs.values() if d["companyId"] == company_id]
        docs.sort(key=lambda d: (d["creditNoteDate"], d["financialYear"], d["sequence"]))
        return [note_from_document(d) for d in docs]

    def record_delivery(self, credit_note_id: str, change: DeliveryChange) -> None:
        with self.invoices._lock:
            merge(self.docs[credit_note_id], delivery_fields(change))

    def mark_issued(self, credit_note_id: str, issued: IssuedPdf) -> Note:
        with self.invoices._lock:
            if self.docs[credit_note_id].get("status") != "issued":
                merge(self.docs[credit_note_id], issued_fields(issued))
            return note_from_document(copy.deepcopy(self.docs[credit_note_id]))

    def claim_delivery(self, credit_note_id: str, claim_id: str, force: bool, now: datetime,
                       timeout_seconds: float) -> Note | None:
        with self.invoices._lock:
            claimed = claim_in(self.docs[credit_note_id], claim_id, force, now, timeout_seconds)
            return note_from_document(copy.deepcopy(self.docs[credit_note_id])) if claimed is not None else None

    def dated(self, start: str, end: str) -> Iterator[Note]:
        with self.invoices._lock:
            docs = [copy.deepcopy(d) for d in self.docs.values() if start <= str(d["creditNoteDate"]) < end]
        for doc in sorted(docs, key=lambda d: str(d["creditNoteDate"])):
            yield note_from_document(doc)

    def void_invoice(self, invoice_id: str, credit_note_id: str, counter_id: str,
                     build: VoidBuild) -> tuple[Invoice | None, Note | None]:
        with self.invoices._lock:
            invoice = self.invoices.docs.get(invoice_id)
            existing = self.docs.get(credit_note_id)
            if invoice is None or invoice.get("status") != "issued" or existing is not None:
                found = invoice_from_document(copy.deepcopy(invoice)) if invoice is not None else None
                return found, note_from_document(copy.deepcopy(existing)) if existing is not None else None
            seq = self.counters.get(counter_id, 1)
            draft, void = build(invoice_from_document(copy.deepcopy(invoice)), seq)
            note = note_document(draft)
            self.docs[credit_note_id] = copy.deepcopy(note)
            invoice.update(void_fields(void))
            self.counters[counter_id] = seq + 1
            return invoice_from_document(copy.deepcopy(invoice)), note_from_document(copy.deepcopy(note))


class FakeAdjustmentNotes:
    """Partial credit notes (sharing FakeCreditNotes' documents and counters) or debit notes;
    create_note is atomic under the invoices' lock, and a refusal from build writes nothing.
    `get` is the stored document as it is (what tests inspect)."""

    def __init__(self, invoices: FakeInvoices, date_field: str, docs: dict[str, dict[str, Any]] | None = None,
                 counters: dict[str, int] | None = None) -> None:
        self.invoices = invoices
        self.date_field = date_field
        self.docs: dict[str, dict[str, Any]] = {} if docs is None else docs
        self.counters: dict[str, int] = {} if counters is None else counters

    def find(self, note_id: str) -> Note | None:
        doc = self.get(note_id)
        return note_from_document(doc) if doc is not None else None

    def get(self, note_id: str) -> dict[str, Any] | None:
        with self.invoices._lock:
            doc = self.docs.get(note_id)
            return copy.deepcopy(doc) if doc is not None else None

    def list_for_company(self, company_id: str) -> list[Note]:
        with self.invoices._lock:
            docs = [copy.deepcopy(d) for d in self.docs.values() if d["companyId"] == company_id]
        docs.sort(key=lambda d: (d[self.date_field], d["financialYear"], d["sequence"]))
        return [note_from_document(d) for d in docs]

    def dated(self, start: str, end: str) -> Iterator[Note]:
        with self.invoices._lock:
            docs = [copy.deepcopy(d) for d in self.docs.values() if start <= str(d[self.date_field]) < end]
        for doc in sorted(docs, key=lambda d: str(d[self.date_field])):
            yield note_from_document(doc)

    def mark_issued(self, note_id: str, issued: IssuedPdf) -> Note:
        with self.invoices._lock:
            if self.docs[note_id].get("status") != "issued":
                merge(self.docs[note_id], issued_fields(issued))
            return note_from_document(copy.deepcopy(self.docs[note_id]))

    def record_delivery(self, note_id: str, change: DeliveryChange) -> None:
        with self.invoices._lock:
            merge(self.docs[note_id], delivery_fields(change))

    def claim_delivery(self, note_id: str, claim_id: str, force: bool, now: datetime,
                       timeout_seconds: float) -> Note | None:
        with self.invoices._lock:
            claimed = claim_in(self.docs[note_id], claim_id, force, now, timeout_seconds)
            return note_from_document(copy.deepcopy(self.docs[note_id])) if claimed is not None else None

    def create_note(self, invoice_id: str, note_id: str, counter_id: str, build: NoteBuild) -> tuple[Note, bool]:
        with self.invoices._lock:
            if note_id in self.docs:
                return note_from_document(copy.deepcopy(self.docs[note_id])), False
            invoice = self.invoices.docs.get(invoice_id)
            if invoice is None:
                raise NotFoundError(f"invoice {invoice_id} not found")
            seq = self.counters.get(counter_id, 1)
            note = note_document(build(invoice_from_document(copy.deepcopy(invoice)), seq))
            self.docs[note_id] = copy.deepcopy(note)
            invoice.update(copy.deepcopy(ledger_fields(invoice, note)))
            self.counters[counter_id] = seq + 1
            return note_from_document(copy.deepcopy(note)), True


class MemoryWakeClaims:
    """The WakeClaims port in memory: create-only keys per run."""

    def __init__(self) -> None:
        self.keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def claim(self, run_id: str, key: str) -> bool:
        with self._lock:
            if (run_id, key) in self.keys:
                return False
            self.keys.add((run_id, key))
            return True

    def release(self, run_id: str, key: str) -> None:
        with self._lock:
            self.keys.discard((run_id, key))


class MemoryReceivables:
    """The ReceivableRepository port in memory: change() is atomic under one lock, and an exception
    from the update writes nothing (like the Firestore transaction)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.companies: dict[str, dict[str, int]] = {}
        self.totals: dict[str, int] = {}
        self.months: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def get(self, invoice_id: str) -> Receivable | None:
        with self._lock:
            doc = copy.deepcopy(self.docs.get(invoice_id))
        return receivable_from_document(doc) if doc is not None else None

    def payment(self, payment_id: str) -> Payment | None:
        with self._lock:
            doc = copy.deepcopy(self.payments.get(payment_id))
        return payment_from_document(doc) if doc is not None else None

    def payments_for_company(self, company_id: str) -> list[Payment]:
        with self._lock:
            docs = [copy.deepcopy(p) for p in self.payments.values() if p.get("companyId") == company_id]
        return [payment_from_document(d)
                for d in sorted(docs, key=lambda d: (str(d.get("date")), str(d.get("recordedAt"))))]

    def payments_dated(self, start: str, end: str) -> list[Payment]:
        with self._lock:
            docs = [copy.deepcopy(p) for p in self.payments.values()
                    if start <= str(p.get("date")) < end or start <= str((p.get("reversal") or {}).get("at", "")) < end]
        return [payment_from_document(d)
                for d in sorted(docs, key=lambda d: (str(d.get("date")), str(d.get("recordedAt"))))]

    def change(self, invoice_id: str, company_id: str, due: str, payment_id: str | None,
               update: ReceivableUpdate) -> tuple[ReceivableChange | None, Receivable | None]:
        with self._lock:
            stored = copy.deepcopy(self.docs.get(invoice_id))
            rec = receivable_from_document(stored) if stored is not None else None
            pay = copy.deepcopy(self.payments.get(payment_id)) if payment_id else None
            result = update(rec, payment_from_document(pay) if pay is not None else None)
            if result is None:
                return None, rec
            period = result.receivable.period or ""
            delta = month_delta(rec, result.receivable)
            if period and any(delta.values()):
                self.months[period] = add_month(self.months.get(period, {}), delta)
            self.docs[invoice_id] = receivable_document(result.receivable)
            if result.payment is not None and payment_id:
                self.payments[payment_id] = payment_document(result.payment)
            if result.delta_paise:
                self.companies[company_id] = move_outstanding(self.companies.get(company_id, {}), due,
                                                              result.delta_paise)
                if not self.companies[company_id]:
                    del self.companies[company_id]
                self.totals = move_outstanding(self.totals, due, result.delta_paise)
            return result, receivable_from_document(copy.deepcopy(self.docs[invoice_id]))

    def with_balance(self) -> Iterator[Receivable]:
        with self._lock:
            docs = [copy.deepcopy(d) for d in self.docs.values() if int(d.get("balancePaise", 0)) > 0]
        yield from (receivable_from_document(d) for d in docs)

    def aging_page(self, page_size: int, after: str | None) -> tuple[list[CompanyOutstanding], str | None]:
        with self._lock:
            ids = sorted(c for c in self.companies if after is None or c > after)
            page = [CompanyOutstanding(c, dict(self.companies[c])) for c in ids[:page_size]]
        return page, (ids[page_size - 1] if len(ids) > page_size else None)

    def aging_totals(self) -> dict[str, int]:
        with self._lock:
            return dict(self.totals)

    def tds_payments(self, quarter_key: str) -> list[Payment]:
        with self._lock:
            docs = [copy.deepcopy(p) for p in self.payments.values() if p.get("tdsKey") == quarter_key]
        return [payment_from_document(d) for d in sorted(
            docs, key=lambda d: (str(d.get("companyId")), str(d.get("date")), str(d.get("reference"))))]

    def mark_tds_matched(self, payment_id: str, match: TdsMatch) -> None:
        with self._lock:
            merge(self.payments[payment_id], tds_match_fields(match))

    def month_totals(self, first: str, last: str) -> dict[str, dict[str, int]]:
        with self._lock:
            return {p: dict(t) for p, t in self.months.items() if first <= p <= last}

    def rebuild_month(self, period: str, invoice_status: Callable[[str], str | None]) -> dict[str, int]:
        with self._lock:
            total: dict[str, int] = {}
            report = {"receivables": 0, "shardsWritten": 0, "statusFilled": 0, "statusUnknown": 0, "rounds": 1}
            for doc in self.docs.values():
                if doc.get("period") != period:
                    continue
                report["receivables"] += 1
                total = add_month(total, month_delta(None, receivable_from_document(doc)))
                if not doc.get("invoiceStatus"):
                    status = invoice_status(str(doc["invoiceId"]))
                    if status:
                        doc["invoiceStatus"] = status
                    report["statusFilled" if status else "statusUnknown"] += 1
            exact = total if total.get("invoices") else None
            if self.months.get(period) != exact:
                report["shardsWritten"] = 1
                if exact is None:
                    self.months.pop(period, None)
                else:
                    self.months[period] = exact
            return report


class FakeInvoiceListing:
    """The InvoiceListing port over the fake invoices and receivables (the same filters and order)."""

    def __init__(self, invoices: FakeInvoices, receivables: MemoryReceivables) -> None:
        self.invoices = invoices
        self.receivables = receivables

    def page(self, period_key: str, status: str | None, payment_status: str | None, size: int,
             after: str | None) -> tuple[list[InvoiceRow], str | None]:
        rows: list[InvoiceRow] = []
        ids: list[str] = []
        in_progress = status in ("draft", "issuing")
        source = self.invoices.docs if in_progress else self.receivables.docs
        for doc_id in sorted(source):
            doc = copy.deepcopy(source[doc_id])
            if after is not None and doc_id <= after:
                continue
            if in_progress:
                if doc["billingPeriod"]["month"] != period_key or doc.get("status") != status:
                    continue
                rows.append((invoice_from_document(doc), None))
            else:
                if doc.get("period") != period_key or (status and doc.get("invoiceStatus") != status) or (
                        payment_status and doc.get("paymentStatus") != payment_status):
                    continue
                rows.append((None, receivable_from_document(doc)))
            ids.append(doc_id)
        more = len(rows) > size
        return rows[:size], (ids[size - 1] if more else None)


def fake_invoice_pdf(invoice: Invoice) -> bytes:
    return f"PDF {invoice.document['invoiceNumber']} {invoice.document['totalAmount']}".encode()


def fake_credit_note_pdf(note: Note) -> bytes:
    doc = note.document
    return f"CN {doc['creditNoteNumber']} {doc['totalAmount']}".encode()


def fake_adjustment_pdf(note: Note) -> bytes:
    doc = note.document
    kind = doc["noteKind"]
    return f"{kind.upper()} NOTE {doc[kind + 'NoteNumber']} {doc['totalAmount']}".encode()


def fake_cancelled_pdf(original: bytes, invoice: Invoice) -> bytes:
    return original + f" CANCELLED by {invoice.document['voidedBy']['creditNoteNumber']}".encode()


def fake_container(settings: Settings | None = None, *, companies: Mapping[str, dict[str, Any]] | None = None,
                   supplier: dict[str, Any] | None = SUPPLIER, calls: Mapping[str, list[CallRecord]] | None = None,
                   clock: Clock | None = None, **overrides: object) -> Container:
    """The real services over in-memory ports (each override replaces one of them, or any property).

    Each fake is assigned to its Protocol's type here, so mypy --strict checks that it satisfies it."""
    invoice_store = FakeInvoices()
    company_repo: CompanyRepository = FakeCompanies(companies)
    settings_repo: SettingsRepository = FakeSettings(supplier)
    call_logs: CallLogSource = FakeCallLogs(calls)
    invoices: InvoiceRepository = invoice_store
    credit_store = FakeCreditNotes(invoice_store)
    credit_notes: CreditNoteRepository = credit_store
    partial_credit_notes: AdjustmentNoteRepository = FakeAdjustmentNotes(
        invoice_store, "creditNoteDate", credit_store.docs, credit_store.counters)
    debit_notes: AdjustmentNoteRepository = FakeAdjustmentNotes(invoice_store, "debitNoteDate")
    render_adjustment_pdf: NotePdfRenderer = fake_adjustment_pdf
    blobs: BlobStore = FakeBlobs()
    runs: RunRepository = MemoryRuns()
    publisher: Publisher = MemoryPublisher()
    csv_writer: CallCsvFactory = CallCsvWriter
    read_billed: BilledCallReader = read_billed_calls
    render_pdf: InvoicePdfRenderer = fake_invoice_pdf
    render_credit_note_pdf: NotePdfRenderer = fake_credit_note_pdf
    stamp_cancelled_pdf: PdfStamper = fake_cancelled_pdf
    wake_claims: WakeClaims = MemoryWakeClaims()
    alert_claims: WakeClaims = MemoryWakeClaims()
    receivable_store = MemoryReceivables()
    receivables: ReceivableRepository = receivable_store
    invoice_listing: InvoiceListing = FakeInvoiceListing(invoice_store, receivable_store)
    charge_repo: ChargeRepository = FakeCharges(invoice_store)
    fakes: dict[str, object] = {
        "charge_repo": charge_repo,
        "companies": company_repo, "supplier_settings": settings_repo, "call_logs": call_logs,
        "invoices": invoices, "credit_notes": credit_notes,
        "partial_credit_notes": partial_credit_notes, "debit_notes": debit_notes,
        "render_adjustment_pdf": render_adjustment_pdf, "blobs": blobs, "runs": runs, "publisher": publisher,
        "csv_writer": csv_writer, "read_billed": read_billed, "render_pdf": render_pdf,
        "render_credit_note_pdf": render_credit_note_pdf, "stamp_cancelled_pdf": stamp_cancelled_pdf,
        "wake_claims": wake_claims, "alert_claims": alert_claims,
        "receivables_repo": receivables, "invoice_listing": invoice_listing,
    }
    container = Container(settings or Settings(), clock=clock or utc_now, env={})
    for name, value in {**fakes, **overrides}.items():
        container.override(name, value)
    return container
