"""The one mapping between the stored supplier document (`settings/billing`) and the domain's `Supplier`.

The strict schema (`adapters.schemas.SettingsDoc`) checks the types first (ConfigurationError naming
every field of the wrong type), then the supplier's own rules (`Supplier.from_doc`: GSTIN, state,
prefixes, time zone). The document is written as it was sent (PUT replaces it whole), so there is
no entity -> document direction.
"""

from __future__ import annotations

from typing import Any, Mapping

from billing.adapters import schemas
from billing.domain.invoice import Supplier
from billing.errors import ConfigurationError


def supplier_from_document(doc: Mapping[str, Any], where: str) -> Supplier:
    """The stored supplier settings as the value (`where`: the document's path, as messages name it)."""
    problems = schemas.settings_problems(doc)
    if problems:
        raise ConfigurationError(f"supplier settings ({where}): " + "; ".join(problems))
    return Supplier.from_doc(doc)
