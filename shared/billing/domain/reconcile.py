"""Late-call reconciliation: the month's calls now vs the calls an invoice billed, call by call.

Both sides arrive in time order (the invoice's CSV was written in the order calls are read); they
are merged one start instant at a time, so memory holds one instant's calls and the examples,
whatever the size of the month. A call is matched by its id within its start instant: a call whose
start time was edited shows as removed at the old instant and added at the new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator, TypeVar

from billing.domain.lifecycle import InvoiceStatus
from billing.domain.presenter import money_number, plain_number
from billing.domain.rating import RatedCall

MAX_EXAMPLES = 100

ReconcileJson = dict[str, Any]
"""A piece of GET /billing/reconcile's JSON answer (openapi.json): built once by the typed values'
`to_json` at the edge, and returned (or stored in a settle's CSV) as it is."""
T = TypeVar("T")


@dataclass(frozen=True)
class BilledCall:
    """One call row of an invoice's CSV, as billed."""

    call_id: str
    started_at: datetime  # timezone-aware
    duration_seconds: str  # as written (a number, or the raw value of an anomaly)
    status: str
    billed_seconds: Decimal


@dataclass(frozen=True)
class CallFields:
    """What is compared of one call, as the CSV writes it (plain decimal text)."""

    duration_seconds: str
    status: str
    billed_seconds: str

    def get(self, name: str) -> str:
        return {"durationSeconds": self.duration_seconds, "status": self.status,
                "billedSeconds": self.billed_seconds}[name]

    def to_json(self) -> ReconcileJson:
        return {"durationSeconds": self.duration_seconds, "status": self.status, "billedSeconds": self.billed_seconds}


@dataclass(frozen=True)
class CallExample:
    """One call added, removed or changed (with the names of the fields that changed)."""

    call_id: str
    started_at: str  # ISO instant of the start it was matched at
    change: str  # "added", "removed" or "changed"
    billed: CallFields | None
    current: CallFields | None
    fields: tuple[str, ...] = ()

    def to_json(self) -> ReconcileJson:
        return {"callId": self.call_id, "startedAt": self.started_at, "change": self.change,
                **({"fields": list(self.fields)} if self.change == "changed" else {}),
                "billed": self.billed.to_json() if self.billed else None,
                "current": self.current.to_json() if self.current else None}


@dataclass
class CallDiff:
    """What differs between the billed calls and the calls now."""

    billed_calls: int = 0
    current_calls: int = 0
    added: int = 0
    removed: int = 0
    changed: int = 0
    examples: list[CallExample] = field(default_factory=list)
    max_examples: int = MAX_EXAMPLES

    @property
    def drifted(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def _example(self, example: CallExample) -> None:
        if len(self.examples) < self.max_examples:
            self.examples.append(example)


@dataclass(frozen=True)
class CallFigures:
    """A month's calls as billed or as now: how many, billed minutes, call charges (rupees)."""

    calls: int
    billed_minutes: Decimal
    call_charges: Decimal

    def minus(self, other: "CallFigures") -> "CallFigures":
        return CallFigures(self.calls - other.calls, self.billed_minutes - other.billed_minutes,
                           self.call_charges - other.call_charges)

    def to_json(self) -> ReconcileJson:
        return {"calls": self.calls, "billedMinutes": plain_number(self.billed_minutes),
                "callCharges": money_number(self.call_charges)}


@dataclass(frozen=True)
class Reconciliation:
    """An invoice's billed calls (its CSV) against the month's calls now, rated as it was."""

    company_id: str
    month: str  # YYYY-MM
    invoice_number: str | None
    invoice_id: str
    invoice_status: InvoiceStatus
    billed: CallFigures
    current: CallFigures
    diff: CallDiff

    @property
    def drifted(self) -> bool:
        return self.diff.drifted

    @property
    def difference(self) -> CallFigures:
        return self.current.minus(self.billed)

    def to_json(self) -> ReconcileJson:
        """The answer of GET /billing/reconcile (openapi.json's Reconcile schema)."""
        return {
            "companyId": self.company_id,
            "month": self.month,
            "invoiceNumber": self.invoice_number,
            "invoiceId": self.invoice_id,
            "invoiceStatus": self.invoice_status.value,
            "billed": self.billed.to_json(),
            "current": self.current.to_json(),
            "added": self.diff.added,
            "removed": self.diff.removed,
            "changed": self.diff.changed,
            "drifted": self.diff.drifted,
            "difference": self.difference.to_json(),
            "examples": [example.to_json() for example in self.diff.examples],
        }


def _number(text: object) -> Decimal | None:
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _current_fields(rated: RatedCall) -> CallFields:
    call = rated.call
    duration = (_plain(rated.duration_seconds) if rated.duration_seconds is not None
                else ("" if call.duration_seconds is None else str(call.duration_seconds)))
    return CallFields(duration, call.status or "", _plain(rated.billed_seconds))


def _billed_fields(billed: BilledCall) -> CallFields:
    return CallFields(billed.duration_seconds, billed.status, _plain(billed.billed_seconds))


def _same(name: str, old: str, new: str) -> bool:
    if name == "status":
        return old.strip().lower() == new.strip().lower()
    a, b = _number(old), _number(new)
    return a == b if a is not None and b is not None else old == new


def _instant(item: BilledCall | RatedCall) -> datetime:
    if isinstance(item, BilledCall):
        return item.started_at
    started = item.call.started_at
    assert isinstance(started, datetime)  # the month's query only returns calls with a start
    return started


class _Peek(Iterator[T]):
    def __init__(self, items: Iterator[T]):
        self._it = items
        self._head: list[T] = []

    def peek(self) -> T | None:
        if not self._head:
            for item in self._it:
                self._head.append(item)
                break
        return self._head[0] if self._head else None

    def __next__(self) -> T:
        if self.peek() is None:
            raise StopIteration
        return self._head.pop()


def _group(items: _Peek[T], instant: datetime) -> list[T]:
    group: list[T] = []
    while (head := items.peek()) is not None and _instant(head) == instant:  # type: ignore[arg-type]
        group.append(next(items))
    return group


def compare_calls(billed: Iterator[BilledCall], current: Iterator[RatedCall],
                  max_examples: int = MAX_EXAMPLES) -> CallDiff:
    """Merge two time-ordered streams; count calls added, removed and changed (duration, status,
    billed seconds), keeping up to max_examples of them."""
    diff = CallDiff(max_examples=max_examples)
    old: _Peek[BilledCall] = _Peek(billed)
    new: _Peek[RatedCall] = _Peek(current)
    while True:
        b, c = old.peek(), new.peek()
        if b is None and c is None:
            return diff
        instants = [_instant(x) for x in (b, c) if x is not None]
        instant = min(instants)
        old_group = {x.call_id: x for x in _group(old, instant)}
        new_group = _group(new, instant)
        diff.billed_calls += len(old_group)
        diff.current_calls += len(new_group)
        for rated in new_group:
            now = _current_fields(rated)
            was = old_group.pop(rated.call.call_id, None)
            if was is None:
                diff.added += 1
                diff._example(CallExample(rated.call.call_id, instant.isoformat(), "added", None, now))
                continue
            before = _billed_fields(was)
            fields = tuple(name for name in ("durationSeconds", "status", "billedSeconds")
                           if not _same(name, before.get(name), now.get(name)))
            if fields:
                diff.changed += 1
                diff._example(CallExample(rated.call.call_id, instant.isoformat(), "changed", before, now, fields))
        for was in old_group.values():
            diff.removed += 1
            diff._example(CallExample(was.call_id, instant.isoformat(), "removed", _billed_fields(was), None))
