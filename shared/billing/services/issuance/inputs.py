"""What an invoice is computed from: the validated company, its tariff and the month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from billing.config import Settings
from billing.domain.billing_dates import require_billable
from billing.domain.company import Company
from billing.domain.naming import csv_name, invoice_id, validate_company_id
from billing.domain.period import BillingPeriod, MonthQuery
from billing.domain.rating import Tariff
from billing.domain.tariff_history import DatedTariff, Stretch, stretches
from billing.errors import ConfigurationError, NotFoundError
from billing.ports import CompanyRepository


@dataclass(frozen=True)
class MonthInputs:
    """What an invoice is computed from: the company, its tariffs and the month.

    tariff is the one in force on the month's last day (its month-level terms apply); stretches
    say which tariff rates which days."""

    company_id: str
    company: Company
    tariff: Tariff
    period: BillingPeriod
    history: tuple[DatedTariff, ...]
    stretches: tuple[Stretch, ...]
    billed_from: date | None = None  # billingStartDate / billingEndDate: the fee's days in their months
    billed_to: date | None = None

    @classmethod
    def of(cls, company: Company, history: tuple[DatedTariff, ...], period: BillingPeriod) -> "MonthInputs":
        parts = stretches(history, period)
        return cls(company.company_id, company, parts[-1].tariff, period, history, parts,
                   company.billing_start, company.billing_end)

    @property
    def invoice_id(self) -> str:
        return invoice_id(self.company_id, self.period.key)

    @property
    def csv_name(self) -> str:
        return csv_name(self.company_id, self.period.key)


class InputLoader:
    """One company-and-tariff load, for issuing and for the preview."""

    def __init__(self, companies: CompanyRepository, settings: Settings):
        self.companies = companies
        self.settings = settings

    def ended(self, company_id: str, query: MonthQuery, now: datetime) -> MonthInputs:
        """The validated company, tariff and ended month (NotFound / Validation / Configuration errors)."""
        company, history = self.company_and_history(company_id, "Invoice generation")
        return self._billable(MonthInputs.of(company, history,
                                             query.ended(history[0].tariff.timezone, now)))

    def to_date(self, company_id: str, query: MonthQuery, now: datetime) -> MonthInputs:
        """The same for a preview: the month may be the current one (month to date)."""
        company, history = self.company_and_history(company_id, "Invoice preview")
        return self._billable(MonthInputs.of(company, history,
                                             query.to_date(history[0].tariff.timezone, now)))

    def company_and_history(self, company_id: str, action: str) -> tuple[Company, tuple[DatedTariff, ...]]:
        """The company and its tariffs: its `billing`, then its dated tariffs in order."""
        company, _ = self.company_and_tariff(company_id, action)
        dated = self.companies.tariffs(company_id)
        try:
            history = company.tariff_history(dated, default_timezone=self.settings.default_timezone,
                                             non_billable_statuses=self.settings.non_billable_statuses)
        except ConfigurationError as exc:
            raise ConfigurationError(f"company '{company_id}': {exc.detail}") from None
        return company, history

    def _billable(self, inputs: MonthInputs) -> MonthInputs:
        """The month must be inside the company's billing dates and BILLING_FIRST_PERIOD (DESIGN 11)."""
        require_billable(inputs.period, inputs.company, self.settings.first_period)
        return inputs

    def company_and_tariff(self, company_id: str, action: str) -> tuple[Company, Tariff]:
        """The company and its validated tariff (NotFound / Validation / Configuration)."""
        validate_company_id(company_id)
        company = self.companies.get(company_id)
        if company is None:
            raise NotFoundError(f"{action} failed: Company '{company_id}' not found")
        tariff = company.tariff(default_timezone=self.settings.default_timezone,
                                non_billable_statuses=self.settings.non_billable_statuses)
        return company, tariff
