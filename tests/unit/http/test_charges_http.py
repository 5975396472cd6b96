"""POST/GET /billing/companies/{company}/charges in-process over fakes: statuses, bodies, nothing
written on a refusal, and the charge on the month's invoice and preview."""

from __future__ import annotations

from http_inprocess import World

ADMIN = {"X-API-Key": "admin-key"}
BODY = {"period": "2025-10", "description": "Onboarding and number porting", "amount": 999.99}


def test_add_list_replay_and_the_invoice():
    world = World()
    client = world.client
    created = client.post("/billing/companies/vysedeck/charges", json=BODY, headers={**ADMIN, "Idempotency-Key": "a1"})
    assert created.status_code == 201
    charge = created.get_json()
    assert {k: charge[k] for k in ("companyId", "period", "description", "amount")} == {
        "companyId": "vysedeck", "period": "2025-10", "description": "Onboarding and number porting", "amount": 999.99}
    replay = client.post("/billing/companies/vysedeck/charges", json=BODY, headers={**ADMIN, "Idempotency-Key": "a1"})
    assert replay.status_code == 200 and replay.get_json() == charge
    before = world.state()
    other = client.post("/billing/companies/vysedeck/charges", json={**BODY, "amount": 5},
                        headers={**ADMIN, "Idempotency-Key": "a1"})
    assert other.status_code == 409 and "different request" in other.get_json()["detail"]
    assert world.state() == before
    listed = client.get("/billing/companies/vysedeck/charges?period=2025-10", headers=ADMIN).get_json()
    assert listed == {"companyId": "vysedeck", "period": "2025-10", "charges": [charge], "total": 999.99}
    preview = client.get("/billing/preview/vysedeck?month=10&year=2025", headers=ADMIN).get_json()
    issued = client.post("/billing/generate/vysedeck?month=10&year=2025", headers=ADMIN).get_json()
    for doc in (preview, issued):
        assert doc["lineItems"][-1] == {"description": "One-off charge: Onboarding and number porting",
                                        "quantity": 1, "rate": 999.99, "amount": 999.99, "unit": "each"}
        assert [c["chargeId"] for c in doc["oneOffCharges"]] == [charge["chargeId"]]
    # no calls in October: fee 1500.00 + 999.99 = 2499.99; GST 18% intra-state: 224.9991 -> 225.00 twice
    assert (issued["subtotal"], issued["gstAmount"], issued["totalAmount"]) == (2499.99, 450.0, 2949.99)
    # the month is issued now: 409, nothing written; the same key still returns its charge
    before = world.state()
    late = client.post("/billing/companies/vysedeck/charges", json={**BODY, "description": "late"}, headers=ADMIN)
    assert late.status_code == 409 and "debit note" in late.get_json()["detail"]
    assert world.state() == before
    again = client.post("/billing/companies/vysedeck/charges", json=BODY, headers={**ADMIN, "Idempotency-Key": "a1"})
    assert again.status_code == 200 and again.get_json() == charge


def test_refusals_are_json_and_write_nothing():
    world = World()
    before = world.state()
    cases = [
        ("/billing/companies/nobody/charges", BODY, 404, "Company 'nobody' not found"),
        ("/billing/companies/vysedeck/charges", {**BODY, "amount": 0}, 422, "greater than zero"),
        ("/billing/companies/vysedeck/charges", {**BODY, "amount": 10.001}, 422, "two decimals"),
        ("/billing/companies/vysedeck/charges", {**BODY, "description": " "}, 422, "description must be 1 to 200"),
        ("/billing/companies/vysedeck/charges", {**BODY, "period": "2025-9"}, 422, "YYYY-MM"),
        ("/billing/companies/vysedeck/charges", {**BODY, "period": "2025-09"}, 409, "already invoiced"),
        ("/billing/companies/Bad!/charges", BODY, 422, "company"),
    ]
    for url, body, status, detail in cases:
        response = world.client.post(url, json=body, headers=ADMIN)
        assert response.status_code == status, (body, response.get_json())
        assert detail in response.get_json()["detail"]
    bad_key = world.client.post("/billing/companies/vysedeck/charges", json=BODY,
                                headers={**ADMIN, "Idempotency-Key": "\u00e9"})
    assert bad_key.status_code == 422 and "Idempotency-Key" in bad_key.get_json()["detail"]
    assert world.state() == before
    missing = world.client.get("/billing/companies/vysedeck/charges", headers=ADMIN)
    assert missing.status_code == 422 and "period" in missing.get_json()["detail"]
