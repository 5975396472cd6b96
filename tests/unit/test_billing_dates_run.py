"""The run over the fakes: a month outside a company's billing dates (or before BILLING_FIRST_PERIOD)
is `skipped` with the reason, not failed; a company whose document breaks the strict schema fails
with the field named and gets no invoice (DESIGN 11)."""

from __future__ import annotations

import copy

from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.seed import COMPANIES
from fakes import fake_container
from inprocess import demo_calls


def run(settings: Settings, extra: dict) -> tuple:
    c = fake_container(settings, companies=copy.deepcopy(COMPANIES) | extra, calls=demo_calls(),
                       render_pdf=lambda doc: b"PDF")
    outcome = c.in_process_runs.run_in_process(MonthQuery(9, 2025))
    return c, outcome


def test_companies_outside_their_dates_are_skipped_and_malformed_ones_fail():
    later = {"name": "Later Ltd", "billingStartDate": "2025-10-01", "billing": {"ratePerMinute": 2}}
    ended = {"name": "Ended Ltd", "billingEndDate": "2025-08-31", "billing": {"ratePerMinute": 2}}
    strings = {"name": "Strings Ltd", "active": "false", "billing": {"ratePerMinute": 2}}
    c, outcome = run(Settings(), {"later": later, "ended": ended, "strings": strings})
    assert sorted(outcome.done) == ["dcgpac", "vysedeck", "webxpress"]
    assert outcome.skipped == {
        "later": "company 'later' is not billed for 2025-09: 2025-09 is before the company's billingStartDate 2025-10-01",
        "ended": "company 'ended' is not billed for 2025-09: 2025-09 is after the company's billingEndDate 2025-08-31",
    }
    assert list(outcome.failed) == ["strings"] and not outcome.ok
    assert "active = 'false' (string): expected a boolean (true or false)" in outcome.failed["strings"]
    assert not {"later_2025-09", "ended_2025-09", "strings_2025-09"} & set(c.invoices.docs)
    status = c.run_status.status("2025-09")
    assert status["counts"]["skipped"] == 2 and status["counts"]["failed"] == 1 and status["counts"]["done"] == 3
    assert [(s["companyId"], s["reason"].split(": ", 1)[1]) for s in status["skipped"]] == [
        ("ended", "2025-09 is after the company's billingEndDate 2025-08-31"),
        ("later", "2025-09 is before the company's billingStartDate 2025-10-01")]
    assert [f["companyId"] for f in status["failed"]] == ["strings"]


def test_billing_first_period_skips_every_company_of_an_earlier_month():
    c, outcome = run(Settings(first_period="2025-10"), {})
    assert outcome.ok and not outcome.done and sorted(outcome.skipped) == ["dcgpac", "vysedeck", "webxpress"]
    assert "2025-09 is before BILLING_FIRST_PERIOD 2025-10" in outcome.skipped["vysedeck"]
    assert not c.invoices.docs and not c.blobs.objects


def test_billing_first_period_is_checked_at_startup():
    import pytest

    from billing.errors import ConfigurationError

    assert Settings.from_env({"BILLING_FIRST_PERIOD": "2025-10"}).first_period == "2025-10"
    for bad in ("2025-13", "10/2025", "2025-1"):
        with pytest.raises(ConfigurationError, match="BILLING_FIRST_PERIOD must be YYYY-MM"):
            Settings.from_env({"BILLING_FIRST_PERIOD": bad})


def test_the_pubsub_worker_records_skipped_and_malformed_companies_without_raising():
    from billing.services.runs.messages import CompanyJob

    later = {"name": "Later Ltd", "billingStartDate": "2025-10-01", "billing": {"ratePerMinute": 2}}
    strings = {"name": "Strings Ltd", "active": "false", "billing": {"ratePerMinute": 2}}
    c = fake_container(Settings(), companies={"later": later, "strings": strings}, calls={},
                       render_pdf=lambda doc: b"PDF")
    skipped = c.run_worker.process_company(CompanyJob("later", 9, 2025, "2025-09"))
    failed = c.run_worker.process_company(CompanyJob("strings", 9, 2025, "2025-09"))
    assert skipped["state"] == "skipped" and "billingStartDate 2025-10-01" in skipped["reason"]
    assert failed["state"] == "failed" and "active = 'false' (string)" in failed["error"]
    assert c.runs.state_of("2025-09") == {"later": "skipped", "strings": "failed"}
    assert c.runs.company("2025-09", "strings").error_type == "ConfigurationError"
    assert not c.invoices.docs and not c.publisher.messages
