"""The one mapping between a stored one-off charge (`companies/{id}/charges/{chargeId}`) and the
domain's `OneOffCharge`: the amount as integer paise (`amountPaise`), the time it was added as the
ISO string it was stored as (it orders the invoice's lines), field for field both ways."""

from __future__ import annotations

from typing import Any, Mapping

from billing.domain.charges import OneOffCharge
from billing.domain.money import INR


def charge_from_document(doc: Mapping[str, Any]) -> OneOffCharge:
    """A stored charge as the entity."""
    digest = doc.get("requestDigest")
    return OneOffCharge(charge_id=str(doc["chargeId"]), company_id=str(doc["companyId"]), period=str(doc["period"]),
                        description=str(doc["description"]), amount=INR(int(doc["amountPaise"])),
                        created_at=str(doc["createdAt"]), request_digest=str(digest) if digest is not None else None)


def charge_document(charge: OneOffCharge) -> dict[str, Any]:
    """The charge as stored."""
    doc: dict[str, Any] = {
        "chargeId": charge.charge_id,
        "companyId": charge.company_id,
        "period": charge.period,
        "description": charge.description,
        "amountPaise": charge.amount.paise,
    }
    if charge.request_digest is not None:
        doc["requestDigest"] = charge.request_digest
    doc["createdAt"] = charge.created_at
    return doc
