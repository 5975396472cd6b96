"""Debit and partial credit notes on the emulators: a crash at each step of a debit note then a
retry ends where an uninterrupted one ends (same number, byte-identical PDF, no gap), and five
concurrent partial credits that together would exceed the invoice's taxable value never do.

Real Firestore emulator and fake-gcs-server, the real PDF renderer; a crash is an exception
injected at one step (a process dying there leaves the same state behind).
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

import pytest

from billing.adapters import firestore_repo
from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.adjustments import remaining_taxable_paise
from billing.domain.period import MonthQuery
from billing.errors import ValidationError
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

ISSUED = datetime(2025, 10, 2, 9, 30, tzinfo=timezone.utc)
LATER = datetime(2025, 10, 20, 11, 0, tzinfo=timezone.utc)
DEBIT = {"invoiceNumber": "VX/25-26/00001", "reason": "25 calls arrived after the invoice", "minutes": 25}
KEY = "settle-VX-25-26-00001"


class Crash(Exception):
    """The process 'dies' here."""


class Clock:
    def __init__(self) -> None:
        self.now = ISSUED

    def __call__(self) -> datetime:
        return self.now


def issued(storage_emulator, firestore_emulator) -> Container:
    clock = Clock()
    settings = Settings(project=f"adj-{uuid.uuid4().hex[:8]}", bucket=f"b-{uuid.uuid4().hex[:8]}")
    c = Container(settings, clock=clock)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    clock.now = LATER
    return c


def files(c: Container) -> dict[str, bytes]:
    return {b.name: b.download_as_bytes() for b in c.storage.bucket(c.settings.bucket).list_blobs()
            if b.name.startswith(("debit-notes/", "credit-notes/"))}


def counters(c: Container) -> dict[str, int]:
    return {f"{col}/{d.id}": d.to_dict()["next"] for col in ("debitNoteCounters", "creditNoteCounters")
            for d in c.firestore.collection(col).stream()}


STABLE = ("debitNoteId", "debitNoteNumber", "debitNoteDate", "status", "taxableValue", "gstAmount", "totalAmount",
          "taxBreakdown", "lineItems", "originalInvoice", "reason")


@pytest.fixture(scope="module")
def reference(storage_emulator, firestore_emulator):
    c = issued(storage_emulator, firestore_emulator)
    note = c.adjustments.create("debit", "vysedeck", "2025-09", DEBIT, KEY)
    return {k: note.get(k) for k in STABLE}, files(c), counters(c)


def test_the_reference_debit_note(reference):
    note, objects, numbers = reference
    assert note["debitNoteNumber"] == "DN/25-26/00001" and note["status"] == "issued"
    assert (note["taxableValue"], note["gstAmount"], note["totalAmount"]) == (50.0, 9.0, 59.0)
    assert [c["amount"] for c in note["taxBreakdown"]["components"]] == [4.5, 4.5]
    assert numbers == {"debitNoteCounters/DN_25-26": 2}
    [(path, pdf)] = objects.items()
    assert path.startswith("debit-notes/vysedeck/2025-09/vysedeck_2025-09_dn-") and pdf.startswith(b"%PDF")


@pytest.mark.parametrize("step, target, left", [
    ("in-the-transaction", ("debit_notes", "create_note"), None),
    ("before-the-pdf", ("blobs", "put_create_only"), "issuing"),
    ("after-the-pdf", ("debit_notes", "mark_issued"), "issuing"),
])
def test_a_crash_at_each_step_then_a_retry(storage_emulator, firestore_emulator, reference, step, target, left):
    c = issued(storage_emulator, firestore_emulator)
    obj = getattr(c, target[0])
    original = getattr(obj, target[1])

    def crashing(*args, **kwargs):
        setattr(obj, target[1], original)
        raise Crash(step)

    setattr(obj, target[1], crashing)
    with pytest.raises(Crash):
        c.adjustments.create("debit", "vysedeck", "2025-09", DEBIT, KEY)
    stored = [n.document for n in c.debit_notes.list_for_company("vysedeck")]
    assert [d["status"] for d in stored] == ([left] if left else [])
    note = c.adjustments.create("debit", "vysedeck", "2025-09", DEBIT, KEY)
    again = c.adjustments.create("debit", "vysedeck", "2025-09", DEBIT, KEY)
    expected, objects, numbers = reference
    assert {k: note.get(k) for k in STABLE} == expected == {k: again.get(k) for k in STABLE}
    assert files(c) == objects  # byte-identical PDF, one of it
    assert counters(c) == numbers  # no gap
    invoice = c.invoices.get("vysedeck_2025-09")
    assert [e["number"] for e in invoice["adjustments"]] == ["DN/25-26/00001"]


def test_five_concurrent_partial_credits_never_exceed_the_taxable_value(storage_emulator, firestore_emulator,
                                                                         monkeypatch):
    c = issued(storage_emulator, firestore_emulator)
    # No in-process queue: the emulator's transactions alone must keep the cap.
    monkeypatch.setattr(firestore_repo, "_counter_lock", lambda _id: threading.Lock())
    results, refused, failed = [], [], []
    start = threading.Barrier(5)

    def credit(i: int) -> None:
        start.wait()
        try:
            results.append(c.adjustments.create("credit", "vysedeck", "2025-09", {
                "invoiceNumber": "VX/25-26/00001", "reason": f"dispute {i}",
                "lines": [{"description": f"Disputed calls, batch {i}", "taxableValue": 500}]}, f"dispute-{i}"))
        except ValidationError as exc:
            refused.append(exc.detail)
        except Exception as exc:  # pragma: no cover - reported below
            failed.append(repr(exc))

    threads = [threading.Thread(target=credit, args=(i,)) for i in range(5)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert failed == []
    invoice = c.invoices.get("vysedeck_2025-09")
    credited = sum(e["paise"]["taxable"] for e in invoice["adjustments"])
    assert credited <= invoice["amountsPaise"]["subtotal"] == 152400
    assert len(results) == 3 and len(refused) == 2 and credited == 150000
    assert all("exceeds what invoice" in r for r in refused)
    assert remaining_taxable_paise(c.invoices.find("vysedeck_2025-09")) == 2400
    notes = [n.document for n in c.credit_notes.list_for_company("vysedeck")]
    assert sorted(n["creditNoteNumber"] for n in notes) == ["CN/25-26/00001", "CN/25-26/00002", "CN/25-26/00003"]
    assert counters(c) == {"creditNoteCounters/CN_25-26": 4}


def test_settle_issues_a_debit_note_for_25_late_calls_found_by_reconcile(storage_emulator, firestore_emulator):
    c = issued(storage_emulator, firestore_emulator)
    batch = c.firestore.batch()
    for i in range(25):
        batch.set(c.firestore.document(f"callLogs/late-{i:02d}"), {
            "companyId": "vysedeck", "startedAt": datetime(2025, 9, 30, 6, i, tzinfo=timezone.utc),
            "durationSeconds": 60, "status": "completed"})
    batch.commit()
    out = c.settlement.settle("vysedeck", "2025-09", {"invoiceNumber": "VX/25-26/00001"})
    assert (out["settled"], out["kind"], out["reconcile"]["added"]) == (True, "debit", 25)
    note = out["note"]
    assert (note["debitNoteNumber"], note["taxableValue"], note["gstAmount"], note["totalAmount"]) == (
        "DN/25-26/00001", 50.0, 9.0, 59.0)
    objects = files(c)
    rows = objects[f"debit-notes/vysedeck/2025-09/{note['debitNoteId']}_calls.csv"].decode().splitlines()
    assert len(rows) == 26 and {r.split(",")[0] for r in rows[1:]} == {f"late-{i:02d}" for i in range(25)}
    again = c.settlement.settle("vysedeck", "2025-09", {"invoiceNumber": "VX/25-26/00001"})
    assert again["note"]["debitNoteId"] == note["debitNoteId"] and files(c) == objects
    assert counters(c) == {"debitNoteCounters/DN_25-26": 2}
