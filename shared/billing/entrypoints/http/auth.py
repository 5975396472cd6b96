"""API keys and roles (DESIGN.md section 10): which role each route needs, the constant-time key check."""

from __future__ import annotations

import hmac

import flask

from billing.config import Settings
from billing.errors import AuthError, ForbiddenError

# Roles, weakest first: each may do what the ones before it may.
READ, API, ADMIN = "read", "api", "admin"
RANK = {READ: 0, API: 1, ADMIN: 2}
KEY_LISTS = {READ: "BILLING_READ_KEYS", API: "BILLING_API_KEYS", ADMIN: "BILLING_ADMIN_KEYS"}

# The role each endpoint needs (None: open). openapi.json states the same per operation
# (`x-required-role`); tests/unit/test_roles.py checks the two agree.
REQUIRED_ROLE: dict[str, str | None] = {
    "health": None, "openapi": None,
    "list": READ, "invoice": READ, "file": READ, "reconcile": READ, "credit_notes": READ, "credit_note": READ,
    "credit_note_pdf": READ, "preview": READ, "gstr1": READ, "run_status": READ,
    "generate": API,
    "run": ADMIN, "send": ADMIN, "void": ADMIN, "credit_note_send": ADMIN,
    # DESIGN 13: partial credit notes, debit notes, settle (admin); debit notes read like credit notes
    "credit_note_create": ADMIN, "debit_note_create": ADMIN, "settle": ADMIN,
    "debit_notes": READ, "debit_note": READ, "debit_note_pdf": READ, "debit_note_send": ADMIN,
    # receivables (DESIGN 14)
    "aging": READ, "tds": READ, "statement": READ, "tally": READ, "payment": ADMIN, "payment_reverse": ADMIN,
    "companies": READ, "company": READ, "settings": READ, "company_put": ADMIN, "settings_put": ADMIN,
    "charges": READ, "charge_add": ADMIN,  # one-off charges (DESIGN 15)
}

ROLE_ENVIRON_KEY = "billing.role"
SIGNED_DOCUMENT_KEY = "billing.signed_document"  # set when a signed link stands in for the key


def _matches(given: bytes, keys: tuple[str, ...]) -> bool:
    """Constant-time comparison against every key (no early exit on the first match)."""
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(given, key.encode())
    return ok


def role_of(request: flask.Request, settings: Settings) -> str:
    """The strongest role of the caller's key (every list is compared); the key itself is never logged."""
    given = request.headers.get("X-API-Key", "")
    if not given:
        raise AuthError("Missing API key: send it in the X-API-Key header")
    raw = given.encode("utf-8", "surrogateescape")
    found = [role for role, keys in ((ADMIN, settings.admin_keys), (API, settings.api_keys),
                                     (READ, settings.read_keys)) if _matches(raw, keys)]
    if not found:
        raise AuthError("Invalid API key")
    return found[0]


def require(role: str, needed: str, what: str) -> None:
    """ForbiddenError unless `role` is at least `needed`."""
    if RANK[role] < RANK[needed]:
        raise ForbiddenError(f"This API key may not {what}: a key from {' or '.join(_lists_from(needed))} "
                             f"is required{' (an admin key)' if needed == ADMIN else ''}")


def _lists_from(needed: str) -> list[str]:
    return [KEY_LISTS[r] for r in (ADMIN, API, READ) if RANK[r] >= RANK[needed]]


def authorize(request: flask.Request, endpoint: str, settings: Settings) -> str | None:
    """The caller's role (None on an open route): 401 without a known key, 403 below the route's role."""
    needed = REQUIRED_ROLE[endpoint]
    if needed is None:
        return None
    role = role_of(request, settings)
    require(role, needed, f"call {request.method} on this route")
    request.environ[ROLE_ENVIRON_KEY] = role
    return role


def caller_role(request: flask.Request) -> str:
    """The role authorize() found for this request."""
    role: str = request.environ[ROLE_ENVIRON_KEY]
    return role
