"""Contract tests of the HTTP edge that need no emulator: open routes, key roles, void refusals,
the dates old clients parse, what responses leave out.

In this process over the fakes (tests/inprocess.py), with the assertions they had over HTTP."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from e2e_support import READ_KEY
from inprocess import InProcessApi

MONTH = "/billing/invoices/vysedeck/2025-09"


@pytest.fixture
def api():
    return InProcessApi()


def test_health_needs_no_key(api):
    assert api.json("GET", "/", key=None) == (200, {"message": "Billing API is running!"})
    status, doc = api.json("GET", "/openapi.json", key=None)
    assert status == 200 and "/billing/generate/{company}" in doc["paths"]


@pytest.mark.parametrize("method, path, admin_only", [
    ("POST", "/billing/run?month=9&year=2025", True),
    ("POST", "/billing/invoices/vysedeck/2025-09/send", True),
    ("POST", "/billing/generate/vysedeck?month=9&year=2025", False),
    ("GET", "/billing/invoices/vysedeck", False),
])
def test_key_roles(api, method, path, admin_only):
    """A read key may generate and read; run and send need an admin key (403, nothing written)."""
    before = sorted(api.container.invoices.docs)
    status, body = api.json(method, path, key=READ_KEY)
    if admin_only:
        assert status == 403, body
        assert "admin key" in body["detail"]
        assert sorted(api.container.invoices.docs) == before
        assert api.container.runs.summaries == {} and api.container.publisher.messages == []
    else:
        assert status == 200, body


def void(api, number, reason="Rate per minute was wrong (2.00, agreed 1.50)", reissue=True, key=None):
    return api.post_json(f"{MONTH}/void", {"invoiceNumber": number, "reason": reason, "reissue": reissue}, key)


def test_refusals_write_nothing(api):
    status, first = api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200, first
    number = first["invoiceNumber"]
    before = api.snapshot()
    cases = [
        ({"invoiceNumber": number, "reissue": True}, None, 422, "reason is required"),
        ({"invoiceNumber": number, "reason": ""}, None, 422, "reason is required"),
        ({"invoiceNumber": "VX/99-00/00001", "reason": "x"}, None, 422, "is not an invoice of company 'vysedeck'"),
        ({"invoiceNumber": number, "reason": "x"}, READ_KEY, 403, "admin key"),
        (b"not json", None, 422, "JSON object"),
    ]
    for payload, key, code, message in cases:
        status, body = api.post_json(f"{MONTH}/void", payload, key)
        assert status == code and message in body["detail"], (payload, status, body)
    status, body = api.post_json("/billing/invoices/vysedeck/2025-08/void", {"invoiceNumber": number, "reason": "x"})
    assert status == 422 and "has no invoice" in body["detail"]
    assert api.snapshot() == before

    # The section 34 time limit: an invoice dated in FY 2024-25 could be credited until 30 November 2025.
    api.container.invoices.docs["vysedeck_2025-09"]["invoiceDate"] = "2025-03-31"
    before = api.snapshot()
    status, body = void(api, number)
    assert status == 422 and "2025-11-30" in body["detail"] and "section 34" in body["detail"], body
    assert api.snapshot() == before


def test_an_old_client_parses_the_dates_as_before(api):
    """Parse the response the way the old API's Python callers do: aware datetimes that compare."""
    _, inv = api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    issued = datetime.fromisoformat(inv["invoiceDate"])
    due = datetime.fromisoformat(inv["dueDate"])
    start = datetime.fromisoformat(inv["billingPeriod"]["startDate"])
    end = datetime.fromisoformat(inv["billingPeriod"]["endDate"])
    assert all(d.tzinfo is not None for d in (issued, due, start, end))
    assert issued.utcoffset() == timedelta(hours=5, minutes=30)  # the supplier's calendar (IST)
    assert due - issued == timedelta(days=7)
    assert start < end < issued  # comparing aware values never raises
    assert end - start == timedelta(days=30) - timedelta(seconds=1)


def test_a_utc_company_gets_exactly_the_old_period_strings():
    api = InProcessApi({"utcco": {"name": "UTC Co", "billing": {"ratePerMinute": 1, "timezone": "UTC"}}})
    status, inv = api.json("POST", "/billing/generate/utcco?month=9&year=2025")
    assert status == 200, inv
    assert inv["billingPeriod"]["startDate"] == "2025-09-01T00:00:00+00:00"
    assert inv["billingPeriod"]["endDate"] == "2025-09-30T23:59:59+00:00"


def test_responses_carry_no_internals_and_send_writes_nothing_on_4xx(api):
    api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    invoices = api.container.invoices
    invoices.update("vysedeck_2025-09", {"delivery.lastError": "550 5.1.1 <accounts@vysedeck.example>: raw relay text",
                                         "delivery.claim": "claim-123", "delivery.status": "failed"})
    before = invoices.get("vysedeck_2025-09")
    status, body = api.json("GET", "/billing/invoices/vysedeck/2025-09")
    assert status == 200
    text = json.dumps(body)
    for internal in ("raw relay text", "claim-123", "csvStaging", "staging/", "amountsPaise", "tariff"):
        assert internal not in text, internal
    assert body["delivery"] == {"status": "failed", "attempts": 0}
    status, body = api.json("POST", "/billing/invoices/vysedeck/2025-09/send")  # no SMTP configured
    assert status == 409, body
    assert invoices.get("vysedeck_2025-09") == before
