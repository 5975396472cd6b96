"""The HTTP API in this process: BillingApi on Flask's request context over `fake_container()`.

`InProcessApi` answers like the e2e tests' `Api` (request, json, post_json) without a server
process or emulators; `snapshot()` is everything the fakes hold, and `log_lines()` the JSON log
lines the request wrote (the same formatter the server logs with).
"""

from __future__ import annotations

import copy
import io
import json
import logging
from typing import Any

import flask

from billing.config import Settings
from billing.domain.rating import CallRecord
from billing.entrypoints.http import BillingApi
from billing.logs import CloudLoggingFormatter
from billing.seed import COMPANIES, SUPPLIER, demo_call_logs
from e2e_support import API_KEY, READ_KEY
from fakes import fake_container


def demo_calls() -> dict[str, list[CallRecord]]:
    """The seed's call logs, as the call-log reader yields them."""
    calls: dict[str, list[CallRecord]] = {}
    for call_id, doc in demo_call_logs():
        calls.setdefault(doc["companyId"], []).append(CallRecord(
            call_id, doc["startedAt"], doc.get("durationSeconds"), doc.get("status"), doc.get("direction"),
            doc.get("fromNumber"), doc.get("toNumber"), doc.get("agentId")))
    return calls


class InProcessApi:
    """The seeded demo (supplier, companies, call logs) behind the real HTTP edge, in memory."""

    def __init__(self, companies: dict[str, dict[str, Any]] | None = None, **settings: Any):
        self.key = API_KEY
        self.settings = Settings(api_keys=("other-key", READ_KEY), admin_keys=(API_KEY,), **settings)
        self.container = fake_container(self.settings, companies=copy.deepcopy(COMPANIES) | (companies or {}),
                                        supplier=copy.deepcopy(SUPPLIER), calls=demo_calls())
        self._api = BillingApi(lambda: self.container)
        self._app = flask.Flask("billing-in-process")
        self._log = io.StringIO()
        handler = logging.StreamHandler(self._log)
        handler.setFormatter(CloudLoggingFormatter())
        self._handler = handler

    def request(self, method: str, path: str, key: str | None = ..., headers: dict | None = None,
                data: bytes = b"") -> tuple[int, bytes, dict[str, str]]:
        hdrs = dict(headers or {})
        if key is ...:
            key = self.key
        if key is not None:
            hdrs["X-API-Key"] = key
        logger = logging.getLogger("billing")
        logger.addHandler(self._handler)
        try:
            with self._app.test_request_context(path, method=method, headers=hdrs, data=data):
                response = self._api(flask.request)
                body = response.get_data()
        finally:
            logger.removeHandler(self._handler)
        return response.status_code, body, dict(response.headers)

    def json(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        status, body, _ = self.request(method, path, **kw)
        return status, json.loads(body) if body else None

    def post_json(self, path: str, payload: Any, key: str | None = None) -> tuple[int, Any]:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        status, body, _ = self.request("POST", path, key=key or self.key, data=data,
                                       headers={"Content-Type": "application/json"})
        return status, json.loads(body or b"null")

    def snapshot(self) -> Any:
        """Every document and object the fakes hold (companies, invoices, counters, credit notes,
        run records, files)."""
        c = self.container
        return copy.deepcopy((c.companies.docs, c.invoices.docs, c.invoices.counters, c.credit_notes.docs,
                              c.credit_notes.counters, c.runs.summaries, c.runs.companies, c.blobs.objects,
                              c.publisher.messages))

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._log.getvalue().splitlines() if line.startswith("{")]

    def log_text(self) -> str:
        return self._log.getvalue()
