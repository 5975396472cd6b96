"""The credit-note and debit-note routes in-process: admin only, Idempotency-Key, refusals write
nothing, the debit-note read routes, and the invoice's adjustments and netAmount."""

from __future__ import annotations

import pytest

from e2e_support import READ_KEY
from inprocess import InProcessApi

MONTH = "/billing/invoices/vysedeck/2025-09"


@pytest.fixture
def api():
    api = InProcessApi()
    status, first = api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200, first
    api.number = first["invoiceNumber"]
    return api


def post(api, kind, body, key=None, idem=None):
    headers = {"Content-Type": "application/json"}
    if idem:
        headers["Idempotency-Key"] = idem
    import json

    status, raw, _ = api.request("POST", f"{MONTH}/{kind}-notes", key=key or api.key, headers=headers,
                                 data=json.dumps(body).encode())
    return status, json.loads(raw)


@pytest.mark.parametrize("kind", ["credit", "debit"])
def test_a_read_key_may_not_issue_notes(api, kind):
    before = api.snapshot()
    status, body = post(api, kind, {"invoiceNumber": api.number, "reason": "x", "minutes": 1}, key=READ_KEY)
    assert status == 403 and "admin key" in body["detail"]
    assert api.snapshot() == before


def test_partial_credit_note_over_http_with_an_idempotency_key(api):
    body = {"invoiceNumber": api.number, "reason": "40 minutes of failed calls", "minutes": 40}
    status, note = post(api, "credit", body, idem="dispute-7")
    assert status == 200, note
    assert (note["taxableValue"], note["gstAmount"], note["totalAmount"]) == (80.0, 14.4, 94.4)
    assert "amountsPaise" not in note and "requestDigest" not in note
    assert note["downloadLinks"]["pdf"].endswith(f"/billing/credit-notes/vysedeck/{note['creditNoteId']}/pdf")
    before = api.snapshot()
    assert post(api, "credit", body, idem="dispute-7") == (200, note)
    assert api.snapshot() == before
    status, conflict = post(api, "credit", {**body, "minutes": 41}, idem="dispute-7")
    assert status == 409 and "different request" in conflict["detail"]
    status, raw, headers = api.request("GET", f"/billing/credit-notes/vysedeck/{note['creditNoteId']}/pdf")
    assert status == 200 and raw == b"CREDIT NOTE " + note["creditNoteNumber"].encode() + b" 94.4"
    status, inv = api.json("GET", MONTH)
    assert [(a["kind"], a["number"], a["totalAmount"]) for a in inv["adjustments"]] == [
        ("credit", note["creditNoteNumber"], 94.4)]
    assert inv["netAmount"] == round(inv["totalAmount"] - 94.4, 2)


def test_the_cap_is_422_and_writes_nothing(api):
    before = api.snapshot()
    status, body = post(api, "credit", {"invoiceNumber": api.number, "reason": "too much",
                                        "lines": [{"description": "All of it and more", "taxableValue": 1524.01}]})
    assert status == 422 and "exceeds what invoice" in body["detail"]
    assert api.snapshot() == before


def test_debit_note_routes(api):
    status, note = post(api, "debit", {"invoiceNumber": api.number, "reason": "25 late calls", "minutes": 25},
                        idem="late-1")
    assert status == 200, note
    assert note["documentType"] == "Debit Note" and note["debitNoteNumber"].startswith("DN/")
    assert (note["taxableValue"], note["gstAmount"], note["totalAmount"]) == (50.0, 9.0, 59.0)
    status, listed = api.json("GET", "/billing/debit-notes/vysedeck")
    assert status == 200 and [n["debitNoteId"] for n in listed["debitNotes"]] == [note["debitNoteId"]]
    assert api.json("GET", f"/billing/debit-notes/vysedeck/{note['debitNoteId']}") == (200, note)
    status, raw, headers = api.request("GET", f"/billing/debit-notes/vysedeck/{note['debitNoteId']}/pdf")
    assert status == 200 and raw.startswith(b"DEBIT NOTE DN/")
    assert "debit-note.pdf" in headers["Content-Disposition"]
    assert api.json("GET", "/billing/debit-notes/vysedeck/nope")[0] == 422
    assert api.json("GET", f"/billing/debit-notes/vysedeck/vysedeck_2025-08_dn-{'0' * 24}")[0] == 404
    assert api.json("GET", f"/billing/debit-notes/webxpress/{note['debitNoteId']}")[0] == 404
    status, inv = api.json("GET", MONTH)
    assert inv["netAmount"] == round(inv["totalAmount"] + 59.0, 2)
    [entry] = inv["history"]
    assert [(a["kind"], a["number"]) for a in entry["adjustments"]] == [("debit", note["debitNoteNumber"])]
    assert entry["netAmount"] == inv["netAmount"]


def test_settle_over_http(api):
    before = api.snapshot()
    status, body = api.post_json(f"{MONTH}/settle", {"invoiceNumber": api.number}, key=READ_KEY)
    assert status == 403 and api.snapshot() == before
    status, body = api.post_json(f"{MONTH}/settle", {"invoiceNumber": api.number})
    assert status == 200 and body["settled"] is False and body["note"] is None
    assert api.snapshot() == before
    status, body = api.post_json(f"{MONTH}/settle", {"invoiceNumber": api.number, "extra": 1})
    assert status == 422 and api.snapshot() == before
