"""Receivables (DESIGN 14) over the fakes, through the real HTTP edge in this process: payments with
TDS, idempotent references, refusals that write nothing, reversal, the invoice read, ageing, TDS."""

from __future__ import annotations

import copy
import threading
from datetime import date

import pytest

from dataclasses import replace

from billing.adapters.receivable_document import payment_from_document, receivable_from_document
from billing.domain import receivables as rules
from billing.domain.money import INR
from billing.errors import ConflictError, ValidationError
from e2e_support import READ_KEY
from inprocess import InProcessApi

MONTH = "/billing/invoices/vysedeck/2025-09"
UTR = "UTIB0000123456789"


def state(api):
    r = api.container.receivables_repo
    return copy.deepcopy((r.docs, r.payments, r.companies, r.totals, api.container.invoices.docs))


@pytest.fixture
def api():
    api = InProcessApi()
    status, invoice = api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200, invoice
    assert (invoice["totalAmount"], invoice["subtotal"]) == (1798.32, 1524.0)  # the hand-computed case
    return api


def pay(api, amount, reference=UTR, tds=0, section=None, day="2026-11-20", mode="neft", key=None):
    body = {"amount": amount, "date": day, "reference": reference, "mode": mode}
    if tds:
        body.update(tdsAmount=tds, tdsSection=section)
    return api.post_json(f"{MONTH}/payments", body, key)


def test_tds_at_two_percent_of_the_taxable_value_settles_the_invoice(api):
    """1,798.32 = 1,767.84 in the bank + 30.48 TDS (194J: 2% of 1,524.00): paid."""
    assert rules.to_paise("1524.00", "x") * 2 // 100 == 3048
    invoice_before = copy.deepcopy(api.container.invoices.docs)
    status, body = pay(api, 1767.84, tds=30.48, section="194J")
    assert status == 201, body
    assert (body["balance"], body["paymentStatus"], body["overdue"]) == (0.0, "paid", False)
    assert body["payment"] == {**body["payment"], "amount": 1767.84, "tdsAmount": 30.48, "tdsSection": "194J",
                               "tdsQuarter": 3, "tdsFy": "2026-27", "status": "applied"}
    assert api.container.invoices.docs == invoice_before  # the issued invoice is never written
    status, read = api.json("GET", MONTH, key=READ_KEY)
    assert status == 200
    assert (read["balance"], read["paymentStatus"], read["netAmount"], read["amountPaid"], read["tdsAmount"]) == (
        0.0, "paid", 1798.32, 1767.84, 30.48)
    assert [p["reference"] for p in read["payments"]] == [UTR]
    # Nothing outstanding is left in the ageing aggregates.
    status, aging = api.json("GET", "/billing/receivables/aging", key=READ_KEY)
    assert status == 200 and aging["totals"]["total"] == 0 and aging["companies"] == []


def test_part_payment_balance_status_and_ageing_bucket(api):
    due = api.container.receivables_repo.docs["vysedeck_2025-09"]["dueDate"]
    status, body = pay(api, 1000)
    assert status == 201 and (body["balance"], body["paymentStatus"]) == (798.32, "partially_paid")
    day = date.fromisoformat(due)
    as_of = date.fromordinal(day.toordinal() + 45).isoformat()
    status, aging = api.json("GET", f"/billing/receivables/aging?asOf={as_of}", key=READ_KEY)
    assert status == 200, aging
    expected = {"notDue": 0.0, "1-30": 0.0, "31-60": 798.32, "61-90": 0.0, "90+": 0.0}
    assert aging["totals"] == {"total": 798.32, "buckets": expected}
    assert aging["companies"] == [{"companyId": "vysedeck", "total": 798.32, "buckets": expected}]
    status, aging = api.json("GET", f"/billing/receivables/aging?asOf={due}", key=READ_KEY)
    assert aging["totals"]["buckets"]["notDue"] == 798.32
    # Overdue once the due date has passed with a balance.
    receivable = receivable_from_document(api.container.receivables_repo.docs["vysedeck_2025-09"])
    assert receivable.overdue(date.fromordinal(day.toordinal() + 1))
    assert not receivable.overdue(day)


def test_the_same_reference_is_one_payment_and_other_data_is_409(api):
    assert pay(api, 500)[0] == 201
    before = state(api)
    status, again = pay(api, 500)
    assert status == 200 and again["balance"] == 1298.32 and again["payment"]["reference"] == UTR
    status, body = pay(api, 600)
    assert status == 409 and "amountPaise" in body["detail"], body
    assert state(api) == before


def test_refusals_write_nothing(api):
    before = state(api)
    cases = [
        (dict(amount=1798.33), 422, "balance of 1798.32"),
        (dict(amount=1767.84, tds=30.49, section="194J"), 422, "balance of 1798.32"),
        (dict(amount=10, tds=1), 422, "tdsSection is required"),
        (dict(amount=10.001), 422, "two decimals"),
        (dict(amount=-5), 422, "positive"),
        (dict(amount=10, day="2999-01-01"), 422, "in the future"),
        (dict(amount=10, mode="cash"), 422, "mode must be one of"),
        (dict(amount=10, reference="a/b"), 422, "reference must be"),
        (dict(amount=10, key=READ_KEY), 403, "admin key"),
    ]
    for kwargs, code, message in cases:
        status, body = pay(api, **kwargs)
        assert status == code and message in body["detail"], (kwargs, status, body)
    status, body = api.post_json("/billing/invoices/vysedeck/2025-08/payments",
                                 {"amount": 1, "date": "2026-11-01", "reference": "X1", "mode": "upi"})
    assert status == 404, body
    assert state(api) == before


def test_reversal_restores_the_balance_and_keeps_the_history(api):
    assert pay(api, 1798.32, reference="CHQ000123", mode="cheque")[1]["paymentStatus"] == "paid"
    path = f"{MONTH}/payments/CHQ000123/reverse"
    status, body = api.post_json(path, {}, None)
    assert status == 422 and "reason is required" in body["detail"]
    assert api.post_json(path, {"reason": "x"}, READ_KEY)[0] == 403
    status, body = api.post_json(path, {"reason": "Cheque bounced (insufficient funds)"})
    assert status == 200, body
    assert (body["balance"], body["paymentStatus"]) == (1798.32, "unpaid")
    assert body["payment"]["reversal"]["reason"] == "Cheque bounced (insufficient funds)"
    assert api.post_json(path, {"reason": "again"})[1]["payment"]["reversal"]["reason"].startswith("Cheque")
    read = api.json("GET", MONTH)[1]
    assert [(p["reference"], p["status"]) for p in read["payments"]] == [("CHQ000123", "reversed")]
    assert api.post_json(f"{MONTH}/payments/NOPE/reverse", {"reason": "x"})[0] == 404
    # The reference stays taken: paying again needs the new cheque's number.
    assert pay(api, 1798.32, reference="CHQ000124", mode="cheque")[0] == 201


def test_concurrent_payments_never_overpay(api):
    """Ten payments of 300.00 at once on a balance of 1,798.32: five fit, five are refused."""
    results: list[int] = []

    def one(i: int) -> None:
        results.append(pay(api, 300, reference=f"UTR{i:04d}")[0])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] * 5 + [422] * 5
    receivable = api.container.receivables_repo.docs["vysedeck_2025-09"]
    assert receivable["balancePaise"] == 179832 - 5 * 30000
    assert len(api.container.receivables_repo.payments) == 5


def test_a_void_invoice_takes_no_payment_and_its_credit_note_clears_the_balance(api):
    assert pay(api, 798.32)[0] == 201
    number = api.json("GET", MONTH)[1]["invoiceNumber"]
    status, body = api.post_json(f"{MONTH}/void", {"invoiceNumber": number, "reason": "wrong rate", "reissue": False})
    assert status == 200, body
    receivable = api.container.receivables_repo.docs["vysedeck_2025-09"]
    assert (receivable["netPaise"], receivable["balancePaise"]) == (0, -79832)  # owed back to the customer
    assert api.container.receivables_repo.companies["vysedeck"] == {receivable["dueDate"]: -79832}
    status, body = pay(api, 1, reference="LATE1")
    assert status == 422 and "void" in body["detail"]


def test_tds_receivable_per_quarter_and_matching():
    api = InProcessApi()
    api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert pay(api, 1767.84, tds=30.48, section="194J", day="2026-10-05")[0] == 201
    status, body = api.json("GET", "/billing/receivables/tds?fy=2026-27&quarter=3", key=READ_KEY)
    assert status == 200, body
    assert (body["tdsAmount"], body["unmatchedAmount"]) == (30.48, 30.48)
    assert [r["reference"] for r in body["companies"][0]["unmatched"]] == [UTR]
    assert api.json("GET", "/billing/receivables/tds?fy=2026-27&quarter=2")[1]["tdsAmount"] == 0
    assert api.json("GET", "/billing/receivables/tds?fy=2026-28&quarter=3")[0] == 422
    api.container.receivables.mark_tds_matched("vysedeck", UTR, "26AS line 4")
    body = api.json("GET", "/billing/receivables/tds?fy=2026-27&quarter=Q3")[1]
    assert (body["matched"], body["unmatchedAmount"], body["companies"][0]["unmatched"]) == (30.48, 0.0, [])


def test_domain_rules():
    assert rules.tds_quarter(date(2026, 3, 31)) == ("2025-26", 4)
    assert rules.tds_quarter(date(2026, 4, 1)) == ("2026-27", 1)
    assert rules.bucket_of(date(2026, 1, 1), date(2026, 1, 1)) == "notDue"
    assert [rules.bucket_of(date(2026, 1, 1), date.fromordinal(date(2026, 1, 1).toordinal() + d))
            for d in (1, 30, 31, 60, 61, 90, 91)] == ["1-30", "1-30", "31-60", "31-60", "61-90", "61-90", "90+"]
    assert rules.move_outstanding({"2026-01-01": 5}, "2026-01-01", -5) == {}
    with pytest.raises(ValidationError):
        rules.to_paise(True, "amount")
    with pytest.raises(ConflictError):
        first = payment_from_document({"paymentId": "c_A", "reference": "A", "date": "2026-01-01", "amountPaise": 1,
                                       "status": "applied"})
        first.check_replay(replace(first, amount=INR(2)))


def test_cli_lists_and_matches_tds_and_prints_ageing(api, capsys, monkeypatch):
    import json

    from billing.entrypoints import cli

    assert pay(api, 767.84, tds=30.48, section="194J", day="2026-10-05")[0] == 201
    monkeypatch.setattr("billing.bootstrap.Container", lambda: api.container)
    assert cli.main(["tds", "list", "--fy", "2026-27", "--quarter", "3"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["unmatchedAmount"] == 30.48
    assert cli.main(["tds", "match", "vysedeck", UTR, "--note", "26AS row 7"]) == 0
    assert "matched: vysedeck" in capsys.readouterr().out
    assert cli.main(["tds", "list", "--fy", "2026-27", "--quarter", "3"]) == 0
    assert json.loads(capsys.readouterr().out)["unmatchedAmount"] == 0
    assert cli.main(["tds", "match", "vysedeck", "NOPE"]) == 2
    assert cli.main(["aging", "--as-of", "2027-06-30"]) == 0
    aging = json.loads(capsys.readouterr().out)
    assert aging["totals"]["buckets"]["90+"] == 1000.0 and aging["companies"][0]["companyId"] == "vysedeck"


def test_statement_of_account_with_running_balance_json_and_pdf(api, tmp_path):
    today = api.container.receivables.today().isoformat()  # the invoice's date too
    assert pay(api, 1000, reference="UTR1", tds=30.48, section="194J", day=today)[0] == 201
    assert pay(api, 200, reference="CHQ9", mode="cheque", day=today)[0] == 201
    assert api.post_json(f"{MONTH}/payments/CHQ9/reverse", {"reason": "Cheque bounced"})[0] == 200
    number = api.json("GET", MONTH)[1]["invoiceNumber"]
    status, body = api.json("GET", "/billing/companies/vysedeck/statement", key=READ_KEY)
    assert status == 200, body
    got = [(r["type"], r["debit"], r["credit"], r["balance"]) for r in body["rows"]]
    assert got == [
        ("invoice", 1798.32, 0.0, 1798.32),
        ("payment", 0.0, 1000.0, 798.32),
        ("tds", 0.0, 30.48, 767.84),
        ("payment", 0.0, 200.0, 567.84),
        ("reversal", 200.0, 0.0, 767.84),
    ]
    assert body["rows"][0]["document"] == number and body["closingBalance"] == 767.84
    assert body["totals"] == {"debit": 1998.32, "credit": 1230.48} and body["openingBalance"] == 0
    # A later window opens with the balance before it.
    status, window = api.json("GET", "/billing/companies/vysedeck/statement?from=2099-01-01&to=2099-01-31")
    assert (window["openingBalance"], window["closingBalance"], window["rows"]) == (767.84, 767.84, [])
    status, window = api.json("GET", "/billing/companies/vysedeck/statement?to=2000-01-01")
    assert (window["openingBalance"], window["closingBalance"], window["rows"]) == (0, 0, [])
    assert api.json("GET", "/billing/companies/vysedeck/statement?from=2026-12-31&to=2026-01-01")[0] == 422
    assert api.json("GET", "/billing/companies/nobody/statement")[0] == 404
    status, pdf, headers = api.request("GET", "/billing/companies/vysedeck/statement?format=pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf" and pdf.startswith(b"%PDF")
    (tmp_path / "statement.pdf").write_bytes(pdf)
    import os
    if os.environ.get("BILLING_KEEP_PDF"):
        (__import__("pathlib").Path(os.environ["BILLING_KEEP_PDF"]) / "statement.pdf").write_bytes(pdf)


def test_reminder_steps_and_which_is_due():
    assert rules.reminder_steps(None) == (-3, 0, 7, 15, 30)
    assert rules.reminder_steps([15, -3, 15]) == (-3, 15)
    for bad in ([], ["7"], [True], [400], 7):
        with pytest.raises(ValidationError):
            rules.reminder_steps(bad)
    stored = {"invoiceId": "c_2025-12", "companyId": "c", "totalPaise": 100, "netPaise": 100, "balancePaise": 100,
              "paymentStatus": "unpaid", "dueDate": "2026-01-10", "reminders": {}}
    rec = receivable_from_document(stored)
    with_reminders = lambda r: receivable_from_document({**stored, "reminders": r})  # noqa: E731
    steps = rules.DEFAULT_REMINDER_STEPS
    day = lambda d: date(2026, 1, 10).fromordinal(date(2026, 1, 10).toordinal() + d)  # noqa: E731
    assert rec.due_reminder(day(-4), steps) is None
    assert rec.due_reminder(day(-3), steps) == -3
    assert rec.due_reminder(day(2), steps) == 0  # a missed day still sends the step reached
    assert with_reminders({"0": {"status": "sent"}}).due_reminder(day(2), steps) is None
    assert with_reminders({"0": {"status": "failed"}}).due_reminder(day(2), steps) == 0
    assert with_reminders({"15": {"status": "sent"}}).due_reminder(day(8), steps) is None
    assert receivable_from_document({**stored, "balancePaise": 0}).due_reminder(day(8), steps) is None


def issued_with_mailer(mailer, days_after_due: int):
    """The seed's vysedeck invoiced for September 2025 over the fakes, the clock then `days_after_due`
    days past its due date (06:00 UTC)."""
    from datetime import datetime, timedelta, timezone

    from billing.domain.period import MonthQuery
    from fakes import fake_container
    from inprocess import demo_calls

    now = {"at": datetime(2025, 10, 2, 6, 0, tzinfo=timezone.utc)}
    c = fake_container(companies=copy.deepcopy(__import__("billing.seed").seed.COMPANIES), calls=demo_calls(),
                       clock=lambda: now["at"], mailer=mailer)
    c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    due = c.receivables_repo.docs["vysedeck_2025-09"]["dueDate"]
    now["at"] = datetime.fromisoformat(due + "T06:00:00+00:00") + timedelta(days=days_after_due)
    return c


def test_the_scheduler_event_sends_todays_reminders_once():
    from billing.entrypoints.events import handle_reminders
    from fakes import FakeMailer

    mailer = FakeMailer()
    c = issued_with_mailer(mailer, days_after_due=7)
    for event_id in ("1", "1"):  # Pub/Sub redelivers the same event
        handle_reminders({"id": event_id, "data": {}}, c)
    assert [str(m["To"]) for m in mailer.sent] == ["accounts@vysedeck.example"]
    assert c.receivables_repo.docs["vysedeck_2025-09"]["reminders"]["7"]["status"] == "sent"


def test_a_reminder_whose_send_failed_is_marked_failed_and_sent_by_the_next_run():
    from fakes import FakeMailer

    class FlakyMailer(FakeMailer):
        def send(self, message):
            if not self.sent and not getattr(self, "refused", False):
                self.refused = True
                raise ConnectionError("421 try again later")
            return super().send(message)

    mailer = FlakyMailer()
    c = issued_with_mailer(mailer, days_after_due=1)
    first = c.reminders.run()
    assert [e["step"] for e in first["failed"]] == [0] and first["sent"] == []
    record = c.receivables_repo.docs["vysedeck_2025-09"]["reminders"]["0"]
    assert record["status"] == "failed" and record["error"] == "421 try again later"
    assert record["to"] == "accounts@vysedeck.example" and record["claim"]
    second = c.reminders.run()
    assert [e["step"] for e in second["sent"]] == [0] and [str(m["To"]) for m in mailer.sent] == [
        "accounts@vysedeck.example"]
    record = c.receivables_repo.docs["vysedeck_2025-09"]["reminders"]["0"]
    assert record["status"] == "sent" and "error" not in record and record["messageId"] == "<1@fake>"
    assert c.reminders.run()["sent"] == []  # sent: never again


def test_tally_export_parses_and_reconciles_to_the_paisa(api):
    import xml.etree.ElementTree as ET
    from decimal import Decimal

    status, other = api.json("POST", "/billing/generate/webxpress?month=9&year=2025")  # inter-state: IGST
    assert status == 200, other
    today = api.container.receivables.today()
    day = today.isoformat()
    assert pay(api, 1000, reference="UTR1", tds=30.48, section="194J", day=day)[0] == 201
    assert pay(api, 200, reference="CHQ9", mode="cheque", day=day)[0] == 201
    assert api.post_json(f"{MONTH}/payments/CHQ9/reverse", {"reason": "Cheque bounced"})[0] == 200
    number = api.json("GET", MONTH)[1]["invoiceNumber"]
    assert api.post_json(f"{MONTH}/void", {"invoiceNumber": number, "reason": "wrong rate", "reissue": True})[0] == 200
    status, xml, headers = api.request("GET", f"/billing/exports/tally?month={today.month}&year={today.year}",
                                       key=READ_KEY)
    assert status == 200 and headers["Content-Type"].startswith("application/xml"), xml
    root = ET.fromstring(xml)
    assert root.tag == "ENVELOPE" and root.find("BODY/IMPORTDATA/REQUESTDESC/REPORTNAME").text == "Vouchers"
    vouchers = root.findall("BODY/IMPORTDATA/REQUESTDATA/TALLYMESSAGE/VOUCHER")
    by_ledger: dict[str, Decimal] = {}
    kinds = []
    for v in vouchers:
        kinds.append((v.get("VCHTYPE"), v.find("VOUCHERNUMBER").text))
        entries = v.findall("ALLLEDGERENTRIES.LIST")
        assert sum(Decimal(e.find("AMOUNT").text) for e in entries) == 0  # every voucher balances
        for e in entries:
            amount = Decimal(e.find("AMOUNT").text)
            assert (e.find("ISDEEMEDPOSITIVE").text == "Yes") == (amount < 0)
            by_ledger[e.find("LEDGERNAME").text] = by_ledger.get(e.find("LEDGERNAME").text, 0) + amount
    invoices = [d for d in api.container.invoices.docs.values() if d.get("invoiceNumber")]
    notes = list(api.container.credit_notes.docs.values())
    assert sorted(k for k, _ in kinds) == sorted(["Sales"] * len(invoices) + ["Credit Note"] * len(notes)
                                                 + ["Receipt", "Receipt", "Journal"])
    paise = lambda docs, key: Decimal(sum(int(d["amountsPaise"].get(key, 0)) for d in docs)) / 100  # noqa: E731
    # Credits positive: sales = invoices' taxable value less the credit note's, to the paisa.
    assert by_ledger["Sales - Voice Agent Services"] == paise(invoices, "subtotal") - paise(notes, "subtotal")
    assert by_ledger["Output CGST"] == paise(invoices, "cgst") - paise(notes, "cgst")
    assert by_ledger["Output IGST"] == paise(invoices, "igst") - paise(notes, "igst") > 0
    assert by_ledger["Bank Account"] == Decimal("-1000.00")  # 1,000 + 200 received, 200 reversed
    assert by_ledger["TDS Receivable"] == Decimal("-30.48")
    party = "Vysedeck Technologies Private Limited"
    vysedeck = [d for d in invoices if d["companyId"] == "vysedeck"]
    assert by_ledger[party] == -(paise(vysedeck, "total") - paise(notes, "total") - Decimal("1030.48"))
    assert api.json("GET", "/billing/exports/tally?month=13&year=2026")[0] == 422


def test_month_totals_rebuilt_over_the_fakes(api):
    """The rebuild over the fake repository: the totals the live change() kept, set back exactly after
    being wiped, a missing invoiceStatus filled from the invoice; a second run writes nothing."""
    assert pay(api, 500, day="2026-10-05")[0] == 201
    repo = api.container.receivables_repo
    live = copy.deepcopy(repo.months)
    assert live["2025-09"]["collectedPaise"] == 50000 and live["2025-09"]["invoices"] == 1
    repo.months.clear()
    del repo.docs["vysedeck_2025-09"]["invoiceStatus"]
    report = api.container.receivables.rebuild_month("2025-09")
    assert (report["receivables"], report["shardsWritten"], report["statusFilled"]) == (1, 1, 1)
    assert report["totals"] == {"invoices": 1, "invoiced": 1798.32, "collected": 500.0, "outstanding": 1298.32}
    assert repo.months == live and repo.docs["vysedeck_2025-09"]["invoiceStatus"] == "issued"
    assert api.container.receivables.rebuild_month("2025-09")["shardsWritten"] == 0
    with pytest.raises(ValidationError):
        api.container.receivables.rebuild_month("2025-9")
