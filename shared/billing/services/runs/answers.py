"""The run's JSON answers, built in one place from the typed run records (billing.domain.runs).

POST /billing/run (`requested`), GET /billing/runs/{period} (`report`) and the fan-out's result
(`fanned_out`, which the monthly trigger logs). Stored values (timestamps, triggers, the fan-out
cursor, a failure's error) are answered as the record holds them (its `document`), never rebuilt.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from billing.domain.period import BillingPeriod
from billing.domain.runs import Fanout, RunEntry, RunState, RunSummary

JsonAnswer = dict[str, Any]
"""The JSON body the OpenAPI document defines for POST /billing/run or GET /billing/runs/{period}
(or the fan-out's logged result): built once here, returned as is."""

SUMMARY_KEPT = ("createdAt", "updatedAt", "triggers", "fanout")
FAILURE_KEPT = ("companyId", "error", "errorType", "at", "attempts")
SKIPPED_KEPT = ("companyId", "reason", "at")


def requested(period: BillingPeriod, mode: str, status: str) -> JsonAnswer:
    """A run asked for: published to the monthly topic, or started (or running) in this process."""
    return {"runId": period.key, "period": period.key, "mode": mode, "status": status}


def fanned_out(period: BillingPeriod, fanout: Fanout, status: str) -> JsonAnswer:
    return {"runId": period.key, "period": period.key, "status": status, "companies": fanout.total,
            "published": fanout.published, "waiting": fanout.waiting, "skipped": fanout.skipped,
            "resumedFrom": fanout.resumed_from}


def report(period_key: str, summary: RunSummary | None, counts: Mapping[RunState, int],
           failed: Sequence[RunEntry], next_token: str | None, skipped: Iterable[RunEntry],
           unplaced: Iterable[RunEntry]) -> JsonAnswer:
    """GET /billing/runs/{period}: counts per state, a page of failures, the skipped and the
    companies whose invoice reported unplaced call logs."""
    stored = summary.document if summary is not None else {}
    return {"runId": period_key, "period": period_key, **{k: stored.get(k) for k in SUMMARY_KEPT},
            "counts": {str(state): n for state, n in counts.items()}, "total": sum(counts.values()),
            "failed": [_kept(entry, FAILURE_KEPT) for entry in failed], "nextPageToken": next_token,
            "skipped": [_kept(entry, SKIPPED_KEPT) for entry in skipped],
            "unplacedCalls": [{"companyId": entry.company_id, "count": entry.unplaced_calls} for entry in unplaced]}


def _kept(entry: RunEntry, names: Sequence[str]) -> JsonAnswer:
    return {name: entry.document.get(name) for name in names}
