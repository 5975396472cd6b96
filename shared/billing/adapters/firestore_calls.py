"""Call logs from Firestore: one unpaged, projected RunQuery per time slice, decoded from protobufs.

Two read paths return the same CallRecords:

- the fast path sends RunQuery itself, on its own channel whose streams are read on the calling
  thread, and decodes the raw `google.firestore.v1` protobufs, skipping the SDK's proto-plus
  wrappers and snapshots. It needs the google-cloud-firestore internals listed in
  CLIENT_INTERNALS and SDK_INTERNALS; tests/integration/test_call_log_reader.py fails, naming the
  SDK version, when an upgrade removes one;
- the public path, `query.stream()` with the same projection, is used automatically (with one
  WARNING per process) when any of those internals is missing.

Neither path pages with cursors: the Firestore emulator evaluates the whole query again for every
RunQuery (a 10-call page costs about as much as the month's scan), so paging a month in pages of
P calls costs N/P scans there, while one stream per slice costs one, as on Firestore.

Unplaced call logs (startedAt missing or not a timestamp, which no month's query returns) are
looked for on every issuance and preview of the company, see `FirestoreCallLogs.unplaced`. Cost
per look, n being the company's unplaced call logs: two ordered queries reading n + 2 documents
(projected to startedAt), two count aggregations (one read per 1,000 index entries: about 2,000
reads for a company with a million call logs), and only when some lack startedAt altogether, a
scan of the company's call logs (every month, projected to startedAt) until those are found: up to
one read per call log of the company, for as long as such call logs exist.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone, tzinfo
from typing import Any, Callable, Iterable, Iterator

import grpc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.collection import CollectionReference
from google.cloud.firestore_v1.query import Query
from google.cloud.firestore_v1.services.firestore.transports.grpc import FirestoreGrpcTransport

from billing.adapters import query_capture
from billing.adapters.firestore_layout import call_logs_collection
from billing.adapters.deadlines import CHANNEL_OPTIONS
from billing.adapters.sdk_errors import transient
from billing.config import CallLogSchema, Settings
from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord, UnplacedCall, unplaced_reason

log = logging.getLogger(__name__)

RUN_QUERY = "/google.firestore.v1.Firestore/RunQuery"
READ_TIMEOUT_S = 540.0  # a slice is one stream; Cloud Functions' event limit bounds it anyway
ACTION = "reading call logs from Firestore"

# Every private attribute of google-cloud-firestore the fast path touches: a Client's (instance
# attributes, checked on the client in use) and the query builders' (methods, checked on the class).
CLIENT_INTERNALS = ("_emulator_host", "_target", "_credentials", "_rpc_metadata")
SDK_INTERNALS: dict[type, tuple[str, ...]] = {
    CollectionReference: ("_parent_info",),
    Query: ("_to_protobuf",),
}

_warned = threading.Event()


def missing_internals(db: firestore.Client) -> list[str]:
    """The internals this google-cloud-firestore lacks, as `Class.attribute`."""
    missing = [f"Client.{name}" for name in CLIENT_INTERNALS if not hasattr(db, name)]
    return missing + [
        f"{owner.__name__}.{name}"
        for owner, names in SDK_INTERNALS.items()
        for name in names
        if not hasattr(owner, name)
    ]


def open_channel(db: Any) -> grpc.Channel:
    """A channel to the client's Firestore (or emulator) whose server streams are read on the calling thread."""
    # grpc's default hands every streamed message over from its polling thread to the reader's:
    # that costs more CPU than decoding the message. Without BDP probing the stream's window stays
    # at 64 KiB, so at most ~200 unread calls wait in memory (with it, 5-12 MB more, varying per
    # run); 64 KiB per round trip is still ~60 MB/s at the 1 ms of a same-region Firestore.
    options = [(grpc.experimental.ChannelOptions.SingleThreadedUnaryStream, 1),
               ("grpc.http2.bdp_probe", 0),
               ("grpc.max_receive_message_length", -1), *CHANNEL_OPTIONS]
    if db._emulator_host:
        return query_capture.wrap_channel(grpc.insecure_channel(db._emulator_host, options=options))
    return query_capture.wrap_channel(
        FirestoreGrpcTransport.create_channel(db._target, credentials=db._credentials, options=options))


def sdk_version() -> str:
    """The installed google-cloud-firestore version."""
    from importlib.metadata import version

    return version("google-cloud-firestore")


class FirestoreCallLogs:
    """Call logs of one company and month, streamed in time order (see the module docstring)."""

    def __init__(self, db: firestore.Client, settings: Settings, fast: bool | None = None):
        self._db = db
        self._settings = settings
        self._schema: CallLogSchema = settings.call_logs
        self._fast = fast
        self._channel: grpc.Channel | None = None
        self._lock = threading.Lock()

    @property
    def fields(self) -> tuple[str, ...]:
        """The stored fields a CallRecord is made of, in CallRecord's order after the id."""
        s = self._schema
        return (s.started_at_field, s.duration_field, s.status_field, s.direction_field,
                s.from_field, s.to_field, s.agent_field)

    def collection(self, company_id: str) -> CollectionReference:
        """The collection holding the company's call logs (top-level or its subcollection)."""
        col: CollectionReference = call_logs_collection(self._db, self._settings, company_id)
        return col

    def query(self, company_id: str, start: datetime, end: datetime) -> Query:
        """Calls in [start, end), ordered by start then id, projected to the rated fields."""
        s = self._schema
        col = self.collection(company_id)
        base = col.where(filter=FieldFilter(s.company_field, "==", company_id)) \
            if s.layout == "top-level" else col
        return (
            base.where(filter=FieldFilter(s.started_at_field, ">=", start))
            .where(filter=FieldFilter(s.started_at_field, "<", end))
            .order_by(s.started_at_field)  # Firestore breaks ties by document name
            .select(list(self.fields))
        )

    def unplaced(self, company_id: str) -> Iterator[UnplacedCall]:
        """The company's call logs whose startedAt is missing or not a timestamp (see UNPLACED_COST).

        Firestore orders a field's values by type (null < booleans < numbers < timestamps <
        strings < bytes < references < geo points < arrays < maps), and a range query only ever
        returns its bound's type: the month's query never sees these. Ordered by startedAt,
        ascending, they come before the first timestamp, descending before the last one: each
        direction is read until its first timestamp. A document without the field matches no
        filter or order on it: two count aggregations (the company's call logs, and those having
        startedAt) tell how many lack it, and only then are the company's call logs scanned,
        projected to startedAt, until that many are found."""
        s = self._schema
        base = self._company_calls(company_id)
        seen: set[str] = set()
        with transient(ACTION):
            for direction in (Query.ASCENDING, Query.DESCENDING):
                reached_timestamps = False
                for snap in base.order_by(s.started_at_field, direction=direction).select(
                        [s.started_at_field]).stream():
                    value = snap.get(s.started_at_field)
                    if isinstance(value, datetime):
                        reached_timestamps = True
                        break
                    if snap.id not in seen:
                        seen.add(snap.id)
                        yield UnplacedCall(snap.id, unplaced_reason(value))
                if not reached_timestamps:
                    break  # no timestamp at all: the ascending pass saw every document with the field
            missing = _count(base) - _count(base.order_by(s.started_at_field))
            if missing <= 0:
                return
            for snap in base.select([s.started_at_field]).stream():
                if s.started_at_field not in (snap.to_dict() or {}):
                    yield UnplacedCall(snap.id, unplaced_reason(None, present=False))
                    missing -= 1
                    if not missing:
                        return

    def _company_calls(self, company_id: str) -> Any:
        """The company's call logs, every month (a query, or its subcollection)."""
        s = self._schema
        col = self.collection(company_id)
        return col.where(filter=FieldFilter(s.company_field, "==", company_id)) if s.layout == "top-level" else col

    def stream(self, company_id: str, period: BillingPeriod) -> Iterator[CallRecord]:
        """The whole month as one ordered stream: exactly one slice."""
        return self.slices(company_id, period, 1)[0]

    def slices(self, company_id: str, period: BillingPeriod, count: int) -> list[Iterator[CallRecord]]:
        """The month cut into max(1, count) consecutive time slices, each one lazy stream.

        Read in parallel they overlap the database's work with the decoding; in order, their
        concatenation is stream()."""
        count = max(1, count)
        step = (period.end - period.start) / count
        bounds = [period.start + step * i for i in range(count)] + [period.end]
        return [self._read(company_id, bounds[i], bounds[i + 1], period.tz) for i in range(count)]

    def _read(self, company_id: str, start: datetime, end: datetime, tz: tzinfo) -> Iterator[CallRecord]:
        """One slice; started_at comes in the billing time zone (the same instant as stored)."""
        query = self.query(company_id, start, end)
        with transient(ACTION):
            if self._use_fast():
                yield from _decode(self._run_raw(company_id, query), self.fields, tz)
            else:
                yield from _from_snapshots(query.stream(), self.fields)

    def _use_fast(self) -> bool:
        """The fast path unless told otherwise or the SDK lacks its internals (warned once)."""
        if self._fast is not None:
            return self._fast
        missing = missing_internals(self._db)
        if missing and not _warned.is_set():
            _warned.set()
            log.warning("google-cloud-firestore %s lacks %s: reading call logs with the public "
                        "query.stream() (slower)", sdk_version(), ", ".join(missing))
        return not missing

    def _run_raw(self, company_id: str, query: Query) -> Iterable[Any]:
        """The RunQuery response stream as raw protobufs (no proto-plus wrappers)."""
        from google.cloud.firestore_v1.types import firestore as fs_types

        db: Any = self._db
        with self._lock:
            if self._channel is None:
                self._channel = open_channel(db)
        rpc: Callable[..., Iterable[Any]] = self._channel.unary_stream(
            RUN_QUERY,
            request_serializer=fs_types.RunQueryRequest.serialize,
            response_deserializer=fs_types.RunQueryResponse.pb().FromString,
        )
        parent = self.collection(company_id)._parent_info()[0]
        request = fs_types.RunQueryRequest(parent=parent, structured_query=query._to_protobuf())
        return rpc(request, metadata=db._rpc_metadata, timeout=READ_TIMEOUT_S)


def _count(query: Any) -> int:
    """A count aggregation (one read per 1,000 index entries, the documents themselves unread)."""
    result = query.count().get()
    return int(result[0][0].value)


def _decode(responses: Iterable[Any], fields: tuple[str, ...], tz: tzinfo) -> Iterator[CallRecord]:
    """RunQueryResponse protobufs -> CallRecords, reading only the projected fields."""
    started_f, duration_f, status_f, direction_f, from_f, to_f, agent_f = fields
    for response in responses:
        doc = response.document
        name: str = doc.name
        if not name:
            continue  # a response carrying only read_time / skipped_results
        values = doc.fields
        yield CallRecord(
            name[name.rfind("/") + 1:],
            _timestamp(values[started_f], tz) if started_f in values else None,
            _value(values[duration_f]) if duration_f in values else None,
            _text(values[status_f]) if status_f in values else None,
            _text(values[direction_f]) if direction_f in values else None,
            _text(values[from_f]) if from_f in values else None,
            _text(values[to_f]) if to_f in values else None,
            _text(values[agent_f]) if agent_f in values else None,
        )


def _from_snapshots(snapshots: Iterable[Any], fields: tuple[str, ...]) -> Iterator[CallRecord]:
    """Stock DocumentSnapshots -> CallRecords (the public path)."""
    for snap in snapshots:
        doc = snap.to_dict() or {}
        yield CallRecord(snap.id, *(_plain(doc.get(f)) for f in fields))


def _plain(value: Any) -> Any:
    """A decoded SDK value as the fast path gives it (maps, arrays, bytes are not durations)."""
    if value is None or isinstance(value, (str, int, float, datetime)):
        return value
    if isinstance(value, dict):
        return "<map_value>"
    if isinstance(value, list):
        return "<array_value>"
    return f"<{_KINDS.get(type(value).__name__, type(value).__name__)}>"


_KINDS = {"bytes": "bytes_value", "DocumentReference": "reference_value", "GeoPoint": "geo_point_value"}


def _text(v: Any) -> Any:
    """A Value expected to hold a string (the common case needs no WhichOneof)."""
    text: str = v.string_value
    return text if text or v.WhichOneof("value_type") == "string_value" else _value(v)


def _timestamp(v: Any, tz: tzinfo) -> Any:
    """A Value expected to hold a timestamp, as an aware datetime in `tz`."""
    if v.WhichOneof("value_type") != "timestamp_value":
        return _value(v)
    ts = v.timestamp_value
    instant = datetime.fromtimestamp(ts.seconds, tz)
    return instant.replace(microsecond=ts.nanos // 1000) if ts.nanos else instant


def _value(v: Any) -> Any:
    """A raw google.firestore.v1.Value protobuf as the Python value the rating core expects."""
    kind = v.WhichOneof("value_type")
    if kind == "timestamp_value":
        ts = v.timestamp_value
        return datetime.fromtimestamp(ts.seconds, timezone.utc).replace(microsecond=ts.nanos // 1000)
    if kind in ("integer_value", "double_value", "string_value", "boolean_value"):
        return getattr(v, kind)
    if kind == "null_value" or kind is None:
        return None
    return f"<{kind}>"  # maps, arrays, bytes, references, geo points: not a duration, an anomaly
