"""The run's Pub/Sub messages round-trip through their payloads; the container takes overrides by name."""

import pytest

from billing.bootstrap import Container
from billing.config import Settings
from billing.errors import ValidationError
from billing.services.runs.messages import CompanyJob, FinishJob, MonthlyTrigger, SequencerWake, worker_job
from fakes import FakeCallLogs, fake_container


def test_worker_messages_round_trip_and_name_their_company_and_period():
    job = CompanyJob("acme", 9, 2025, "2025-09")
    payload, attributes = job.to_payload(), job.attributes()
    assert payload == {"companyId": "acme", "month": 9, "year": 2025, "runId": "2025-09"}
    assert attributes == {"companyId": "acme", "period": "2025-09"}
    assert worker_job(payload) == job
    finish = FinishJob("acme", 9, 2025, "2025-09", "acme_2025-09")
    assert worker_job(finish.to_payload()) == finish
    # An older message without runId runs under the month's key; strings of digits are accepted.
    assert worker_job({"companyId": "acme", "month": "9", "year": "2025"}).run_id == "2025-09"


@pytest.mark.parametrize("payload", [{"month": 9}, {"companyId": "a", "month": "x", "year": 2025},
                                     {"companyId": "a", "month": [9], "year": 2025}])
def test_a_malformed_worker_payload_is_refused(payload):
    with pytest.raises((KeyError, TypeError, ValueError)):
        worker_job(payload)


def test_trigger_and_wake_payloads():
    assert MonthlyTrigger.from_payload({}) == MonthlyTrigger(None, None, "scheduler")
    trigger = MonthlyTrigger(9, 2025, "http")
    assert MonthlyTrigger.from_payload(trigger.to_payload()) == trigger
    with pytest.raises(ValidationError, match="month must be an integer 1-12"):
        MonthlyTrigger.from_payload({"month": 9.5, "year": 2025})
    assert SequencerWake.from_payload(SequencerWake("2025-09").to_payload()) == SequencerWake("2025-09")
    assert SequencerWake.from_payload({}) == SequencerWake(None)


def test_the_container_uses_an_override_for_everything_built_on_it():
    calls = FakeCallLogs({})
    c = fake_container(companies={"acme": {"name": "Acme"}}, call_logs=calls)
    assert c.call_logs is calls and c.rating.calls is calls
    assert c.queries.companies is c.companies and c.run_context.companies is c.companies
    assert c.inputs.companies is c.companies and c.companies.get("acme").document == {"name": "Acme"}
    with pytest.raises(TypeError, match="no overridable property 'compnies'"):
        Container(Settings(), compnies=c.companies)
