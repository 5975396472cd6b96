"""The one table from the BillingError family to HTTP statuses, and the JSON error bodies."""

from __future__ import annotations

import json
import logging
from typing import Any, Mapping

import flask
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from billing.errors import (
    AuthError, BillingError, CloudConfigurationError, ConfigurationError, ConflictError, ForbiddenError,
    IntegrityError, NotFoundError, TransientError, UpstreamError, ValidationError,
)

log = logging.getLogger("billing.http")

UNEXPECTED = "An unexpected error occurred during invoice generation."
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


def public_detail(exc: BillingError) -> tuple[int, str]:
    """(status, the `detail` a caller is shown), the error logged: internal faults and upstream replies
    (an SMTP server's raw text) stay in the log."""
    status = status_for(exc)
    public = PUBLIC_DETAIL.get(status, exc.detail) if status >= 500 and status != 503 else exc.detail
    level = logging.WARNING if status < 500 else logging.ERROR
    log.log(level, exc.detail, extra={"json_fields": {"errorType": type(exc).__name__}})
    return status, public


def billing_error_response(exc: BillingError) -> flask.Response:
    status, public = public_detail(exc)
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if status == 503 else None
    return json_response({"detail": public}, status, headers)


def http_error_response(exc: HTTPException) -> flask.Response:
    status = exc.code or 500
    response = json_response({"detail": exc.description or exc.name}, status)
    if isinstance(exc, MethodNotAllowed):
        response.headers["Allow"] = ", ".join(exc.valid_methods or [])
    retry_after = dict(exc.get_headers()).get("Retry-After")
    if retry_after:
        response.headers["Retry-After"] = retry_after
    log.warning(f"{status} {exc.name}")
    return response


def unexpected_response(exc: Exception, unavailable: bool) -> flask.Response:
    """The edge: log the cause, tell the caller nothing internal (503 when a dependency is down)."""
    if unavailable:
        log.error(f"dependency unavailable: {type(exc).__name__}: {exc}")
        return json_response({"detail": "A dependency is unavailable; retry later."}, 503,
                             headers={"Retry-After": RETRY_AFTER_SECONDS})
    log.exception("unhandled error")
    return json_response({"detail": UNEXPECTED}, 500)


def framework_error(exc: HTTPException) -> flask.Response:
    """What functions-framework answers before BillingApi runs (a path its router cannot match, e.g.
    one with a newline; /favicon.ico): JSON {"detail"} like every other error, not Flask's HTML."""
    return json_response({"detail": exc.description or exc.name}, exc.code or 500)
