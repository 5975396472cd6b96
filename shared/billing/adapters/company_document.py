"""The one mapping between the stored company document (`companies/{id}`) and the domain's `Company`.

Built on the strict schema (`adapters.schemas.CompanyDoc`): a document is read as a `Company` only
once its types pass (ConfigurationError when read from Firestore, ValidationError when sent to be
written, each naming every field of the wrong type); the listing reads documents unchecked, as
`CompanyRow`s that carry what is wrong with them. The document is written as it was sent (PUT
replaces it whole), so there is no entity -> document direction.
"""

from __future__ import annotations

from typing import Any, Mapping

from billing.adapters import schemas
from billing.domain.billing_dates import parse_billing_date
from billing.domain.company import Company, CompanyRow, CompanyStatus
from billing.errors import ConfigurationError, ValidationError


def _entity(company_id: str, doc: Mapping[str, Any], checked: schemas.CompanyDoc) -> Company:
    billing = checked.billing
    return Company(
        company_id=company_id,
        name=checked.name,
        legal_name=checked.legalName,
        gstin=checked.gstin,
        state_code=checked.stateCode,
        address=doc.get("address", ""),
        billing_email=checked.billingEmail,
        timezone=billing.timezone if billing is not None else None,
        billing_start=parse_billing_date(checked.billingStartDate, "billingStartDate"),
        billing_end=parse_billing_date(checked.billingEndDate, "billingEndDate"),
        status=CompanyStatus.INACTIVE if checked.active is False else CompanyStatus.ACTIVE,
        document=doc,
    )


def company_from_document(company_id: str, doc: Mapping[str, Any], where: str) -> Company:
    """A stored company document as the entity; ConfigurationError naming every field of the wrong
    type (`where`: the document's path, as the message names it)."""
    checked = schemas.checked_company(doc)
    if isinstance(checked, list):
        raise ConfigurationError(f"company '{company_id}' ({where}): " + "; ".join(checked))
    return _entity(company_id, doc, checked)


def company_to_write(company_id: str, doc: Mapping[str, Any]) -> Company:
    """A company document sent to be written, as the entity; ValidationError naming every field of the
    wrong type or that Firestore would not store (nothing is written then)."""
    problems = schemas.storable_problems(doc)
    checked = schemas.checked_company(doc)
    if isinstance(checked, list) or problems:
        problems += checked if isinstance(checked, list) else []
        raise ValidationError(f"company '{company_id}': " + "; ".join(problems))
    return _entity(company_id, doc, checked)


def company_row(company_id: str, doc: Mapping[str, Any]) -> CompanyRow:
    """A listed document, unchecked, with what keeps the schema from accepting it."""
    try:
        company_to_write(company_id, doc)
        problem = None
    except ValidationError as exc:
        problem = exc.detail
    active = doc.get("active", True)
    return CompanyRow(company_id=company_id, name=doc.get("name") or doc.get("legalName"),
                      active=active if isinstance(active, bool) else None,
                      billing_email=doc.get("billingEmail"), problem=problem)
