"""`billing receivables rebuild` on the Firestore emulator: a month with invoices, payments (one
reversed), a void with its reissue; its month totals wiped and the receivables' invoiceStatus
removed (data written before either existed); the rebuild gives back exactly what the live updates
had produced, writes nothing the second time, and loses no payment recorded while it runs."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from google.cloud import firestore

from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.entrypoints import cli
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

NOW = datetime(2025, 11, 20, 9, 0, tzinfo=timezone.utc)
MONTH = "2025-09"


def pay(c: Container, company: str, reference: str, amount: float, **extra: object) -> None:
    c.receivables.record_payment(company, MONTH, {"amount": amount, "date": "2025-11-19", "reference": reference,
                                                  "mode": "neft", **extra})


@pytest.fixture
def month(storage_emulator, firestore_emulator) -> Container:
    settings = Settings(project=f"rebuild-{uuid.uuid4().hex[:8]}", bucket=f"b-{uuid.uuid4().hex[:8]}")
    c = Container(settings, clock=lambda: NOW)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    for company in ("vysedeck", "webxpress", "dcgpac"):
        c.issuance.generate(company, MonthQuery(9, 2025))
    pay(c, "vysedeck", "UTR0001", 500)
    pay(c, "vysedeck", "UTR0002", 200, tdsAmount=30.48, tdsSection="194J")
    c.receivables.reverse("vysedeck", MONTH, "UTR0001", {"reason": "cheque returned"})
    pay(c, "dcgpac", "UTR0003", 1)
    number = c.queries.current("webxpress", MONTH).number
    c.corrections.void("webxpress", MONTH, {"invoiceNumber": number, "reason": "wrong rate", "reissue": True})
    pay(c, "webxpress", "UTR0004", 10)  # on the reissue
    return c


def month_docs(c: Container) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_dict() or {} for s in c.firestore.collection("receivableMonths").stream()
            if (s.to_dict() or {}).get("period") == MONTH}


def statuses(c: Container) -> dict[str, Any]:
    return {s.id: (s.to_dict() or {}).get("invoiceStatus") for s in c.firestore.collection("receivables").stream()}


def without_time(docs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {k: {f: v for f, v in d.items() if f != "updatedAt"} for k, d in docs.items()}


def wipe(c: Container) -> None:
    """As the data stood before the month totals and invoiceStatus were kept."""
    for ref in c.firestore.collection("receivableMonths").list_documents():
        ref.delete()
    for ref in c.firestore.collection("receivables").list_documents():
        ref.update({"invoiceStatus": firestore.DELETE_FIELD})


def test_rebuild_gives_back_what_live_updates_produced_and_twice_changes_nothing(month):
    c = month
    live, live_status = month_docs(c), statuses(c)
    assert live_status == {"vysedeck_2025-09": "issued", "webxpress_2025-09": "void",
                           "webxpress_2025-09_r1": "issued", "dcgpac_2025-09": "issued"}
    live_months = c.console_reads.months(MONTH, 1)
    assert live_months[0]["invoices"] == 4 and live_months[0]["collectedPaise"] == 20000 + 3048 + 100 + 1000
    wipe(c)
    assert month_docs(c) == {} and set(statuses(c).values()) == {None}

    first = c.receivables.rebuild_month(MONTH)
    assert (first["receivables"], first["statusFilled"], first["statusUnknown"]) == (4, 4, 0)
    assert first["shardsWritten"] == len(live) and first["totals"]["invoices"] == 4
    rebuilt = month_docs(c)
    assert without_time(rebuilt) == without_time(live)
    assert statuses(c) == live_status
    assert c.console_reads.months(MONTH, 1) == live_months

    # Twice: nothing written, the very same documents (their updatedAt too).
    second = c.receivables.rebuild_month(MONTH)
    assert (second["shardsWritten"], second["statusFilled"], second["rounds"]) == (0, 0, 1)
    assert month_docs(c) == rebuilt and statuses(c) == live_status

    # A shard off by a stray increment is set back exactly, not incremented.
    shard_id = next(iter(rebuilt))
    c.firestore.collection("receivableMonths").document(shard_id).update({"collectedPaise": firestore.Increment(7)})
    third = c.receivables.rebuild_month(MONTH)
    assert third["shardsWritten"] == 1 and without_time(month_docs(c)) == without_time(live)


def test_the_command_line(month, capsys, monkeypatch):
    import billing.bootstrap

    c = month
    live = without_time(month_docs(c))
    wipe(c)
    monkeypatch.setattr(billing.bootstrap, "Container", lambda: c)
    assert cli.main(["receivables", "rebuild", "--month", MONTH]) == 0
    out = capsys.readouterr().out
    assert '"statusFilled": 4' in out and '"invoices": 4' in out
    assert without_time(month_docs(c)) == live
    assert cli.main(["receivables", "rebuild", "--month", "2025-13"]) == 2


def test_a_payment_landing_during_the_rebuild_is_not_lost(month):
    """The payment is recorded after the rebuild has taken the shards' versions and while it reads the
    receivables (from inside its invoice-status lookup): its shard is computed again, not overwritten."""
    c = month
    wipe(c)
    landed: list[str] = []

    def status_then_pay(invoice_id: str) -> str | None:
        if not landed:
            pay(c, "dcgpac", "UTR0009", 2)
            landed.append(invoice_id)
        invoice = c.invoices.get(invoice_id) or {}
        return str(invoice.get("status"))

    report = c.receivables_repo.rebuild_month(MONTH, status_then_pay)
    assert landed and report["rounds"] == 2
    totals = c.console_reads.months(MONTH, 1)[0]
    assert totals["collectedPaise"] == 20000 + 3048 + 100 + 1000 + 200
    recs = [s.to_dict() or {} for s in c.firestore.collection("receivables").stream()]
    assert totals["outstandingPaise"] == sum(int(r["balancePaise"]) for r in recs)
    assert totals["invoicedPaise"] == sum(int(r["netPaise"]) for r in recs)
