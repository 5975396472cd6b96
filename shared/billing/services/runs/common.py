"""What the run's use cases share: the run states, their collaborators, recording a company's state."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Protocol

from billing.config import Settings
from billing.domain.entities import Invoice
from billing.domain.period import BillingPeriod, MonthQuery, not_ended
from billing.domain.company import Company
from billing.domain.runs import STATES as STATES, RunChange, RunState as RunState  # the run states, re-exported
from billing.errors import BillingError, TransientError
from billing.ports import CompanyRepository, Publisher, RunRepository, utc_now
from billing.services.run_alerts import RunAlerts
from billing.services.runs.wake import WakeWindow

log = logging.getLogger("billing.services.runs")

# The first timezone in which any month ends (Kiribati, UTC+14; the Etc sign is inverted).
EARLIEST_ZONE = "Etc/GMT-14"


class Issuer(Protocol):
    """Issuing a company's month (services.issuance)."""

    def generate(self, company_id: str, query: MonthQuery, read_slices: int | None = None,
                 reissue_void: bool = False) -> Invoice: ...

    def draft(self, company_id: str, query: MonthQuery, read_slices: int | None = None,
              reissue_void: bool = False) -> Invoice: ...


class Finisher(Protocol):
    """Finishing a numbered invoice (services.issuance.finish)."""

    def finish(self, invoice: Invoice) -> Invoice: ...


class Numberer(Protocol):
    """Numbering waiting drafts in batches (services.issuance.numbering)."""

    def number_pending(self, batch_size: int = 300) -> list[Invoice]: ...

    def pending_count(self, limit: int) -> int: ...


class InvoiceReader(Protocol):
    def current(self, company_id: str, period_key: str) -> Invoice: ...


class Deliverer(Protocol):
    def deliver_quietly(self, invoice: Invoice) -> object:
        """Email the run's finished invoice once; what happened (recorded on the run), never raised."""


@dataclass
class RunContext:
    """The repositories, settings and clock every use case of the run works with."""

    companies: CompanyRepository
    runs: RunRepository
    settings: Settings
    publisher: Publisher | None = None
    delivery: Deliverer | None = None
    clock: Callable[[], datetime] = field(default=utc_now)
    sleep: Callable[[float], None] = field(default=time.sleep)
    wake: WakeWindow | None = None  # coalesces the sequencer's wakes (None: one per call)
    alerts: RunAlerts | None = None  # emails the operator once about a run that needs a person

    def period(self, query: MonthQuery) -> BillingPeriod:
        """The run's month: the one named (ended somewhere), or the latest one ended in UTC+14."""
        return query.ended(EARLIEST_ZONE, self.clock())

    def require_publisher(self) -> Publisher:
        if self.publisher is None:
            raise BillingError("no publisher configured for the Pub/Sub fan-out")
        return self.publisher

    def not_yet(self, company: Company | None, period: BillingPeriod, now: datetime) -> str | None:
        """Why the company's month has not ended yet at `now`, or None when it can be billed."""
        tz = company.billing_timezone(self.settings.default_timezone) if company else self.settings.default_timezone
        return not_ended(period, tz, now)

    def mark(self, run_id: str, company_id: str, change: RunChange) -> None:
        """Record a company's state on the run. If that fails the error propagates: the
        message is redelivered and, issuance being idempotent, only the record is redone."""
        try:
            self.runs.mark(run_id, company_id, change)
        except Exception as exc:
            log.error("could not update the run record", extra={"json_fields": {
                "runId": run_id, "companyId": company_id, "state": change.state.value, "error": str(exc)}})
            raise TransientError(f"could not update run record {run_id}: {exc}") from exc
