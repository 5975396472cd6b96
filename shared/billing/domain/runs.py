"""A month's billing run as typed records: its summary, each company's entry, the fan-out's progress.

The Firestore shape of these records lives in one mapper (adapters/run_documents.py); the records
read back carry the stored document beside the typed fields (`document`), so the run report the API
answers stays the stored values as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Mapping


class RunState(StrEnum):
    """A company's state in a month's run."""

    PENDING = "pending"
    WAITING = "waiting"  # its month has not ended in its own timezone yet
    RETRYING = "retrying"
    DRAFTED = "drafted"  # rated; waiting for the sequencer's number
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # the month is outside its billing dates (or before BILLING_FIRST_PERIOD): not billed

    @classmethod
    def parse(cls, raw: object) -> RunState | None:
        """The state a stored entry names, or None (absent, or not a state this code knows)."""
        try:
            return cls(str(raw)) if raw is not None else None
        except ValueError:
            return None


STATES = tuple(RunState)
UNFINISHED = (RunState.PENDING, RunState.RETRYING, RunState.DRAFTED)


@dataclass(frozen=True)
class Trigger:
    """One firing of the run (the summary keeps the last few)."""

    by: str
    at: str | None = None


@dataclass
class Fanout:
    """Progress of one fan-out, saved in the summary as its resume cursor."""

    id: str
    total: int
    started_at: str
    cursor: str = ""  # the last company id whose message the broker confirmed
    position: int = 0  # companies passed, in id order
    published: int = 0
    waiting: int = 0
    skipped: int = 0
    resumed_from: int | None = None  # where this fan-out resumed (None: it started from the beginning)
    finished: bool = False


@dataclass(frozen=True)
class RunSummary:
    """billingRuns/{YYYY-MM}: when the run was created and triggered, and its fan-out's progress."""

    period: str
    created_at: datetime | None = None
    updated_at: datetime | None = None  # the last trigger or fan-out progress
    triggers: tuple[Trigger, ...] = ()
    fanout: Fanout | None = None
    counts_kept: bool = False  # state counters are kept with every write (else counted by queries)
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class RunEntry:
    """billingRuns/{YYYY-MM}/companies/{id}: one company's state on the run, as recorded."""

    company_id: str
    state: RunState | None = None
    at: datetime | None = None  # when it was recorded (None: absent or unreadable)
    attempts: int = 0
    fanout_id: str | None = None  # the fan-out that published it
    invoice_id: str | None = None
    invoice_number: str | None = None
    error: str | None = None
    error_type: str | None = None
    reason: str | None = None
    unplaced_calls: int = 0
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class RunChange:
    """What one write records about a company: its new state and the details that go with it.

    The details of an earlier state (error, reason, invoice number, delivery, unplaced calls) are
    removed unless given again; the invoice id, the fan-out id and the note are kept unless given."""

    state: RunState
    reason: str | None = None
    error: str | None = None
    error_type: str | None = None
    invoice_id: str | None = None
    invoice_number: str | None = None
    unplaced_calls: int | None = None
    note: str | None = None
    delivery: object = None  # the delivery outcome as the deliverer reported it, stored as given
    fanout_id: str | None = None
    at: datetime | None = None  # default: the time of the write
    attempts: int | None = None  # a batch write's absolute count (mark() counts attempts itself)
