"""Configuration errors of a run's shared steps (the fan-out, the sequencer's numbering) on the run record.

A worker records its own company's failure; the fan-out and the numbering serve many companies
at once, so when the project is not set up for them (a missing index, topic or permission) every
company they were serving is marked failed with the cause (errorType "Configuration"), and the
message is acknowledged: no retry can cure it, and an operator sees it in GET /billing/runs/{M}.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from billing.domain.runs import RunChange, RunState
from billing.errors import BillingError, CloudConfigurationError, error_type
from billing.ports import RunRepository

log = logging.getLogger(__name__)

PAGE = 500


def fail_companies(runs: RunRepository, run_id: str, state: RunState, step: str,
                   exc: CloudConfigurationError) -> dict[str, str]:
    """Mark every company of the run in `state` failed with the error; returns {companyId: reason}.
    If the run record cannot be written either (Firestore itself refuses), the error is logged."""
    reason = f"{step}: {exc.detail}"
    failed: dict[str, str] = {}
    log.error(f"billing run {run_id}: {reason}", extra={"json_fields": {
        "runId": run_id, "step": step, "errorType": error_type(exc), "error": exc.detail}})
    try:
        token: str | None = None
        while True:
            page, token = runs.in_state(run_id, state, PAGE, token)
            for entry in page:
                company_id = entry.company_id
                runs.mark(run_id, company_id, RunChange(RunState.FAILED, error=reason, error_type=error_type(exc)),
                          unless_done=True)
                failed[company_id] = reason
            if not token:
                return failed
    except BillingError as unrecorded:
        log.error(f"billing run {run_id}: could not record the configuration error: {unrecorded.detail}",
                  extra={"json_fields": {"runId": run_id, "step": step}})
        return failed


def guarded(runs: RunRepository, run_id: str | None, state: RunState, step: str,
            work: Callable[[], Any]) -> tuple[Any, dict[str, str]]:
    """Run a shared step; on a configuration error, fail the run's companies in `state` instead of
    raising. Returns (the step's result or None, {companyId: reason} of the companies failed)."""
    try:
        return work(), {}
    except CloudConfigurationError as exc:
        if not run_id:
            log.error(f"{step}: {exc.detail}", extra={"json_fields": {"step": step, "errorType": error_type(exc)}})
            return None, {}
        return None, fail_companies(runs, run_id, state, step, exc)
