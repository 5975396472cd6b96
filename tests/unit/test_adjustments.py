"""Partial credit notes and debit notes over in-memory fakes: hand-computed amounts, the cap,
Idempotency-Key replays, the time limit, and what a refusal writes (nothing)."""

from __future__ import annotations

import copy
import threading
from datetime import datetime, timedelta, timezone

import pytest

from billing.domain import adjustments as adj
from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.errors import ConflictError, ValidationError
from billing.seed import COMPANIES, SUPPLIER, VYSEDECK_SEPTEMBER
from fakes import fake_container

ISSUED_AT = datetime(2025, 10, 2, 6, 0, tzinfo=timezone.utc)
START = datetime(2025, 9, 1, 4, 30, tzinfo=timezone.utc)


def calls_for(durations):
    return [CallRecord(f"c{i:03d}", START + timedelta(days=i * 2, minutes=7 * i), d, "completed")
            for i, d in enumerate(durations)]


def companies():
    docs = copy.deepcopy(COMPANIES)
    # Inter-state at the same Rs 2/min: webxpress's GSTIN (Maharashtra), vysedeck's tariff.
    docs["interstate"] = {**copy.deepcopy(docs["webxpress"]), "billing": copy.deepcopy(docs["vysedeck"]["billing"])}
    return docs


class World:
    def __init__(self):
        self.now = ISSUED_AT
        calls = {"vysedeck": calls_for(VYSEDECK_SEPTEMBER), "interstate": calls_for(VYSEDECK_SEPTEMBER)}
        self.c = fake_container(companies=companies(), supplier=copy.deepcopy(SUPPLIER), calls=calls, clock=lambda: self.now)
        self.service = self.c.adjustments

    def issue(self, company="vysedeck"):
        return self.c.issuance.generate(company, MonthQuery(9, 2025)).document

    def state(self):
        c = self.c
        return copy.deepcopy((c.invoices.docs, c.credit_notes.docs, c.credit_notes.counters, c.debit_notes.docs,
                              c.debit_notes.counters, c.blobs.objects))


def minutes(number, n=40, reason="40 minutes of failed calls disputed"):
    return {"invoiceNumber": number, "reason": reason, "minutes": n}


def test_forty_minutes_intra_state_is_80_plus_cgst_and_sgst_7_20():
    w = World()
    inv = w.issue()
    note = w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]), "k1")
    assert note["creditNoteNumber"] == "CN/25-26/00001" and note["status"] == "issued"
    assert note["documentType"] == "Credit Note" and note["scope"] == "partial"
    assert note["lineItems"] == [{"description": "Voice agent usage (per minute)", "quantity": 40.0, "rate": 2.0,
                                  "amount": 80.0, "unit": "min"}]
    assert (note["taxableValue"], note["gstAmount"], note["totalAmount"]) == (80.0, 14.4, 94.4)
    assert note["taxBreakdown"]["type"] == "intra-state"
    assert [(c["name"], c["amount"]) for c in note["taxBreakdown"]["components"]] == [("CGST", 7.2), ("SGST", 7.2)]
    assert note["amountsPaise"] == {"lineItems": [8000], "subtotal": 8000, "cgst": 720, "sgst": 720, "igst": 0,
                                    "gst": 1440, "total": 9440}
    assert note["originalInvoice"]["invoiceNumber"] == inv["invoiceNumber"]
    assert note["amountInWords"] == "Indian Rupees Ninety Four and Forty Paise Only"
    pdf = f"credit-notes/vysedeck/2025-09/{note['creditNoteId']}_credit-note.pdf"
    assert w.c.blobs.objects[pdf] == b"CREDIT NOTE CN/25-26/00001 94.4"
    stored = w.c.invoices.get(inv["invoiceId"])
    assert stored["status"] == "issued"
    assert stored["adjustments"] == [{"id": note["creditNoteId"], "kind": "credit", "number": "CN/25-26/00001",
                                      "date": "2025-10-02", "taxableValue": 80.0, "gstAmount": 14.4,
                                      "totalAmount": 94.4, "paise": {"taxable": 8000, "gst": 1440, "total": 9440}}]
    assert adj.net_amount(stored) == round(inv["totalAmount"] - 94.4, 2)
    # The void's routes read it back: it is a credit note of the company.
    assert [n["creditNoteNumber"] for n in w.c.corrections.list("vysedeck")] == ["CN/25-26/00001"]


def test_forty_minutes_inter_state_is_igst_14_40():
    w = World()
    inv = w.issue("interstate")
    note = w.service.create("credit", "interstate", "2025-09", minutes(inv["invoiceNumber"]))
    assert note["taxBreakdown"]["type"] == "inter-state"
    assert [(c["name"], c["amount"]) for c in note["taxBreakdown"]["components"]] == [("IGST", 14.4)]
    assert (note["taxableValue"], note["gstAmount"], note["totalAmount"]) == (80.0, 14.4, 94.4)
    assert note["amountsPaise"]["igst"] == 1440 and note["amountsPaise"]["cgst"] == 0


def test_lines_round_each_component_half_up():
    w = World()
    inv = w.issue()
    body = {"invoiceNumber": inv["invoiceNumber"], "reason": "goodwill",
            "lines": [{"description": "Goodwill credit", "taxableValue": 10.05},
                      {"description": "Duplicate call", "taxableValue": 0.02}]}
    note = w.service.create("credit", "vysedeck", "2025-09", body)
    # 10.07 x 9% = 0.9063 -> 0.91 each half; total 10.07 + 1.82.
    assert note["amountsPaise"] == {"lineItems": [1005, 2], "subtotal": 1007, "cgst": 91, "sgst": 91, "igst": 0,
                                    "gst": 182, "total": 1189}


def test_credits_never_exceed_the_taxable_value_and_a_refusal_writes_nothing():
    w = World()
    inv = w.issue()
    taxable = inv["amountsPaise"]["subtotal"]  # 12 min x 2 + 1500 fee = 1524.00
    assert taxable == 152400
    w.service.create("credit", "vysedeck", "2025-09", {
        "invoiceNumber": inv["invoiceNumber"], "reason": "most of it",
        "lines": [{"description": "Fee waived", "taxableValue": 1500}]}, "a")
    before = w.state()
    with pytest.raises(ValidationError, match="exceeds what invoice VX/25-26/00001 has left to credit \\(24.00"):
        w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 12.5), "b")
    assert w.state() == before
    # Exactly the rest is allowed; a debit note raises what can be credited.
    w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 12), "c")
    with pytest.raises(ValidationError):
        w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 0.005), "d")
    w.service.create("debit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 5, "late calls"), "e")
    w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 5), "f")
    stored = w.c.invoices.get(inv["invoiceId"])
    assert adj.remaining_taxable_paise(w.c.invoices.find(inv["invoiceId"])) == 0
    assert [e["kind"] for e in stored["adjustments"]] == ["credit", "credit", "debit", "credit"]


def test_concurrent_credits_never_exceed_the_cap():
    w = World()
    inv = w.issue()
    results, errors = [], []

    def credit(i):
        try:
            results.append(w.service.create("credit", "vysedeck", "2025-09", {
                "invoiceNumber": inv["invoiceNumber"], "reason": f"dispute {i}",
                "lines": [{"description": "Disputed", "taxableValue": 500}]}, f"key-{i}"))
        except ValidationError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=credit, args=(i,)) for i in range(5)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(results) == 3 and len(errors) == 2  # 3 x 500 <= 1524 < 4 x 500
    assert sorted(n["sequence"] for n in results) == [1, 2, 3]


def test_the_same_key_returns_the_same_note_and_another_body_is_409():
    w = World()
    inv = w.issue()
    first = w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]), "same")
    before = w.state()
    assert w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]), "same") == first
    assert w.state() == before
    with pytest.raises(ConflictError, match="different request"):
        w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 41), "same")
    assert w.state() == before
    second = w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]), "other")
    assert second["creditNoteNumber"] == "CN/25-26/00002"


def test_time_limit_applies_to_credit_notes_only():
    w = World()
    inv = w.issue()
    w.now = datetime(2026, 12, 1, 6, 0, tzinfo=timezone.utc)  # after 30 Nov 2026
    before = w.state()
    with pytest.raises(ValidationError, match="section 34"):
        w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]))
    assert w.state() == before
    note = w.service.create("debit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 25, "late calls"))
    assert note["debitNoteNumber"] == "DN/26-27/00001" and note["documentType"] == "Debit Note"
    assert w.c.blobs.objects[f"debit-notes/vysedeck/2025-09/{note['debitNoteId']}_debit-note.pdf"] == \
        b"DEBIT NOTE DN/26-27/00001 59.0"
    assert adj.net_amount(w.c.invoices.get(inv["invoiceId"])) == round(inv["totalAmount"] + 59.0, 2)


def test_debit_note_prefix_comes_from_settings():
    w = World()
    w.c.supplier_settings.doc["debitNotePrefix"] = "VXD"
    inv = w.issue()
    note = w.service.create("debit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 1))
    assert note["debitNoteNumber"] == "VXD/25-26/00001"
    w.c.supplier_settings.doc["debitNotePrefix"] = "TOO-LONG"
    with pytest.raises(Exception, match="debitNotePrefix must be"):
        w.service.create("debit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 1))


@pytest.mark.parametrize("body, message", [
    ({"invoiceNumber": "VX/25-26/00001", "minutes": 4}, "reason is required"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x"}, "either lines or minutes"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x", "minutes": 1, "lines": []}, "either lines or minutes"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x", "minutes": -1}, "positive"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x", "lines": [{"description": "a", "taxableValue": 1.234}]},
     "two decimals"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x", "lines": [{"description": "a"}]}, "exactly"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x", "minutes": "40"}, "JSON number"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x", "minutes": 1.7976931348623157e+308}, "at most"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x", "lines": [{"description": "a", "taxableValue": 1e300}]},
     "at most"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x", "minutes": True}, "JSON number"),
    ({"invoiceNumber": "VX/25-26/00099", "reason": "x", "minutes": 1}, "is not an invoice"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x", "minutes": 1, "reissue": True}, "unknown field"),
])
def test_bad_requests_are_422_and_write_nothing(body, message):
    w = World()
    w.issue()
    before = w.state()
    with pytest.raises(ValidationError, match=message):
        w.service.create("credit", "vysedeck", "2025-09", body)
    assert w.state() == before


def test_a_void_invoice_cannot_be_adjusted():
    w = World()
    inv = w.issue()
    w.c.corrections.void("vysedeck", "2025-09", {"invoiceNumber": inv["invoiceNumber"], "reason": "wrong",
                                                 "reissue": False})
    with pytest.raises(ConflictError, match="is void"):
        w.service.create("debit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]))


def test_a_note_left_issuing_by_a_crash_is_finished_by_its_retry_and_by_the_next_note():
    w = World()
    inv = w.issue()
    real = w.c.blobs.put_create_only

    def crash(*a, **k):
        raise RuntimeError("killed before the PDF was stored")

    w.c.blobs.put_create_only = crash
    with pytest.raises(RuntimeError):
        w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]), "k")
    w.c.blobs.put_create_only = real
    again = w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]), "k")
    assert again["status"] == "issued" and again["creditNoteNumber"] == "CN/25-26/00001"
    w.c.blobs.put_create_only = crash
    with pytest.raises(RuntimeError):
        w.service.create("debit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 3, "late"))  # no key
    w.c.blobs.put_create_only = real
    assert [d.document["status"] for d in w.c.debit_notes.list_for_company("vysedeck")] == ["issuing"]
    w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 1), "k2")
    assert [d.document["status"] for d in w.c.debit_notes.list_for_company("vysedeck")] == ["issued"]
    assert w.c.credit_notes.counters == {"CN_25-26": 3} and w.c.debit_notes.counters == {"DN_25-26": 2}


def test_gstr1_reports_the_month_s_notes_and_reconciles_with_them():
    w = World()
    inv = w.issue()
    cn = w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]))
    dn = w.service.create("debit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 25, "late calls"))
    out = w.c.gst_returns.gstr1("2025-10").to_json()
    [party] = out["cdnr"]
    assert [(n["ntty"], n["nt_num"], n["val"]) for n in party["nt"]] == [
        ("C", cn["creditNoteNumber"], 94.4), ("D", dn["debitNoteNumber"], 59.0)]
    [b2b] = out["b2b"]
    invoice_tax = b2b["inv"][0]["itms"][0]["itm_det"]["camt"]
    hsn = out["hsn"]["hsn_b2b"][0]
    assert round(hsn["txval"], 2) == round(inv["subtotal"] - 80 + 50, 2)
    assert round(hsn["camt"], 2) == round(invoice_tax - 7.2 + 4.5, 2)
    assert [(d["doc_num"], d["docs"][0]["from"]) for d in out["doc_issue"]["doc_det"]] == [
        (1, inv["invoiceNumber"]), (4, dn["debitNoteNumber"]), (5, cn["creditNoteNumber"])]


def late_calls(n, seconds=60):
    """n calls of the last day of September that reached the call log after the invoice."""
    start = datetime(2025, 9, 30, 6, 0, tzinfo=timezone.utc)
    return [CallRecord(f"late{i:03d}", start + timedelta(minutes=3 * i), seconds, "completed") for i in range(n)]


def test_settle_issues_a_debit_note_for_25_late_calls_found_by_reconcile():
    w = World()
    inv = w.issue()
    w.c.call_logs.calls["vysedeck"] = w.c.call_logs.calls["vysedeck"] + late_calls(25)
    w.now = ISSUED_AT + timedelta(days=5)
    out = w.c.settlement.settle("vysedeck", "2025-09", {"invoiceNumber": inv["invoiceNumber"]})
    assert out["settled"] is True and out["kind"] == "debit"
    assert (out["reconcile"]["added"], out["reconcile"]["removed"], out["reconcile"]["changed"]) == (25, 0, 0)
    note = out["note"]
    # 25 calls of 60 s, per-call minutes at Rs 2: 50.00 + CGST 4.50 + SGST 4.50 = 59.00.
    assert (note["taxableValue"], note["gstAmount"], note["totalAmount"]) == (50.0, 9.0, 59.0)
    assert note["debitNoteNumber"] == "DN/25-26/00001" and note["status"] == "issued"
    assert note["settlement"]["added"] == 25 and "25 call(s) added" in note["reason"]
    rows = w.c.blobs.objects[f"debit-notes/vysedeck/2025-09/{note['debitNoteId']}_calls.csv"].decode().splitlines()
    assert rows[0].startswith("callId,startedAt,change") and len(rows) == 26
    assert rows[1].startswith("late000,2025-09-30T06:00:00+00:00,added,,,,,60,completed,60")
    before = w.state()
    again = w.c.settlement.settle("vysedeck", "2025-09", {"invoiceNumber": inv["invoiceNumber"]})
    assert again["note"] == note and w.state() == before  # retried: the same note
    # Five more calls: only they are settled next time; then nothing is left.
    w.c.call_logs.calls["vysedeck"] += [CallRecord(f"later{i}", datetime(2025, 9, 30, 12, i, tzinfo=timezone.utc),
                                                   30, "completed") for i in range(5)]
    more = w.c.settlement.settle("vysedeck", "2025-09", {"invoiceNumber": inv["invoiceNumber"]})
    assert more["note"]["debitNoteNumber"] == "DN/25-26/00002" and more["note"]["taxableValue"] == 10.0


def test_settle_credits_removed_calls_and_does_nothing_without_a_difference():
    w = World()
    inv = w.issue()
    before = w.state()
    out = w.c.settlement.settle("vysedeck", "2025-09", {"invoiceNumber": inv["invoiceNumber"]})
    assert out["settled"] is False and out["note"] is None and "nothing to settle" in out["detail"]
    assert w.state() == before
    w.c.call_logs.calls["vysedeck"] = w.c.call_logs.calls["vysedeck"][:-2]  # two 60 s and 20 s calls gone
    out = w.c.settlement.settle("vysedeck", "2025-09", {"invoiceNumber": inv["invoiceNumber"]})
    assert out["kind"] == "credit" and out["note"]["creditNoteNumber"] == "CN/25-26/00001"
    assert out["note"]["taxableValue"] == 4.0 and out["reconcile"]["removed"] == 2


def test_a_void_is_refused_once_the_invoice_has_notes():
    w = World()
    inv = w.issue()
    w.service.create("debit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], 5, "late"))
    before = w.state()
    with pytest.raises(ConflictError, match="has 1 credit/debit note"):
        w.c.corrections.void("vysedeck", "2025-09", {"invoiceNumber": inv["invoiceNumber"], "reason": "wrong",
                                                     "reissue": True})
    assert w.state() == before


def test_a_partial_credit_note_email_says_it_reduces_the_invoice():
    from billing.adapters.email_message import build_credit_note_email
    from billing.adapters.note_document import note_from_document
    from billing.config import Settings

    w = World()
    inv = w.issue()
    note = w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]))
    message = build_credit_note_email(note_from_document(note), pdf_bytes=b"%PDF", to=["a@b.example"], link=None,
                                      sender="billing@voxa.example", templates_dir=Settings().templates_dir)
    text = message.get_body(("plain",)).get_content()
    assert "reduced" in message["Subject"] and "cancelled" not in message["Subject"]
    assert "It reduces tax invoice VX/25-26/00001" in text and "in full" not in text
    assert "stays payable" in message.get_body(("html",)).get_content()


def test_notes_move_the_invoice_s_balance_once_and_payments_are_capped_by_it():
    """1,798.32 - credit 94.40 (40 min at Rs 2 + 18% GST) + debit 11.80 (5 min at Rs 2 + GST) = 1,715.72 owed."""
    w = World()
    inv = w.issue()
    credit = w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]), "c1")
    w.service.create("credit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"]), "c1")  # a retry: counted once
    w.service.create("debit", "vysedeck", "2025-09", minutes(inv["invoiceNumber"], n=5, reason="late calls"), "d1")
    receivable = w.c.receivables_repo.docs[inv["invoiceId"]]
    assert sorted(receivable["notes"].values()) == [-9440, 1180]
    assert receivable["notes"][credit["creditNoteId"]] == -9440
    view = w.c.receivables.view(w.c.invoices.find(inv["invoiceId"]))
    assert (view["netAmount"], view["balance"], view["paymentStatus"]) == (1715.72, 1715.72, "unpaid")
    payment = {"amount": 1715.73, "date": "2025-10-02", "reference": "UTR1", "mode": "neft"}
    with pytest.raises(ValidationError, match="has a balance of"):
        w.c.receivables.record_payment("vysedeck", "2025-09", payment)
    _, after, _ = w.c.receivables.record_payment("vysedeck", "2025-09", {**payment, "amount": 1715.72})
    assert after.balance.paise == 0
