"""Errors no retry can cure end on the run record as Configuration failures after ONE delivery.

Real emulators underneath; each error is what Google Cloud answers when the project is not set up:
a query without its index (FAILED_PRECONDITION), a missing role (PERMISSION_DENIED), a disabled
API (HTTP 403 SERVICE_DISABLED), a topic that does not exist (the Pub/Sub emulator's own NOT_FOUND).
The handlers return (Pub/Sub acknowledges) instead of raising for 24 hours of redelivery.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timezone

import grpc
import pytest
from cloudevents.http import CloudEvent
from google.api_core import exceptions as gexc

from billing.bootstrap import Container
from billing.config import Settings
from billing.entrypoints.events import handle_company_message, handle_monthly_trigger, handle_sequencer_message
from billing.seed import seed_demo

pytestmark = pytest.mark.emulators

MONTH, YEAR, RUN = 9, 2025, "2025-09"
INDEX_MESSAGE = "The query requires an index. You can create it here: https://console.firebase.google.com/..."


class _Status(grpc.RpcError):
    """What the raw call-log reader's stream raises for a refused RunQuery."""

    def __init__(self, code: grpc.StatusCode, details: str):
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def __str__(self) -> str:
        return f"<RpcError {self._code}: {self._details}>"


class _Refuse(grpc.UnaryStreamClientInterceptor):
    def __init__(self, error: grpc.RpcError):
        self.error = error

    def intercept_unary_stream(self, continuation, details, request):
        raise self.error


@pytest.fixture
def stack(firestore_emulator, storage_emulator, pubsub_emulator):
    project = f"cfg-{uuid.uuid4().hex[:8]}"
    settings = Settings(project=project, bucket=f"b-{uuid.uuid4().hex[:8]}")
    c = Container(settings)
    c.storage.create_bucket(settings.bucket)
    seed_demo(c.firestore, settings)
    from google.cloud import pubsub_v1

    publisher = pubsub_v1.PublisherClient()
    return c, publisher


def _topics(c: Container, publisher, *names: str) -> None:
    for name in names:
        publisher.create_topic(name=publisher.topic_path(c.settings.project, name))


def event(payload: dict) -> CloudEvent:
    data = {"message": {"data": base64.b64encode(json.dumps(payload).encode()).decode(), "messageId": "m1"}}
    return CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished", "source": "//pubsub/x",
                       "id": uuid.uuid4().hex, "time": datetime.now(timezone.utc).isoformat()}, data)


def _refuse_call_logs(c: Container, error: grpc.RpcError) -> None:
    """The call-log reader's own channel answers every RunQuery with `error`."""
    reader = c.call_logs
    reader._channel = grpc.intercept_channel(grpc.insecure_channel(c.firestore._emulator_host), _Refuse(error))
    reader._fast = True


def _refuse_client_queries(c: Container, collection: str, error: Exception) -> None:
    """The SDK client's RunQuery on `collection` raises `error` (the rest reaches the emulator)."""
    api = c.firestore._firestore_api
    original = api.run_query

    def run_query(request=None, **kwargs):
        query = request["structured_query"] if isinstance(request, dict) else request.structured_query
        if query.from_[0].collection_id == collection:
            raise error
        return original(request=request, **kwargs)

    api.run_query = run_query


def _record(c: Container, company: str) -> dict:
    entry = c.runs.company(RUN, company)
    return dict(entry.document) if entry is not None else {}


@pytest.mark.parametrize("code,details", [
    (grpc.StatusCode.FAILED_PRECONDITION, INDEX_MESSAGE),
    (grpc.StatusCode.PERMISSION_DENIED, "Missing or insufficient permissions."),
])
def test_worker_records_a_refused_call_log_query_once(stack, code, details):
    c, publisher = stack
    _topics(c, publisher, c.settings.sequencer_topic)
    _refuse_call_logs(c, _Status(code, details))
    handle_company_message(event({"companyId": "vysedeck", "month": MONTH, "year": YEAR, "runId": RUN}), c)
    record = _record(c, "vysedeck")
    assert (record["state"], record["errorType"], record["attempts"]) == ("failed", "Configuration", 1)
    assert code.name.replace("_", "").lower() in record["error"].replace("_", "").lower() or details in record["error"]
    assert c.run_status.status(RUN)["failed"][0]["errorType"] == "Configuration"


def test_worker_records_a_disabled_storage_api(stack):
    c, publisher = stack
    _topics(c, publisher, c.settings.sequencer_topic)
    disabled = gexc.Forbidden("Cloud Storage JSON API has not been used in project 1 before or it is disabled "
                              "(SERVICE_DISABLED, accessNotConfigured)")

    def refuse(*args, **kwargs):
        raise disabled

    c.storage._http.request = refuse  # every Cloud Storage call of this client answers 403
    handle_company_message(event({"companyId": "vysedeck", "month": MONTH, "year": YEAR, "runId": RUN}), c)
    record = _record(c, "vysedeck")
    assert (record["state"], record["errorType"]) == ("failed", "Configuration")
    assert "SERVICE_DISABLED" in record["error"]


def test_worker_records_a_missing_sequencer_topic(stack):
    c, _ = stack  # no topic created: the Pub/Sub emulator answers NOT_FOUND
    handle_company_message(event({"companyId": "vysedeck", "month": MONTH, "year": YEAR, "runId": RUN}), c)
    record = _record(c, "vysedeck")
    assert (record["state"], record["errorType"]) == ("failed", "Configuration")
    assert c.settings.sequencer_topic in record["error"] and "does not exist" in record["error"]


def test_sequencer_without_the_draft_index_fails_the_drafted_companies(stack):
    c, publisher = stack
    _topics(c, publisher, c.settings.sequencer_topic, c.settings.worker_topic)
    companies = ["vysedeck", "webxpress"]
    for company in companies:
        handle_company_message(event({"companyId": company, "month": MONTH, "year": YEAR, "runId": RUN}), c)
        assert _record(c, company)["state"] == "drafted"
    _refuse_client_queries(c, c.settings.invoices_collection, gexc.FailedPrecondition(INDEX_MESSAGE))
    handle_sequencer_message(event({"runId": RUN}), c)  # returns: acknowledged, not redelivered
    for company in companies:
        record = _record(c, company)
        assert (record["state"], record["errorType"]) == ("failed", "Configuration")
        assert "numbering drafts (sequencer)" in record["error"] and "requires an index" in record["error"]
    assert c.run_status.status(RUN)["counts"]["failed"] == 2


def test_trigger_without_the_worker_topic_fails_the_companies_it_could_not_publish(stack):
    c, _ = stack
    handle_monthly_trigger(event({"month": MONTH, "year": YEAR, "trigger": "scheduler"}), c)
    status = c.run_status.status(RUN)
    assert status["counts"]["failed"] == status["total"] > 0
    assert {f["errorType"] for f in status["failed"]} == {"Configuration"}
    assert all(c.settings.worker_topic in f["error"] for f in status["failed"])


def test_the_cli_shows_configuration_failures(stack, capsys, monkeypatch):
    c, _ = stack
    handle_company_message(event({"companyId": "vysedeck", "month": MONTH, "year": YEAR, "runId": RUN}), c)
    from billing.entrypoints import cli

    monkeypatch.setattr("billing.bootstrap.Container", lambda: c)
    assert cli.main(["run-status", "--month", str(MONTH), "--year", str(YEAR)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(f["companyId"], f["errorType"]) for f in report["failed"]] == [("vysedeck", "Configuration")]
