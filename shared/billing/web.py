"""The HTTP API (DESIGN.md section 5): routing, auth, error mapping; the services do the work."""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import flask
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from billing.bootstrap import Container
from billing.errors import AuthError, BillingError, NotFoundError
from billing.logs import request_context, trace_fields

log = logging.getLogger("billing.http")

UNEXPECTED = "An unexpected error occurred during invoice generation."
OPENAPI_PATH = Path(__file__).with_name("openapi.json")
LEGACY_PREFIX = "/billing-api"

ROUTES = Map(
    [
        Rule("/", endpoint="health", methods=["GET"]),
        Rule("/openapi.json", endpoint="openapi", methods=["GET"]),
        Rule("/billing/generate/<path:company>", endpoint="generate", methods=["POST"]),
        Rule("/billing/invoices/<path:company>/<period>/<any(pdf, csv):kind>", endpoint="file", methods=["GET"]),
        Rule("/billing/invoices/<path:company>/<period>/send", endpoint="send", methods=["POST"]),
        Rule("/billing/invoices/<company>/<period>", endpoint="invoice", methods=["GET"]),
        Rule("/billing/invoices/<path:company>", endpoint="list", methods=["GET"]),
        Rule("/billing/run", endpoint="run", methods=["POST"]),
        Rule("/billing/runs/<period>", endpoint="run_status", methods=["GET"]),
    ],
    strict_slashes=False,
    merge_slashes=False,
)
OPEN_ENDPOINTS = {"health", "openapi"}


def json_response(body: Any, status: int = 200, headers: dict | None = None) -> flask.Response:
    return flask.Response(
        json.dumps(body, default=str, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers=headers or {},
    )


def check_api_key(request: flask.Request, keys: tuple[str, ...]) -> None:
    """Constant-time comparison against every configured key; the key itself is never logged."""
    given = request.headers.get("X-API-Key", "")
    if not given:
        raise AuthError("Missing API key: send it in the X-API-Key header")
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(given.encode(), key.encode())
    if not ok:
        raise AuthError("Invalid API key")


class BillingApi:
    """One instance per process; `__call__(request)` is the Cloud Function body."""

    def __init__(self, container_factory: Callable[[], Container]):
        self._container = container_factory

    def __call__(self, request: flask.Request) -> flask.Response:
        started = time.monotonic()
        container = self._container()
        request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        trace = request.headers.get("X-Cloud-Trace-Context") or request.headers.get("traceparent")
        token = request_context.set(trace_fields(container.settings.project, trace, request_id))
        status = 500
        try:
            response = self._dispatch(request, container)
            status = response.status_code
        except BillingError as exc:
            status = exc.http_status
            response = json_response({"detail": exc.detail}, status)
            level = logging.WARNING if status < 500 else logging.ERROR
            log.log(level, exc.detail, extra={"json_fields": {"errorType": type(exc).__name__}})
        except HTTPException as exc:
            status = exc.code or 500
            response = json_response({"detail": exc.description or exc.name}, status)
            if isinstance(exc, MethodNotAllowed):
                response.headers["Allow"] = ", ".join(exc.valid_methods or [])
            log.warning(f"{status} {exc.name}")
        except Exception as exc:  # the edge: log the cause, tell the caller nothing internal
            if _is_unavailable(exc):
                status = 503
                log.error(f"dependency unavailable: {type(exc).__name__}: {exc}")
                response = json_response({"detail": "A dependency is unavailable; retry later."}, 503,
                                         headers={"Retry-After": "30"})
            else:
                status = 500
                log.exception("unhandled error")
                response = json_response({"detail": UNEXPECTED}, 500)
        finally:
            log.info(
                f"{request.method} {request.path} {status}",
                extra={"json_fields": {"httpRequest": {
                    "requestMethod": request.method,
                    "requestUrl": request.path,
                    "status": status,
                    "latency": f"{time.monotonic() - started:.3f}s",
                    "userAgent": request.headers.get("User-Agent", ""),
                }}},
            )
            request_context.reset(token)
        response.headers["X-Request-Id"] = request_id
        return response

    def _dispatch(self, request: flask.Request, container: Container) -> flask.Response:
        path = request.path
        if path == LEGACY_PREFIX or path.startswith(LEGACY_PREFIX + "/"):
            path = path[len(LEGACY_PREFIX):] or "/"
        adapter = ROUTES.bind("localhost", path_info=path)
        try:
            endpoint, args = adapter.match(path, method=request.method)
        except NotFound:
            raise NotFoundError(f"No route for {request.method} {request.path}") from None
        if endpoint not in OPEN_ENDPOINTS:
            check_api_key(request, container.settings.api_keys)
        handler = getattr(self, f"_{endpoint}")
        return handler(request, container, **args)

    # -- endpoints ---------------------------------------------------------------------------

    def _health(self, request, container):
        return json_response({"message": "Billing API is running!"})

    def _openapi(self, request, container):
        return flask.Response(OPENAPI_PATH.read_bytes(), mimetype="application/json")

    def _generate(self, request, container, company):
        doc = container.issuance.generate(company, request.args.get("month"), request.args.get("year"))
        return json_response(present(doc, request, container))

    def _list(self, request, container, company):
        docs = container.issuance.list(company, request.args.get("year"))
        return json_response({"companyId": company, "invoices": [summary(d) for d in docs]})

    def _invoice(self, request, container, company, period):
        return json_response(present(container.issuance.get(company, period), request, container))

    def _file(self, request, container, company, period, kind):
        path, filename, content_type = container.issuance.file(company, period, kind)
        url = container.blobs.signed_url(path, filename)
        if url:
            return flask.redirect(url, code=302)
        chunks = container.blobs.open_read(path)
        return flask.Response(
            flask.stream_with_context(chunks),
            mimetype=content_type.split(";")[0],
            content_type=content_type,
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    def _send(self, request, container, company, period):
        result = container.delivery.send(company, period, force=True)
        return json_response(result)

    def _run(self, request, container):
        result = container.runs_service.request_run(
            request.args.get("month"), request.args.get("year"), trigger="http"
        )
        status_url = f"{base_url(request, container)}/billing/runs/{result['period']}"
        return json_response({**result, "statusUrl": status_url}, 202, headers={"Location": status_url})

    def _run_status(self, request, container, period):
        return json_response(container.runs_service.status(
            period, request.args.get("pageSize"), request.args.get("pageToken")))


def _is_unavailable(exc: Exception) -> bool:
    """Firestore/Storage unavailable or timed out: the caller may retry (503, not 500)."""
    from google.api_core import exceptions as gexc

    return isinstance(exc, (gexc.ServiceUnavailable, gexc.DeadlineExceeded, gexc.GatewayTimeout,
                            gexc.TooManyRequests, TimeoutError, ConnectionError))


def base_url(request: flask.Request, container: Container) -> str:
    if container.settings.public_base_url:
        return container.settings.public_base_url.rstrip("/")
    prefix = request.headers.get("X-Forwarded-Prefix", "")
    if request.path.startswith(LEGACY_PREFIX + "/"):
        prefix = LEGACY_PREFIX
    return request.host_url.rstrip("/") + prefix


def present(doc: dict, request: flask.Request, container: Container) -> dict:
    """The invoice as the API returns it: the stored document, download links, no internals."""
    first = ("companyId", "invoiceNumber", "status", "billingPeriod", "usageData", "lineItems", "subtotal",
             "gstAmount", "totalAmount", "currency", "taxBreakdown", "amountInWords", "invoiceDate", "dueDate")
    body = {k: doc[k] for k in first if k in doc}
    body.update({k: doc[k] for k in sorted(doc) if k not in body and k != "tariff"})
    files = dict(doc.get("files") or {})
    body["files"] = {"pdf": files.get("pdf"), "csv": files.get("csv")}
    if doc.get("status") == "issued":
        from billing.services.issuance import file_name, file_paths

        paths = file_paths(doc["companyId"], doc["billingPeriod"]["month"])
        base = f"{base_url(request, container)}/billing/invoices/{doc['companyId']}/{doc['billingPeriod']['month']}"
        links = {}
        for kind in ("pdf", "csv"):
            links[kind] = container.blobs.signed_url(paths[kind], file_name(doc, kind)) or f"{base}/{kind}"
        body["downloadLinks"] = links
    return body


def summary(doc: dict) -> dict:
    keep = (
        "invoiceNumber", "companyId", "status", "invoiceDate", "dueDate", "billingPeriod",
        "subtotal", "gstAmount", "totalAmount", "currency",
    )
    return {k: doc.get(k) for k in keep}
