"""`billing reconcile` over every company: one company's error is listed with its reason and the
others are still reconciled; the exit code says whether any drifted or failed."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone

import pytest

from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.entrypoints import cli
from billing.seed import COMPANIES, VYSEDECK_SEPTEMBER
from fakes import fake_container

ISSUED_AT = datetime(2025, 10, 2, 6, 0, tzinfo=timezone.utc)
START = datetime(2025, 9, 1, 4, 30, tzinfo=timezone.utc)


def calls(durations):
    return [CallRecord(f"c{i:03d}", START + timedelta(days=i * 2), d, "completed") for i, d in enumerate(durations)]


@pytest.fixture()
def world(monkeypatch):
    companies = copy.deepcopy(COMPANIES)
    # An upstream bug: a company document whose id the API would refuse ("Bad Id" is not [a-z0-9_-]),
    # listed first so a batch that stopped at the first error would reconcile nothing.
    companies["Bad Id"] = copy.deepcopy(companies["vysedeck"])
    c = fake_container(companies=companies, calls={"vysedeck": calls(VYSEDECK_SEPTEMBER)}, clock=lambda: ISSUED_AT)
    c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    monkeypatch.setattr("billing.bootstrap.Container", lambda *a, **k: c)
    monkeypatch.setattr("billing.logs.setup_logging", lambda *a, **k: None)
    return c


def test_one_bad_company_is_reported_and_the_others_still_reconciled(world):
    world.call_logs.calls["vysedeck"].append(CallRecord("late", START + timedelta(days=3), 61, "completed"))
    items = {i.company_id: i for i in world.reconcile.reconcile_many(["Bad Id", "vysedeck", "webxpress"], "2025-09")}
    assert items["Bad Id"].outcome == "failed"
    assert "company id must be 1-64 characters" in items["Bad Id"].detail and "'Bad Id'" in items["Bad Id"].detail
    assert items["vysedeck"].outcome == "drifted" and items["vysedeck"].result.to_json()["added"] == 1
    assert items["webxpress"].outcome == "missing"  # no September invoice: not an error of the batch


def test_an_unexpected_error_is_one_companys_failure(world, monkeypatch):
    original = world.reconcile.reconcile_invoice

    def broken(invoice, *args):
        if invoice.company_id == "vysedeck":
            raise RuntimeError("CSV unreadable")
        return original(invoice, *args)

    monkeypatch.setattr(world.reconcile, "reconcile_invoice", broken)
    world.issuance.generate("webxpress", MonthQuery(9, 2025))
    items = {i.company_id: i for i in world.reconcile.reconcile_many(["vysedeck", "webxpress"], "2025-09")}
    assert (items["vysedeck"].outcome, items["vysedeck"].detail) == ("failed", "RuntimeError: CSV unreadable")
    assert items["webxpress"].outcome == "clean"


def test_cli_lists_the_failure_goes_on_and_exits_non_zero(world, capsys):
    assert cli.main(["reconcile", "--month", "9", "--year", "2025"]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["FAILED Bad Id 2025-09: company id must be 1-64 characters of a-z, 0-9, '_' or '-', "
                                "got 'Bad Id'"]
    assert "reconciled 1 issued invoice(s) of 2025-09: 0 drifted, 1 failed" in err  # vysedeck still checked


def test_cli_exit_zero_when_every_company_is_clean(world, capsys):
    del world.companies.docs["Bad Id"]
    assert cli.main(["reconcile", "--month", "9", "--year", "2025"]) == 0
    assert "reconciled 1 issued invoice(s) of 2025-09: 0 drifted, 0 failed" in capsys.readouterr().err
