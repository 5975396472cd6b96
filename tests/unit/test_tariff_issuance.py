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
from fakes import FakeCallLogs, FakeCompanies, SlicedCallLogs, fake_container

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
    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
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
    assert sum(Decimal(r["amount"]) for r in rows if r["amount"]) == Decimal(doc["amountsPaise"]["callCharges"]) / 100 == 65
    assert [r["note"] for r in rows if not r["callId"] and r["amount"]] == ["included minutes", "tier pricing"]
    # the invoice's summary rows, the discount among them, in their own column
    assert [(r["note"], r["invoiceAmount"]) for r in rows if r["invoiceAmount"]][:4] == [
        ("call charges", "65.00"), ("maintenance fee", "1000.00"), ("discount", "-106.50"), ("taxable value", "958.50")]


def test_a_mid_month_change_is_issued_stored_reconciled_and_previewed():
    dated = {"vysedeck": {"2025-09-15": {"billing": {**BILLING, "tiers": None, "ratePerMinute": 3,
                                                     "directionRates": {"inbound": 2}, "maintenanceFee": 1500}}}}
    c = fake_container(Settings(), supplier=SUPPLIER, companies={"vysedeck": COMPANY},
                       call_logs=FakeCallLogs({"vysedeck": sorted(CALLS, key=lambda call: call.started_at)}),
                       clock=lambda: NOW)
    assert isinstance(c.companies, FakeCompanies)
    c.companies.dated.update(dated)
    preview = c.preview.preview("vysedeck", MonthQuery(9, 2025))
    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    # Days 1-14 (the company's billing): calls o00-o13 at day i (o13 on the 14th, 10:13 IST), i00-i09
    #   outbound 14 x 2 min = 28 min - 10 included = 18 min, graduated: 18 x 2 = 36.00
    #   inbound 10 x 1 min x 1 = 10.00; fee 1000 x 14/30 = 466.67
    # Days 15-30 (from 2025-09-15: 3/min, inbound 2/min, no tiers): o14-o19 = 6 x 2 min = 12 min x 3 = 36.00
    #   fee 1500 x 16/30 = 800.00
    # 82.00 + 1266.67 = 1348.67; - 10% (the discount of the month's last tariff) 134.87 = 1213.80
    assert [(i["description"].split(" (")[0], i["amount"]) for i in doc["lineItems"]] == [
        ("Voice agent call charges, 1-14 Sep 2025, other calls, graduated tier 0-20 min", 36.0),
        ("Voice agent call charges, 1-14 Sep 2025, inbound calls", 10.0),
        ("Voice agent call charges, 15-30 Sep 2025, other calls", 36.0),
        ("Monthly maintenance fee, 1-14 Sep 2025", 466.67),
        ("Monthly maintenance fee, 15-30 Sep 2025", 800.0),
        ("Discount", -134.87),
    ]
    assert doc["subtotal"] == 1213.8
    assert [(t["effectiveFrom"], t["from"], t["to"]) for t in doc["tariffs"]] == [
        (None, "2025-09-01", "2025-09-14"), ("2025-09-15", "2025-09-15", "2025-09-30")]
    assert doc["tariff"]["ratePerMinute"] == 3  # the month-level terms: the tariff of its last day
    assert preview["lineItems"] == doc["lineItems"] and preview["tariffs"] == doc["tariffs"]
    rows = list(csv.DictReader(io.StringIO(
        c.blobs.objects["invoices/vysedeck/2025-09/vysedeck_2025-09_calls.csv"].decode())))
    assert sum(Decimal(r["amount"]) for r in rows if r["amount"]) == Decimal(doc["amountsPaise"]["callCharges"]) / 100 == 82
    # Reconcile re-rates with the stored tariffs, not today's: nothing changed.
    c.companies.dated.clear()
    report = c.reconcile.reconcile("vysedeck", "2025-09").to_json()
    assert report["current"] == report["billed"]
