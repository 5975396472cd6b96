"""The one list of SDK errors that mean "a dependency is unavailable; retry later".

Every adapter turns these into `TransientError` through `transient()`; nothing outside the
adapters catches an SDK exception class.
"""

from __future__ import annotations

import smtplib
from contextlib import contextmanager
from typing import Iterator

from google.api_core import exceptions as gexc

from billing.errors import TransientError

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
    code = getattr(exc, "code", None)
    if callable(code):
        try:
            name = str(code()).rsplit(".", 1)[-1]
        except Exception:  # noqa: BLE001 - a code() that fails is simply not a gRPC status
            return False
        return name in TRANSIENT_GRPC_CODES
    return False


@contextmanager
def transient(action: str) -> Iterator[None]:
    """Run a block; a transient SDK error leaves it as TransientError naming the action."""
    try:
        yield
    except TransientError:
        raise
    except Exception as exc:
        if is_transient(exc):
            raise TransientError(f"{action}: dependency unavailable ({type(exc).__name__}: {exc})") from exc
        raise
