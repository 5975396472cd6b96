"""What a request may be (DESIGN.md section 10): path length, ids, ASCII numbers, body size, JSON nesting.

Everything refused here is a 4xx JSON answer, never a 500, and is checked before any service runs.
"""

from __future__ import annotations

import io
import json
import re
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import flask
from werkzeug.exceptions import RequestEntityTooLarge, RequestURITooLarge, TooManyRequests

from billing.domain.naming import validate_company_id
from billing.errors import NotFoundError, ValidationError

MAX_BODY_BYTES = 64 * 1024
MAX_PATH_CHARS = 1024  # the longest real path is ~150 characters
MAX_QUERY_CHARS = 2048
MAX_JSON_DEPTH = 20  # the void body is one flat object
LOGGED_PATH_CHARS = 200

PERIOD = re.compile(r"[0-9]{4}-[0-9]{2}", re.ASCII)
# a void's credit note `{invoiceId}_cn`, a partial one `{invoiceId}_cn-{token}`, a debit note `{invoiceId}_dn-{token}`
CREDIT_NOTE_ID = re.compile(r"([a-z0-9_-]{1,64})_[0-9]{4}-[0-9]{2}(?:_r[1-9][0-9]{0,3})?_cn(?:-[0-9a-f]{24})?", re.ASCII)
DEBIT_NOTE_ID = re.compile(r"([a-z0-9_-]{1,64})_[0-9]{4}-[0-9]{2}(?:_r[1-9][0-9]{0,3})?_dn-[0-9a-f]{24}", re.ASCII)
ASCII_NUMBER = re.compile(r"[0-9]{1,12}", re.ASCII)
NUMERIC_QUERY = {"month": "an integer 1-12", "year": "an integer", "pageSize": "an integer",
                 "expires": "a Unix time"}


HEAVY_ENDPOINTS = frozenset({"preview", "reconcile", "gstr1", "settle", "statement", "tally"})  # each reads a whole month or more
HEAVY_RETRY_AFTER_SECONDS = 5


class HeavyReads:
    """At most `limit` heavy reads at a time in this instance; one more is 429 + Retry-After at once
    (waiting would hold a request slot that cheap routes need)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0

    @contextmanager
    def slot(self, limit: int) -> Iterator[None]:
        with self._lock:
            if self._running >= limit:
                raise TooManyRequests(
                    f"{limit} heavy reads (preview, reconcile, GSTR-1, statement, Tally export) are running on this instance; "
                    f"retry in {HEAVY_RETRY_AFTER_SECONDS} seconds", retry_after=HEAVY_RETRY_AFTER_SECONDS)
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1


def loggable(text: str) -> str:
    """A path or URL cut to LOGGED_PATH_CHARS (a 5 MB URL must not become a 5 MB log line)."""
    return text if len(text) <= LOGGED_PATH_CHARS else f"{text[:LOGGED_PATH_CHARS]}...({len(text)} chars)"


def check_request_line(request: flask.Request) -> None:
    """414 for a path or query string longer than any real request's."""
    if len(request.path) > MAX_PATH_CHARS or len(request.query_string) > MAX_QUERY_CHARS:
        raise RequestURITooLarge(f"The request path may be at most {MAX_PATH_CHARS} characters and the query "
                                 f"string {MAX_QUERY_CHARS}")


def check_body_size(request: flask.Request) -> None:
    """413 for a body over MAX_BODY_BYTES; no body is ever read further than one byte past that."""
    # Set first: functions-framework reads the whole body after every response (read_request), and
    # werkzeug stops a read here (silently: a chunked body is cut, hence the length check below).
    request.max_content_length = MAX_BODY_BYTES + 1
    if request.content_length is not None:
        too_large = request.content_length > MAX_BODY_BYTES
    else:  # chunked (the server terminates the stream): read it, at most MAX_BODY_BYTES + 1 bytes
        too_large = bool(request.environ.get("wsgi.input_terminated")) and \
            len(request.get_data(cache=True)) > MAX_BODY_BYTES
    if too_large:
        # Nothing more is read: functions-framework's read after the response gets an empty body
        # (werkzeug would raise 413 there, outside any error handler: a 500).
        setattr(request, "stream", io.BytesIO())
        request.max_content_length = None
        raise RequestEntityTooLarge(f"The request body may be at most {MAX_BODY_BYTES} bytes (64 KiB)")


def check_path_args(args: Mapping[str, str]) -> None:
    """Every path parameter validated before use (422 when malformed)."""
    if "company" in args:
        validate_company_id(args["company"])
    if "period" in args and not PERIOD.fullmatch(args["period"]):
        raise ValidationError(f"period must look like YYYY-MM, got {_shown(args['period'])}")
    if "credit_note_id" in args:
        cn_id = args["credit_note_id"]
        match = CREDIT_NOTE_ID.fullmatch(cn_id)
        if not match:
            raise ValidationError(f"credit note id must look like {{company}}_{{YYYY-MM}}[_r{{n}}]_cn[-{{token}}], "
                                  f"got {_shown(cn_id)}")
        if not cn_id.startswith(f"{args.get('company')}_"):
            raise NotFoundError(f"Credit note '{cn_id}' of company '{args.get('company')}' not found")
    if "debit_note_id" in args:
        dn_id = args["debit_note_id"]
        if not DEBIT_NOTE_ID.fullmatch(dn_id):
            raise ValidationError(f"debit note id must look like {{company}}_{{YYYY-MM}}[_r{{n}}]_dn-{{token}}, "
                                  f"got {_shown(dn_id)}")
        if not dn_id.startswith(f"{args.get('company')}_"):
            raise NotFoundError(f"Debit note '{dn_id}' of company '{args.get('company')}' not found")


def check_numeric_query(request: flask.Request) -> None:
    """Numbers in the query string are ASCII digits only (str.isdigit() also accepts '²' and '٣')."""
    for name, what in NUMERIC_QUERY.items():
        for raw in request.args.getlist(name):
            value = raw.strip()
            if value and not ASCII_NUMBER.fullmatch(value):
                raise ValidationError(f"{name} must be {what} in ASCII digits (0-9), got {_shown(raw)}")


def json_body(request: flask.Request) -> Any:
    """The body as JSON (None when it is not JSON), refusing nesting deeper than MAX_JSON_DEPTH."""
    data = request.get_data(cache=True)
    if _depth(data) > MAX_JSON_DEPTH:
        raise ValidationError(f"the JSON body may nest at most {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(data)
    except ValueError:
        return None


def _depth(data: bytes) -> int:
    """The deepest nesting of [ and { outside strings (a cheap scan before any recursive parser runs)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:80] + "...")
