"""Test instrumentation: record every structured query sent to Firestore, to prove its index exists.

Off unless FIRESTORE_QUERY_CAPTURE_DIR names a directory (the test suite sets it for itself and
for the servers it starts). Then every RunQuery and RunAggregationQuery, through the SDK's GAPIC
client or the call-log reader's own channel, appends one JSON line to
`<dir>/queries-<pid>.jsonl`: {"parent": ..., "query": <StructuredQuery as JSON>}.
`billing.adapters.index_rules` checks them against firestore.indexes.json.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Callable

ENV = "FIRESTORE_QUERY_CAPTURE_DIR"
_lock = threading.Lock()
_installed = False


def directory() -> Path | None:
    raw = os.environ.get(ENV)
    return Path(raw) if raw else None


def record(parent: str, structured_query: Any) -> None:
    """Append one query (a StructuredQuery proto-plus message or raw protobuf) to this process's file."""
    target = directory()
    if target is None:
        return
    from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]

    pb = structured_query._pb if hasattr(structured_query, "_pb") else structured_query
    line = json.dumps({"parent": parent, "query": MessageToDict(pb)}, sort_keys=True)
    with _lock, open(target / f"queries-{os.getpid()}.jsonl", "a", encoding="utf-8") as out:
        out.write(line + "\n")


def _request_query(request: Any, aggregation: bool) -> tuple[str, Any] | None:
    if request is None:
        return None
    if isinstance(request, dict):
        parent = str(request.get("parent", ""))
        body = request.get("structured_aggregation_query") if aggregation else request.get("structured_query")
    else:
        parent = str(getattr(request, "parent", ""))
        body = getattr(request, "structured_aggregation_query" if aggregation else "structured_query", None)
    if body is None:
        return None
    if aggregation:
        body = body["structured_query"] if isinstance(body, dict) else body.structured_query
    if isinstance(body, dict):
        from google.cloud.firestore_v1.types import query as query_types

        body = query_types.StructuredQuery(body)
    return parent, body


def _wrap(method: Callable[..., Any], aggregation: bool) -> Callable[..., Any]:
    def capturing(self: Any, request: Any = None, *args: Any, **kwargs: Any) -> Any:
        found = _request_query(request, aggregation)
        if found is not None:
            record(*found)
        return method(self, request, *args, **kwargs)

    capturing.__wrapped__ = method  # type: ignore[attr-defined]
    return capturing


def install() -> None:
    """Wrap the GAPIC client's RunQuery / RunAggregationQuery once per process (when capturing)."""
    global _installed
    if directory() is None or _installed:
        return
    from google.cloud.firestore_v1.services.firestore.client import FirestoreClient

    with _lock:
        if _installed:
            return
        FirestoreClient.run_query = _wrap(FirestoreClient.run_query, False)  # type: ignore[method-assign]
        FirestoreClient.run_aggregation_query = _wrap(  # type: ignore[method-assign]
            FirestoreClient.run_aggregation_query, True)
        _installed = True


def wrap_channel(channel: Any) -> Any:
    """The call-log reader's own channel, capturing the RunQuery it sends (unchanged when not capturing)."""
    if directory() is None:
        return channel
    import grpc

    class _Capture(grpc.UnaryStreamClientInterceptor):  # type: ignore[misc]
        def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
            if str(details.method).endswith("/RunQuery"):
                record(str(request.parent), request.structured_query)
            return continuation(details, request)

    return grpc.intercept_channel(channel, _Capture())
