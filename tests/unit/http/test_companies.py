"""Company and supplier management over the HTTP edge (in this process, over the fakes), the strict
schema's errors, and the billing dates (DESIGN 11, 15): every refusal names why and writes nothing."""

from __future__ import annotations

import json

import pytest

from e2e_support import READ_KEY
from inprocess import InProcessApi

ACME = {"name": "Acme Logistics Pvt Ltd", "gstin": "29AAHCV7310M1ZU", "billingEmail": "ap@acme.example",
        "billing": {"ratePerMinute": 2, "maintenanceFee": 1000, "timezone": "Asia/Kolkata"},
        "crmRef": {"id": 7}}


def put(api: InProcessApi, path: str, doc: object, key: str | None = None) -> tuple[int, object]:
    status, body, _ = api.request("PUT", path, key=key or api.key, data=json.dumps(doc).encode(),
                                  headers={"Content-Type": "application/json"})
    return status, json.loads(body)


@pytest.fixture
def api():
    return InProcessApi({"Ab3XyZgenerated0001": {"name": "Imported", "billing": {"ratePerMinute": 1}},
                         "strfalse": {"name": "Strings", "active": "false", "billing": {"ratePerMinute": "2"}}})


def test_put_creates_then_replaces_idempotently_and_the_company_is_billed(api):
    status, body = put(api, "/billing/companies/acme", ACME)
    assert status == 200 and body == {"companyId": "acme", "company": ACME}
    assert put(api, "/billing/companies/acme", ACME) == (200, body)  # the same PUT again: same state
    assert api.container.companies.docs["acme"] == ACME  # unknown fields (crmRef) kept
    assert api.json("GET", "/billing/companies/acme", key=READ_KEY) == (200, body)
    status, invoice = api.json("POST", "/billing/generate/acme?month=9&year=2025")
    assert status == 200 and invoice["subtotal"] == 1000.0 and invoice["recipient"]["legalName"] == ACME["name"]


@pytest.mark.parametrize("doc, detail", [
    ({**ACME, "active": "false"}, "active = 'false' (string): expected a boolean (true or false)"),
    ({**ACME, "billing": {"ratePerMinute": "2"}}, "billing.ratePerMinute = '2' (string): expected a number"),
    ({**ACME, "billing": {"ratePerMinute": True}}, "billing.ratePerMinute = True (boolean): expected a number"),
    ({**ACME, "billing": {"ratePerMinute": 2, "pulseSeconds": 30.5, "policy": "pulse"}},
     "billing.pulseSeconds = 30.5 (number): expected an integer"),
    ({**ACME, "billingStartDate": "01/09/2025"}, "billingStartDate = '01/09/2025' (string): expected an ISO date"),
    ({**ACME, "billingStartDate": 20250901}, "billingStartDate = 20250901 (number): expected a string"),
    ({"name": "x"}, "billing.ratePerMinute is required"),
    ({**ACME, "billing": {"ratePerMinute": -1}}, "billing.ratePerMinute"),
    ({**ACME, "gstin": "29AAHCV7310M1ZA"}, "GSTIN"),
    ({**ACME, "billingStartDate": "2025-10-01", "billingEndDate": "2025-09-30"}, "is after billingEndDate"),
    ({**ACME, "__name__": 1}, "not a field name Firestore accepts"),
    ({**ACME, "tags": [[1]]}, "an array inside an array"),
    ([1, 2], "must be a JSON object"),
])
def test_put_refuses_a_bad_document_naming_the_field_and_writes_nothing(api, doc, detail):
    before = api.snapshot()
    status, body = put(api, "/billing/companies/acme", doc)
    assert status == 422 and detail in body["detail"], body
    assert api.snapshot() == before


def test_put_needs_an_admin_key_and_a_valid_id(api):
    before = api.snapshot()
    assert put(api, "/billing/companies/acme", ACME, key=READ_KEY)[0] == 403
    assert api.request("PUT", "/billing/companies/acme", key=None, data=b"{}")[0] == 401
    status, body = put(api, "/billing/companies/Acme%20Ltd", ACME)
    assert status == 422 and "company id must be 1-64 characters" in body["detail"]
    assert api.snapshot() == before


def test_list_pages_and_names_what_keeps_a_company_from_being_billed(api):
    status, page1 = api.json("GET", "/billing/companies?pageSize=2", key=READ_KEY)
    assert status == 200 and [c["companyId"] for c in page1["companies"]] == ["Ab3XyZgenerated0001", "dcgpac"]
    imported = page1["companies"][0]
    assert "^[a-z0-9_-]{1,64}$" in imported["problems"][0] and "copy the document" in imported["problems"][0]
    ids = [c["companyId"] for c in page1["companies"]]
    token = page1["nextPageToken"]
    while token:
        status, page = api.json("GET", f"/billing/companies?pageSize=2&pageToken={token}", key=READ_KEY)
        ids += [c["companyId"] for c in page["companies"]]
        token = page["nextPageToken"]
        if "strfalse" in [c["companyId"] for c in page["companies"]]:
            bad = next(c for c in page["companies"] if c["companyId"] == "strfalse")
            assert bad["active"] is None and any("active = 'false'" in p for p in bad["problems"])
    assert ids == ["Ab3XyZgenerated0001", "dcgpac", "strfalse", "vysedeck", "webxpress"]
    assert api.json("GET", "/billing/companies?pageToken=%2F%2F", key=READ_KEY)[0] == 422
    assert api.json("GET", "/billing/companies?pageSize=0", key=READ_KEY)[0] == 422


def test_a_malformed_stored_company_is_a_422_naming_field_value_and_type(api):
    before = api.snapshot()
    for method, path in (("POST", "/billing/generate/strfalse?month=9&year=2025"),
                         ("GET", "/billing/preview/strfalse?month=9&year=2025"),
                         ("GET", "/billing/companies/strfalse")):
        status, body = api.json(method, path)
        assert status == 422, (path, body)
        assert "active = 'false' (string): expected a boolean" in body["detail"]
        assert "billing.ratePerMinute = '2' (string): expected a number" in body["detail"]
    assert api.snapshot() == before


def test_settings_show_and_replace(api):
    status, body = api.json("GET", "/billing/settings", key=READ_KEY)
    assert status == 200 and body["settings"]["invoicePrefix"] == "VX"
    new = {**body["settings"], "invoicePrefix": "AC", "legalName": "Acme Billing Pvt Ltd"}
    assert put(api, "/billing/settings", new, key=READ_KEY)[0] == 403
    before = api.snapshot()
    for bad, detail in (({**new, "invoicePrefix": 12}, "invoicePrefix = 12 (number): expected a string"),
                        ({**new, "invoicePrefix": "TOOLONG"}, "invoicePrefix"),
                        ({**new, "bank": {"ifsc": 1}}, "bank.ifsc = 1 (number): expected a string"),
                        ({"address": "x"}, "legalName is required")):
        status, err = put(api, "/billing/settings", bad)
        assert status == 422 and detail in err["detail"], err
    assert api.snapshot() == before
    assert put(api, "/billing/settings", new) == (200, {"settings": new})
    status, invoice = api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200 and invoice["invoiceNumber"].startswith("AC/")


@pytest.mark.parametrize("dates, month, reason", [
    ({"billingStartDate": "2025-10-15"}, 9, "2025-09 is before the company's billingStartDate 2025-10-15"),
    ({"billingEndDate": "2025-08-31"}, 9, "2025-09 is after the company's billingEndDate 2025-08-31"),
])
def test_months_outside_the_billing_dates_are_refused(api, dates, month, reason):
    assert put(api, "/billing/companies/acme", {**ACME, **dates})[0] == 200
    before = api.snapshot()
    for method, path in (("POST", f"/billing/generate/acme?month={month}&year=2025"),
                         ("GET", f"/billing/preview/acme?month={month}&year=2025")):
        status, body = api.json(method, path)
        assert status == 422 and reason in body["detail"], body
    assert api.snapshot() == before


def test_months_inside_the_billing_dates_are_billed_even_when_partly_covered(api):
    assert put(api, "/billing/companies/acme", {**ACME, "billingStartDate": "2025-09-30",
                                                "billingEndDate": "2025-09-30"})[0] == 200
    assert api.json("POST", "/billing/generate/acme?month=9&year=2025")[0] == 200


def test_billing_first_period_refuses_earlier_months():
    api = InProcessApi(first_period="2025-10")
    before = api.snapshot()
    status, body = api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert status == 422 and "2025-09 is before BILLING_FIRST_PERIOD 2025-10" in body["detail"]
    assert api.snapshot() == before
