"""The one list of SDK errors that mean "a dependency is unavailable; retry later".

Every adapter turns these into `TransientError` through `transient()`; nothing outside the
adapters catches an SDK exception class.
"""

from __future__ import annotations

import smtplib
from contextlib import contextmanager
from typing import Iterator

from google.api_core import exceptions as gexc

from billing.errors import CloudConfigurationError, TransientError

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    gexc.ServiceUnavailable,
    gexc.DeadlineExceeded,
    gexc.GatewayTimeout,
    gexc.InternalServerError,
    gexc.TooManyRequests,
    gexc.Aborted,
    gexc.RetryError,
    TimeoutError,
    ConnectionError,
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
)

# Raw gRPC status names (streams that bypass google.api_core's wrapping report these).
TRANSIENT_GRPC_CODES = frozenset(
    {"UNAVAILABLE", "DEADLINE_EXCEEDED", "INTERNAL", "RESOURCE_EXHAUSTED", "ABORTED"}
)


def _requests_errors() -> tuple[type[BaseException], ...]:
    try:
        import requests
    except ImportError:  # pragma: no cover - requests ships with google-auth
        return ()
    return (requests.ConnectionError, requests.Timeout)


def is_transient(exc: BaseException) -> bool:
    """True for an error a retry may cure (unavailable, timed out, throttled, aborted)."""
    if isinstance(exc, TRANSIENT_ERRORS + _requests_errors()):
        return True
    return _grpc_code(exc) in TRANSIENT_GRPC_CODES


# Errors no retry can cure: the project is not set up as the code needs. FAILED_PRECONDITION is
# what Firestore answers for a query without its index; PERMISSION_DENIED (gRPC) and 403 (HTTP,
# including a disabled API: SERVICE_DISABLED / accessNotConfigured) a missing role or API;
# UNAUTHENTICATED a runtime without usable credentials.
CONFIGURATION_ERRORS: tuple[type[BaseException], ...] = (
    gexc.FailedPrecondition,
    gexc.PermissionDenied,
    gexc.Forbidden,
    gexc.Unauthenticated,
)
CONFIGURATION_GRPC_CODES = frozenset({"FAILED_PRECONDITION", "PERMISSION_DENIED", "UNAUTHENTICATED"})


def _grpc_code(exc: BaseException) -> str | None:
    code = getattr(exc, "code", None)
    if not callable(code):
        return None
    try:
        return str(code()).rsplit(".", 1)[-1]
    except Exception:  # noqa: BLE001 - a code() that fails is simply not a gRPC status
        return None


def is_configuration(exc: BaseException) -> bool:
    """True for an error that means the deploy is incomplete (index, permission, API, credentials)."""
    if isinstance(exc, CONFIGURATION_ERRORS):
        return True
    return not isinstance(exc, gexc.GoogleAPIError) and _grpc_code(exc) in CONFIGURATION_GRPC_CODES


def configuration_error(action: str, exc: BaseException, hint: str = "") -> CloudConfigurationError:
    """The one wording of a configuration error: what was being done, the cause, and what to fix."""
    cause = " ".join(str(getattr(exc, "message", None) or exc).split())[:500]
    hint = hint or {
        "FailedPrecondition": "deploy firestore.indexes.json (README: Google Cloud, deploy)",
        "PermissionDenied": "grant the function's service account the role (README: Google Cloud)",
        "Forbidden": "enable the API or grant the role (README: Google Cloud, one-time setup)",
    }.get(type(exc).__name__, "check the project's setup (README: Google Cloud)")
    return CloudConfigurationError(f"configuration: {action}: {type(exc).__name__}: {cause}; {hint}")


@contextmanager
def transient(action: str) -> Iterator[None]:
    """Run a block; a transient SDK error leaves it as TransientError naming the action, a
    configuration error (missing index, permission, disabled API) as CloudConfigurationError."""
    try:
        yield
    except (TransientError, CloudConfigurationError):
        raise
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"{action}: dependency unavailable ({type(exc).__name__}: {exc})") from exc
        if is_configuration(exc):
            raise configuration_error(action, exc) from exc
        raise
