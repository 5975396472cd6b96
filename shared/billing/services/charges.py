"""One-off charges: added by an admin for a month, carried by that month's invoice (domain/charges.py)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from billing.config import Settings
from billing.domain.adjustments import validate_idempotency_key
from billing.domain.billing_dates import require_billable
from billing.domain.charges import (
    ChargeJson, OneOffCharge, charge_id, charge_json, charge_lines, in_order, new_charge, parse_charge, parse_period,
)
from billing.domain.company import Company
from billing.domain.money import INR
from billing.domain.naming import validate_company_id
from billing.domain.period import BillingPeriod
from billing.errors import ConflictError, NotFoundError, ValidationError
from billing.ports import ChargeRepository, Clock, CompanyRepository


class ChargeService:
    def __init__(self, *, companies: CompanyRepository, charges: ChargeRepository, settings: Settings, clock: Clock):
        self.companies = companies
        self.charges = charges
        self.settings = settings
        self.clock = clock

    def add(self, company_id: str, body: object, idempotency_key: str | None = None) -> tuple[ChargeJson, bool]:
        """Add a charge to a month not yet invoiced; (the charge as the API shows it, created?).

        The same Idempotency-Key returns the same charge (even once the month is invoiced); with
        another body it is a conflict. Nothing is written on any refusal."""
        validate_company_id(company_id)
        if idempotency_key == "":  # sent but empty: not the same as no key
            raise ValidationError("Idempotency-Key must be 1 to 200 printable ASCII characters (or not sent at all)")
        key = validate_idempotency_key(idempotency_key)
        request = parse_charge(body)
        company = self._company(company_id)
        require_billable(BillingPeriod.from_key(request.period), company, self.settings.first_period)
        cid = charge_id(key, uuid.uuid4().hex)
        stored, created = self.charges.add(new_charge(company_id, cid, request, self.clock()))
        if not created and stored.request_digest != request.digest:
            raise ConflictError(f"this Idempotency-Key already added charge {cid} ({stored.period}, "
                                f"{stored.description!r}) from a different request; send a new key "
                                "for a new charge")
        return charge_json(stored), created

    def month(self, company_id: str, period: object) -> dict[str, object]:
        """The month's charges, in the order they were added (the JSON body of GET .../charges)."""
        validate_company_id(company_id)
        key = parse_period(period, "period (?period=YYYY-MM)")
        self._company(company_id)
        charges = in_order(self.charges.for_month(company_id, key))
        total = sum((c.amount for c in charges), INR.zero())
        return {"companyId": company_id, "period": key, "charges": [charge_json(c) for c in charges],
                "total": float(Decimal(total.paise) / 100)}

    def for_invoice(self, company_id: str, period_key: str, revision: int) -> list[OneOffCharge]:
        """Close the month for charges, then read them: what revision `revision` of its invoice carries."""
        self.charges.close(company_id, period_key, revision)
        return in_order(self.charges.for_month(company_id, period_key))

    def for_preview(self, company_id: str, period_key: str) -> list[OneOffCharge]:
        """The month's charges as they stand (nothing is written)."""
        return in_order(self.charges.for_month(company_id, period_key))

    def _company(self, company_id: str) -> Company:
        company = self.companies.get(company_id)
        if company is None:
            raise NotFoundError(f"Company '{company_id}' not found")
        return company


def invoice_charges(charges: list[OneOffCharge]) -> tuple[list[tuple[str, Decimal]], list[ChargeJson]]:
    """The charges as totals lines and as the invoice stores them (each one's JSON without its companyId)."""
    return charge_lines(charges), [{k: v for k, v in charge_json(c).items() if k != "companyId"} for c in charges]
