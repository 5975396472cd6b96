"""A crash at each step of void / credit note / reissue, then a retry, ends where an uninterrupted
void ends: the same credit note and invoice numbers, byte-identical files, no gap in either series.

Real Firestore emulator and fake-gcs-server; the crash is an exception injected at one step (the
process dying there leaves the same state behind, since nothing after the step ran).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

ISSUED = datetime(2025, 10, 2, 9, 30, tzinfo=timezone.utc)
VOIDED = datetime(2025, 10, 20, 11, 0, tzinfo=timezone.utc)
BODY = {"invoiceNumber": "VX/25-26/00001", "reason": "Rate per minute was wrong", "reissue": True}


class Crash(Exception):
    """The process 'dies' here."""


class Clock:
    def __init__(self) -> None:
        self.now = ISSUED

    def __call__(self) -> datetime:
        return self.now


def issued_then_rate_changed(storage_emulator, firestore_emulator) -> Container:
    clock = Clock()
    settings = Settings(project=f"void-{uuid.uuid4().hex[:8]}", bucket=f"b-{uuid.uuid4().hex[:8]}")
    c = Container(settings, clock=clock)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    c.firestore.document("companies/vysedeck").update({"billing.ratePerMinute": 1.5})
    clock.now = VOIDED
    return c


# step -> (object, method, which call of it crashes)
def targets(c: Container) -> dict[str, tuple[object, str, int]]:
    return {
        "in-the-void-transaction": (c.credit_notes, "void_invoice", 1),          # nothing written
        "before-credit-note-pdf": (c.blobs, "put_create_only", 1),               # CN "issuing", no PDF
        "after-credit-note-pdf": (c.credit_notes, "mark_issued", 1),                 # CN PDF stored, not "issued"
        "before-cancelled-copy": (c.blobs, "put_create_only", 2),                # CN issued, no CANCELLED copy
        "before-reissue-draft": (c.invoices, "create_draft", 1),                 # reissue CSV staged, no doc
        "after-reissue-draft": (c.invoices, "number_drafts", 1),                 # reissue "draft"
        "after-reissue-numbered": (c.blobs, "promote", 1),                       # reissue "issuing", no files
        "before-reissue-pdf": (c.blobs, "put_create_only", 3),                   # reissue CSV final, no PDF
        "after-reissue-pdf": (c.invoices, "mark_issued", 1),                        # reissue PDF, not "issued"
    }


def arm(c: Container, step: str) -> None:
    obj, name, nth = targets(c)[step]
    original = getattr(obj, name)
    calls = {"n": 0}

    def crashing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == nth:
            setattr(obj, name, original)
            raise Crash(step)
        return original(*args, **kwargs)

    setattr(obj, name, crashing)


def files(c: Container) -> dict[str, bytes]:
    return {b.name: b.download_as_bytes() for b in c.storage.bucket(c.settings.bucket).list_blobs()
            if not b.name.startswith("staging/")}


def counters(c: Container) -> dict[str, int]:
    return {f"{col}/{d.id}": d.to_dict()["next"] for col in ("invoiceCounters", "creditNoteCounters")
            for d in c.firestore.collection(col).stream()}


STABLE_INVOICE = ("invoiceNumber", "status", "subtotal", "gstAmount", "totalAmount", "lineItems", "taxBreakdown",
                  "usageData", "invoiceDate", "dueDate", "inputsDigest", "invoiceId", "revision", "files")
STABLE_VOID = ("invoiceNumber", "status", "voidedBy", "replacedBy", "voidReason", "voidedAt", "totalAmount")
STABLE_NOTE = ("creditNoteId", "creditNoteNumber", "creditNoteDate", "status", "totalAmount", "taxBreakdown",
               "originalInvoice", "reason", "supplier", "recipient", "files")


def outcome(out: dict) -> tuple:
    """The stable fields of the three documents (gs:// URIs without the per-test bucket name)."""
    def pick(doc: dict, keys: tuple) -> dict:
        picked = {k: doc.get(k) for k in keys}
        if picked.get("files"):
            picked["files"] = {k: v.split("/", 3)[-1] if isinstance(v, str) and v.startswith("gs://") else v
                               for k, v in picked["files"].items() if k != "csvStaging"}
        return picked

    return pick(out["voided"], STABLE_VOID), pick(out["creditNote"], STABLE_NOTE), pick(out["reissued"], STABLE_INVOICE)


@pytest.fixture(scope="module")
def reference(storage_emulator, firestore_emulator):
    c = issued_then_rate_changed(storage_emulator, firestore_emulator)
    out = c.corrections.void("vysedeck", "2025-09", BODY).to_json()
    return outcome(out), files(c), counters(c)


def test_the_reference_is_what_a_void_should_be(reference):
    (voided, note, reissued), objects, numbers = reference
    assert voided["status"] == "void" and voided["replacedBy"] == "vysedeck_2025-09_r1"
    assert note["creditNoteNumber"] == "CN/25-26/00001" and note["status"] == "issued"
    assert reissued["invoiceNumber"] == "VX/25-26/00002" and reissued["lineItems"][0]["rate"] == 1.5
    assert numbers == {"invoiceCounters/VX_25-26": 3, "creditNoteCounters/CN_25-26": 2}
    assert len(objects) == 6  # the first invoice's PDF and CSV, its CANCELLED copy, the CN's PDF, the reissue's two
    assert "invoices/vysedeck/2025-09/vysedeck_2025-09_invoice_cancelled.pdf" in objects


STEPS = ["in-the-void-transaction", "before-credit-note-pdf", "after-credit-note-pdf", "before-cancelled-copy",
         "before-reissue-draft",
         "after-reissue-draft", "after-reissue-numbered", "before-reissue-pdf", "after-reissue-pdf"]


# What the crash left: (invoice, credit note, reissue) statuses; None = no document.
LEFT_BEHIND = {
    "in-the-void-transaction": ("issued", None, None),
    "before-credit-note-pdf": ("void", "issuing", None),
    "after-credit-note-pdf": ("void", "issuing", None),
    "before-cancelled-copy": ("void", "issued", None),
    "before-reissue-draft": ("void", "issued", None),
    "after-reissue-draft": ("void", "issued", "draft"),
    "after-reissue-numbered": ("void", "issued", "issuing"),
    "before-reissue-pdf": ("void", "issued", "issuing"),
    "after-reissue-pdf": ("void", "issued", "issuing"),
}


def statuses(c: Container) -> tuple:
    docs = [c.firestore.document(path).get() for path in (
        "invoices/vysedeck_2025-09", "creditNotes/vysedeck_2025-09_cn", "invoices/vysedeck_2025-09_r1")]
    return tuple(d.to_dict()["status"] if d.exists else None for d in docs)


@pytest.mark.parametrize("step", STEPS)
def test_crash_then_retry_completes_the_void(storage_emulator, firestore_emulator, reference, step):
    ref_outcome, ref_files, ref_counters = reference
    c = issued_then_rate_changed(storage_emulator, firestore_emulator)
    arm(c, step)
    with pytest.raises(Crash):
        c.corrections.void("vysedeck", "2025-09", BODY)
    assert statuses(c) == LEFT_BEHIND[step]  # the crash landed mid-void
    out = c.corrections.void("vysedeck", "2025-09", BODY).to_json()
    assert outcome(out) == ref_outcome
    assert files(c) == ref_files  # byte-identical PDFs and CSVs, the voided invoice's included
    assert counters(c) == ref_counters  # no gap, no second number in either series
    assert len(list(c.firestore.collection("creditNotes").stream())) == 1
