"""The run's Pub/Sub messages: one dataclass per payload, built by the services, parsed by events.py.

Each is a ports.OutgoingMessage: `to_payload()` is its JSON body, `attributes()` what Pub/Sub
filters and the logs show. `from_payload` raises ValueError, KeyError or TypeError on a malformed
payload (the handler logs and acknowledges it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

from billing.domain.period import MonthQuery, MonthValue, period_key
from billing.errors import ValidationError

Payload = dict[str, object]
Attributes = dict[str, str]


def _int(value: object) -> int:
    if isinstance(value, (int, str)):
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _run_id(payload: Mapping[str, object], month: int, year: int) -> str:
    run_id = payload.get("runId")
    return str(run_id) if run_id else period_key(year, month)


@dataclass(frozen=True)
class MonthlyTrigger:
    """Cloud Scheduler's message (or a manual trigger's): the month to run, default the latest ended."""

    month: MonthValue = None
    year: MonthValue = None
    trigger: str = "scheduler"

    @property
    def query(self) -> MonthQuery:
        return MonthQuery(self.month, self.year)

    def to_payload(self) -> Payload:
        return {"month": self.month, "year": self.year, "trigger": self.trigger}

    def attributes(self) -> Attributes:
        return {"source": self.trigger}

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> "MonthlyTrigger":
        return cls(_month_value(payload.get("month"), "month", "an integer 1-12"),
                   _month_value(payload.get("year"), "year", "a four-digit year"),
                   str(payload.get("trigger") or "scheduler"))


def _month_value(value: object, name: str, expected: str) -> MonthValue:
    if value is None or isinstance(value, (int, str)):
        return value
    raise ValidationError(f"{name} must be {expected}, got {value!r}")


@dataclass(frozen=True)
class CompanyJob:
    """Rate one company's month into a draft (the fan-out's message to the workers)."""

    company_id: str
    month: int
    year: int
    run_id: str

    @property
    def period_key(self) -> str:
        return period_key(self.year, self.month)

    @property
    def query(self) -> MonthQuery:
        return MonthQuery(self.month, self.year)

    def to_payload(self) -> Payload:
        return {"companyId": self.company_id, "month": self.month, "year": self.year, "runId": self.run_id}

    def attributes(self) -> Attributes:
        return {"companyId": self.company_id, "period": self.period_key}

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> "CompanyJob":
        month, year = _int(payload["month"]), _int(payload["year"])
        return cls(str(payload["companyId"]), month, year, _run_id(payload, month, year))


@dataclass(frozen=True)
class FinishJob:
    """The sequencer numbered this company's invoice: finish it (the sequencer's message to the workers)."""

    company_id: str
    month: int
    year: int
    run_id: str
    invoice_id: str | None = None

    @property
    def period_key(self) -> str:
        return period_key(self.year, self.month)

    def to_payload(self) -> Payload:
        return {"step": "finish", "companyId": self.company_id, "month": self.month, "year": self.year,
                "runId": self.run_id, "invoiceId": self.invoice_id}

    def attributes(self) -> Attributes:
        return {"companyId": self.company_id, "period": self.period_key}

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> "FinishJob":
        month, year = _int(payload["month"]), _int(payload["year"])
        invoice_id = payload.get("invoiceId")
        return cls(str(payload["companyId"]), month, year, _run_id(payload, month, year),
                   str(invoice_id) if invoice_id is not None else None)


WorkerJob = Union[CompanyJob, FinishJob]


def worker_job(payload: Mapping[str, object]) -> WorkerJob:
    """A worker topic's message: a finish step, or a company to rate."""
    if payload.get("step") == "finish":
        return FinishJob.from_payload(payload)
    return CompanyJob.from_payload(payload)


@dataclass(frozen=True)
class SequencerWake:
    """Drafts of a run are waiting for numbers (the worker's message to the sequencer)."""

    run_id: str | None = None

    def to_payload(self) -> Payload:
        return {"runId": self.run_id}

    def attributes(self) -> Attributes:
        return {"runId": self.run_id or ""}

    @classmethod
    def from_payload(cls, payload: Mapping[str, object]) -> "SequencerWake":
        run_id = payload.get("runId")
        return cls(str(run_id) if run_id else None)
