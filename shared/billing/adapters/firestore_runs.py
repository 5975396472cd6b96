"""Firestore run records: a small summary per month and one document per company.

    billingRuns/{YYYY-MM}                      period, createdAt, triggers (last 20), fanout
    billingRuns/{YYYY-MM}/companies/{id}       companyId, state, at, attempts, error, errorType, ...

    billingRuns/{YYYY-MM}/stateCounts/{shard}  state -> companies in it (32 shards by company)

No document grows with the number of companies, and workers only ever write their own company's
document (Firestore sustains about one write per second per document).

State counts: every write of a company's record is a transaction that reads the record's state
first and, only when the state really changes, moves that company's counter shard in the same
commit (-1 on the old state, +1 on the new). A retried worker writing the state it already
recorded moves nothing, so the counters always equal a count of the records, and the run report
reads 32 small documents instead of one count query per state over every record. Runs whose
summary was created before the counters existed (no `countsKept` on it) are counted with
aggregation queries, as before.
"""

from __future__ import annotations

import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Mapping

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from billing.adapters.sdk_errors import transient
from billing.config import Settings
from billing.ports import Clock, utc_now

MAX_TRIGGERS = 20
COUNTER_SHARDS = 32
BATCH_WRITES = 400  # with up to COUNTER_SHARDS counter writes: under Firestore's 500 writes per commit
CLEARED = ("error", "errorType", "invoiceNumber", "delivery", "deliveryAttempt", "reason", "unplacedCalls")


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

    def record_trigger(self, run_id: str, period_key: str, trigger: str) -> dict[str, Any]:
        """Create the summary if needed and append the trigger, keeping the last MAX_TRIGGERS."""
        ref = self._col.document(run_id)

        @firestore.transactional
        def txn(transaction: Any) -> dict[str, Any]:
            snap = ref.get(transaction=transaction)
            doc: dict[str, Any] = (snap.to_dict() or {}) if snap.exists else {
                "period": period_key, "createdAt": self._now_iso(), "countsKept": True}  # no record yet: all counted
            doc["triggers"] = list(doc.get("triggers") or [])[-(MAX_TRIGGERS - 1):] + [
                {"at": self._now_iso(), "by": trigger}]
            doc["updatedAt"] = self._now_iso()
            transaction.set(ref, doc)
            return doc

        summary: dict[str, Any] = _guard(lambda: txn(self._db.transaction(max_attempts=20)),
                                         "recording the run trigger")
        return summary

    def summary(self, run_id: str) -> dict[str, Any] | None:
        snap = _guard(lambda: self._col.document(run_id).get(), "reading the run")
        return snap.to_dict() if snap.exists else None

    def save_fanout(self, run_id: str, fanout: Mapping[str, Any]) -> None:
        _guard(lambda: self._col.document(run_id).set(
            {"fanout": dict(fanout), "updatedAt": self._now_iso()}, merge=True), "saving the fan-out cursor")

    def states(self, run_id: str) -> dict[str, dict[str, Any]]:
        def read() -> dict[str, dict[str, Any]]:
            query = self._companies(run_id).select(["state", "at", "fanout", "invoiceNumber"])
            return {snap.id: snap.to_dict() or {} for snap in query.stream()}

        states: dict[str, dict[str, Any]] = _guard(read, "reading the run's companies")
        return states

    def set_states(self, run_id: str, entries: Mapping[str, Mapping[str, Any]]) -> None:
        items = list(entries.items())
        for start in range(0, len(items), BATCH_WRITES):
            chunk = items[start:start + BATCH_WRITES]
            refs = {company_id: self._companies(run_id).document(company_id) for company_id, _ in chunk}

            @firestore.transactional
            def txn(transaction: Any, chunk: list[tuple[str, Mapping[str, Any]]] = chunk,
                    refs: dict[str, Any] = refs) -> None:
                before = {snap.id: _state(snap) for snap in transaction.get_all(list(refs.values()))}
                moves: dict[str, dict[str, int]] = {}
                at = self._now_iso()
                for company_id, fields in chunk:
                    transaction.set(refs[company_id], _entry(company_id, fields, at), merge=True)
                    old = before.get(company_id)
                    new = str(fields["state"]) if "state" in fields else old
                    if new != old:
                        shard = moves.setdefault(self._counter(run_id, company_id).id, {})
                        for state, step in ((old, -1), (new, 1)):
                            if state is not None:
                                shard[state] = shard.get(state, 0) + step
                counters = self._col.document(run_id).collection("stateCounts")
                for shard_id, move in moves.items():
                    if any(move.values()):
                        transaction.set(counters.document(shard_id), _increments(move), merge=True)

            _guard(lambda txn=txn: txn(self._db.transaction(max_attempts=20)), "writing the run's companies")

    def mark(self, run_id: str, company_id: str, state: str, *, unless_done: bool = False,
             **details: Any) -> bool:
        ref = self._companies(run_id).document(company_id)
        counter = self._counter(run_id, company_id)
        fields = {**_entry(company_id, {"state": state, **details}, self._now_iso()), "attempts": firestore.Increment(1)}

        @firestore.transactional
        def txn(transaction: Any) -> bool:
            before = _state(ref.get(transaction=transaction))
            if unless_done and before == "done":
                return False
            transaction.set(ref, fields, merge=True)
            if before != state:  # a retry recording the same state counts nothing
                transaction.set(counter, _increments({state: 1, **({before: -1} if before else {})}), merge=True)
            return True

        return bool(_guard(lambda: txn(self._db.transaction(max_attempts=20)), "updating the run record"))

    def company(self, run_id: str, company_id: str) -> dict[str, Any] | None:
        snap = _guard(lambda: self._companies(run_id).document(company_id).get(), "reading the run record")
        return snap.to_dict() if snap.exists else None

    def counts(self, run_id: str, states: Iterable[str]) -> dict[str, int]:
        """From the counter shards when the run keeps them; otherwise one count query per state, sent
        at once (the run report's latency is one query's, not seven)."""
        wanted = list(states)
        summary = self.summary(run_id)
        if summary is not None and summary.get("countsKept"):
            counters = self._col.document(run_id).collection("stateCounts")
            refs = [counters.document(f"{shard:02d}") for shard in range(COUNTER_SHARDS)]
            totals: dict[str, int] = {}
            for snap in _guard(lambda: list(self._db.get_all(refs)), "reading the run's counts"):
                for state, n in (snap.to_dict() or {}).items() if snap.exists else ():
                    totals[state] = totals.get(state, 0) + int(n)
            return {state: totals.get(state, 0) for state in wanted}
        return self.counted(run_id, wanted)

    def counted(self, run_id: str, states: Iterable[str]) -> dict[str, int]:
        """One count query per state over the records themselves (what the counters must equal)."""
        def count(state: str) -> tuple[str, int]:
            query = self._companies(run_id).where(filter=FieldFilter("state", "==", state)).count(alias="n")
            rows = _guard(query.get, "counting the run's companies")
            return state, int(rows[0][0].value) if rows else 0

        wanted = list(states)
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(wanted))), thread_name_prefix="run-counts") as pool:
            return dict(pool.map(count, wanted))

    def in_state(self, run_id: str, state: str, page_size: int,
                 after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        query = (self._companies(run_id).where(filter=FieldFilter("state", "==", state))
                 .order_by(FieldPath.document_id()).limit(page_size + 1))
        if after:
            query = query.start_after({FieldPath.document_id(): self._companies(run_id).document(after)})
        snaps = _guard(lambda: list(query.stream()), "listing the run's companies")
        page = [{"companyId": s.id, **(s.to_dict() or {})} for s in snaps[:page_size]]
        return page, (page[-1]["companyId"] if len(snaps) > page_size else None)

    def with_unplaced_calls(self, run_id: str, limit: int) -> list[dict[str, Any]]:
        query = (self._companies(run_id).where(filter=FieldFilter("unplacedCalls", ">", 0))
                 .order_by("unplacedCalls", direction=firestore.Query.DESCENDING).limit(limit))
        snaps = _guard(lambda: list(query.stream()), "listing the run's companies with unplaced call logs")
        return [{"companyId": s.id, "count": int((s.to_dict() or {}).get("unplacedCalls") or 0)} for s in snaps]


def _state(snap: Any) -> str | None:
    state = (snap.to_dict() or {}).get("state") if snap.exists else None
    return str(state) if state is not None else None


def _increments(move: Mapping[str, int]) -> dict[str, Any]:
    return {state: firestore.Increment(step) for state, step in move.items() if step}


def _entry(company_id: str, fields: Mapping[str, Any], at: str) -> dict[str, Any]:
    """A company's record as written: given fields, a timestamp, and stale details removed."""
    entry: dict[str, Any] = {"companyId": company_id, "at": at, **fields}
    for name in CLEARED:
        entry.setdefault(name, firestore.DELETE_FIELD)
    return entry


def _guard(call: Any, doing: str) -> Any:
    """Run a Firestore call; unavailable/timeouts become TransientError (Pub/Sub retries)."""
    with transient(f"Firestore, {doing}"):
        return call()
