"""One-off charges: a month's extra lines before GST (a setup fee, a device), DESIGN 15.

`companies/{id}/charges/{chargeId}` holds one charge for one month; the month's invoice carries
every charge of its month as a line after the maintenance fee (the discount and GST apply to it
like to the other lines). Once the month's invoice is issued, or being issued, the month takes no
more charges (a debit note is the tool then): issuance first closes the month for charges (a
per-month marker, `companies/{id}/chargeMonths/{YYYY-MM}`, records the revision it closed for),
then reads them, so a charge either lands on the invoice or is refused, never lost. A void
reopens the month for the reissue, which carries every charge of the month again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Mapping, Sequence

from billing.domain.entities import Invoice
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import INR, positive_amount, quantize
from billing.errors import ValidationError

MAX_DESCRIPTION = 200
MAX_AMOUNT = Decimal(10_000_000_000)  # Rs 1000 crore: more is a typing mistake, not a charge
FIELDS = ("period", "description", "amount")
_PERIOD = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Blank is what JSON Schema's (ECMAScript's) \s and Python's str.isspace() call whitespace, together.
_BLANK = "".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + "\ufeff"


@dataclass(frozen=True)
class ChargeRequest:
    """A validated request for one charge."""

    period: str
    description: str
    amount: Decimal

    @property
    def digest(self) -> str:
        """What makes two requests "the same" (an Idempotency-Key replay must match it)."""
        blob = json.dumps([self.period, self.description, str(self.amount)], separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def parse_period(value: object, field: str = "period") -> str:
    """A month `YYYY-MM` (ValidationError otherwise)."""
    if not isinstance(value, str) or not _PERIOD.match(value):
        raise ValidationError(f"{field} must be a month YYYY-MM, got {value!r}")
    return value


def parse_charge(body: object) -> ChargeRequest:
    """The request's JSON body as a ChargeRequest, or ValidationError saying what is wrong."""
    shape = '{"period": "YYYY-MM", "description": "1-200 characters", "amount": rupees > 0, 2 decimals}'
    if not isinstance(body, Mapping):
        raise ValidationError(f"the body must be a JSON object {shape}")
    unknown = sorted(str(k) for k in body if k not in FIELDS)
    if unknown:
        raise ValidationError(f"unexpected field(s) {', '.join(unknown)}; the body is {shape}")
    missing = [k for k in FIELDS if k not in body]
    if missing:
        raise ValidationError(f"missing field(s) {', '.join(missing)}; the body is {shape}")
    period = parse_period(body["period"])
    text = body["description"]
    if not isinstance(text, str) or not text.strip(_BLANK) or len(text) > MAX_DESCRIPTION:
        raise ValidationError(f"description must be 1 to {MAX_DESCRIPTION} characters, not blank, got {text!r:.60}")
    if _CONTROL.search(text):
        raise ValidationError("description must not contain control characters (line breaks, tabs)")
    raw = body["amount"]
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ValidationError(f"amount must be a JSON number of rupees, got {raw!r}")
    return ChargeRequest(period, text.strip(_BLANK), quantize(positive_amount(raw, "amount", MAX_AMOUNT)))


def charge_id(idempotency_key: str | None, random_token: str) -> str:
    """The charge's document id: from the Idempotency-Key (a retry finds it), else the random token."""
    if idempotency_key is None:
        return f"c-{random_token[:24]}"
    return f"k-{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"


@dataclass(frozen=True)
class OneOffCharge:
    """One charge of one company-month (companies/{id}/charges/{chargeId}; the adapters' mapper,
    `billing.adapters.charge_document`, has its stored shape)."""

    charge_id: str  # from the Idempotency-Key when one was sent (a retry finds it), else random
    company_id: str
    period: str  # the month, YYYY-MM
    description: str
    amount: INR
    created_at: str  # ISO 8601 as stored (the order charges were added in, and so the invoice's lines)
    request_digest: str | None  # what an Idempotency-Key replay must match (ChargeRequest.digest)

    @property
    def rupees(self) -> Decimal:
        """The amount in rupees, as the invoice's totals take it."""
        return Decimal(self.amount.paise) / 100


def new_charge(company_id: str, cid: str, request: ChargeRequest, now: datetime) -> OneOffCharge:
    """The charge a request adds (the amount in integer paise; the API shows rupees)."""
    return OneOffCharge(charge_id=cid, company_id=company_id, period=request.period,
                        description=request.description, amount=INR(int(request.amount * 100)),
                        created_at=now.isoformat(timespec="milliseconds"), request_digest=request.digest)


ChargeJson = dict[str, Any]
"""A charge as the API shows it, and as its month's invoice carries it (`oneOffCharges`, without the
companyId): JSON numbers, built once by `charge_json`."""


def charge_json(charge: OneOffCharge) -> ChargeJson:
    """A charge as the API shows it (and as the invoice carries it, without companyId)."""
    return {"chargeId": charge.charge_id, "companyId": charge.company_id, "period": charge.period,
            "description": charge.description, "amount": float(charge.rupees), "createdAt": charge.created_at}


def in_order(charges: Sequence[OneOffCharge]) -> list[OneOffCharge]:
    """The month's charges in the order they were added (ties by id): the invoice's line order."""
    return sorted(charges, key=lambda c: (c.created_at, c.charge_id))


def charge_lines(charges: Sequence[OneOffCharge]) -> list[tuple[str, Decimal]]:
    """(description, amount) per charge, in order: what compute_totals takes."""
    return [(c.description, c.rupees) for c in in_order(charges)]


def closed_reason(period: str, invoices: Sequence[Invoice], closed_revision: int | None) -> str | None:
    """Why the month takes no more charges, or None when it does.

    invoices: the month's invoices in revision order (the first, then its reissues); closed_revision:
    the revision the month was last closed for by issuance (None: never)."""
    if invoices and invoices[-1].status is not InvoiceStatus.VOID:
        last = invoices[-1]
        what = f"invoice {last.number}" if last.number else "its invoice"
        return (f"{period} is already invoiced ({what}, {last.status.value}): a one-off charge can no longer "
                "be added; issue a debit note on the invoice instead")
    if closed_revision is not None and closed_revision >= len(invoices):
        return (f"the invoice for {period} is being issued: a one-off charge can no longer be added; "
                "issue a debit note on the invoice once it is issued")
    return None
