"""Log lines are single JSON objects Cloud Logging understands."""

import json
import logging

from billing.logs import CloudLoggingFormatter, request_context, trace_fields


def test_trace_header_becomes_the_cloud_logging_trace_field():
    assert trace_fields("proj", "0af7651916cd43dd8448eb211c80319c/123;o=1", "r1") == {
        "requestId": "r1", "logging.googleapis.com/trace": "projects/proj/traces/0af7651916cd43dd8448eb211c80319c"}
    assert trace_fields("proj", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "r2")[
        "logging.googleapis.com/trace"] == "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace_fields("proj", "garbage<script>", "r3") == {"requestId": "r3"}


def test_formatter_writes_severity_message_context_and_fields():
    token = request_context.set({"requestId": "abc"})
    try:
        record = logging.LogRecord("billing.x", logging.WARNING, __file__, 1, "month %s refused", ("13",), None)
        record.json_fields = {"companyId": "acme"}
        line = json.loads(CloudLoggingFormatter().format(record))
    finally:
        request_context.reset(token)
    assert line["severity"] == "WARNING" and line["message"] == "month 13 refused"
    assert line["requestId"] == "abc" and line["companyId"] == "acme"
