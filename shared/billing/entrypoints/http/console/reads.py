"""Everything the console's pages read, in one place: the same services (and, where the JSON API
presents a document, the same presenter functions) the JSON routes use. A change of a service's
return type touches this module, not the pages."""

from __future__ import annotations

from datetime import date
from typing import Any

import flask

from billing.bootstrap import Container
from billing.domain.period import period_key
from billing.domain.receivables import JsonBody
from billing.entrypoints.http.presenters import adjustments_json, history_entry, present
from billing.errors import NotFoundError
from billing.services.console_reads import ConsoleAnswer

AGEING_PAGE_SIZE = "50"
COMPANY_PAGE_SIZE = "50"
FAILURES_SHOWN = "20"


def today(container: Container) -> date:
    """Today in the supplier's calendar (as due dates and payments count days)."""
    return container.receivables.today()


def last_month(container: Container) -> str:
    """The last completed billing month: what an operator looks at first."""
    day = today(container)
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return period_key(year, month)


def overview(container: Container, period: str) -> dict[str, Any]:
    """The month's run (None when there was none), its totals, and the last 12 months for the chart."""
    months = container.console_reads.months(period, 12)
    try:
        run: dict[str, Any] | None = container.run_status.status(period, FAILURES_SHOWN, None)
    except NotFoundError:
        run = None
    return {"period": period, "run": run, "month": months[-1], "months": months}


def invoice_page(container: Container, period: str, status: str | None, payment_status: str | None,
                 page_token: str | None) -> ConsoleAnswer:
    return container.console_reads.invoice_page(period, status, payment_status, page_token, today(container))


def invoice_detail(request: flask.Request, container: Container, company: str, period: str) -> dict[str, Any]:
    """The month's current invoice as GET /billing/invoices/{company}/{period} presents it."""
    current, history = container.queries.current_and_history(company, period)
    body = present(current, request, container)
    body.update(adjustments_json(current))
    body.update(container.receivables.view(current))
    body["history"] = [history_entry(d) for d in history]
    return body


def companies(container: Container, page_token: str | None) -> dict[str, Any]:
    return container.company_admin.list(COMPANY_PAGE_SIZE, page_token)


def company(container: Container, company_id: str) -> dict[str, Any]:
    return container.company_admin.get(company_id)


def ageing(container: Container, page_token: str | None) -> JsonBody:
    return container.receivables.aging(None, AGEING_PAGE_SIZE, page_token)
