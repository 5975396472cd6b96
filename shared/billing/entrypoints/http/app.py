"""The request cycle: request id and trace, routing, authentication, error mapping, the access log."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Callable

import flask
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.wrappers import Response as WerkzeugResponse

from billing.bootstrap import Container, is_unavailable
from billing.entrypoints.http import console
from billing.entrypoints.http.auth import SIGNED_DOCUMENT_KEY, authorize
from billing.entrypoints.http.errors import billing_error_response, http_error_response, unexpected_response
from billing.entrypoints.http.limits import (
    HEAVY_ENDPOINTS, HeavyReads, check_body_size, check_numeric_query, check_path_args, check_request_line, loggable,
)
from billing.entrypoints.http import portal
from billing.entrypoints.http.presenters import LEGACY_PREFIX
from billing.entrypoints.http.routes import HANDLERS, ROUTES
from billing.errors import BillingError, NotFoundError
from billing.logs import request_context, trace_fields

log = logging.getLogger("billing.http")


class BillingApi:
    """One instance per process; `__call__(request)` is the Cloud Function body."""

    def __init__(self, container_factory: Callable[[], Container]):
        self._container = container_factory
        self._heavy = HeavyReads()

    def __call__(self, request: flask.Request) -> WerkzeugResponse:
        started = time.monotonic()
        container = self._container()
        request_id = request.headers.get("X-Request-Id", "")[:128] or uuid.uuid4().hex
        trace = request.headers.get("X-Cloud-Trace-Context") or request.headers.get("traceparent")
        token = request_context.set(trace_fields(container.settings.project, trace, request_id))
        status = 500
        try:
            response = self._answer(request, container)
            status = response.status_code
        finally:
            _access_log(request, status, started)
            request_context.reset(token)
        response.headers["X-Request-Id"] = request_id
        return response

    def _answer(self, request: flask.Request, container: Container) -> WerkzeugResponse:
        """The route's response, or the error's JSON response."""
        try:
            check_body_size(request)  # first: it also bounds what is read after any other answer
            check_request_line(request)
            return dispatch(request, container, self._heavy)
        except BillingError as exc:
            return billing_error_response(exc)
        except HTTPException as exc:
            return http_error_response(exc)
        except Exception as exc:  # the edge: log the cause, tell the caller nothing internal
            return unexpected_response(exc, is_unavailable(exc))


def dispatch(request: flask.Request, container: Container, heavy: HeavyReads | None = None) -> WerkzeugResponse:
    path = request.path
    if path == LEGACY_PREFIX or path.startswith(LEGACY_PREFIX + "/"):
        path = path[len(LEGACY_PREFIX):] or "/"
    if portal.is_portal_path(path):  # the customer portal: its token stands in for a key, its errors are pages
        return portal.dispatch(request, container, path)
    if console.is_console(path):  # HTML pages with their own session (DESIGN 16), not the JSON API
        return console.handle(request, container, path)
    adapter = ROUTES.bind("localhost", path_info=path)
    try:
        endpoint, args = adapter.match(path, method=request.method)
    except NotFound:
        raise NotFoundError(f"No route for {request.method} {loggable(request.path)}") from None
    signed = endpoint == "file" and "signature" in request.args and "X-API-Key" not in request.headers
    if signed:  # a customer's link from an email: its HMAC signature stands in for the key
        check_numeric_query(request)
        container.downloads.verify(args["company"], args["period"], args["kind"], request.args.get("expires", ""),
                                   request.args.get("signature", ""), request.args.get("doc", ""))
        request.environ[SIGNED_DOCUMENT_KEY] = request.args.get("doc", "")
    else:
        authorize(request, endpoint, container.settings)
    check_numeric_query(request)
    check_path_args(args)
    if heavy is not None and endpoint in HEAVY_ENDPOINTS:
        with heavy.slot(container.settings.heavy_concurrency):
            return HANDLERS[endpoint](request, container, **args)
    return HANDLERS[endpoint](request, container, **args)


def _access_log(request: flask.Request, status: int, started: float) -> None:
    log.info(
        f"{request.method} {loggable(request.path)} {status}",
        extra={"json_fields": {"httpRequest": {
            "requestMethod": request.method,
            "requestUrl": loggable(request.path),
            "status": status,
            "latency": f"{time.monotonic() - started:.3f}s",
            "userAgent": loggable(request.headers.get("User-Agent", "")),
        }}},
    )
