"""Bad input gets a clear 4xx JSON error and a log line, and writes nothing; never a 500.

The HTTP edge in this process over the fakes (tests/inprocess.py): the same requests and
assertions the server answered over HTTP, without a server process or emulators."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from inprocess import InProcessApi

NOW = datetime.now(timezone.utc)


@pytest.fixture
def seeded():
    return InProcessApi({
        "norate": {"name": "No Rate", "billing": {"maintenanceFee": 10}},
        "negrate": {"name": "Neg", "billing": {"ratePerMinute": -2}},
        "badgst": {"name": "Bad GSTIN", "gstin": "29AAHCV7310M1ZA", "billing": {"ratePerMinute": 2}},
    })


CASES = [
    ("POST", "/billing/generate/vysedeck?month=0&year=2025", 422, "month must be an integer 1-12"),
    ("POST", "/billing/generate/vysedeck?month=13&year=2025", 422, "month must be an integer 1-12"),
    ("POST", "/billing/generate/vysedeck?month=abc&year=2025", 422, "month must be an integer 1-12"),
    ("POST", "/billing/generate/vysedeck?month=9&year=1999", 422, "year must be between"),
    ("POST", "/billing/generate/vysedeck?month=9&year=3000", 422, "year must be between"),
    ("POST", f"/billing/generate/vysedeck?month={NOW.month}&year={NOW.year}", 422, "has not ended yet"),
    ("POST", "/billing/generate/vysedeck?month=9", 422, "give both month and year"),
    ("POST", "/billing/generate/nosuchco?month=9&year=2025", 404,
     "Invoice generation failed: Company 'nosuchco' not found"),
    ("POST", "/billing/generate/a/b?month=9&year=2025", 422, "company id must be"),
    ("POST", "/billing/generate/..?month=9&year=2025", 422, "company id must be"),
    ("POST", "/billing/generate/acme%20corp?month=9&year=2025", 422, "company id must be"),
    ("POST", "/billing/generate/" + "a" * 200 + "?month=9&year=2025", 422, "company id must be"),
    ("POST", "/billing/generate/VYSEDECK?month=9&year=2025", 422, "company id must be"),
    ("POST", "/billing/generate/norate?month=9&year=2025", 422, "ratePerMinute is required"),
    ("POST", "/billing/generate/negrate?month=9&year=2025", 422, "must not be negative"),
    ("POST", "/billing/generate/badgst?month=9&year=2025", 422, "wrong check character"),
    ("GET", "/billing/invoices/vysedeck/2025-13", 422, "month must be"),
    ("GET", "/billing/invoices/vysedeck/sept", 422, "YYYY-MM"),
    ("GET", "/billing/invoices/vysedeck?year=abc", 422, "year must be an integer"),
    ("GET", "/billing/invoices/nosuchco", 404, "not found"),
    ("GET", "/billing/nothing-here", 404, "No route"),
    ("GET", "/billing/generate/vysedeck", 405, "not allowed"),
]


@pytest.mark.parametrize("method, path, status, fragment", CASES, ids=[c[1][:60] for c in CASES])
def test_bad_input_is_a_clear_4xx_and_writes_nothing(seeded, method, path, status, fragment):
    before = seeded.snapshot()
    got, body, headers = seeded.request(method, path)
    detail = json.loads(body)["detail"]
    assert (got, fragment in detail) == (status, True), (got, detail)
    assert headers["Content-Type"] == "application/json"
    assert seeded.snapshot() == before
    assert any(line.get("requestId") == headers["X-Request-Id"] and line["severity"] == "WARNING"
               for line in seeded.log_lines())


@pytest.mark.parametrize("key, detail", [(None, "Missing API key"), ("sk-not-the-key-7f3a", "Invalid API key"), ("", "Missing API key")])
def test_api_key_is_required(seeded, key, detail):
    before = seeded.snapshot()
    status, body, _ = seeded.request("POST", "/billing/generate/vysedeck?month=9&year=2025", key=key)
    assert status == 401 and json.loads(body)["detail"].startswith(detail)
    assert seeded.snapshot() == before
    log = seeded.log_text()
    assert "sk-not-the-key-7f3a" not in log and seeded.key not in log  # keys are never logged
