"""The HTTP API (DESIGN.md section 5): app (request cycle), routes (handlers), auth, errors, presenters."""

from billing.entrypoints.http.app import BillingApi
from billing.entrypoints.http.errors import UNEXPECTED, framework_error

__all__ = ["BillingApi", "UNEXPECTED", "framework_error"]
