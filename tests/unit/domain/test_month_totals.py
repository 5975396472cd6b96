"""The console's month totals move with each receivable change: opened, paid, reversed, voided."""

from __future__ import annotations

from billing.domain import receivables as rules

INVOICE = {"invoiceId": "acme_2025-09", "companyId": "acme", "invoiceNumber": "VX/25-26/00001",
           "invoiceDate": "2025-10-01T02:00:00+05:30", "dueDate": "2025-10-08T02:00:00+05:30",
           "billingPeriod": {"month": "2025-09"}, "status": "issued", "amountsPaise": {"total": 179832}}
PAYMENT = {"paymentId": "acme_UTR1", "reference": "UTR1", "date": "2025-10-05", "mode": "neft",
           "amountPaise": 100000, "tdsPaise": 2000, "tdsSection": "194J", "status": "applied", "recordedAt": "x"}


def test_opening_paying_reversing_and_voiding_move_the_month_totals():
    opened = rules.open_receivable(INVOICE, "now")
    assert opened["invoiceStatus"] == "issued"
    total = rules.month_delta(None, opened)
    assert total == {"invoices": 1, "invoicedPaise": 179832, "collectedPaise": 0, "outstandingPaise": 179832}
    paid = rules.apply_payment(opened, PAYMENT)
    total = rules.add_month(total, rules.month_delta(opened, paid))
    assert total == {"invoices": 1, "invoicedPaise": 179832, "collectedPaise": 102000, "outstandingPaise": 77832}
    reversed_ = rules.reverse_payment(paid, PAYMENT, {"reason": "bounced", "at": "x"})
    total = rules.add_month(total, rules.month_delta(paid, reversed_))
    assert total == {"invoices": 1, "invoicedPaise": 179832, "collectedPaise": 0, "outstandingPaise": 179832}
    voided = rules.void_receivable(reversed_, "acme_2025-09_cn")
    assert voided["invoiceStatus"] == "void" and voided["balancePaise"] == 0
    total = rules.add_month(total, rules.month_delta(reversed_, voided))
    assert total == {"invoices": 1, "invoicedPaise": 0, "collectedPaise": 0, "outstandingPaise": 0}


def test_a_receivable_opened_void_counts_an_invoice_and_nothing_invoiced():
    void = {**INVOICE, "status": "void", "voidedBy": {"creditNoteId": "acme_2025-09_cn"}}
    opened = rules.open_receivable(void, "now")
    assert opened["invoiceStatus"] == "void"
    assert rules.month_delta(None, opened) == {"invoices": 1, "invoicedPaise": 0, "collectedPaise": 0,
                                               "outstandingPaise": 0}


def test_the_list_entry_of_a_reissue_comes_from_its_receivable():
    entry = rules.listing_entry(rules.open_receivable({**INVOICE, "invoiceId": "acme_2025-09_r2"}, "now"))
    assert entry["revision"] == 2 and entry["status"] == "issued" and entry["totalAmount"] == 1798.32
    assert entry["billingPeriod"] == {"month": "2025-09"} and entry["invoiceDate"] == "2025-10-01"
