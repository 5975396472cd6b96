"""What an invoice is computed from: the validated company, its tariff and the month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from billing.config import Settings
from billing.domain.billing_dates import require_billable
from billing.domain.naming import csv_name, invoice_id, validate_company_id
from billing.domain.period import BillingPeriod, MonthQuery
from billing.domain.rating import Tariff
from billing.errors import NotFoundError
from billing.ports import CompanyRepository


@dataclass(frozen=True)
class MonthInputs:
    """What an invoice is computed from: the company, its tariff and the month."""

    company_id: str
    company: Mapping[str, Any]
    tariff: Tariff
    period: BillingPeriod

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
        company, tariff = self.company_and_tariff(company_id, "Invoice generation")
        return self._billable(MonthInputs(company_id, company, tariff, query.ended(tariff.timezone, now)))

    def to_date(self, company_id: str, query: MonthQuery, now: datetime) -> MonthInputs:
        """The same for a preview: the month may be the current one (month to date)."""
        company, tariff = self.company_and_tariff(company_id, "Invoice preview")
        return self._billable(MonthInputs(company_id, company, tariff, query.to_date(tariff.timezone, now)))

    def _billable(self, inputs: MonthInputs) -> MonthInputs:
        """The month must be inside the company's billing dates and BILLING_FIRST_PERIOD (DESIGN 11)."""
        require_billable(inputs.company_id, inputs.period, inputs.company, self.settings.first_period)
        return inputs

    def company_and_tariff(self, company_id: str, action: str) -> tuple[Mapping[str, Any], Tariff]:
        """The company document and its validated tariff (NotFound / Validation / Configuration)."""
        validate_company_id(company_id)
        company = self.companies.get(company_id)
        if company is None:
            raise NotFoundError(f"{action} failed: Company '{company_id}' not found")
        tariff = Tariff.from_mapping(
            company.get("billing"),
            default_timezone=self.settings.default_timezone,
            non_billable_statuses=frozenset(self.settings.non_billable_statuses),
        )
        return company, tariff
