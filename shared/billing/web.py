"""The HTTP API (DESIGN.md section 5): routing, auth, error mapping; the services do the work."""

from __future__ import annotations

import hmac
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping

import flask
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response as WerkzeugResponse

from billing.bootstrap import Container, is_unavailable
from billing.errors import (
    AuthError, BillingError, CloudConfigurationError, ConfigurationError, ConflictError, ForbiddenError,
    IntegrityError, NotFoundError, TransientError, UpstreamError, ValidationError,
)
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
        Rule("/billing/invoices/<path:company>/<period>/void", endpoint="void", methods=["POST"]),
        Rule("/billing/invoices/<path:company>/<period>/reconcile", endpoint="reconcile", methods=["GET"]),
        Rule("/billing/credit-notes/<company>/<credit_note_id>/pdf", endpoint="credit_note_pdf", methods=["GET"]),
        Rule("/billing/credit-notes/<company>/<credit_note_id>", endpoint="credit_note", methods=["GET"]),
        Rule("/billing/credit-notes/<company>", endpoint="credit_notes", methods=["GET"]),
        Rule("/billing/preview/<path:company>", endpoint="preview", methods=["GET"]),
        Rule("/billing/invoices/<company>/<period>", endpoint="invoice", methods=["GET"]),
        Rule("/billing/invoices/<company>", endpoint="list", methods=["GET"]),
        Rule("/billing/run", endpoint="run", methods=["POST"]),
        Rule("/billing/gst/gstr1/<period>", endpoint="gstr1", methods=["GET"]),
        Rule("/billing/runs/<period>", endpoint="run_status", methods=["GET"]),
    ],
    strict_slashes=False,
    merge_slashes=False,
)
OPEN_ENDPOINTS = {"health", "openapi"}
ADMIN_ENDPOINTS = {"run", "send", "void"}
RETRY_AFTER_SECONDS = "30"

# The one table from the BillingError family to HTTP status codes (most specific class first).
ERROR_STATUS: tuple[tuple[type[BillingError], int], ...] = (
    (ValidationError, 422),
    (ConfigurationError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (AuthError, 401),
    (ForbiddenError, 403),
    (TransientError, 503),
    (CloudConfigurationError, 503),  # unavailable until the project's setup is fixed; the cause is shown
    (UpstreamError, 502),
    (IntegrityError, 500),
    (BillingError, 500),
)


PUBLIC_DETAIL = {
    500: UNEXPECTED,
    502: "The email relay did not accept the message; the invoice's delivery status says when to retry.",
}
PUBLIC_DELIVERY_FIELDS = ("status", "attempts", "to", "sentAt", "messageId", "reason", "permanent", "note")


def public_delivery(record: Mapping[str, Any]) -> dict[str, Any]:
    """A delivery record without internals (claim ids, the relay's raw error text)."""
    return {k: record[k] for k in PUBLIC_DELIVERY_FIELDS if k in record}


def status_for(exc: BillingError) -> int:
    """The HTTP status of a BillingError, from ERROR_STATUS."""
    return next(status for cls, status in ERROR_STATUS if isinstance(exc, cls))


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> flask.Response:
    return flask.Response(
        json.dumps(body, default=str, ensure_ascii=False),
        status=status,
        mimetype="application/json",
        headers=headers or {},
    )


def _matches(given: str, keys: tuple[str, ...]) -> bool:
    """Constant-time comparison against every key (no early exit on the first match)."""
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(given.encode(), key.encode())
    return ok


def check_api_key(request: flask.Request, keys: tuple[str, ...], admin_keys: tuple[str, ...] = (),
                  admin_only: bool = False) -> str:
    """The caller's role ("admin" or "api"); the key itself is never logged."""
    given = request.headers.get("X-API-Key", "")
    if not given:
        raise AuthError("Missing API key: send it in the X-API-Key header")
    if _matches(given, admin_keys):
        return "admin"
    if not _matches(given, keys):
        raise AuthError("Invalid API key")
    if admin_only:
        raise ForbiddenError("This API key may not do this: an admin key (BILLING_ADMIN_KEYS) is required")
    return "api"


class BillingApi:
    """One instance per process; `__call__(request)` is the Cloud Function body."""

    def __init__(self, container_factory: Callable[[], Container]):
        self._container = container_factory

    def __call__(self, request: flask.Request) -> WerkzeugResponse:
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
            status = status_for(exc)
            headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
            # Internal faults and upstream replies (an SMTP server's raw text) stay in the log.
            public = PUBLIC_DETAIL.get(status, exc.detail) if status >= 500 and status != 503 else exc.detail
            response = json_response({"detail": public}, status, headers)
            level = logging.WARNING if status < 500 else logging.ERROR
            log.log(level, exc.detail, extra={"json_fields": {"errorType": type(exc).__name__}})
        except HTTPException as exc:
            status = exc.code or 500
            response = json_response({"detail": exc.description or exc.name}, status)
            if isinstance(exc, MethodNotAllowed):
                response.headers["Allow"] = ", ".join(exc.valid_methods or [])
            log.warning(f"{status} {exc.name}")
        except Exception as exc:  # the edge: log the cause, tell the caller nothing internal
            if is_unavailable(exc):
                status = 503
                log.error(f"dependency unavailable: {type(exc).__name__}: {exc}")
                response = json_response({"detail": "A dependency is unavailable; retry later."}, 503,
                                         headers={"Retry-After": RETRY_AFTER_SECONDS})
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

    def _dispatch(self, request: flask.Request, container: Container) -> WerkzeugResponse:
        path = request.path
        if path == LEGACY_PREFIX or path.startswith(LEGACY_PREFIX + "/"):
            path = path[len(LEGACY_PREFIX):] or "/"
        adapter = ROUTES.bind("localhost", path_info=path)
        try:
            endpoint, args = adapter.match(path, method=request.method)
        except NotFound:
            raise NotFoundError(f"No route for {request.method} {request.path}") from None
        signed = endpoint == "file" and "signature" in request.args and "X-API-Key" not in request.headers
        if signed:  # a customer's link from an email: its HMAC signature stands in for the key
            container.downloads.verify(args["company"], args["period"], args["kind"],
                                       request.args.get("expires", ""), request.args.get("signature", ""))
        elif endpoint not in OPEN_ENDPOINTS:
            settings = container.settings
            check_api_key(request, settings.api_keys, settings.admin_keys, endpoint in ADMIN_ENDPOINTS)
        handler: Callable[..., WerkzeugResponse] = getattr(self, f"_{endpoint}")
        return handler(request, container, **args)

    # -- endpoints ---------------------------------------------------------------------------

    def _health(self, request: flask.Request, container: Container) -> flask.Response:
        return json_response({"message": "Billing API is running!"})

    def _openapi(self, request: flask.Request, container: Container) -> flask.Response:
        return flask.Response(OPENAPI_PATH.read_bytes(), mimetype="application/json")

    def _generate(self, request: flask.Request, container: Container, company: str) -> flask.Response:
        doc = container.issuance.generate(company, request.args.get("month"), request.args.get("year"),
                                          reissue_void=True)  # DESIGN 9: generate issues a voided month's reissue
        return json_response(present(doc, request, container))

    def _list(self, request: flask.Request, container: Container, company: str) -> flask.Response:
        docs = container.issuance.list(company, request.args.get("year"))
        return json_response({"companyId": company, "invoices": [summary(d) for d in docs]})

    def _invoice(self, request: flask.Request, container: Container, company: str, period: str) -> flask.Response:
        current, history = container.issuance.history(company, period)
        body = present(current, request, container)
        body["history"] = [history_entry(d) for d in history]
        return json_response(body)

    def _void(self, request: flask.Request, container: Container, company: str, period: str) -> flask.Response:
        result = container.corrections.void(company, period, request.get_json(force=True, silent=True))
        reissued = result["reissued"]
        return json_response({
            "voided": present(result["voided"], request, container),
            "creditNote": present_credit_note(result["creditNote"], request, container),
            "reissued": present(reissued, request, container) if reissued else None,
        })

    def _reconcile(self, request: flask.Request, container: Container, company: str,
                   period: str) -> flask.Response:
        return json_response(container.reconcile.reconcile(company, period))

    def _preview(self, request: flask.Request, container: Container, company: str) -> flask.Response:
        doc = container.issuance.preview(company, request.args.get("month"), request.args.get("year"))
        return json_response({k: v for k, v in doc.items() if k not in INTERNAL_FIELDS})

    def _credit_notes(self, request: flask.Request, container: Container, company: str) -> flask.Response:
        notes = container.corrections.list(company)
        return json_response({"companyId": company,
                              "creditNotes": [present_credit_note(n, request, container) for n in notes]})

    def _credit_note(self, request: flask.Request, container: Container, company: str,
                     credit_note_id: str) -> flask.Response:
        return json_response(present_credit_note(container.corrections.get(company, credit_note_id),
                                                 request, container))

    def _credit_note_pdf(self, request: flask.Request, container: Container, company: str,
                         credit_note_id: str) -> WerkzeugResponse:
        return self._download(container.corrections.open_pdf(company, credit_note_id))

    def _file(self, request: flask.Request, container: Container, company: str, period: str,
              kind: str) -> WerkzeugResponse:
        return self._download(container.downloads.open(company, period, kind))

    def _download(self, download: Any) -> WerkzeugResponse:
        if download.redirect_url:
            return flask.redirect(download.redirect_url, code=302)
        return flask.Response(
            flask.stream_with_context(download.chunks),
            mimetype=download.content_type.split(";")[0],
            content_type=download.content_type,
            headers={"Content-Disposition": f'attachment; filename="{download.filename}"'},
        )

    def _send(self, request: flask.Request, container: Container, company: str, period: str) -> flask.Response:
        result = container.delivery.send(company, period, force=True)
        return json_response(public_delivery(result))

    def _run(self, request: flask.Request, container: Container) -> flask.Response:
        result = container.runs_service.request_run(
            request.args.get("month"), request.args.get("year"), trigger="http"
        )
        status_url = f"{base_url(request, container)}/billing/runs/{result['period']}"
        return json_response({**result, "statusUrl": status_url}, 202, headers={"Location": status_url})

    def _gstr1(self, request: flask.Request, container: Container, period: str) -> flask.Response:
        return json_response(container.gst_returns.gstr1(period))

    def _run_status(self, request: flask.Request, container: Container, period: str) -> flask.Response:
        return json_response(container.runs_service.status(
            period, request.args.get("pageSize"), request.args.get("pageToken")))


def base_url(request: flask.Request, container: Container) -> str:
    if container.settings.public_base_url:
        return container.settings.public_base_url.rstrip("/")
    prefix = request.headers.get("X-Forwarded-Prefix", "")
    if request.path.startswith(LEGACY_PREFIX + "/"):
        prefix = LEGACY_PREFIX
    return request.host_url.rstrip("/") + prefix


INTERNAL_FIELDS = {"tariff", "amountsPaise", "terms"}


def present(doc: Mapping[str, Any], request: flask.Request, container: Container) -> dict[str, Any]:
    """The invoice as the API returns it: the stored document, download links, no internals."""
    first = ("companyId", "invoiceNumber", "status", "billingPeriod", "usageData", "lineItems", "subtotal",
             "gstAmount", "totalAmount", "currency", "taxBreakdown", "amountInWords", "invoiceDate", "dueDate")
    body = {k: doc[k] for k in first if k in doc}
    body.update({k: doc[k] for k in sorted(doc) if k not in body and k not in INTERNAL_FIELDS})
    files = dict(doc.get("files") or {})
    body["files"] = {"pdf": files.get("pdf"), "csv": files.get("csv")}
    if "delivery" in body:
        body["delivery"] = public_delivery(body["delivery"])
    if doc.get("status") == "issued":
        body["downloadLinks"] = container.downloads.links(doc, base_url(request, container))
    return body


def summary(doc: Mapping[str, Any]) -> dict[str, Any]:
    keep = (
        "invoiceNumber", "companyId", "status", "invoiceDate", "dueDate", "billingPeriod",
        "subtotal", "gstAmount", "totalAmount", "currency",
    )
    body = {k: doc.get(k) for k in keep}
    body.update({k: doc[k] for k in ("invoiceId", "revision", "voidedBy", "replacedBy") if k in doc})
    return body


def history_entry(doc: dict[str, Any]) -> dict[str, Any]:
    """One invoice of a month's history: its summary, and why and by what it was voided."""
    body = summary(doc)
    body.update({k: doc[k] for k in ("voidedAt", "voidReason") if k in doc})
    body.setdefault("revision", 0)
    return body


CREDIT_NOTE_INTERNAL = {"amountsPaise"}


def present_credit_note(doc: dict[str, Any], request: flask.Request, container: Container) -> dict[str, Any]:
    """The credit note as the API returns it, with its PDF's download link once issued."""
    body = {k: v for k, v in doc.items() if k not in CREDIT_NOTE_INTERNAL}
    body["files"] = {"pdf": (doc.get("files") or {}).get("pdf")}
    if doc.get("status") == "issued":
        base = base_url(request, container)
        body["downloadLinks"] = {
            "pdf": f"{base}/billing/credit-notes/{doc['companyId']}/{doc['creditNoteId']}/pdf"}
    return body


def framework_error(exc: HTTPException) -> flask.Response:
    """What functions-framework answers before BillingApi runs (a path its router cannot match, e.g.
    one with a newline; /favicon.ico): JSON {"detail"} like every other error, not Flask's HTML."""
    return json_response({"detail": exc.description or exc.name}, exc.code or 500)
