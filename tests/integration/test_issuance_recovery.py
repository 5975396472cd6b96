"""A crash at any step of issuance, then a retry, ends with the invoice an uninterrupted run makes.

Real Firestore emulator and fake-gcs-server; the crash is an exception injected at one step
(the process dying there leaves the same state behind, since nothing after the step ran).
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

FIXED_NOW = datetime(2025, 11, 3, 9, 30, tzinfo=timezone.utc)


class Crash(Exception):
    """The process 'dies' here."""


def container(storage_emulator, firestore_emulator, crash_at: str | None = None) -> Container:
    project = f"crash-{uuid.uuid4().hex[:8]}"
    settings = Settings(project=project, bucket=f"b-{uuid.uuid4().hex[:8]}")
    c = Container(settings)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    c.clock = lambda: FIXED_NOW
    if crash_at:
        arm(c, crash_at)
    return c


def arm(c: Container, step: str) -> None:
    """Make the next call of one step raise (once)."""
    targets = {
        "after-csv-staged": (c.invoices, "create_draft"),          # CSV uploaded, no invoice doc yet
        "after-draft-created": (c.invoices, "number_drafts"),      # doc "draft", no number yet
        "after-invoice-written": (c.blobs, "promote"),               # doc "issuing", CSV not final yet
        "before-pdf-upload": (c.blobs, "put_create_only"),           # CSV final, no PDF
        "after-pdf-upload": (c.invoices, "mark_issued"),             # PDF stored, not marked issued
    }
    obj, name = targets[step]
    original = getattr(obj, name)

    def crashing(*args, **kwargs):
        setattr(obj, name, original)
        raise Crash(step)

    setattr(obj, name, crashing)


def files(c: Container) -> dict[str, bytes]:
    return {b.name: b.download_as_bytes() for b in c.storage.bucket(c.settings.bucket).list_blobs()
            if not b.name.startswith("staging/")}


@pytest.fixture(scope="module")
def reference(storage_emulator, firestore_emulator):
    """An uninterrupted run: its document fields and files."""
    c = container(storage_emulator, firestore_emulator)
    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    return doc, files(c)


STABLE = ("invoiceNumber", "subtotal", "gstAmount", "totalAmount", "lineItems", "taxBreakdown",
          "usageData", "invoiceDate", "dueDate", "billingPeriod", "inputsDigest", "status")


@pytest.mark.parametrize("step", ["after-csv-staged", "after-draft-created", "after-invoice-written", "before-pdf-upload", "after-pdf-upload"])
def test_crash_then_retry_gives_the_uninterrupted_result(storage_emulator, firestore_emulator, reference, step):
    ref_doc, ref_files = reference
    c = container(storage_emulator, firestore_emulator, crash_at=step)
    with pytest.raises(Crash):
        c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    assert {k: doc[k] for k in STABLE} == {k: ref_doc[k] for k in STABLE}
    assert files(c) == ref_files  # byte-identical PDF and CSV
    assert [d.to_dict()["next"] for d in c.firestore.collection("invoiceCounters").stream()] == [2]
    leftovers = [b.name for b in c.storage.bucket(c.settings.bucket).list_blobs() if b.name.startswith("staging/")]
    if step != "after-csv-staged":
        assert leftovers == []
    else:
        # The crashed attempt's staged CSV is orphaned (never referenced); the bucket's lifecycle
        # rule on staging/ removes it. The retry's own staging object is cleaned up.
        assert len(leftovers) == 1


def test_issued_files_are_never_overwritten(storage_emulator, firestore_emulator):
    c = container(storage_emulator, firestore_emulator)
    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    bucket = c.storage.bucket(c.settings.bucket)
    before = {b.name: (b.generation, b.md5_hash) for b in bucket.list_blobs()}
    pdf_path = doc["files"]["pdf"].split("/", 3)[3]
    # A direct create-only upload to the issued PDF's name is refused...
    assert c.blobs.put_create_only(pdf_path, b"%PDF-forged", "application/pdf", "x.pdf") is False
    # ...and re-finishing the invoice (as a confused retry would) rewrites nothing.
    c.invoices.update(doc["invoiceId"], {"status": "issuing"})
    c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    assert {b.name: (b.generation, b.md5_hash) for b in bucket.list_blobs()} == before


def test_csv_rows_add_up_to_the_invoice(storage_emulator, firestore_emulator):
    import csv
    import io
    from decimal import Decimal

    c = container(storage_emulator, firestore_emulator)
    for company in ("vysedeck", "webxpress", "dcgpac"):
        doc = c.issuance.generate(company, MonthQuery(10, 2025)).document
        data = files(c)[doc["files"]["csv"].split("/", 3)[3]]
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
        usage_line = doc["lineItems"][0]
        fee = Decimal(str(c.companies.get(company).document["billing"].get("maintenanceFee", 0)))
        call_charges = Decimal(str(doc["subtotal"])) - fee
        lines = [r for r in rows if r["amount"]]  # calls and adjustments (the summary rows have their own column)
        assert sum(Decimal(r["billedMinutes"]) for r in lines) == Decimal(str(usage_line["quantity"]))
        assert sum(Decimal(r["amount"]) for r in lines) == call_charges, company
        assert len([r for r in rows if r["callId"]]) == doc["usageData"]["totalCalls"]
        # the line prints the minutes with the decimals it needs; usageData rounds them to two
        assert abs(Decimal(str(usage_line["quantity"])) - Decimal(str(doc["usageData"]["chargeableMinutes"]))) <= Decimal(
            "0.005")
