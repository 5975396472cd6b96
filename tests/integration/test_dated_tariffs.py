"""Dated tariffs read from the Firestore emulator: a September invoice cut at a change on the 15th."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators


def test_the_invoice_uses_each_tariff_for_its_days(storage_emulator, firestore_emulator):
    settings = Settings(project=f"dated-{uuid.uuid4().hex[:8]}", bucket=f"b-{uuid.uuid4().hex[:8]}")
    c = Container(settings)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    c.clock = lambda: datetime(2025, 11, 3, 9, 30, tzinfo=timezone.utc)
    company = c.firestore.document("companies/vysedeck")
    billing = company.get().to_dict()["billing"]
    company.collection("tariffs").document("2025-09-15").set({"billing": {**billing, "ratePerMinute": 3}})
    company.collection("tariffs").document("2025-12-01").set({"billing": {**billing, "ratePerMinute": 9}})
    assert sorted(day for day, _ in c.companies.tariffs("vysedeck")) == ["2025-09-15", "2025-12-01"]

    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    assert [(t["effectiveFrom"], t["from"], t["to"]) for t in doc["tariffs"]] == [
        (None, "2025-09-01", "2025-09-14"), ("2025-09-15", "2025-09-15", "2025-09-30")]
    descriptions = [item["description"] for item in doc["lineItems"]]
    assert descriptions[-2:] == ["Monthly maintenance fee, 1-14 Sep 2025 (14/30 of ₹ 1,500.00)",
                                 "Monthly maintenance fee, 15-30 Sep 2025 (16/30 of ₹ 1,500.00)"]
    assert [item["amount"] for item in doc["lineItems"][-2:]] == [700.0, 800.0]
    assert {item["rate"] for item in doc["lineItems"] if item["unit"] == "min"} <= {2.0, 3.0}
    assert doc["status"] == "issued"
