"""Bounded waits (DESIGN.md section 10): an explicit deadline and retry policy on every Firestore,
Storage and Pub/Sub call, and gRPC channels that notice a dead peer and reconnect quickly.

The SDKs' defaults retry an unavailable Firestore for up to 300 s per call (a stopped emulator held a
request 273 s) and back a broken channel off for up to 120 s before reconnecting (the first request
after an outage took 21 s). Here a call is retried for at most BILLING_DEPENDENCY_TIMEOUT_SECONDS in
total; past that the adapters raise TransientError: 503 + Retry-After on HTTP, a retry by Pub/Sub
for the event functions.
"""

from __future__ import annotations

import logging
from typing import Any

from google.api_core import exceptions as gexc
from google.api_core import gapic_v1
from google.api_core import retry as retries
from google.api_core.timeout import TimeToDeadlineTimeout

log = logging.getLogger(__name__)

# Keepalive pings find a dead connection in ~15 s (instead of the OS's minutes); reconnect attempts
# start at 0.25 s and back off to at most 2 s (gRPC's default grows to 120 s).
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2_000),
)

RETRYABLE = retries.if_exception_type(
    gexc.DeadlineExceeded, gexc.InternalServerError, gexc.ResourceExhausted, gexc.ServiceUnavailable,
)
# Server streams (a month of call logs) may run long: their deadline bounds starting the stream;
# keepalive ends a stream whose peer died.
STREAMING = frozenset({"run_query", "batch_get_documents", "run_aggregation_query", "listen", "write"})


def retry_policy(seconds: float) -> retries.Retry:
    """Retry what a retry may cure (unavailable, timed out, throttled), for at most `seconds` in all."""
    return retries.Retry(initial=0.1, maximum=2.0, multiplier=1.5, predicate=RETRYABLE, timeout=seconds)


def storage_retry(seconds: float) -> Any:
    """Cloud Storage's own retry policy (the errors it knows to be retryable), bounded to `seconds`."""
    from google.cloud.storage.retry import DEFAULT_RETRY

    return DEFAULT_RETRY.with_timeout(seconds)


def bound_firestore(client: Any, seconds: float) -> Any:
    """The Firestore client with its GAPIC API rebuilt: channel options above, every method's default
    retry bounded to `seconds` (its own predicate kept) and every unary call's deadline the time left
    of that budget.

    Uses the SDK's private `_firestore_api_helper` wiring (pinned version, checked by a test); if it
    is missing, the client keeps the SDK's defaults and says so."""
    try:
        from google.cloud.firestore_v1.services.firestore import client as gapic_client
        from google.cloud.firestore_v1.services.firestore.transports.grpc import FirestoreGrpcTransport

        transport_cls: Any = FirestoreGrpcTransport
        if client._emulator_host:
            import grpc

            channel = grpc.insecure_channel(client._emulator_host, options=[
                ("Authorization", "Bearer owner"), *CHANNEL_OPTIONS])
        else:
            from google.cloud.firestore_v1.base_client import _DEFAULT_CHANNEL_OPTIONS

            channel = transport_cls.create_channel(client._target, credentials=client._credentials,
                                                   options=[*_DEFAULT_CHANNEL_OPTIONS, *CHANNEL_OPTIONS])
        transport = transport_cls(host=client._target, channel=channel)
        _rewrap(transport, seconds, client._client_info)
        api = gapic_client.FirestoreClient(transport=transport, client_options=client._client_options)
        setattr(gapic_client, "_client_info", client._client_info)  # as the SDK's own helper does
        client._transport, client._firestore_api_internal = transport, api
    except (AttributeError, ImportError, TypeError) as exc:  # pragma: no cover - an SDK upgrade moved them
        log.warning(f"Firestore calls keep the SDK's default deadlines: {type(exc).__name__}: {exc}")
    return client


def _rewrap(transport: Any, seconds: float, client_info: Any) -> None:
    """Replace the transport's per-method defaults (its `_wrapped_methods`) with bounded ones."""
    wrapped: dict[Any, Any] = transport._wrapped_methods
    for name in dir(type(transport)):
        if name.startswith("_") or not isinstance(getattr(type(transport), name, None), property):
            continue
        try:
            stub = getattr(transport, name)
            known = stub in wrapped
        except Exception:  # noqa: BLE001 - a property that is not an RPC stub
            continue
        if known:
            # Each method keeps the SDK's own retry predicate (commit retries less than get), bounded.
            old = getattr(wrapped[stub], "_retry", None)
            retry = old.with_timeout(seconds).with_delay(initial=0.1, maximum=2.0, multiplier=1.5) \
                if isinstance(old, retries.Retry) else None
            timeout = None if name in STREAMING else TimeToDeadlineTimeout(timeout=seconds)  # type: ignore[no-untyped-call]
            wrapped[stub] = gapic_v1.method.wrap_method(  # type: ignore[no-untyped-call]
                stub, default_retry=retry, default_timeout=timeout, client_info=client_info)
    if not wrapped:
        raise TypeError("the Firestore transport has no wrapped methods")
