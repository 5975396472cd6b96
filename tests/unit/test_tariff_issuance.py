"""A tiered, per-direction, discounted tariff through the real issuance and preview over fakes."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.seed import COMPANIES, SUPPLIER
from fakes import FakeCallLogs, SlicedCallLogs, fake_container

NOW = datetime(2025, 10, 2, 6, 0, tzinfo=timezone.utc)
BILLING = {"policy": "pulse", "pulseSeconds": 30, "includedMinutes": 10, "maintenanceFee": 1000,
           "timezone": "Asia/Kolkata", "directionRates": {"inbound": 1},
           "discount": {"percent": 10, "months": 3, "from": "2025-08"},
           "tiers": {"mode": "graduated", "tiers": [{"upToMinutes": 20, "ratePerMinute": 2},
                                                    {"upToMinutes": None, "ratePerMinute": 1.5}]}}
COMPANY = {**COMPANIES["vysedeck"], "billing": BILLING}
START = datetime(2025, 9, 1, 4, 30, tzinfo=timezone.utc)
# 20 outbound calls of 100 s (pulse 30 s -> 120 s = 2 min each) = 40 min; 10 inbound of 50 s (-> 60 s) = 10 min
CALLS = ([CallRecord(f"o{i:02d}", START + timedelta(days=i, minutes=i), 100, "completed", "outbound")
          for i in range(20)]
         + [CallRecord(f"i{i:02d}", START + timedelta(days=i, hours=3), 50, "completed", "inbound") for i in range(10)])


@pytest.mark.parametrize("source_cls, slices", [(FakeCallLogs, 1), (SlicedCallLogs, 4)])
def test_issued_invoice_and_its_csv_and_the_preview(source_cls, slices):
    c = fake_container(Settings(read_slices=slices), companies={"vysedeck": COMPANY}, supplier=SUPPLIER,
                       call_logs=source_cls({"vysedeck": sorted(CALLS, key=lambda call: call.started_at)}),
                       clock=lambda: NOW)
    preview = c.preview.preview("vysedeck", MonthQuery(9, 2025))
    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    # outbound (no direction rate): 40 min - 10 included = 30 min: 20 x 2 = 40.00 + 10 x 1.50 = 15.00
    # inbound: 10 min x 1 = 10.00; fee 1000.00; 1065.00 - 10% (106.50) = 958.50 taxable;
    # CGST = SGST = round(958.50 x 9%) = round(86.265) = 86.27; total 958.50 + 172.54 = 1131.04
    assert [(i["quantity"], i["rate"], i["amount"]) for i in doc["lineItems"]] == [
        (20, 2.0, 40.0), (10, 1.5, 15.0), (10, 1.0, 10.0), (1, 1000.0, 1000.0), (1, -106.5, -106.5)]
    assert (doc["subtotal"], doc["gstAmount"], doc["totalAmount"]) == (958.5, 172.54, 1131.04)
    assert doc["tariff"]["tiers"]["mode"] == "graduated"  # the invoice keeps the tariff it used
    assert preview["lineItems"] == doc["lineItems"] and preview["totalAmount"] == doc["totalAmount"]
    rows = list(csv.DictReader(io.StringIO(
        c.blobs.objects["invoices/vysedeck/2025-09/vysedeck_2025-09_calls.csv"].decode())))
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal(doc["amountsPaise"]["callCharges"]) / 100 == 65
    assert [r["note"] for r in rows if not r["callId"]] == ["included minutes", "graduated tier pricing"]
