"""The console's session: a key exchanged for a signed cookie, and the CSRF tokens of its forms.

The cookie never holds the key: it holds a keyed fingerprint of it, its expiry and a random nonce,
signed with HMAC-SHA256. The role is found again on every request by fingerprinting the keys of the
current lists (each compared in constant time), so a key removed from the lists loses its session.
The secret is derived from BILLING_LINK_SIGNING_KEY (at least 32 bytes) under a label of its own:
a download-link signature can never stand for a session, nor the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from billing.config import Settings
from billing.entrypoints.http.auth import ADMIN, API, READ

COOKIE = "billing_console"
LOGIN_COOKIE = "billing_console_login"  # the sign-in form's own CSRF nonce (no session yet)
SESSION_SECONDS = 8 * 3600
LOGIN_SECONDS = 15 * 60
_LABEL = b"billing-console-session-v1"


def console_secret(settings: Settings) -> bytes | None:
    """The session signing secret, or None when no signing key is configured (the console is off)."""
    if not settings.link_signing_key:
        return None
    return hmac.new(settings.link_signing_key.encode(), _LABEL, hashlib.sha256).digest()


def _mac(secret: bytes, purpose: str, text: str) -> str:
    return hmac.new(secret, f"{purpose}:{text}".encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def fingerprint(secret: bytes, key: str) -> str:
    return _mac(secret, "key", key)[:32]


@dataclass(frozen=True)
class Session:
    role: str
    nonce: str
    expires: int

    def csrf(self, secret: bytes) -> str:
        return _mac(secret, "csrf", self.nonce)


def role_of_key(key: str, settings: Settings) -> str | None:
    """The strongest role of a typed key: the API's constant-time comparison over every list."""
    raw = key.encode("utf-8", "surrogateescape")
    found = [role for role, keys in ((ADMIN, settings.admin_keys), (API, settings.api_keys),
                                     (READ, settings.read_keys))
             if _any_equal(raw, [k.encode() for k in keys])]
    return found[0] if found else None


def _any_equal(given: bytes, candidates: list[bytes]) -> bool:
    ok = False
    for candidate in candidates:  # no early exit on the first match
        ok |= hmac.compare_digest(given, candidate)
    return ok


def issue(secret: bytes, key: str, now: float) -> str:
    """The cookie value of a new session of `key` (checked by the caller), valid 8 hours from `now`."""
    payload = f"{fingerprint(secret, key)}.{int(now) + SESSION_SECONDS}.{secrets.token_hex(16)}"
    return f"{payload}.{_mac(secret, 'session', payload)}"


def verify(secret: bytes, value: str, settings: Settings, now: float) -> Session | None:
    """The session of a cookie value: None when it is malformed, tampered with, expired, or its key
    is no longer in any list."""
    parts = value.split(".")
    if len(parts) != 4 or not all(p.isascii() and p.isalnum() for p in parts):
        return None
    fp, expires, nonce, signature = parts
    if not hmac.compare_digest(signature, _mac(secret, "session", f"{fp}.{expires}.{nonce}")):
        return None
    if not expires.isdigit() or int(expires) <= now:
        return None
    role = None
    for candidate, keys in ((ADMIN, settings.admin_keys), (API, settings.api_keys), (READ, settings.read_keys)):
        if _any_equal(fp.encode(), [fingerprint(secret, k).encode() for k in keys]) and role is None:
            role = candidate
    return Session(role, nonce, int(expires)) if role is not None else None


def login_token(secret: bytes, nonce: str) -> str:
    return _mac(secret, "login", nonce)


def new_nonce() -> str:
    return secrets.token_hex(16)


def same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())
