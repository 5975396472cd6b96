"""Structured JSON logs on stdout, the shape Cloud Logging reads (severity, message, trace)."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from typing import TextIO
from collections.abc import Mapping
from datetime import datetime, timezone

request_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar("request_context", default={})

_configured = False


class CloudLoggingFormatter(logging.Formatter):
    """One JSON object per line: severity, message, time, logger, request/trace ids, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "severity": record.levelname if record.levelname != "WARN" else "WARNING",
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "logger": record.name,
        }
        entry.update(request_context.get())
        fields = getattr(record, "json_fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Route the billing logger to stdout (or `stream`: the CLI's is stderr) as JSON, once per process."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(CloudLoggingFormatter())
    logger = logging.getLogger("billing")
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    _configured = True


def trace_fields(project: str, trace_header: str | None, request_id: str) -> dict[str, str]:
    """Cloud Logging's trace correlation fields from X-Cloud-Trace-Context / traceparent."""
    fields = {"requestId": request_id}
    trace_id = None
    if trace_header:
        if "/" in trace_header:  # X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=1
            trace_id = trace_header.split("/", 1)[0]
        elif trace_header.count("-") == 3:  # traceparent: 00-TRACE_ID-SPAN_ID-01
            trace_id = trace_header.split("-")[1]
    if trace_id and all(c in "0123456789abcdefABCDEF" for c in trace_id):
        fields["logging.googleapis.com/trace"] = f"projects/{project}/traces/{trace_id}"
    return fields
