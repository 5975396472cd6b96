"""The run records' Firestore shape <-> the typed records of billing.domain.runs (the one mapper).

    billingRuns/{YYYY-MM}                  period, createdAt, updatedAt, triggers [{at, by}], fanout, countsKept
    billingRuns/{YYYY-MM}/companies/{id}   companyId, state, at, attempts, fanout, invoiceId, invoiceNumber,
                                           error, errorType, reason, note, delivery, unplacedCalls

Old records read as they are: a field absent or of an unexpected type reads as None (or 0).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from billing.domain.runs import Fanout, RunChange, RunEntry, RunState, RunSummary, Trigger

# What a write removes from a company's entry unless it gives it again (a state's stale details).
CLEARED = ("error", "errorType", "invoiceNumber", "delivery", "deliveryAttempt", "reason", "unplacedCalls")

Document = dict[str, Any]
"""A run record as Firestore stores it (its fields are listed in this module's docstring)."""


def _text(raw: object) -> str | None:
    return str(raw) if raw is not None else None


def _int(raw: object) -> int:
    if isinstance(raw, (int, float, str)):
        try:
            return int(raw or 0)
        except ValueError:
            return 0
    return 0


def _time(raw: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def fanout_from_document(doc: Mapping[str, Any]) -> Fanout:
    return Fanout(id=str(doc.get("id", "")), total=_int(doc.get("total")), started_at=str(doc.get("startedAt", "")),
                  cursor=str(doc.get("cursor", "")), position=_int(doc.get("position")),
                  published=_int(doc.get("published")), waiting=_int(doc.get("waiting")),
                  skipped=_int(doc.get("skipped")), resumed_from=_optional_int(doc.get("resumedFrom")),
                  finished=bool(doc.get("finished", False)))


def _optional_int(raw: object) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def fanout_document(fanout: Fanout) -> Document:
    return {"id": fanout.id, "total": fanout.total, "startedAt": fanout.started_at, "cursor": fanout.cursor,
            "position": fanout.position, "published": fanout.published, "waiting": fanout.waiting,
            "skipped": fanout.skipped, "resumedFrom": fanout.resumed_from, "finished": fanout.finished}


def summary_from_document(doc: Mapping[str, Any], period: str = "") -> RunSummary:
    raw_fanout = doc.get("fanout")
    triggers = tuple(Trigger(by=str(t.get("by", "")), at=_text(t.get("at")))
                     for t in doc.get("triggers") or () if isinstance(t, Mapping))
    return RunSummary(period=str(doc.get("period") or period), created_at=_time(doc.get("createdAt")),
                      updated_at=_time(doc.get("updatedAt")),
                      triggers=triggers,
                      fanout=fanout_from_document(raw_fanout) if isinstance(raw_fanout, Mapping) and raw_fanout
                      else None,
                      counts_kept=bool(doc.get("countsKept")), document=doc)


def trigger_document(trigger: Trigger) -> Document:
    return {"at": trigger.at, "by": trigger.by} if trigger.at is not None else {"by": trigger.by}


def entry_from_document(company_id: str, doc: Mapping[str, Any]) -> RunEntry:
    return RunEntry(
        company_id=company_id, state=RunState.parse(doc.get("state")), at=_time(doc.get("at")),
        attempts=_int(doc.get("attempts")), fanout_id=_text(doc.get("fanout")),
        invoice_id=_text(doc.get("invoiceId")), invoice_number=_text(doc.get("invoiceNumber")),
        error=_text(doc.get("error")), error_type=_text(doc.get("errorType")), reason=_text(doc.get("reason")),
        unplaced_calls=_int(doc.get("unplacedCalls")), document=doc)


def entry_fields(company_id: str, change: RunChange, at: str) -> Document:
    """The fields a write sets on a company's entry (`at` unless the change names its own time);
    the names of CLEARED it does not set are to be removed."""
    given: dict[str, object] = {
        "state": change.state.value, "reason": change.reason, "fanout": change.fanout_id,
        "invoiceId": change.invoice_id, "invoiceNumber": change.invoice_number, "error": change.error,
        "errorType": change.error_type, "unplacedCalls": change.unplaced_calls, "note": change.note,
        "delivery": change.delivery, "attempts": change.attempts}
    stamp = change.at.isoformat() if change.at is not None else at
    return {"companyId": company_id, "at": stamp, **{k: v for k, v in given.items() if v is not None}}
