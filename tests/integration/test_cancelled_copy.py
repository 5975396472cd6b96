"""A void invoice's PDF download is its copy stamped CANCELLED (the credit note named), stored once
beside the original, which stays byte for byte what the customer received. Real Firestore emulator,
fake-gcs-server, the real PDF renderer and stamper; the text is read back with pypdf."""

from __future__ import annotations

import io
import uuid
from datetime import datetime, timezone

import pytest
from pypdf import PdfReader

from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

ISSUED = datetime(2025, 10, 2, 9, 30, tzinfo=timezone.utc)
VOIDED = datetime(2025, 10, 20, 11, 0, tzinfo=timezone.utc)
ORIGINAL = "invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf"
COPY = "invoices/vysedeck/2025-09/vysedeck_2025-09_invoice_cancelled.pdf"


class Clock:
    def __init__(self) -> None:
        self.now = ISSUED

    def __call__(self) -> datetime:
        return self.now


def issued(storage_emulator, firestore_emulator) -> tuple[Container, Clock, bytes]:
    clock = Clock()
    settings = Settings(project=f"cancel-{uuid.uuid4().hex[:8]}", bucket=f"b-{uuid.uuid4().hex[:8]}")
    c = Container(settings, clock=clock)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    clock.now = VOIDED
    return c, clock, c.blobs.read(ORIGINAL)


def downloaded(c: Container) -> tuple[str, bytes]:
    item = c.downloads.open("vysedeck", "2025-09", "pdf")
    assert item.redirect_url is None  # the emulator cannot sign: streamed
    return item.filename, b"".join(item.chunks or ())


def text(pdf: bytes) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_void_stores_a_cancelled_copy_and_the_download_serves_it(storage_emulator, firestore_emulator):
    c, _, original = issued(storage_emulator, firestore_emulator)
    c.corrections.void("vysedeck", "2025-09", {"invoiceNumber": "VX/25-26/00001", "reason": "Wrong rate",
                                               "reissue": False})
    assert c.blobs.read(ORIGINAL) == original  # untouched, byte for byte
    stored = c.blobs.read(COPY)
    name, body = downloaded(c)
    assert body == stored and name == "VX-25-26-00001_vysedeck_2025-09_invoice_cancelled.pdf"
    pages, before = text(body), text(original)
    assert len(pages) == len(before)
    for page, was in zip(pages, before):
        assert "CANCELLED" in page and "Cancelled by credit note CN/25-26/00001 dated 20 Oct 2025" in page
        assert "CANCELLED" not in was
    assert "VX/25-26/00001" in pages[0] and "Amount due" in pages[0]  # the original's content, kept
    assert b"".join(c.blobs.open_read(COPY)) == stored  # a second download: the same stored copy


def test_a_void_made_before_copies_existed_gets_its_copy_on_first_download(storage_emulator, firestore_emulator):
    c, _, original = issued(storage_emulator, firestore_emulator)
    c.corrections.void("vysedeck", "2025-09", {"invoiceNumber": "VX/25-26/00001", "reason": "Wrong rate",
                                               "reissue": False})
    made_at_void = c.blobs.read(COPY)
    c.blobs.delete(COPY)  # as an older release left it: void, no copy
    name, body = downloaded(c)
    assert body == made_at_void  # rendered now, the same bytes the void would have stored
    assert c.blobs.read(COPY) == made_at_void and c.blobs.read(ORIGINAL) == original
    assert "CN/25-26/00001" in text(body)[0]
