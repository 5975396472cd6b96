"""A run's report: counts per state and a page of the failed companies with their reasons."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from billing.domain.period import BillingPeriod
from billing.domain.runs import RunEntry
from billing.errors import NotFoundError, ValidationError
from billing.ports import RunRepository
from billing.services.runs import answers
from billing.services.runs.answers import JsonAnswer
from billing.services.runs.common import STATES, RunState

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 500
MAX_UNPLACED_LISTED = 100
TOKEN = re.compile(r"[a-z0-9_-]{1,64}")


class RunStatus:
    def __init__(self, runs: RunRepository):
        self.runs = runs

    def status(self, period_key: str, page_size: str | None = None, page_token: str | None = None) -> JsonAnswer:
        """Counts per state, a page of the failed companies with their reasons, and the companies
        whose invoice reported unplaced call logs."""
        BillingPeriod.from_key(period_key, "UTC")  # 422 on a malformed period
        size = _page_size(page_size)
        if page_token is not None and not TOKEN.fullmatch(page_token):
            raise ValidationError("pageToken is not one this API returned")
        with ThreadPoolExecutor(max_workers=4, thread_name_prefix="run-status") as pool:  # sent at once
            summary_read = pool.submit(self.runs.summary, period_key)
            counts_read = pool.submit(self.runs.counts, period_key, STATES)
            failed_read = pool.submit(self.runs.in_state, period_key, RunState.FAILED, size, page_token)
            unplaced_read = pool.submit(self.runs.with_unplaced_calls, period_key, MAX_UNPLACED_LISTED)
            summary, counts = summary_read.result(), counts_read.result()
            if summary is None and not any(counts.values()):
                raise NotFoundError(f"No billing run for {period_key}")
            failed, next_token = failed_read.result()
            skipped: list[RunEntry] = []
            if counts.get(RunState.SKIPPED):  # the first page only: the reason is usually the same
                skipped, _ = self.runs.in_state(period_key, RunState.SKIPPED, size, None)
            unplaced = unplaced_read.result()
        return answers.report(period_key, summary, counts, failed, next_token, skipped, unplaced)


def _page_size(raw: str | None) -> int:
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    text = str(raw).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise ValidationError(f"pageSize must be an integer 1-{MAX_PAGE_SIZE}, got {raw!r}")
    return int(text)
