"""Issued files in the invoice bucket (retention policy on Google Cloud), staging in its own bucket."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators


def test_staging_objects_never_touch_the_invoice_bucket(firestore_emulator, storage_emulator):
    settings = Settings(project=f"stg-{uuid.uuid4().hex[:8]}", bucket=f"inv-{uuid.uuid4().hex[:8]}",
                        staging_bucket=f"stg-{uuid.uuid4().hex[:8]}")
    c = Container(settings)
    for name in (settings.bucket, settings.staging_bucket):
        c.storage.create_bucket(name)
    seed_demo(c.firestore, settings)
    c.clock = lambda: datetime(2025, 11, 3, 9, 30, tzinfo=timezone.utc)
    c.blobs.delete = lambda path: None  # keep the staging objects, to see where they were written
    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    final = sorted(b.name for b in c.storage.bucket(settings.bucket).list_blobs())
    staged = sorted(b.name for b in c.storage.bucket(settings.staging_bucket).list_blobs())
    assert [f"gs://{settings.bucket}/{name}" for name in final] == sorted([doc["files"]["pdf"], doc["files"]["csv"]])
    assert staged and all(name.startswith("staging/") for name in staged)  # written there, promoted across
    assert doc["files"].get("csvStaging") is None or doc["files"]["csvStaging"].startswith("staging/")
