"""`billing credit-note|debit-note create|list|show` and `billing reconcile --settle` over the fakes."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest

from billing import bootstrap
from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.entrypoints import cli
from billing.seed import COMPANIES, SUPPLIER, VYSEDECK_SEPTEMBER
from fakes import fake_container

NOW = datetime(2025, 10, 2, 6, 0, tzinfo=timezone.utc)
START = datetime(2025, 9, 1, 4, 30, tzinfo=timezone.utc)


@pytest.fixture
def container(monkeypatch):
    calls = [CallRecord(f"c{i:03d}", START + timedelta(days=i * 2, minutes=7 * i), d, "completed")
             for i, d in enumerate(VYSEDECK_SEPTEMBER)]
    c = fake_container(companies={"vysedeck": copy.deepcopy(COMPANIES["vysedeck"])},
                       supplier=copy.deepcopy(SUPPLIER), calls={"vysedeck": calls}, clock=lambda: NOW)
    c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    monkeypatch.setattr(bootstrap, "Container", lambda *a, **k: c)
    monkeypatch.setattr("billing.logs.setup_logging", lambda *a, **k: None)
    return c


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_credit_and_debit_notes_from_the_cli(container, capsys):
    code, out, _ = run(capsys, "credit-note", "create", "vysedeck", "2025-09", "--invoice-number", "VX/25-26/00001",
                       "--reason", "40 failed minutes", "--minutes", "40", "--key", "k1")
    note = json.loads(out)
    assert code == 0 and note["creditNoteNumber"] == "CN/25-26/00001" and note["totalAmount"] == 94.4
    code, out, _ = run(capsys, "debit-note", "create", "vysedeck", "2025-09", "--invoice-number", "VX/25-26/00001",
                       "--reason", "late", "--line", "Late calls = of 30 Sep=50", "--line", "Setup=10.50")
    debit = json.loads(out)
    assert code == 0 and debit["debitNoteNumber"] == "DN/25-26/00001" and debit["taxableValue"] == 60.5
    assert [ln["description"] for ln in debit["lineItems"]] == ["Late calls = of 30 Sep", "Setup"]
    code, out, _ = run(capsys, "debit-note", "list", "vysedeck")
    assert [n["debitNoteNumber"] for n in json.loads(out)] == ["DN/25-26/00001"]
    code, out, _ = run(capsys, "credit-note", "show", "vysedeck", note["creditNoteId"])
    assert json.loads(out)["creditNoteNumber"] == "CN/25-26/00001"
    code, _, err = run(capsys, "credit-note", "create", "vysedeck", "2025-09", "--invoice-number", "VX/25-26/00001",
                       "--reason", "too much", "--minutes", "100000")
    assert code == 2 and "exceeds what invoice" in err


def test_reconcile_settle_settles_every_drifted_company(container, capsys):
    container.call_logs.calls["vysedeck"] += [
        CallRecord(f"late{i}", datetime(2025, 9, 30, 6, i, tzinfo=timezone.utc), 60, "completed") for i in range(25)]
    code, out, err = run(capsys, "reconcile", "--month", "9", "--year", "2025")
    assert code == 1 and "DRIFT vysedeck" in out and container.debit_notes.list_for_company("vysedeck") == []
    code, out, err = run(capsys, "reconcile", "--settle", "--month", "9", "--year", "2025")
    assert code == 0 and "SETTLED vysedeck 2025-09 VX/25-26/00001: debit note DN/25-26/00001" in out
    [note] = [n.document for n in container.debit_notes.list_for_company("vysedeck")]
    assert note["totalAmount"] == 59.0
    run(capsys, "reconcile", "--settle", "--month", "9", "--year", "2025")  # again: the same note
    assert len(container.debit_notes.list_for_company("vysedeck")) == 1


def test_charges_from_the_cli(container, capsys):
    code, out, _ = run(capsys, "charges", "add", "vysedeck", "2025-10", "--description", "Setup", "--amount", "999.99",
                       "--key", "cli-1")
    charge = json.loads(out)
    assert code == 0 and (charge["period"], charge["amount"]) == ("2025-10", 999.99)
    code, out, _ = run(capsys, "charges", "list", "vysedeck", "2025-10")
    assert code == 0 and json.loads(out)["charges"] == [charge]
    # September is issued: refused, with the reason, exit code 2
    code, _, err = run(capsys, "charges", "add", "vysedeck", "2025-09", "--description", "late", "--amount", "1")
    assert code == 2 and "already invoiced" in err
    code, _, err = run(capsys, "charges", "add", "vysedeck", "2025-10", "--description", "x", "--amount", "lots")
    assert code == 2 and "--amount" in err


def test_notes_are_emailed_from_the_cli(monkeypatch, capsys):
    """`billing credit-note|debit-note send`: the API's send routes, from the droplet's shell."""
    from fakes import FakeMailer

    mailer = FakeMailer()
    calls = [CallRecord(f"c{i:03d}", START + timedelta(days=i * 2, minutes=7 * i), d, "completed")
             for i, d in enumerate(VYSEDECK_SEPTEMBER)]
    c = fake_container(companies={"vysedeck": copy.deepcopy(COMPANIES["vysedeck"])},
                       supplier=copy.deepcopy(SUPPLIER), calls={"vysedeck": calls}, clock=lambda: NOW,
                       _smtp=(mailer, "", "billing@voxa.example", None))
    c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    monkeypatch.setattr(bootstrap, "Container", lambda *a, **k: c)
    monkeypatch.setattr("billing.logs.setup_logging", lambda *a, **k: None)
    for kind, number in (("credit", "CN/25-26/00001"), ("debit", "DN/25-26/00001")):
        code, out, _ = run(capsys, f"{kind}-note", "create", "vysedeck", "2025-09", "--invoice-number",
                           "VX/25-26/00001", "--reason", "minutes", "--minutes", "10")
        note_id = json.loads(out)[f"{kind}NoteId"]
        code, out, _ = run(capsys, f"{kind}-note", "send", "vysedeck", note_id, "--to", "ap@vysedeck.example")
        assert code == 0 and json.loads(out)["status"] == "sent", out
        assert mailer.sent[-1]["To"] == "ap@vysedeck.example" and number in mailer.sent[-1]["Subject"]
    code, _, err = run(capsys, "debit-note", "send", "webxpress", note_id)  # another company's note
    assert code != 0 and "not found" in err
    assert len(mailer.sent) == 2
