"""Payment reminders through a real SMTP sink (aiosmtpd) on the Firestore emulator: each step once per
invoice, twice-run and concurrent runs the same day send once, none after the invoice is paid; the
email carries the balance, the due date, the PDF link and the UPI QR; what was sent is recorded."""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, time, timedelta, timezone
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

import emulators
from billing.adapters.receivable_document import receivable_document
from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.seed import seed_demo
from e2e_support import Inbox

pytestmark = pytest.mark.emulators

IST = timezone(timedelta(hours=5, minutes=30))


@pytest.fixture
def sink():
    inbox, port = Inbox(), emulators.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def day(self, d: date) -> None:
        self.at = datetime.combine(d, time(10, 0), IST)


def test_each_step_once_and_none_once_paid(sink, monkeypatch, firestore_emulator, storage_emulator):
    inbox, port = sink
    for name, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_SECURITY": "none",
                        "SMTP_FROM": "billing@voxa.example"}.items():
        monkeypatch.setenv(name, value)
    for name in ("SMTP_USERNAME", "SMTP_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    clock = Clock(datetime(2025, 10, 2, 10, 0, tzinfo=IST))
    settings = Settings(project=f"remind-{uuid.uuid4().hex[:8]}", bucket=f"remind-{uuid.uuid4().hex[:8]}",
                        public_base_url="https://billing.example")
    c = Container(settings, clock=clock)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    c.firestore.document(settings.settings_document).update({"upiId": "voxa@examplebank"})
    invoice = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    due = date.fromisoformat(invoice["dueDate"][:10])
    for cid in ("webxpress", "dcgpac"):  # more invoices with a balance (dcgpac has no billingEmail)
        c.issuance.generate(cid, MonthQuery(9, 2025))

    clock.day(due - timedelta(days=4))
    assert c.reminders.run()["sent"] == [] and inbox.messages == []

    clock.day(due - timedelta(days=3))
    first = c.reminders.run()
    assert sorted((e["companyId"], e["step"]) for e in first["sent"]) == [("vysedeck", -3), ("webxpress", -3)]
    assert [(e["companyId"], e["reason"]) for e in first["skipped"]] == [("dcgpac", "the company has no billingEmail")]
    count = len(inbox.messages)
    assert count == len(first["sent"])
    assert c.reminders.run()["sent"] == [] and len(inbox.messages) == count  # twice the same day: once

    msg = next(m for m in (message_from_bytes(raw, policy=default) for raw in inbox.messages)
               if invoice["invoiceNumber"] in str(m["Subject"]))
    text = msg.get_body(("plain",)).get_content()
    assert "₹ 1,798.32" in text and due.strftime("%d %b %Y") in text and "due in 3 days" in text
    assert "https://billing.example/billing/invoices/vysedeck/2025-09/pdf" in text
    assert "upi://pay?pa=voxa@examplebank&pn=Voxa%20AI%20Private%20Limited&am=1798.32&cu=INR" in text
    assert [p.get_content_type() for p in msg.walk()].count("image/png") == 1

    clock.day(due)  # two runs at once (the Scheduler's job and a cron): one email per invoice
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(c.reminders.run())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent_today = [e for r in reports for e in r["sent"]]
    assert sorted(e["companyId"] for e in sent_today) == sorted({e["companyId"] for e in first["sent"]})
    assert len(inbox.messages) == count + len(sent_today)

    # Paid in full: no more reminders for it.
    c.receivables.record_payment("vysedeck", "2025-09", {
        "amount": 1767.84, "date": due.isoformat(), "reference": "UTIB0000999", "mode": "neft",
        "tdsAmount": 30.48, "tdsSection": "194J"})
    clock.day(due + timedelta(days=7))
    later = c.reminders.run()
    assert "vysedeck" not in {e["companyId"] for e in later["sent"]}
    reminders = receivable_document(c.receivables_repo.get("vysedeck_2025-09"))["reminders"]
    assert sorted(reminders, key=int) == ["-3", "0"] and {r["status"] for r in reminders.values()} == {"sent"}
    assert reminders["-3"]["to"] == "accounts@vysedeck.example"
