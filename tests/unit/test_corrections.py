"""Void + credit note + reissue, the month's history, preview and reconcile over in-memory fakes."""

from __future__ import annotations

import copy
import threading
from datetime import datetime, timedelta, timezone

import pytest

from billing.config import Settings
from billing.domain.credit_note import time_limit
from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.errors import ConflictError, NotFoundError, ValidationError
from billing.seed import COMPANIES, SUPPLIER, VYSEDECK_SEPTEMBER
from fakes import fake_container

ISSUED_AT = datetime(2025, 10, 2, 6, 0, tzinfo=timezone.utc)
START = datetime(2025, 9, 1, 4, 30, tzinfo=timezone.utc)


def month_documents(w):
    """(the current invoice's document, the month's documents oldest first)."""
    current, invoices = w.queries.current_and_history("vysedeck", "2025-09")
    return current.document, [i.document for i in invoices]


def calls_for(durations, start=START):
    return [CallRecord(f"c{i:03d}", start + timedelta(days=i * 2, minutes=7 * i), d, "completed")
            for i, d in enumerate(durations)]


class World:
    def __init__(self, slices: int = 1):
        self.now = ISSUED_AT
        c = fake_container(Settings(read_slices=slices), companies=copy.deepcopy(COMPANIES),
                           calls={"vysedeck": calls_for(VYSEDECK_SEPTEMBER)}, clock=lambda: self.now)
        self.container = c
        self.companies, self.calls, self.invoices, self.blobs = c.companies, c.call_logs, c.invoices, c.blobs
        self.credit_notes = c.credit_notes
        self.issuance, self.queries, self.preview = c.issuance, c.queries, c.preview
        self.corrections, self.reconciler = c.corrections, c.reconcile

    def state(self):
        return copy.deepcopy((self.invoices.docs, self.invoices.counters, self.credit_notes.docs,
                              self.credit_notes.counters, self.blobs.objects))


def body(number, reason="Wrong rate per minute", reissue=True):
    return {"invoiceNumber": number, "reason": reason, "reissue": reissue}


def test_void_and_reissue_at_the_new_rate():
    w = World()
    first = w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    w.companies.docs["vysedeck"]["billing"]["ratePerMinute"] = 1.5
    w.now = ISSUED_AT + timedelta(days=18)
    out = w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"])).to_json()
    voided, note, reissued = out["voided"], out["creditNote"], out["reissued"]
    assert voided["invoiceNumber"] == first["invoiceNumber"] == "VX/25-26/00001"
    assert voided["status"] == "void"
    assert voided["voidedBy"] == {"creditNoteId": "vysedeck_2025-09_cn", "creditNoteNumber": "CN/25-26/00001",
                                  "creditNoteDate": "2025-10-20"}
    assert voided["replacedBy"] == "vysedeck_2025-09_r1"
    assert note["status"] == "issued" and note["totalAmount"] == first["totalAmount"]
    assert note["taxBreakdown"] == first["taxBreakdown"] and note["subtotal"] == first["subtotal"]
    assert note["originalInvoice"]["invoiceNumber"] == "VX/25-26/00001"
    assert note["reason"] == "Wrong rate per minute"
    assert reissued["invoiceNumber"] == "VX/25-26/00002" and reissued["status"] == "issued"
    assert reissued["invoiceId"] == "vysedeck_2025-09_r1" and reissued["revision"] == 1
    assert reissued["lineItems"][0]["rate"] == 1.5 and reissued["subtotal"] == 12 * 1.5 + 1500
    # Files: the first invoice's stay as they were, the reissue has its own, the credit note its PDF.
    assert sorted(w.blobs.objects) == [
        "credit-notes/vysedeck/2025-09/vysedeck_2025-09_cn_credit-note.pdf",
        "invoices/vysedeck/2025-09/vysedeck_2025-09_calls.csv",
        "invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf",
        "invoices/vysedeck/2025-09/vysedeck_2025-09_invoice_cancelled.pdf",
        "invoices/vysedeck/2025-09/vysedeck_2025-09_r1_calls.csv",
        "invoices/vysedeck/2025-09/vysedeck_2025-09_r1_invoice.pdf",
    ]
    current, history = month_documents(w)
    assert current["invoiceId"] == "vysedeck_2025-09_r1"
    assert [d["status"] for d in history] == ["void", "issued"]
    assert w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document["invoiceNumber"] == "VX/25-26/00002"
    assert w.invoices.counters == {"VX_25-26": 3} and w.credit_notes.counters == {"CN_25-26": 2}


def test_a_retried_void_returns_what_the_first_produced():
    w = World()
    first = w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    out = w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"])).to_json()
    before = w.state()
    again = w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"])).to_json()
    assert again == out
    assert w.state() == before


@pytest.mark.parametrize("changed, asks", [
    ({"reason": "other"}, "this request asks for reason 'other'"),
    ({"reissue": False}, "this request asks for reissue false"),
    ({"reason": "other", "reissue": False}, "reason 'other' and reissue false"),
])
def test_a_void_repeated_with_other_parameters_is_409_saying_what_the_first_did(changed, asks):
    w = World()
    first = w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    w.now = ISSUED_AT + timedelta(days=18)
    w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"]))
    before = w.state()
    with pytest.raises(ConflictError) as refused:
        w.corrections.void("vysedeck", "2025-09", {**body(first["invoiceNumber"]), **changed})
    assert ("invoice VX/25-26/00001 was already voided on 2025-10-20 by credit note CN/25-26/00001, with reason "
            "'Wrong rate per minute' and a reissue (vysedeck_2025-09_r1)") in refused.value.detail
    assert asks in refused.value.detail
    assert w.state() == before  # nothing written


def test_a_void_without_reissue_repeated_asking_for_one_is_409_even_after_generate_reissued():
    w = World()
    first = w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"], reissue=False))
    w.issuance.generate("vysedeck", MonthQuery(9, 2025), reissue_void=True)  # sets replacedBy later
    again = w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"], reissue=False)).to_json()
    assert again["creditNote"]["creditNoteNumber"] == "CN/25-26/00001"  # the same request: its answer
    with pytest.raises(ConflictError, match="and no reissue; this request asks for reissue true"):
        w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"], reissue=True))


def test_concurrent_voids_make_one_credit_note_and_one_reissue():
    w = World()
    first = w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    results, errors = [], []
    barrier = threading.Barrier(5)

    def void():
        barrier.wait()
        try:
            results.append(w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"])).to_json())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=void) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert {r["creditNote"]["creditNoteNumber"] for r in results} == {"CN/25-26/00001"}
    assert {r["reissued"]["invoiceNumber"] for r in results} == {"VX/25-26/00002"}
    assert len(w.credit_notes.docs) == 1 and w.credit_notes.counters == {"CN_25-26": 2}
    assert w.invoices.counters == {"VX_25-26": 3}


@pytest.mark.parametrize("request_body, message", [
    ({"invoiceNumber": "VX/25-26/00001", "reissue": True}, "reason is required"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "  "}, "reason is required"),
    ({"reason": "x"}, "invoiceNumber is required"),
    ({"invoiceNumber": "VX/25-26/00099", "reason": "x"}, "is not an invoice of company 'vysedeck' for 2025-09"),
    ({"invoiceNumber": "VX/25-26/00001", "reason": "x", "reissue": "yes"}, "reissue must be true or false"),
    (None, "the body must be a JSON object"),
])
def test_refusals_write_nothing(request_body, message):
    w = World()
    w.issuance.generate("vysedeck", MonthQuery(9, 2025))
    before = w.state()
    with pytest.raises(ValidationError, match=message):
        w.corrections.void("vysedeck", "2025-09", request_body)
    assert w.state() == before


def test_wrong_month_and_unknown_company():
    w = World()
    first = w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    with pytest.raises(ValidationError, match="has no invoice"):
        w.corrections.void("vysedeck", "2025-08", body(first["invoiceNumber"]))
    with pytest.raises(NotFoundError):
        w.corrections.void("nobody", "2025-09", body(first["invoiceNumber"]))


def test_the_section_34_time_limit():
    assert time_limit(datetime(2025, 10, 2).date()).isoformat() == "2026-11-30"
    assert time_limit(datetime(2026, 3, 31).date()).isoformat() == "2026-11-30"
    assert time_limit(datetime(2026, 4, 1).date()).isoformat() == "2027-11-30"
    w = World()
    first = w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    w.now = datetime(2026, 11, 30, 18, 30, tzinfo=timezone.utc)  # 00:00 on 1 December in India
    before = w.state()
    with pytest.raises(ValidationError, match="only until 2026-11-30"):
        w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"]))
    assert w.state() == before
    w.now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)  # still 30 November in India
    assert w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"])).to_json()["creditNote"][
        "creditNoteNumber"] == "CN/26-27/00001"


def test_void_without_reissue_then_generate_issues_the_reissue():
    w = World()
    first = w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    out = w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"], reissue=False)).to_json()
    assert out["reissued"] is None and out["voided"]["replacedBy"] is None
    current, history = month_documents(w)
    assert current["status"] == "void" and len(history) == 1
    # The monthly run (which does not ask for reissues) must not undo an operator's void:
    assert w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document["status"] == "void"
    assert w.issuance.draft("vysedeck", MonthQuery(9, 2025)).document["status"] == "void"
    reissued = w.issuance.generate("vysedeck", MonthQuery(9, 2025), reissue_void=True).document
    assert reissued["invoiceId"] == "vysedeck_2025-09_r1" and reissued["invoiceNumber"] == "VX/25-26/00002"
    assert w.invoices.get("vysedeck_2025-09")["replacedBy"] == "vysedeck_2025-09_r1"
    # The reissue can be voided too: a second credit note, a third invoice.
    out = w.corrections.void("vysedeck", "2025-09", body("VX/25-26/00002")).to_json()
    assert out["creditNote"]["creditNoteNumber"] == "CN/25-26/00002"
    assert out["creditNote"]["creditNoteId"] == "vysedeck_2025-09_r1_cn"
    assert out["reissued"]["invoiceId"] == "vysedeck_2025-09_r2"
    assert [d["invoiceNumber"] for d in month_documents(w)[1]] == [
        "VX/25-26/00001", "VX/25-26/00002", "VX/25-26/00003"]
    with pytest.raises(ValidationError):  # void again by an old number: already void -> same answer
        w.corrections.void("vysedeck", "2025-09", {"invoiceNumber": "VX/25-26/00001"})
    assert w.corrections.void("vysedeck", "2025-09", body("VX/25-26/00001", reissue=False)).to_json()["creditNote"][
        "creditNoteNumber"] == "CN/25-26/00001"


def test_an_invoice_being_issued_cannot_be_voided():
    w = World()
    draft = w.issuance.draft("vysedeck", MonthQuery(9, 2025)).document
    w.container.numbering.number([draft["invoiceId"]])
    with pytest.raises(ConflictError):
        w.corrections.void("vysedeck", "2025-09", body("VX/25-26/00001"))


@pytest.mark.parametrize("slices", [1, 4])
def test_preview_of_the_current_month_equals_the_invoice_issued_after_it_and_writes_nothing(slices):
    w = World(slices)
    w.now = datetime(2025, 9, 20, 10, 0, tzinfo=timezone.utc)
    before = w.state()
    preview = w.preview.preview("vysedeck", MonthQuery(9, 2025))
    assert w.state() == before
    assert preview["status"] == "preview" and preview["monthToDate"] is True
    assert "invoiceNumber" not in preview and "files" not in preview and "invoiceId" not in preview
    assert w.preview.preview("vysedeck") == preview  # default: the current month
    w.now = ISSUED_AT
    issued = w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    for key in ("usageData", "lineItems", "subtotal", "gstAmount", "totalAmount", "taxBreakdown", "amountsPaise",
                "anomalies", "billingPeriod", "recipient", "supplier"):
        assert preview[key] == issued[key], key
    with pytest.raises(ValidationError, match="has not started"):
        w.preview.preview("vysedeck", MonthQuery(11, 2025))


def test_reconcile_reports_added_removed_and_changed_calls():
    w = World()
    w.issuance.generate("vysedeck", MonthQuery(9, 2025))
    clean = w.reconciler.reconcile("vysedeck", "2025-09").to_json()
    assert (clean["added"], clean["removed"], clean["changed"], clean["drifted"]) == (0, 0, 0, False)
    assert clean["billed"] == clean["current"] and clean["examples"] == []
    assert clean["difference"] == {"calls": 0, "billedMinutes": 0, "callCharges": 0.0}
    calls = w.calls.calls["vysedeck"]
    late = CallRecord("late-1", datetime(2025, 9, 30, 18, 0, tzinfo=timezone.utc), 125, "completed")
    removed = calls.pop(3)
    calls[5] = calls[5]._replace(duration_seconds=float(calls[5].duration_seconds) + 60)  # a NamedTuple
    calls.append(late)
    out = w.reconciler.reconcile("vysedeck", "2025-09").to_json()
    assert (out["added"], out["removed"], out["changed"]) == (1, 1, 1)
    by_change = {e["change"]: e for e in out["examples"]}
    assert by_change["added"]["callId"] == "late-1" and by_change["removed"]["callId"] == removed.call_id
    assert by_change["changed"]["callId"] == calls[5].call_id
    assert by_change["changed"]["fields"] == ["durationSeconds", "billedSeconds"]
    removed_minutes = -(-int(removed.duration_seconds) // 60) if removed.duration_seconds else 0
    assert out["difference"]["calls"] == 0
    assert out["difference"]["billedMinutes"] == 3 + 1 - removed_minutes
    assert out["difference"]["callCharges"] == 2.0 * (3 + 1 - removed_minutes)


def test_a_credit_note_pdf_opens_only_for_its_company_once_issued():
    w = World()
    first = w.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    note = w.corrections.void("vysedeck", "2025-09", body(first["invoiceNumber"], reissue=False)).to_json()["creditNote"]
    cn_id = note["creditNoteId"]
    pdf = w.corrections.open_pdf("vysedeck", cn_id)
    assert pdf.filename == "CN-25-26-00001_vysedeck_2025-09_credit-note.pdf"
    assert b"".join(pdf.chunks) == b"CN CN/25-26/00001 1798.32"  # the fake renderer's bytes, as stored
    with pytest.raises(NotFoundError, match="of company 'webxpress' not found"):
        w.corrections.open_pdf("webxpress", cn_id)
    w.credit_notes.docs[cn_id]["status"] = "issuing"  # as a crash before its PDF leaves it
    with pytest.raises(NotFoundError, match="credit note CN/25-26/00001 is not issued yet"):
        w.corrections.open_pdf("vysedeck", cn_id)
