"""The HTTP API in-process: BillingApi in a bare Flask app, driven by Flask's test client."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import flask
from flask.testing import FlaskClient

from billing.bootstrap import Container
from billing.config import Settings
from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.entrypoints.http import BillingApi
from billing.seed import COMPANIES, VYSEDECK_SEPTEMBER
from fakes import FakeMailer, fake_container

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]


def client_for(container: Container) -> FlaskClient:
    """A test client whose every request reaches BillingApi over `container` (as billing_http does)."""
    api = BillingApi(lambda: container)
    app = flask.Flask("billing_inprocess")

    def view(path: str = "") -> flask.typing.ResponseReturnValue:
        return api(flask.request)

    app.add_url_rule("/", "root", view, methods=METHODS)
    app.add_url_rule("/<path:path>", "any", view, methods=METHODS)
    return app.test_client()


NOW = datetime(2025, 12, 3, 6, 0, tzinfo=timezone.utc)
KEYS = {"none": None, "unknown": "not-a-key-of-ours", "read": "read-key", "api": "api-key", "admin": "admin-key"}
SETTINGS = Settings(read_keys=("read-key",), api_keys=("api-key",), admin_keys=("admin-key",))
VOID_BODY: dict[str, Any] = {"reason": "Rate per minute was wrong", "reissue": True}  # + the invoice number
PAYMENT_BODY: dict[str, Any] = {"amount": 500, "date": "2025-12-02", "reference": "UTIB0000123", "mode": "neft"}


def september_calls() -> list[CallRecord]:
    start = datetime(2025, 9, 1, 4, 30, tzinfo=timezone.utc)
    return [CallRecord(f"c{i:03d}", start + timedelta(days=i * 2, minutes=7 * i), d, "completed")
            for i, d in enumerate(VYSEDECK_SEPTEMBER)]


class World:
    """The fakes, seeded through the services as the API would have left them."""

    def __init__(self, companies: dict[str, dict[str, Any]] | None = None, settings: Settings = SETTINGS):
        self.container = c = fake_container(
            settings, companies=companies or copy.deepcopy(COMPANIES),
            calls={"vysedeck": september_calls()}, clock=lambda: NOW,
            _smtp=(FakeMailer(), "", "billing@voxa.example", None))
        self.september = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
        august = c.issuance.generate("vysedeck", MonthQuery(8, 2025)).document
        c.corrections.void("vysedeck", "2025-08", {**VOID_BODY, "invoiceNumber": august["invoiceNumber"]})
        c.run_trigger.request_run(MonthQuery(9, 2025), trigger="test")
        c.receivables.record_payment("vysedeck", "2025-09", {**PAYMENT_BODY, "reference": "CHQ000001"})
        # webxpress's September (its fee only) carries a debit note, for the debit-note read routes
        webxpress = c.issuance.generate("webxpress", MonthQuery(9, 2025)).document
        self.debit_note = c.adjustments.create("debit", "webxpress", "2025-09", {
            "invoiceNumber": webxpress["invoiceNumber"], "reason": "Late calls", "minutes": 3}, "seed")
        self.client = client_for(c)

    def state(self) -> Any:
        c: Any = self.container
        return copy.deepcopy((c.invoices.docs, c.invoices.counters, c.credit_notes.docs, c.credit_notes.counters,
                              c.blobs.objects, c.runs.summaries, c.runs.companies, c.publisher.messages,
                              [m.as_bytes() for m in c.mailer.sent], c.receivables_repo.docs,
                              c.receivables_repo.payments, c.receivables_repo.companies, c.receivables_repo.totals,
                              c.companies.docs, c.supplier_settings.doc,
                              c.debit_notes.docs, c.debit_notes.counters, c.charge_repo.docs, c.charge_repo.closed))

    def call(self, method: str, url: str, key: str | None) -> Any:
        headers = {"X-API-Key": key} if key is not None else {}
        body = None
        if url.endswith("/void"):
            body = json.dumps({**VOID_BODY, "invoiceNumber": self.september["invoiceNumber"]})
        elif url.endswith(("/credit-notes", "/debit-notes")) and method == "POST":
            body = json.dumps({"invoiceNumber": self.september["invoiceNumber"], "reason": "Disputed", "minutes": 1})
        elif url.endswith("/settle"):
            body = json.dumps({"invoiceNumber": self.september["invoiceNumber"]})
        elif url.endswith("/payments"):
            body = json.dumps(PAYMENT_BODY)
        elif url.endswith("/charges") and method == "POST":
            body = json.dumps({"period": "2025-11", "description": "Onboarding", "amount": 999.99})
        elif url.endswith("/reverse"):
            body = json.dumps({"reason": "Cheque bounced"})
        elif method == "PUT" and url.startswith("/billing/companies/"):  # a changed company document
            body = json.dumps({**self.container.companies.get(url.rsplit("/", 1)[1]).document, "billingEmail": "new@x.example"})
        elif method == "PUT" and url == "/billing/settings":
            body = json.dumps({**self.container.supplier_settings.doc, "phone": "+91 80 0000 0001"})
        return self.client.open(url, method=method, headers=headers, data=body, content_type="application/json")
