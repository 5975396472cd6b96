"""One exception family for the whole service; the HTTP edge maps each class to a status code (web.ERROR_STATUS)."""


class BillingError(Exception):
    """Base of every error the service raises on purpose."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class ValidationError(BillingError):
    """Input that breaks a rule (month 13, negative rate, malformed id...): caller's fault."""


class OutsideBillingDatesError(ValidationError):
    """A month outside the company's billing dates or before BILLING_FIRST_PERIOD (DESIGN 11): 422
    for a request; the run records the company as skipped, not failed."""


class NotFoundError(BillingError):
    """A company, invoice or file that does not exist."""


class ConfigurationError(BillingError):
    """A company or the supplier settings are misconfigured: permanent until someone fixes the data."""


class CloudConfigurationError(BillingError):
    """The Google Cloud project is not set up as the code needs (a missing index, a permission, a
    disabled API, a missing topic or bucket): permanent until the deploy is fixed, so never retried;
    recorded on the run record as errorType "Configuration"."""

    error_type = "Configuration"


def error_type(exc: BaseException) -> str:
    """The errorType a run record shows for a failure."""
    return str(getattr(exc, "error_type", type(exc).__name__))


class ConflictError(BillingError):
    """A real conflict, e.g. an issued invoice whose stored inputs disagree with a retry."""


class AuthError(BillingError):
    """Missing or wrong API key."""


class ForbiddenError(BillingError):
    """A valid API key whose role may not do this (e.g. a non-admin key starting a run)."""


class IntegrityError(BillingError):
    """Stored state contradicts itself (e.g. an invoice whose staged CSV is gone): needs an operator."""


class TransientError(BillingError):
    """A dependency is unavailable or timed out: retrying later may succeed."""



class UpstreamError(BillingError):
    """A service we hand work to (e.g. the SMTP relay) refused it."""
