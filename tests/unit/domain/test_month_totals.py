"""The console's month totals move with each receivable change: opened, paid, reversed, voided."""

from __future__ import annotations

from billing.adapters.invoice_document import invoice_from_document
from billing.adapters.receivable_document import payment_from_document, receivable_document
from billing.domain import receivables as rules
from billing.domain.receivable import Receivable, Reversal

INVOICE = {"invoiceId": "acme_2025-09", "companyId": "acme", "invoiceNumber": "VX/25-26/00001",
           "invoiceDate": "2025-10-01T02:00:00+05:30", "dueDate": "2025-10-08T02:00:00+05:30",
           "billingPeriod": {"month": "2025-09"}, "status": "issued", "amountsPaise": {"total": 179832}}
PAYMENT = {"paymentId": "acme_UTR1", "reference": "UTR1", "date": "2025-10-05", "mode": "neft",
           "amountPaise": 100000, "tdsPaise": 2000, "tdsSection": "194J", "status": "applied", "recordedAt": "x"}


def opened_for(invoice):
    return Receivable.open(invoice_from_document(invoice), "now")


def doc(receivable):
    return receivable_document(receivable)


def test_opening_paying_reversing_and_voiding_move_the_month_totals():
    opened = opened_for(INVOICE)
    assert doc(opened)["invoiceStatus"] == "issued"
    total = rules.month_delta(None, opened)
    assert total == {"invoices": 1, "invoicedPaise": 179832, "collectedPaise": 0, "outstandingPaise": 179832}
    paid = opened.apply_payment(payment_from_document(PAYMENT))
    total = rules.add_month(total, rules.month_delta(opened, paid))
    assert total == {"invoices": 1, "invoicedPaise": 179832, "collectedPaise": 102000, "outstandingPaise": 77832}
    reversed_ = paid.reverse_payment(payment_from_document(PAYMENT), Reversal("bounced", "x"))
    total = rules.add_month(total, rules.month_delta(paid, reversed_))
    assert total == {"invoices": 1, "invoicedPaise": 179832, "collectedPaise": 0, "outstandingPaise": 179832}
    voided = reversed_.void("acme_2025-09_cn")
    assert doc(voided)["invoiceStatus"] == "void" and doc(voided)["balancePaise"] == 0
    total = rules.add_month(total, rules.month_delta(reversed_, voided))
    assert total == {"invoices": 1, "invoicedPaise": 0, "collectedPaise": 0, "outstandingPaise": 0}


def test_a_receivable_opened_void_counts_an_invoice_and_nothing_invoiced():
    void = {**INVOICE, "status": "void", "voidedBy": {"creditNoteId": "acme_2025-09_cn"}}
    opened = opened_for(void)
    assert doc(opened)["invoiceStatus"] == "void"
    assert rules.month_delta(None, opened) == {"invoices": 1, "invoicedPaise": 0, "collectedPaise": 0,
                                               "outstandingPaise": 0}


def test_the_list_entry_of_a_reissue_comes_from_its_receivable():
    entry = rules.listing_entry(opened_for({**INVOICE, "invoiceId": "acme_2025-09_r2", "revision": 2}))
    assert entry["revision"] == 2 and entry["status"] == "issued" and entry["totalAmount"] == 1798.32
    assert entry["billingPeriod"] == {"month": "2025-09"} and entry["invoiceDate"] == "2025-10-01"
