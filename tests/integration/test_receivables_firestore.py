"""Receivables on the Firestore emulator: concurrent payments never overpay (with the in-process queue
taken away, only Firestore's transactions stand between them), and the ageing aggregates and the
TDS quarter read back what the payments wrote."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone

import pytest

from billing.adapters import firestore_repo
from billing.adapters.receivable_document import payment_document, receivable_document
from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.money import INR
from billing.domain.period import MonthQuery
from billing.domain.receivable import CompanyOutstanding, PaymentStatus, Receivable
from billing.errors import ValidationError
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

NOW = datetime(2025, 11, 20, 9, 0, tzinfo=timezone.utc)


def owing(company_id: str, paise: int) -> Receivable:
    """A receivable of `paise` (what the ageing test moves its aggregates by)."""
    amount = INR(paise)
    return Receivable(invoice_id=f"{company_id}_2025-09", company_id=company_id, invoice_number=None,
                      invoice_date="", due_date="2025-10-07", period=None, total=amount, notes={}, paid=INR(0),
                      tds=INR(0), payments=(), reminders={}, net=amount, balance=amount,
                      payment_status=PaymentStatus.UNPAID)


@pytest.fixture
def issued(storage_emulator, firestore_emulator):
    settings = Settings(project=f"recv-{uuid.uuid4().hex[:8]}", bucket=f"b-{uuid.uuid4().hex[:8]}")
    c = Container(settings, clock=lambda: NOW)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    invoice = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    assert invoice["totalAmount"] == 1798.32
    return c


def body(reference: str, amount: float, **extra: object) -> dict[str, object]:
    return {"amount": amount, "date": "2025-11-19", "reference": reference, "mode": "neft", **extra}


@pytest.mark.parametrize("queued, contenders", [(True, 10), (False, 3)])
def test_concurrent_payments_never_overpay(issued, monkeypatch, queued, contenders):
    """Payments of 600.00 at once on a balance of 1,798.32: two fit. Ten in one instance (queued on
    the company in-process, then Firestore's transaction); three as if from three instances (no
    queue: only the transactions decide)."""
    c = issued
    if not queued:
        monkeypatch.setattr(firestore_repo, "_counter_lock", lambda _id: threading.Lock())  # no in-process queue
    outcomes: list[str] = []
    start = threading.Barrier(contenders)

    def one(i: int) -> None:
        start.wait()
        try:
            c.receivables.record_payment("vysedeck", "2025-09", body(f"UTR{i:04d}", 600))
            outcomes.append("paid")
        except ValidationError as exc:
            assert "has a balance of" in exc.detail
            outcomes.append("refused")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["paid"] * 2 + ["refused"] * (contenders - 2)
    found = c.receivables_repo.get("vysedeck_2025-09")
    assert found is not None
    receivable = receivable_document(found)
    assert (receivable["balancePaise"], receivable["paymentStatus"]) == (179832 - 120000, "partially_paid")
    stored = [s.to_dict() for s in c.firestore.collection("payments").stream()]
    assert len(stored) == 2 and sum(p["amountPaise"] for p in stored) == 120000
    page, token = c.receivables_repo.aging_page(100, None)
    assert token is None and page[0].by_due == {receivable["dueDate"]: 59832}
    assert c.receivables_repo.aging_totals() == {receivable["dueDate"]: 59832}


def test_settled_with_tds_then_reversed_and_the_quarter(issued):
    c = issued
    payment, recorded, created = c.receivables.record_payment(
        "vysedeck", "2025-09", body("UTIB0000123456789", 1767.84, tdsAmount=30.48, tdsSection="194J"))
    receivable = receivable_document(recorded)
    assert created and receivable["paymentStatus"] == "paid" and receivable["balancePaise"] == 0
    assert c.receivables_repo.aging_totals() == {} and c.receivables_repo.aging_page(100, None) == ([], None)
    # The same reference again: the same payment, nothing written.
    again, _, created = c.receivables.record_payment(
        "vysedeck", "2025-09", body("UTIB0000123456789", 1767.84, tdsAmount=30.48, tdsSection="194J"))
    assert not created and again == payment
    quarter = c.receivables.tds("2025-26", "3")
    assert (quarter["tdsAmount"], quarter["unmatchedAmount"]) == (30.48, 30.48)
    c.receivables.mark_tds_matched("vysedeck", "UTIB0000123456789", "26AS")
    assert c.receivables.tds("2025-26", "Q3")["unmatchedAmount"] == 0
    reversed_, after = c.receivables.reverse("vysedeck", "2025-09", "UTIB0000123456789",
                                             {"reason": "returned by the bank"})
    reversed_payment, receivable = payment_document(reversed_), receivable_document(after)
    assert reversed_payment["status"] == "reversed" and receivable["balancePaise"] == 179832
    aging = c.receivables.aging("2026-01-15", None, None)
    assert aging["totals"]["buckets"]["61-90"] == 1798.32 or aging["totals"]["buckets"]["31-60"] == 1798.32
    assert aging["companies"][0]["companyId"] == "vysedeck"


def test_ageing_pages_by_company_and_forgets_settled_ones(firestore_client):
    from billing.adapters.firestore_receivables import FirestoreReceivables
    from billing.ports import ReceivableChange

    repo = FirestoreReceivables(firestore_client)
    for cid, delta in (("acme", 500), ("beta", 700), ("core", 900), ("beta", -700)):
        repo.change(f"{cid}_2025-09", cid, "2025-10-07", None,
                    lambda rec, _, cid=cid, d=delta: ReceivableChange(owing(cid, d), delta_paise=d))
    assert repo.aging_page(1, None) == ([CompanyOutstanding("acme", {"2025-10-07": 500})], "acme")
    page, token = repo.aging_page(1, "acme")
    assert [p.company_id for p in page] == ["core"] and token is None  # beta settled: gone
    assert repo.aging_totals() == {"2025-10-07": 1400}
