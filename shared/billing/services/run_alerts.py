"""A failed run reaches a person: one email per run to BILLING_OPERATOR_EMAIL (DESIGN 17).

Checked where a run's picture changes (every firing of the monthly trigger, the sequencer when it
has numbered the drafts, the end of an in-process run). A run needs attention when a company
failed (a Configuration error included) or, 24 hours after the run started, companies are still
pending, retrying or drafted. The email goes out once per run: a create-only claim
(`billingRuns/{M}/alerts/operator-email`) is taken first and released again if the relay refused
the message, so a later check retries it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Callable, Mapping, Sequence

from billing.domain.runs import UNFINISHED, RunEntry, RunState, RunSummary
from billing.errors import BillingError
from billing.ports import Mailer, RunRepository, WakeClaims

log = logging.getLogger(__name__)

CLAIM = "operator-email"
STATES = tuple(state for state in RunState if state is not RunState.SKIPPED)  # the states the email lists
UNFINISHED_AFTER = timedelta(hours=24)
LISTED = 50


class RunAlerts:
    def __init__(self, *, runs: RunRepository, claims: WakeClaims, mailer: Mailer | None, operator: str,
                 sender: str, clock: Callable[[], datetime]):
        self.runs = runs
        self.claims = claims
        self.mailer = mailer
        self.operator = operator
        self.sender = sender
        self.clock = clock

    def why(self, run_id: str, counts: Mapping[RunState, int], summary: RunSummary | None) -> str | None:
        """Why the run needs a person, or None."""
        if counts.get(RunState.FAILED):
            return f"{_companies(counts[RunState.FAILED])} failed"
        unfinished = sum(counts.get(state, 0) for state in UNFINISHED)
        started = summary.created_at if summary is not None else None
        if unfinished and started is not None and self.clock() - started >= UNFINISHED_AFTER:
            return (f"{_companies(unfinished)} unfinished {UNFINISHED_AFTER.total_seconds() / 3600:.0f} h "
                    "after the run started")
        return None

    def check(self, run_id: str | None) -> bool:
        """Email the operator if the run needs attention and nobody was told yet; True when sent.
        Never raises: a failed alert is logged (and the ERROR-log alert policy still fires)."""
        if not run_id or not self.operator or self.mailer is None:
            return False
        try:
            counts = self.runs.counts(run_id, STATES)
            reason = self.why(run_id, counts, self.runs.summary(run_id))
            if reason is None or not self.claims.claim(run_id, CLAIM):
                return False
            try:
                failed, _ = self.runs.in_state(run_id, RunState.FAILED, LISTED, None)
                self.mailer.send(self.message(run_id, reason, counts, failed))
            except BaseException:
                self.claims.release(run_id, CLAIM)  # a later check tries again
                raise
        except Exception as exc:  # noqa: BLE001 - alerting must never fail the run's own work
            detail = exc.detail if isinstance(exc, BillingError) else f"{type(exc).__name__}: {exc}"
            log.error(f"could not email the operator about billing run {run_id}: {detail}",
                      extra={"json_fields": {"runId": run_id}})
            return False
        log.warning(f"billing run {run_id} needs attention ({reason}): operator emailed",
                    extra={"json_fields": {"runId": run_id, "counts": {str(s): n for s, n in counts.items()}}})
        return True

    def message(self, run_id: str, reason: str, counts: Mapping[RunState, int],
                failed: Sequence[RunEntry]) -> EmailMessage:
        message = EmailMessage()
        message["Subject"] = f"Billing run {run_id} needs attention: {reason}"
        message["From"] = self.sender
        message["To"] = self.operator
        lines = [f"Billing run {run_id}: {reason}.", "",
                 "Companies per state: " + ", ".join(f"{state} {counts.get(state, 0)}" for state in STATES), ""]
        if failed:
            lines.append(f"Failed companies (first {len(failed)}):")
            lines += [f"  {f.company_id}: [{f.error_type}] {f.error}" for f in failed]
            lines.append("")
        lines += [f"All of them: GET /billing/runs/{run_id} or `billing run-status --month {int(run_id[5:7])} "
                  f"--year {int(run_id[:4])}`.",
                  "Configuration: fix the project's setup (README: Google Cloud), then run the month again "
                  "(POST /billing/run or the next hourly firing); issued invoices are never issued twice."]
        message.set_content("\n".join(lines))
        return message


def _companies(n: int) -> str:
    return f"{n} company" if n == 1 else f"{n} companies"
