"""schemathesis hooks for tests/e2e/test_schemathesis.py (loaded through SCHEMATHESIS_HOOKS).

generate and run have rules OpenAPI cannot express: month and year come together or not at all,
the year is not after the current one, and the month must have ended; the company and supplier PUTs
check GSTIN checksums, time zones and tariff rules. The schemathesis config lets
those two operations answer 422 to schema-valid input; this check makes sure such a 422 is one of
those documented rules and nothing else.
"""

from __future__ import annotations

import schemathesis

CROSS_PARAMETER_OPERATIONS = {("POST", "/billing/generate/{company}"), ("POST", "/billing/run"),
                              ("GET", "/billing/preview/{company}"),
                              ("POST", "/billing/invoices/{company}/{period}/void"),
                              ("POST", "/billing/invoices/{company}/{period}/payments"),
                              ("GET", "/billing/receivables/tds"),
                              ("GET", "/billing/companies/{company}/statement"),
                              ("PUT", "/billing/companies/{company}"), ("PUT", "/billing/settings"),
                              ("GET", "/billing/companies"),
                              ("POST", "/billing/invoices/{company}/{period}/credit-notes"),
                              ("POST", "/billing/invoices/{company}/{period}/debit-notes"),
                              ("POST", "/billing/invoices/{company}/{period}/settle"),
                              ("POST", "/billing/companies/{company}/charges")}
DOCUMENTED_422 = ("give both month and year, or neither", "has not ended yet", "year must be between 2000 and ",
                  "has not started", "is not an invoice of company", "can no longer be credited",
                  "is not billed for",  # outside the company's billing dates / BILLING_FIRST_PERIOD
                  # PUT company / settings: the domain's rules (GSTIN checksum and state, time zone, tariff
                  # ranges, prefixes, billing dates) and what Firestore cannot store, each naming the field
                  "company '", "supplier settings",
                  "pageToken is not one this API returned",
                  # payments (DESIGN 14): the balance, the calendar and TDS fields that go together
                  "has a balance of", "is in the future", "nothing to record", "tdsSection is required",
                  "tdsSection is given without", "at most two decimals", "is void: no payment",
                  "is not issued yet: no payment", "fy must be a financial year", "is after to",
                  # credit and debit notes (domain/adjustments.py): limits OpenAPI 3.0 cannot state exactly
                  "exceeds what invoice", "reason must be at most", "lines must be a list of 1 to",
                  "less than one paisa", "at most two decimals", "must be a positive number (at most 3 decimals)",
                  "description must be 1 to", "Idempotency-Key must be", "must be a finite number", "is required",
                  "minutes must be at most", "taxableValue must be at most",
                  # one-off charges (domain/charges.py)
                  "amount must be at most", "must not contain control characters")


@schemathesis.check
def only_documented_422_on_valid_input(ctx, response, case):
    meta = case.meta
    if response.status_code != 422 or meta is None or not meta.generation.mode.is_positive:
        return None
    if (case.method.upper(), case.operation.path) not in CROSS_PARAMETER_OPERATIONS:
        return None  # positive_data_acceptance already refuses a 422 here
    detail = response.json().get("detail", "")
    if not any(rule in detail for rule in DOCUMENTED_422):
        raise AssertionError(f"422 for schema-valid input that no documented rule explains: {detail!r}")
    return None
