"""Firestore run records: a small summary per month and one document per company.

    billingRuns/{YYYY-MM}                      period, createdAt, triggers (last 20), fanout
    billingRuns/{YYYY-MM}/companies/{id}       companyId, state, at, attempts, error, errorType, ...

    billingRuns/{YYYY-MM}/stateCounts/{shard}  state -> companies in it (32 shards by company)

No document grows with the number of companies, and workers only ever write their own company's
document (Firestore sustains about one write per second per document).

State counts: every write of a company's record reads the record's state first and commits the
record together with, only when the state really changes, its counter shard's move (-1 on the old
state, +1 on the new), on the condition that the record is still as read (else read again). A
retried worker writing the state it already recorded moves nothing, so the counters always equal a
count of the records, and the run report reads 32 small documents instead of one count query per
state over every record. Runs whose
summary was created before the counters existed (no `countsKept` on it) are counted with
aggregation queries, as before.
"""

from __future__ import annotations

import random
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Mapping

from google.api_core import exceptions as gexc
from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from billing.adapters.run_documents import (
    CLEARED, Document, entry_fields, entry_from_document, fanout_document, summary_from_document, trigger_document,
)
from billing.adapters.sdk_errors import transient
from billing.config import Settings
from billing.domain.runs import Fanout, RunChange, RunEntry, RunState, RunSummary, Trigger
from billing.errors import TransientError
from billing.ports import Clock, utc_now

MAX_TRIGGERS = 20
COUNTER_SHARDS = 32
WRITE_ROUNDS = 40
BATCH_WRITES = 400  # with up to COUNTER_SHARDS counter writes: under Firestore's 500 writes per commit


class FirestoreRuns:
    """The RunRepository port on Firestore."""

    def __init__(self, db: firestore.Client, settings: Settings, clock: Clock = utc_now):
        self._db = db
        self._col = db.collection(settings.runs_collection)
        self._clock = clock

    def _now_iso(self) -> str:
        return self._clock().isoformat(timespec="milliseconds")

    def _companies(self, run_id: str) -> Any:
        return self._col.document(run_id).collection("companies")

    def _counter(self, run_id: str, company_id: str) -> Any:
        return self._col.document(run_id).collection("stateCounts").document(
            f"{zlib.crc32(company_id.encode()) % COUNTER_SHARDS:02d}")

    def record_trigger(self, run_id: str, period_key: str, trigger: str) -> RunSummary:
        """Create the summary if needed and append the trigger, keeping the last MAX_TRIGGERS."""
        ref = self._col.document(run_id)

        @firestore.transactional
        def txn(transaction: Any) -> Document:
            snap = ref.get(transaction=transaction)
            doc: Document = (snap.to_dict() or {}) if snap.exists else {
                "period": period_key, "createdAt": self._now_iso(), "countsKept": True}  # no record yet: all counted
            doc["triggers"] = list(doc.get("triggers") or [])[-(MAX_TRIGGERS - 1):] + [
                trigger_document(Trigger(by=trigger, at=self._now_iso()))]
            doc["updatedAt"] = self._now_iso()
            transaction.set(ref, doc)
            return doc

        doc: Document = _guard(lambda: txn(self._db.transaction(max_attempts=20)), "recording the run trigger")
        return summary_from_document(doc, run_id)

    def summary(self, run_id: str) -> RunSummary | None:
        snap = _guard(lambda: self._col.document(run_id).get(), "reading the run")
        return summary_from_document(snap.to_dict() or {}, run_id) if snap.exists else None

    def save_fanout(self, run_id: str, fanout: Fanout) -> None:
        _guard(lambda: self._col.document(run_id).set(
            {"fanout": fanout_document(fanout), "updatedAt": self._now_iso()}, merge=True),
               "saving the fan-out cursor")

    def states(self, run_id: str) -> dict[str, RunEntry]:
        def read() -> dict[str, RunEntry]:
            query = self._companies(run_id).select(["state", "at", "fanout", "invoiceNumber"])
            return {snap.id: entry_from_document(snap.id, snap.to_dict() or {}) for snap in query.stream()}

        states: dict[str, RunEntry] = _guard(read, "reading the run's companies")
        return states

    def set_states(self, run_id: str, entries: Mapping[str, RunChange]) -> None:
        items = list(entries.items())
        at = self._now_iso()
        for start in range(0, len(items), BATCH_WRITES):
            self._write(run_id, [(cid, _entry(cid, change, at)) for cid, change in items[start:start + BATCH_WRITES]])

    def mark(self, run_id: str, company_id: str, change: RunChange, *, unless_done: bool = False) -> bool:
        fields = {**_entry(company_id, change, self._now_iso()), "attempts": firestore.Increment(1)}
        return self._write(run_id, [(company_id, fields)], unless_done=unless_done)

    def _write(self, run_id: str, writes: list[tuple[str, Document]], *, unless_done: bool = False) -> bool:
        """Write the records, and move the counter shards of those whose state changes, in one atomic
        commit on the condition that none of the records changed since it was read (its update time,
        or its absence); when one did, read them again and recompute. Optimistic: no lock is held
        between the read and the commit, so an instance killed in between blocks nobody. False when
        `unless_done` found the (single) record done, and nothing was written."""
        refs = {company_id: self._companies(run_id).document(company_id) for company_id, _ in writes}
        counters = self._col.document(run_id).collection("stateCounts")
        for attempt in range(WRITE_ROUNDS):
            snaps = {snap.id: snap for snap in _guard(lambda: list(self._db.get_all(list(refs.values()))),
                                                      "reading the run's companies")}
            if unless_done and any(_state(snaps[company_id]) == "done" for company_id, _ in writes):
                return False
            batch = self._db.batch()
            moves: dict[str, dict[str, int]] = {}
            for company_id, fields in writes:
                snap = snaps[company_id]
                old = _state(snap)
                if snap.exists:
                    batch.update(refs[company_id], dict(fields),
                                 option=self._db.write_option(last_update_time=snap.update_time))
                else:
                    batch.create(refs[company_id], {k: v for k, v in fields.items() if v is not firestore.DELETE_FIELD})
                new = str(fields["state"]) if "state" in fields else old
                if new != old:  # a retry recording the same state again moves nothing
                    shard = moves.setdefault(self._counter(run_id, company_id).id, {})
                    for state, step in ((old, -1), (new, 1)):
                        if state is not None:
                            shard[state] = shard.get(state, 0) + step
            for shard_id, move in moves.items():
                if any(move.values()):
                    batch.set(counters.document(shard_id), _increments(move), merge=True)
            with transient("Firestore, writing the run's companies"):
                try:
                    batch.commit()
                    return True
                except (gexc.FailedPrecondition, gexc.AlreadyExists, gexc.Aborted):
                    pass  # a record changed since it was read: read again
            time.sleep(min(1.0, 0.01 * (2 ** min(attempt, 7))) * random.random())
        raise TransientError(f"the records of run {run_id} kept changing while being written")

    def company(self, run_id: str, company_id: str) -> RunEntry | None:
        snap = _guard(lambda: self._companies(run_id).document(company_id).get(), "reading the run record")
        return entry_from_document(company_id, snap.to_dict() or {}) if snap.exists else None

    def counts(self, run_id: str, states: Iterable[RunState]) -> dict[RunState, int]:
        """From the counter shards when the run keeps them; otherwise one count query per state, sent
        at once (the run report's latency is one query's, not seven)."""
        wanted = list(states)
        summary = self.summary(run_id)
        if summary is not None and summary.counts_kept:
            counters = self._col.document(run_id).collection("stateCounts")
            refs = [counters.document(f"{shard:02d}") for shard in range(COUNTER_SHARDS)]
            totals: dict[str, int] = {}
            for snap in _guard(lambda: list(self._db.get_all(refs)), "reading the run's counts"):
                for state, n in (snap.to_dict() or {}).items() if snap.exists else ():
                    totals[state] = totals.get(state, 0) + int(n)
            return {state: totals.get(state, 0) for state in wanted}
        return self.counted(run_id, wanted)

    def counted(self, run_id: str, states: Iterable[RunState]) -> dict[RunState, int]:
        """One count query per state over the records themselves (what the counters must equal)."""
        def count(state: RunState) -> tuple[RunState, int]:
            query = self._companies(run_id).where(filter=FieldFilter("state", "==", state.value)).count(alias="n")
            rows = _guard(query.get, "counting the run's companies")
            return state, int(rows[0][0].value) if rows else 0

        wanted = list(states)
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(wanted))), thread_name_prefix="run-counts") as pool:
            return dict(pool.map(count, wanted))

    def in_state(self, run_id: str, state: RunState, page_size: int,
                 after: str | None) -> tuple[list[RunEntry], str | None]:
        query = (self._companies(run_id).where(filter=FieldFilter("state", "==", state.value))
                 .order_by(FieldPath.document_id()).limit(page_size + 1))
        if after:
            query = query.start_after({FieldPath.document_id(): self._companies(run_id).document(after)})
        snaps = _guard(lambda: list(query.stream()), "listing the run's companies")
        page = [entry_from_document(s.id, {"companyId": s.id, **(s.to_dict() or {})}) for s in snaps[:page_size]]
        return page, (page[-1].company_id if len(snaps) > page_size else None)

    def with_unplaced_calls(self, run_id: str, limit: int) -> list[RunEntry]:
        query = (self._companies(run_id).where(filter=FieldFilter("unplacedCalls", ">", 0))
                 .order_by("unplacedCalls", direction=firestore.Query.DESCENDING).limit(limit))
        snaps = _guard(lambda: list(query.stream()), "listing the run's companies with unplaced call logs")
        return [entry_from_document(s.id, s.to_dict() or {}) for s in snaps]


def _state(snap: Any) -> str | None:
    state = (snap.to_dict() or {}).get("state") if snap.exists else None
    return str(state) if state is not None else None


def _increments(move: Mapping[str, int]) -> dict[str, Any]:
    return {state: firestore.Increment(step) for state, step in move.items() if step}


def _entry(company_id: str, change: RunChange, at: str) -> Document:
    """A company's record as written: given fields, a timestamp, and stale details removed."""
    entry = entry_fields(company_id, change, at)
    for name in CLEARED:
        entry.setdefault(name, firestore.DELETE_FIELD)
    return entry


def _guard(call: Any, doing: str) -> Any:
    """Run a Firestore call; unavailable/timeouts become TransientError (Pub/Sub retries)."""
    with transient(f"Firestore, {doing}"):
        return call()
