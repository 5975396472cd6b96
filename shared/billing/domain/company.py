"""A customer company as a typed value, and a row of the companies' listing.

`Company` is read from `companies/{id}` once its document passed the strict schema (the adapters'
mapper, `billing.adapters.company_document`, is the only place that knows the Firestore shape): the
fields the services decide on are typed; the tariff map (`billing`) is parsed by the tariff's own
rules when a month is billed (`tariff`, `tariff_history`), so a company with a bad tariff can still
be read, shown and corrected. The stored document travels with it (`document`): GET
/billing/companies/{id} answers it as stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any, Iterable, Mapping

from billing.domain.rating import DEFAULT_NON_BILLABLE, Tariff, company_timezone
from billing.domain.tariff_history import DatedTariff, parse_history


class CompanyStatus(Enum):
    """`active`: a company whose `active` is the boolean false is not billed (nor listed for runs)."""

    ACTIVE = "active"
    INACTIVE = "inactive"


@dataclass(frozen=True)
class Company:
    """companies/{company_id}: who is billed, where, from when to when, and by which tariff."""

    company_id: str
    name: str | None  # `name`: how the company is called
    legal_name: str | None  # `legalName`, the invoice's name when `name` is unset
    gstin: str | None  # as stored (checked and normalised by the invoice's recipient rule)
    state_code: str | None
    address: str | None  # as stored; "" when the field is absent
    billing_email: str | None  # one address, or several separated by commas/semicolons
    timezone: str | None  # `billing.timezone` (None: the service's default)
    billing_start: date | None
    billing_end: date | None
    status: CompanyStatus
    document: Mapping[str, Any] = field(compare=False, repr=False)

    @property
    def active(self) -> bool:
        return self.status is CompanyStatus.ACTIVE

    @property
    def invoice_name(self) -> str | None:
        """The name invoices show: `name`, else `legalName` (None: neither; the invoice refuses it)."""
        return self.name or self.legal_name

    @property
    def billing_emails(self) -> list[str]:
        """The addresses of `billing_email`, in order (empty when none)."""
        text = self.billing_email or ""
        return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]

    def billing_timezone(self, default: str) -> str:
        """The timezone the company is billed in (its month boundaries)."""
        return company_timezone({"timezone": self.timezone}, default)

    def tariff(self, *, default_timezone: str = "UTC",
               non_billable_statuses: Iterable[str] = DEFAULT_NON_BILLABLE) -> Tariff:
        """Its own `billing` map as the validated tariff (ConfigurationError saying what is wrong)."""
        return Tariff.from_mapping(self.document.get("billing"), default_timezone=default_timezone,
                                   non_billable_statuses=frozenset(non_billable_statuses))

    def tariff_history(self, dated: Iterable[tuple[str, Mapping[str, Any]]], *, default_timezone: str = "UTC",
                       non_billable_statuses: Iterable[str] = DEFAULT_NON_BILLABLE) -> tuple[DatedTariff, ...]:
        """Its `billing`, then its dated tariffs (companies/{id}/tariffs), in effective order."""
        return parse_history(self.document.get("billing"), dated, default_timezone=default_timezone,
                             non_billable_statuses=non_billable_statuses)


@dataclass(frozen=True)
class CompanyRow:
    """One row of the companies' listing, read unchecked: a malformed document is listed too, with
    what is wrong with it (`problem`), so an admin can see and correct it. The values are those
    stored, whatever their type (the listing shows them as they are)."""

    company_id: str
    name: object  # `name`, else `legalName`
    active: bool | None  # None: `active` is not a boolean
    billing_email: object
    problem: str | None  # what the strict schema refuses, one sentence (None: it passes)
