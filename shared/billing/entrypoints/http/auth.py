"""API keys: which routes are open, which need an admin key, and the constant-time key check."""

from __future__ import annotations

import hmac

import flask

from billing.config import Settings
from billing.errors import AuthError, ForbiddenError

OPEN_ENDPOINTS = {"health", "openapi"}
ADMIN_ENDPOINTS = {"run", "send", "void", "company_put", "settings_put"}


def _matches(given: str, keys: tuple[str, ...]) -> bool:
    """Constant-time comparison against every key (no early exit on the first match)."""
    ok = False
    for key in keys:
        ok |= hmac.compare_digest(given.encode(), key.encode())
    return ok


def check_api_key(request: flask.Request, keys: tuple[str, ...], admin_keys: tuple[str, ...] = (),
                  admin_only: bool = False) -> str:
    """The caller's role ("admin" or "api"); the key itself is never logged."""
    given = request.headers.get("X-API-Key", "")
    if not given:
        raise AuthError("Missing API key: send it in the X-API-Key header")
    if _matches(given, admin_keys):
        return "admin"
    if not _matches(given, keys):
        raise AuthError("Invalid API key")
    if admin_only:
        raise ForbiddenError("This API key may not do this: an admin key (BILLING_ADMIN_KEYS) is required")
    return "api"


def authorize(request: flask.Request, endpoint: str, settings: Settings) -> None:
    """Open routes pass; the others need a key, and an admin key for ADMIN_ENDPOINTS."""
    if endpoint not in OPEN_ENDPOINTS:
        check_api_key(request, settings.api_keys, settings.admin_keys, endpoint in ADMIN_ENDPOINTS)
