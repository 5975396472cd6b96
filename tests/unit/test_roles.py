"""Roles (DESIGN.md section 10): every route of openapi.json x every kind of key, in-process over fakes.

The table below has one row per operation of the served OpenAPI document: a route added without a
row fails `test_the_table_covers_every_route`. Each case starts from the same seeded world (an
issued September, a voided-and-reissued August with its credit note, a run) and checks the status,
and that nothing was written when the answer is 401 or 403.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from billing.config import Settings
from billing.domain.adjustments import key_token
from billing.entrypoints.http.auth import REQUIRED_ROLE
from billing.entrypoints.http.routes import OPENAPI_PATH, ROUTES
from billing.seed import COMPANIES
from http_inprocess import KEYS, World

SEED_DEBIT_NOTE = f"webxpress_2025-09_dn-{key_token('seed')}"  # the World's debit note (Idempotency-Key "seed")

# (method, OpenAPI path) -> (a concrete request, the status an allowed key gets, the least role)
TABLE: dict[tuple[str, str], tuple[str, int, str | None]] = {
    ("GET", "/"): ("/", 200, None),
    ("GET", "/openapi.json"): ("/openapi.json", 200, None),
    ("POST", "/billing/generate/{company}"): ("/billing/generate/vysedeck?month=10&year=2025", 200, "api"),
    ("GET", "/billing/invoices/{company}"): ("/billing/invoices/vysedeck", 200, "read"),
    ("GET", "/billing/invoices/{company}/{period}"): ("/billing/invoices/vysedeck/2025-09", 200, "read"),
    ("GET", "/billing/invoices/{company}/{period}/pdf"): ("/billing/invoices/vysedeck/2025-09/pdf", 200, "read"),
    ("GET", "/billing/invoices/{company}/{period}/csv"): ("/billing/invoices/vysedeck/2025-09/csv", 200, "read"),
    ("POST", "/billing/invoices/{company}/{period}/send"): ("/billing/invoices/vysedeck/2025-09/send", 200, "admin"),
    ("POST", "/billing/run"): ("/billing/run?month=11&year=2025", 202, "admin"),
    ("GET", "/billing/runs/{period}"): ("/billing/runs/2025-09", 200, "read"),
    ("POST", "/billing/invoices/{company}/{period}/void"): ("/billing/invoices/vysedeck/2025-09/void", 200, "admin"),
    ("GET", "/billing/invoices/{company}/{period}/reconcile"):
        ("/billing/invoices/vysedeck/2025-09/reconcile", 200, "read"),
    ("GET", "/billing/credit-notes/{company}"): ("/billing/credit-notes/vysedeck", 200, "read"),
    ("GET", "/billing/credit-notes/{company}/{creditNoteId}"):
        ("/billing/credit-notes/vysedeck/vysedeck_2025-08_cn", 200, "read"),
    ("GET", "/billing/credit-notes/{company}/{creditNoteId}/pdf"):
        ("/billing/credit-notes/vysedeck/vysedeck_2025-08_cn/pdf", 200, "read"),
    ("POST", "/billing/credit-notes/{company}/{creditNoteId}/send"):
        ("/billing/credit-notes/vysedeck/vysedeck_2025-08_cn/send", 200, "admin"),
    ("GET", "/billing/preview/{company}"): ("/billing/preview/vysedeck?month=11&year=2025", 200, "read"),
    ("GET", "/billing/gst/gstr1/{period}"): ("/billing/gst/gstr1/2025-09", 200, "read"),
    ("POST", "/billing/invoices/{company}/{period}/credit-notes"):
        ("/billing/invoices/vysedeck/2025-09/credit-notes", 200, "admin"),
    ("POST", "/billing/invoices/{company}/{period}/debit-notes"):
        ("/billing/invoices/vysedeck/2025-09/debit-notes", 200, "admin"),
    ("POST", "/billing/invoices/{company}/{period}/settle"): ("/billing/invoices/vysedeck/2025-09/settle", 200, "admin"),
    ("GET", "/billing/debit-notes/{company}"): ("/billing/debit-notes/webxpress", 200, "read"),
    ("GET", "/billing/debit-notes/{company}/{debitNoteId}"):
        (f"/billing/debit-notes/webxpress/{SEED_DEBIT_NOTE}", 200, "read"),
    ("GET", "/billing/debit-notes/{company}/{debitNoteId}/pdf"):
        (f"/billing/debit-notes/webxpress/{SEED_DEBIT_NOTE}/pdf", 200, "read"),
    ("POST", "/billing/debit-notes/{company}/{debitNoteId}/send"):
        (f"/billing/debit-notes/webxpress/{SEED_DEBIT_NOTE}/send", 200, "admin"),
    # receivables (DESIGN 14)
    ("POST", "/billing/invoices/{company}/{period}/payments"):
        ("/billing/invoices/vysedeck/2025-09/payments", 201, "admin"),
    ("POST", "/billing/invoices/{company}/{period}/payments/{reference}/reverse"):
        ("/billing/invoices/vysedeck/2025-09/payments/CHQ000001/reverse", 200, "admin"),
    ("GET", "/billing/receivables/aging"): ("/billing/receivables/aging?asOf=2026-01-31", 200, "read"),
    ("GET", "/billing/receivables/tds"): ("/billing/receivables/tds?fy=2025-26&quarter=3", 200, "read"),
    ("GET", "/billing/companies/{company}/statement"): ("/billing/companies/vysedeck/statement", 200, "read"),
    ("GET", "/billing/exports/tally"): ("/billing/exports/tally?month=12&year=2025", 200, "read"),
    ("GET", "/billing/companies"): ("/billing/companies", 200, "read"),
    ("GET", "/billing/companies/{company}"): ("/billing/companies/vysedeck", 200, "read"),
    ("PUT", "/billing/companies/{company}"): ("/billing/companies/vysedeck", 200, "admin"),
    ("GET", "/billing/settings"): ("/billing/settings", 200, "read"),
    # one-off charges (DESIGN 15): November is open (the World issues September and voids August)
    ("GET", "/billing/companies/{company}/charges"): ("/billing/companies/vysedeck/charges?period=2025-09", 200, "read"),
    ("POST", "/billing/companies/{company}/charges"): ("/billing/companies/vysedeck/charges", 201, "admin"),
    ("PUT", "/billing/settings"): ("/billing/settings", 200, "admin"),
}
RANK = {None: -1, "read": 0, "api": 1, "admin": 2}


def openapi() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(OPENAPI_PATH.read_text())
    return doc


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    return {(method.upper(), path): op for path, ops in openapi()["paths"].items()
            for method, op in ops.items() if method in ("get", "post", "put", "patch", "delete")}


@pytest.fixture(scope="module")
def seeded() -> World:
    return World()


def test_the_table_covers_every_route():
    """Every operation of the OpenAPI document has a row, and every route of the server an operation."""
    assert set(TABLE) == set(operations())
    adapter = ROUTES.bind("localhost")
    reached = {adapter.match(url.split("?")[0], method=method)[0] for (method, _), (url, _, _) in TABLE.items()}
    assert reached == {rule.endpoint for rule in ROUTES.iter_rules()} == set(REQUIRED_ROLE)


@pytest.mark.parametrize("operation", sorted(TABLE), ids=lambda op: f"{op[0]} {op[1]}")
def test_openapi_states_each_routes_role(operation):
    method, path = operation
    url, _, role = TABLE[operation]
    endpoint, _ = ROUTES.bind("localhost").match(url.split("?")[0], method=method)
    assert REQUIRED_ROLE[endpoint] == role
    op = operations()[operation]
    assert op.get("x-required-role", None) == role
    if role is None:
        assert op.get("security") == []
    else:
        assert "403" in op["responses"] or role == "read", "a route some key may not call documents its 403"


@pytest.mark.parametrize("kind", list(KEYS))
@pytest.mark.parametrize("operation", sorted(TABLE), ids=lambda op: f"{op[0]} {op[1]}")
def test_every_route_with_every_key(seeded, operation, kind):
    url, allowed_status, role = TABLE[operation]
    world = World() if operation[0] in ("POST", "PUT") else seeded  # a write starts from its own copy of the world
    before = world.state()
    response = world.call(operation[0], url, KEYS[kind])
    body = response.get_json()
    if role is None:
        expected = allowed_status
    elif kind in ("none", "unknown"):
        expected = 401
    else:
        expected = allowed_status if RANK[kind] >= RANK[role] else 403
    assert response.status_code == expected, body
    if expected in (401, 403):
        assert set(body) == {"detail"}
        assert world.state() == before, "nothing is written on 401/403"
    if expected == 403:
        assert "BILLING_" in body["detail"]


def test_an_api_key_may_not_issue_for_an_inactive_company():
    companies = copy.deepcopy(COMPANIES)
    companies["vysedeck"]["active"] = False
    world = World(companies)
    before = world.state()
    response = world.call("POST", "/billing/generate/vysedeck?month=10&year=2025", "api-key")
    assert response.status_code == 403 and "not active" in response.get_json()["detail"]
    assert world.state() == before
    response = world.call("POST", "/billing/generate/vysedeck?month=10&year=2025", "admin-key")
    assert response.status_code == 200 and response.get_json()["status"] == "issued"


def test_the_reissue_of_a_month_voided_without_reissue_needs_an_admin_key():
    world = World()
    number = world.september["invoiceNumber"]
    response = world.client.post("/billing/invoices/vysedeck/2025-09/void", headers={"X-API-Key": "admin-key"},
                                 json={"invoiceNumber": number, "reason": "Wrong rate", "reissue": False})
    assert response.status_code == 200 and response.get_json()["reissued"] is None
    before = world.state()
    for kind in ("read", "api"):
        response = world.call("POST", "/billing/generate/vysedeck?month=9&year=2025", KEYS[kind])
        assert response.status_code == 403, response.get_json()
        assert world.state() == before
    response = world.call("POST", "/billing/generate/vysedeck?month=9&year=2025", "admin-key")
    reissued = response.get_json()
    assert response.status_code == 200 and reissued["status"] == "issued" and reissued["invoiceNumber"] != number
    # once reissued, an api key gets the month's (issued) invoice back
    again = world.call("POST", "/billing/generate/vysedeck?month=9&year=2025", "api-key")
    assert again.status_code == 200 and again.get_json()["invoiceNumber"] == reissued["invoiceNumber"]


def test_a_key_in_two_lists_has_the_stronger_role():
    settings = Settings(read_keys=("k",), admin_keys=("k",))
    world = World()
    world.container.settings = settings
    assert world.call("POST", "/billing/run?month=11&year=2025", "k").status_code == 202
