"""One exception family for the whole service; the HTTP edge maps each class to a status code."""


class BillingError(Exception):
    """Base of every error the service raises on purpose."""

    http_status = 500

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class ValidationError(BillingError):
    """Input that breaks a rule (month 13, negative rate, malformed id...): caller's fault."""

    http_status = 422


class NotFoundError(BillingError):
    """A company, invoice or file that does not exist."""

    http_status = 404


class ConfigurationError(BillingError):
    """A company or the supplier settings are misconfigured: permanent until someone fixes the data."""

    http_status = 422


class ConflictError(BillingError):
    """A real conflict, e.g. an issued invoice whose stored inputs disagree with a retry."""

    http_status = 409


class AuthError(BillingError):
    """Missing or wrong API key."""

    http_status = 401


class TransientError(BillingError):
    """A dependency is unavailable or timed out: retrying later may succeed."""

    http_status = 503
