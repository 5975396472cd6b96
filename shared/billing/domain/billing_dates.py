"""Which months may be billed: a company's billingStartDate / billingEndDate and the service-wide
first period (BILLING_FIRST_PERIOD, the cutover from the previous service), DESIGN 11.

A month is billable when it overlaps [billingStartDate, billingEndDate] (both optional, ISO dates,
inclusive, in the company's billing timezone) and is not before the first period (`YYYY-MM`). A
month outside is refused with the reason: generate and preview answer 422, the run records the
company as skipped.
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date
from billing.domain.company import Company
from billing.domain.period import BillingPeriod
from billing.errors import ConfigurationError, OutsideBillingDatesError, ValidationError

FIRST_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_first_period(value: str) -> str:
    """BILLING_FIRST_PERIOD: empty (no limit) or `YYYY-MM`; ConfigurationError otherwise."""
    value = value.strip()
    if value and not FIRST_PERIOD.match(value):
        raise ConfigurationError(f"BILLING_FIRST_PERIOD must be YYYY-MM (e.g. 2025-10), got {value!r}")
    return value


def parse_billing_date(raw: object, name: str) -> date | None:
    """A company's billingStartDate / billingEndDate as stored (an ISO date string, or unset: None);
    ConfigurationError when malformed."""
    if raw is None or raw == "":
        return None
    try:
        if not isinstance(raw, str) or len(raw) != 10:
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise ConfigurationError(f"{name} = {raw!r}: expected an ISO date string YYYY-MM-DD") from None


def check_company_dates(company: Company) -> None:
    """billingStartDate must not come after billingEndDate (ValidationError)."""
    start, end = company.billing_start, company.billing_end
    if start and end and start > end:
        raise ValidationError(f"billingStartDate {start.isoformat()} is after billingEndDate {end.isoformat()}")


def outside_reason(period: BillingPeriod, company: Company, first_period: str) -> str | None:
    """Why the month may not be billed for this company, or None when it may."""
    if first_period and period.key < first_period:
        return (f"{period.key} is before BILLING_FIRST_PERIOD {first_period}: months before it are not "
                "issued by this service (the previous service billed them)")
    first_day = date(period.year, period.month, 1)
    last_day = date(period.year, period.month, monthrange(period.year, period.month)[1])
    start, end = company.billing_start, company.billing_end
    if start and last_day < start:
        return f"{period.key} is before the company's billingStartDate {start.isoformat()}"
    if end and first_day > end:
        return f"{period.key} is after the company's billingEndDate {end.isoformat()}"
    return None


def require_billable(period: BillingPeriod, company: Company, first_period: str) -> None:
    """OutsideBillingDatesError (422; the run's `skipped`) when the month is outside the billing dates."""
    reason = outside_reason(period, company, first_period)
    if reason:
        raise OutsideBillingDatesError(f"company '{company.company_id}' is not billed for {period.key}: {reason}")
