"""The stored receivable and payment documents <-> their entities: old documents read, and every
document is written back field for field (and a new one with the fields the dict code wrote)."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from billing.adapters.invoice_document import invoice_from_document
from billing.adapters.receivable_document import (
    payment_document, payment_entry, payment_from_document, receivable_document, receivable_from_document,
    tds_match_fields,
)
from billing.domain import receivables as rules
from billing.domain.money import INR
from billing.domain.receivable import (
    PaymentState, PaymentStatus, Receivable, Reminder, ReminderStatus, Reversal, TdsMatch,
)
from billing.errors import ConflictError, ValidationError

INVOICE = {"invoiceId": "acme_2025-09", "companyId": "acme", "invoiceNumber": "VX/25-26/00001",
           "invoiceDate": "2025-10-01T02:00:00+05:30", "dueDate": "2025-10-08T02:00:00+05:30",
           "billingPeriod": {"month": "2025-09"}, "status": "issued", "amountsPaise": {"total": 179832}}

# A receivable as an early release stored it: no openedAt or invoiceStatus, a reversal without its
# supplier-calendar date, reminders in each state, and a field this code does not know.
OLD_RECEIVABLE = {
    "invoiceId": "acme_2025-09", "companyId": "acme", "invoiceNumber": "VX/25-26/00001",
    "invoiceDate": "2025-10-01", "dueDate": "2025-10-08", "period": "2025-09", "totalPaise": 179832,
    "notes": {"acme_2025-09_cn1": -9440}, "paidPaise": 50000, "tdsPaise": 0,
    "payments": [
        {"paymentId": "acme_UTR1", "reference": "UTR1", "date": "2025-10-05", "mode": "neft", "amountPaise": 50000,
         "tdsPaise": 0, "tdsSection": None, "status": "applied", "recordedAt": "2025-10-05T10:00:00.000001+00:00"},
        {"paymentId": "acme_CHQ1", "reference": "CHQ1", "date": "2025-10-06", "mode": "cheque", "amountPaise": 1000,
         "tdsPaise": 0, "tdsSection": None, "status": "reversed", "recordedAt": "2025-10-06T10:00:00+00:00",
         "reversal": {"reason": "bounced", "at": "2025-10-09T20:00:00+00:00"}},
    ],
    "reminders": {"-3": {"status": "sent", "claim": "c1", "claimedAt": "2025-10-05T03:30:00+00:00",
                         "to": "a@acme.example", "sentAt": "2025-10-05T03:30:00+00:00", "messageId": "<m1@x>"},
                  "0": {"status": "failed", "claim": "c2", "claimedAt": "2025-10-08T03:30:00+00:00",
                        "to": "a@acme.example", "error": "421 try later"},
                  "7": {"status": "sending", "claim": "c3", "claimedAt": "2025-10-15T03:30:00+00:00",
                        "to": "a@acme.example"}},
    "netPaise": 170392, "balancePaise": 120392, "paymentStatus": "partially_paid",
    "updatedAt": "2025-10-15T03:30:00.000+00:00", "legacyNote": "kept as it was",
}

TDS_PAYMENT = {
    "paymentId": "acme_UTR2", "companyId": "acme", "invoiceId": "acme_2025-09", "invoiceNumber": "VX/25-26/00001",
    "reference": "UTR2", "date": "2025-11-03", "mode": "neft", "amountPaise": 100000, "tdsPaise": 3048,
    "tdsSection": "194J", "status": "reversed", "recordedAt": "2025-11-03T10:00:00+00:00",
    "tdsFy": "2025-26", "tdsQuarter": 3, "tdsKey": "2025-26-Q3", "tdsMatched": True,
    "reversal": {"reason": "returned", "at": "2025-11-30T20:00:00+00:00", "date": "2025-12-01"},
    "tdsMatchedAt": "2025-11-20T10:00:00+00:00", "tdsMatchNote": "26AS line 4",
}


def test_an_old_receivable_reads_and_writes_back_field_for_field():
    receivable = receivable_from_document(copy.deepcopy(OLD_RECEIVABLE))
    assert receivable.opened_at is None and receivable.invoice_status is None
    assert (receivable.net, receivable.balance, receivable.payment_status) == (
        INR(170392), INR(120392), PaymentStatus.PARTIALLY_PAID)
    assert receivable.payments[1].reversal == Reversal("bounced", "2025-10-09T20:00:00+00:00")
    assert receivable.payments[1].reversal.day == "2025-10-09"  # the UTC instant's day, as before
    assert receivable.reminders[0].status is ReminderStatus.FAILED
    assert receivable_document(receivable) == OLD_RECEIVABLE
    assert list(receivable_document(receivable)) == list(OLD_RECEIVABLE)


def test_a_payment_reads_and_writes_back_field_for_field():
    payment = payment_from_document(TDS_PAYMENT)
    assert (payment.tds_fy, payment.tds_quarter, payment.tds_match) == (
        "2025-26", 3, TdsMatch("2025-11-20T10:00:00+00:00", "26AS line 4"))
    assert payment_document(payment) == TDS_PAYMENT
    plain = {k: v for k, v in TDS_PAYMENT.items() if not k.startswith("tds") or k in ("tdsPaise", "tdsSection")}
    plain.update(tdsPaise=0, tdsSection=None, status="applied")
    del plain["reversal"]
    assert payment_document(payment_from_document(plain)) == plain
    assert payment_entry(payment_from_document(plain)) == {
        k: plain[k] for k in ("paymentId", "reference", "date", "mode", "amountPaise", "tdsPaise", "tdsSection",
                              "status", "recordedAt")}
    assert tds_match_fields(TdsMatch("t", "n")) == {"tdsMatched": True, "tdsMatchedAt": "t", "tdsMatchNote": "n"}


def test_open_pay_reverse_and_void_write_the_fields_the_dict_code_wrote():
    invoice = invoice_from_document(INVOICE)
    opened = Receivable.open(invoice, "2025-10-01T00:00:00+00:00")
    request = rules.parse_payment({"amount": 1000, "date": "2025-10-05", "reference": "UTR1", "mode": "neft",
                                   "tdsAmount": 20, "tdsSection": "194J"}, date(2025, 10, 6))
    payment = rules.new_payment("acme", invoice, request, "2025-10-05T10:00:00+00:00")
    paid = opened.apply_payment(payment)
    reversal = Reversal("bounced", "2025-10-07T10:00:00+00:00", "2025-10-07")
    reversed_ = paid.reverse_payment(payment, reversal)
    voided = reversed_.void("acme_2025-09_cn")
    entry = {"paymentId": "acme_UTR1", "reference": "UTR1", "date": "2025-10-05", "mode": "neft",
             "amountPaise": 100000, "tdsPaise": 2000, "tdsSection": "194J", "status": "reversed",
             "recordedAt": "2025-10-05T10:00:00+00:00",
             "reversal": {"reason": "bounced", "at": "2025-10-07T10:00:00+00:00", "date": "2025-10-07"}}
    assert receivable_document(voided) == {
        "invoiceId": "acme_2025-09", "companyId": "acme", "invoiceNumber": "VX/25-26/00001",
        "invoiceDate": "2025-10-01", "dueDate": "2025-10-08", "period": "2025-09", "totalPaise": 179832,
        "notes": {"acme_2025-09_cn": -179832}, "paidPaise": 0, "tdsPaise": 0, "payments": [entry], "reminders": {},
        "openedAt": "2025-10-01T00:00:00+00:00", "invoiceStatus": "void", "netPaise": 0, "balancePaise": 0,
        "paymentStatus": "paid"}
    assert payment_document(payment.reverse(reversal)) == {
        "paymentId": "acme_UTR1", "companyId": "acme", "invoiceId": "acme_2025-09", "invoiceNumber": "VX/25-26/00001",
        **{k: v for k, v in entry.items() if k not in ("paymentId", "reversal")},
        "tdsFy": "2025-26", "tdsQuarter": 3, "tdsKey": "2025-26-Q3", "tdsMatched": False,
        "reversal": entry["reversal"]}
    assert (paid.balance, paid.payment_status) == (INR(179832 - 102000), PaymentStatus.PARTIALLY_PAID)
    assert opened.payments == () and opened.balance == INR(179832)  # the values never change in place


def test_refusals_and_replays():
    invoice = invoice_from_document(INVOICE)
    opened = Receivable.open(invoice, "now")
    request = rules.parse_payment({"amount": 1798.33, "date": "2025-10-05", "reference": "UTR1", "mode": "neft"},
                                  date(2025, 10, 6))
    payment = rules.new_payment("acme", invoice, request, "now")
    with pytest.raises(ValidationError, match="has a balance of 1798.32"):
        opened.apply_payment(payment)
    same = rules.new_payment("acme", invoice, request, "later")
    payment.check_replay(same)  # the same payment again: fine
    other = rules.new_payment("acme", invoice, rules.parse_payment(
        {"amount": 5, "date": "2025-10-05", "reference": "UTR1", "mode": "upi"}, date(2025, 10, 6)), "later")
    with pytest.raises(ConflictError, match=r"\(amountPaise, mode differ\)"):
        payment.check_replay(other)
    assert payment.status is PaymentState.APPLIED and payment.reverse(Reversal("r", "t")).status is PaymentState.REVERSED


def test_a_claimed_reminder_is_not_due_again_until_it_fails():
    rec = receivable_from_document({**OLD_RECEIVABLE, "reminders": {}})
    today = date(2025, 10, 9)
    assert rec.due_reminder(today, (-3, 0, 7)) == 0
    claimed = rec.with_reminder(0, Reminder(ReminderStatus.SENDING, claim="c", to="a@acme.example"))
    assert claimed.due_reminder(today, (-3, 0, 7)) is None
    assert claimed.with_reminder(0, claimed.reminders[0].failed("boom")).due_reminder(today, (-3, 0, 7)) == 0
    sent = claimed.reminders[0].sent("t", "<m@x>")
    assert receivable_document(claimed.with_reminder(0, sent))["reminders"] == {
        "0": {"status": "sent", "claim": "c", "to": "a@acme.example", "sentAt": "t", "messageId": "<m@x>"}}
