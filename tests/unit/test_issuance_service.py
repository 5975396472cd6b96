"""The issuance service over in-memory fakes: outcomes for both read paths (one stream, slices)."""

from __future__ import annotations

import csv
import re
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.errors import ConfigurationError, NotFoundError, ValidationError
from billing.seed import COMPANIES, SUPPLIER, VYSEDECK_SEPTEMBER
from fakes import FakeCallLogs, SlicedCallLogs, fake_container

NOW = datetime(2025, 10, 2, 6, 0, tzinfo=timezone.utc)


def calls_for(durations, start=datetime(2025, 9, 1, 4, 30, tzinfo=timezone.utc)):
    return [CallRecord(f"c{i:03d}", start + timedelta(days=i * 2, minutes=7 * i), d, "completed")
            for i, d in enumerate(durations)]


def make(source_cls=FakeCallLogs, slices=1, companies=None, supplier=SUPPLIER, calls=None):
    """The real services over fakes (the container's `issuance`, `blobs`, `call_logs`, `invoices`)."""
    return fake_container(
        Settings(read_slices=slices), companies=companies or COMPANIES, supplier=supplier,
        call_logs=source_cls(calls if calls is not None else {"vysedeck": calls_for(VYSEDECK_SEPTEMBER)}),
        clock=lambda: NOW,
    )


@pytest.mark.parametrize("source_cls, slices", [(FakeCallLogs, 1), (SlicedCallLogs, 4), (SlicedCallLogs, 31)])
def test_seed_example_is_issued_with_files(source_cls, slices):
    svc = make(source_cls, slices)
    doc = svc.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    assert (doc["subtotal"], doc["gstAmount"], doc["totalAmount"]) == (1524.0, 274.32, 1798.32)
    assert doc["invoiceNumber"] == "VX/25-26/00001" and doc["status"] == "issued"
    # The numbering instant in the supplier's calendar (IST), with its offset, as the old API sent it.
    assert doc["invoiceDate"] == "2025-10-02T11:30:00+05:30" and doc["dueDate"] == "2025-10-09T11:30:00+05:30"
    objects = svc.blobs.objects
    assert sorted(objects) == ["invoices/vysedeck/2025-09/vysedeck_2025-09_calls.csv",
                               "invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf"]
    rows = list(csv.DictReader(io.StringIO(objects["invoices/vysedeck/2025-09/vysedeck_2025-09_calls.csv"].decode())))
    assert [r["callId"] for r in rows if r["callId"]] == [f"c{i:03d}" for i in range(13)]  # time order
    assert sum(Decimal(r["amount"]) for r in rows if r["amount"]) == 24
    assert [(r["note"], r["invoiceAmount"]) for r in rows if not r["callId"]] == [
        ("call charges", "24.00"), ("maintenance fee", "1500.00"), ("taxable value", "1524.00"),
        ("CGST 9%", "137.16"), ("SGST 9%", "137.16"), ("total", "1798.32")]


def test_the_same_month_again_returns_the_same_invoice_without_reading_calls():
    svc = make()
    first = svc.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    reads = svc.call_logs.streams
    assert svc.issuance.generate("vysedeck", MonthQuery("9", "2025")).document == first
    assert svc.call_logs.streams == reads
    assert svc.invoices.counters == {"VX_25-26": 2}


def test_numbers_are_consecutive_across_companies_and_restart_each_financial_year():
    companies = {f"c{i}": {"name": f"C{i}", "billing": {"ratePerMinute": 1}} for i in range(3)}
    svc = make(companies=companies, calls={})
    assert [svc.issuance.generate(f"c{i}", MonthQuery(9, 2025)).document["invoiceNumber"] for i in range(3)] == [
        "VX/25-26/00001", "VX/25-26/00002", "VX/25-26/00003"]
    svc.clock = lambda: datetime(2026, 4, 1, 6, 0, tzinfo=timezone.utc)
    assert svc.issuance.generate("c0", MonthQuery(3, 2026)).document["invoiceNumber"] == "VX/26-27/00001"


@pytest.mark.parametrize("company_id, month, year, error", [
    ("vysedeck", 13, 2025, ValidationError),
    ("vysedeck", 10, 2025, ValidationError),  # not ended at NOW
    ("Bad Id", 9, 2025, ValidationError),
    ("ghost", 9, 2025, NotFoundError),
])
def test_bad_requests_write_nothing(company_id, month, year, error):
    svc = make()
    with pytest.raises(error):
        svc.issuance.generate(company_id, MonthQuery(month, year))
    assert svc.blobs.objects == {} and svc.invoices.docs == {} and svc.invoices.counters == {}


@pytest.mark.parametrize("supplier, fragment", [
    (None, "supplier settings (settings/billing) are missing"),
    ({**SUPPLIER, "invoicePrefix": "TOOLONG"}, "invoicePrefix"),
    ({**SUPPLIER, "gstin": "29AAGCV4821K1ZA"}, "check character"),
])
def test_misconfigured_supplier_is_a_clear_configuration_error(supplier, fragment):
    svc = make(supplier=supplier)
    with pytest.raises(ConfigurationError) as err:
        svc.issuance.generate("vysedeck", MonthQuery(9, 2025))
    assert fragment in err.value.detail
    assert svc.blobs.objects == {} and svc.invoices.docs == {}


durations = st.one_of(
    st.integers(0, 3000), st.decimals(0, 3000, places=3, allow_nan=False).map(float),
    st.sampled_from([None, -4, "n/a"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(durations, max_size=40),
    st.sampled_from(["per-call", "per-second", "pulse", "aggregate"]),
    st.decimals("0.01", "9.999", places=3).map(float),  # a number, as the strict schema wants
    st.integers(0, 30), st.integers(0, 500), st.sampled_from([1, 3]),
)
def test_csv_always_reconciles_to_the_invoice(ds, policy, rate, included, minimum, slices):
    companies = {"acme": {"name": "Acme", "billing": {
        "ratePerMinute": rate, "policy": policy, "pulseSeconds": 45, "includedMinutes": included,
        "minimumUsageCharge": minimum, "maintenanceFee": 99}}}
    start = datetime(2025, 9, 1, tzinfo=timezone.utc)
    calls = [CallRecord(f"c{i:03d}", start + timedelta(hours=17 * i), d, "completed") for i, d in enumerate(ds)]
    svc = make(SlicedCallLogs, slices, companies=companies, calls={"acme": calls})
    doc = svc.issuance.generate("acme", MonthQuery(9, 2025)).document
    data = svc.blobs.objects["invoices/acme/2025-09/acme_2025-09_calls.csv"].decode()
    rows = list(csv.DictReader(io.StringIO(data)))
    assert len([r for r in rows if r["callId"]]) == doc["usageData"]["totalCalls"] == len(ds)
    lines = [r for r in rows if r["amount"]]  # calls and adjustments; the invoice's summary has its own column
    minutes = sum(Decimal(r["billedMinutes"]) for r in lines)
    assert minutes == Decimal(str(doc["lineItems"][0]["quantity"]))  # the minutes the invoice prints
    assert all(re.fullmatch(r"-?[0-9]+\.[0-9]{2}", r["amount"]) for r in lines)
    assert sum(Decimal(r["amount"]) for r in lines) == Decimal(str(doc["subtotal"])) - 99
    summary = {r["note"]: r["invoiceAmount"] for r in rows if r["invoiceAmount"]}
    assert summary["maintenance fee"] == "99.00" and summary["total"] == f"{Decimal(str(doc['totalAmount'])):.2f}"
    assert summary["taxable value"] == f"{Decimal(str(doc['subtotal'])):.2f}"


def test_unplaced_call_logs_are_reported_listed_and_billed_nothing():
    placed = calls_for(VYSEDECK_SEPTEMBER)
    odd = [CallRecord("s1", "2025-09-03T10:00:00Z", 600, "completed"),  # type: ignore[arg-type]
           CallRecord("i1", 1756893600, 600, "completed"),  # type: ignore[arg-type]
           CallRecord("m1", None, 600, "completed")]
    svc = make(calls={"vysedeck": placed + odd})
    preview = svc.preview.preview("vysedeck", MonthQuery(9, 2025))
    doc = svc.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    for body in (preview, doc):
        assert body["unplacedCalls"] == {"count": 3, "ids": ["s1", "i1", "m1"]}
        assert body["totalAmount"] == 1798.32 and body["usageData"]["totalCalls"] == 13  # nothing of theirs billed
    rows = list(csv.DictReader(io.StringIO(svc.blobs.objects["invoices/vysedeck/2025-09/vysedeck_2025-09_calls.csv"].decode())))
    listed = {r["callId"]: (r["amount"], r["note"]) for r in rows if r["note"].startswith("unplaced")}
    assert listed == {
        "s1": ("0.00", "unplaced: startedAt is a string, not a timestamp ('2025-09-03T10:00:00Z')"),
        "i1": ("0.00", "unplaced: startedAt is an integer, not a timestamp (1756893600)"),
        "m1": ("0.00", "unplaced: startedAt is missing"),
    }
    assert sum(Decimal(r["amount"]) for r in rows if r["amount"]) == 24
