"""Company and supplier management (DESIGN 15): list, show, create-or-replace, with every check first.

A company or supplier document is written only after it passed the strict schema (types, at the
repository: adapters/schemas.py) and the domain's rules (tariff, GSTIN checksum and state, billing
dates, invoice prefixes, time zones): a refused one writes nothing. PUT replaces the whole document
(what is sent is what is stored), so repeating it is harmless.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from billing.config import Settings
from billing.domain.billing_dates import check_company_dates
from billing.domain.company import Company, CompanyRow
from billing.domain.invoice import Recipient, Supplier
from billing.domain.naming import COMPANY_ID, validate_company_id
from billing.errors import ConfigurationError, ConflictError, NotFoundError, ValidationError
from billing.ports import CompanyRepository, SettingsRepository

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 500
ID_RULE = "company ids must be 1-64 characters of a-z, 0-9, '_' or '-' (^[a-z0-9_-]{1,64}$)"

Document = dict[str, Any]
"""A company or supplier document as a request sends it: free-form JSON until the strict schema (at
the repository) and the domain's rules accept it; then it is stored exactly as sent."""

Answer = dict[str, Any]
"""The JSON body openapi.json defines for the companies' and the supplier settings' routes (a stored
document inside it as stored): built once here, returned as is."""


def _document(body: object, what: str) -> Document:
    if not isinstance(body, dict):
        raise ValidationError(f"the request body must be a JSON object: the {what} document")
    return body


def _as_validation(exc: ConfigurationError | ValidationError, prefix: str) -> ValidationError:
    return ValidationError(f"{prefix}: {exc.detail}")


class CompanyAdmin:
    def __init__(self, companies: CompanyRepository, settings_repo: SettingsRepository, settings: Settings):
        self.companies = companies
        self.settings_repo = settings_repo
        self.settings = settings

    # --- companies ---------------------------------------------------------------------------------

    def list(self, page_size: str | int | None = None, page_token: str | None = None) -> Answer:
        """A page of companies by id, each with what keeps it from being billed (`problems`), e.g. an
        id Firestore generated (not a valid company id) or a field of the wrong type."""
        size = _page_size(page_size)
        after = _decode_token(page_token)
        rows = self.companies.page(after, size + 1)
        more = len(rows) > size
        rows = rows[:size]
        return {"companies": [_entry(row) for row in rows],
                "nextPageToken": _encode_token(rows[-1].company_id) if more and rows else None}

    def get(self, company_id: str) -> Answer:
        validate_company_id(company_id)
        company = self.companies.get(company_id)
        if company is None:
            raise NotFoundError(f"Company '{company_id}' not found")
        return {"companyId": company_id, "company": dict(company.document)}

    def put(self, company_id: str, body: object) -> Answer:
        """Create or replace companies/{company_id} with the body, once every check has passed."""
        validate_company_id(company_id)
        doc = _document(body, "company")
        self.check_company(self.companies.validate(company_id, doc))
        self.companies.put(company_id, doc)
        return {"companyId": company_id, "company": doc}

    def copy(self, source_id: str, target_id: str) -> Answer:
        """Copy companies/{source_id} (any document id, e.g. one Firestore generated) to a valid
        company id, so it can be billed; the source is left as it is. Refused (409) when the target
        exists with other content; repeating a finished copy is harmless."""
        validate_company_id(target_id)
        if not source_id or "/" in source_id:
            raise ValidationError(f"not a Firestore document id: {source_id!r}")
        source = self.companies.get(source_id)
        if source is None:
            raise NotFoundError(f"Company '{source_id}' not found")
        existing = self.companies.get(target_id)
        if existing is not None and dict(existing.document) != dict(source.document):
            raise ConflictError(f"companies/{target_id} already exists with other content; choose another id")
        return self.put(target_id, dict(source.document))

    def check_company(self, company: Company) -> None:
        """The domain's rules on a company (ValidationError)."""
        prefix = f"company '{company.company_id}'"
        try:
            company.tariff(default_timezone=self.settings.default_timezone,
                           non_billable_statuses=self.settings.non_billable_statuses)
            Recipient.of(company, self._supplier_state())
            check_company_dates(company)
        except (ConfigurationError, ValidationError) as exc:
            raise _as_validation(exc, prefix) from None

    def _supplier_state(self) -> str:
        """The supplier's state code (a company without gstin/stateCode takes it), "" when unset."""
        try:
            return Supplier.required(self.settings_repo.supplier()).state_code
        except ConfigurationError:
            return ""

    # --- the supplier ------------------------------------------------------------------------------

    def supplier(self) -> Answer:
        supplier = self.settings_repo.supplier()
        if supplier is None:
            raise NotFoundError("supplier settings (settings/billing) are not set: PUT /billing/settings "
                                "or `billing settings set`")
        return {"settings": dict(supplier.document)}

    def put_supplier(self, body: object) -> Answer:
        """Create or replace settings/billing with the body, once every check has passed."""
        doc = _document(body, "supplier settings")
        self.settings_repo.validate(doc)
        try:
            Supplier.from_doc(doc)
        except (ConfigurationError, ValidationError) as exc:
            raise _as_validation(exc, "supplier settings") from None
        self.settings_repo.put(doc)
        return {"settings": doc}


def _entry(row: CompanyRow) -> Answer:
    """A listed company, with what keeps it from being billed."""
    problems: list[str] = []
    if not COMPANY_ID.match(row.company_id):
        problems.append(f"{ID_RULE}: '{row.company_id}' is not; copy the document to a valid id "
                        "(docs/data-model.md, Company ids)")
    if row.problem:
        problems.append(row.problem)
    return {"companyId": row.company_id, "name": row.name, "active": row.active,
            "billingEmail": row.billing_email, "problems": problems}


def _page_size(raw: str | int | None) -> int:
    if raw in (None, ""):
        return DEFAULT_PAGE_SIZE
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise ValidationError(f"pageSize must be an integer 1-{MAX_PAGE_SIZE}, got {raw!r}")
    return int(text)


def _encode_token(company_id: str) -> str:
    return base64.urlsafe_b64encode(company_id.encode()).decode().rstrip("=")


def _decode_token(token: str | None) -> str | None:
    """The id a page starts after; ValidationError for a token this API did not return."""
    if token is None:
        return None
    try:
        text = token.strip()
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        if not text or _encode_token(decoded) != text or "/" in decoded or decoded in (".", ".."):
            raise ValueError
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("pageToken is not one this API returned") from None
    return decoded
