"""The sequencer (one instance): number the waiting drafts in batches, hand each back to be finished."""

from __future__ import annotations

import time
from typing import Sequence

from billing.domain.entities import Invoice
from billing.domain.period import BillingPeriod
from billing.services.runs.common import Numberer, RunContext, RunState
from billing.services.runs.messages import FinishJob


class Sequencer:
    def __init__(self, ctx: RunContext, numbering: Numberer):
        self.ctx = ctx
        self.numbering = numbering

    def sequence(self, run_id: str | None = None) -> int:
        """Number the waiting drafts in batches (one counter write each) and hand each numbered
        invoice to the workers to finish. Waits briefly while the run's companies are still being
        rated, so that batches fill up. Returns how many invoices it numbered."""
        settings = self.ctx.settings
        deadline = time.monotonic() + settings.sequencer_max_seconds
        batch, numbered, last_seen = settings.numbering_batch, 0, -1
        while True:
            waiting = self.numbering.pending_count(batch)
            if waiting == 0:
                if self.ctx.wake is None:
                    return numbered
                self.ctx.wake.release(run_id)  # then look once more: a draft made before the release
                if not self.numbering.pending_count(batch):  # is seen here, one after it wakes us
                    return numbered
                continue
            rating = self._rating(run_id)
            # Wait for a fuller batch only while drafts keep arriving (and not past the deadline).
            if waiting < batch and rating and waiting != last_seen and time.monotonic() < deadline:
                last_seen = waiting
                self.ctx.sleep(settings.sequencer_settle_seconds)
                continue
            docs = self.numbering.number_pending(batch)
            numbered += len(docs)
            last_seen = -1
            self._hand_back(docs)

    def _rating(self, run_id: str | None) -> int:
        """How many of the run's companies are still being rated."""
        if not run_id:
            return 0
        return sum(self.ctx.runs.counts(run_id, (RunState.PENDING, RunState.RETRYING)).values())

    def _hand_back(self, invoices: Sequence[Invoice]) -> None:
        messages: list[FinishJob] = []
        for invoice in invoices:
            period = BillingPeriod.from_key(invoice.period_key)
            messages.append(FinishJob(invoice.company_id, period.month, period.year, period.key, invoice.invoice_id))
        if messages:
            self.ctx.require_publisher().publish_many(self.ctx.settings.worker_topic, messages)()
