"""What the operator console reads that no JSON route does: the month totals of the last months
(aggregates kept by each receivables transaction, never a scan of a month's invoices) and a page of a
month's invoices filtered by status and payment status (page tokens, never offsets)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from billing.domain.entities import Invoice
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.period import BillingPeriod, period_key
from billing.domain.receivable import PaymentStatus, Receivable
from billing.domain.receivables import MONTH_FIELDS, listing_entry, receivable_json
from billing.errors import ValidationError
from billing.ports import InvoiceListing, ReceivableRepository

PAYMENT_STATUSES = tuple(s.value for s in PaymentStatus)
INVOICE_STATUSES = tuple(s.value for s in InvoiceStatus)
PAGE_SIZE = 50
ConsoleAnswer = dict[str, Any]
"""What a console page renders (its template's context part): the month totals, a page of the
invoice list. Built here from the entities, handed to the template as is."""
_TOKEN = re.compile(r"[a-z0-9_-]{1,64}_[0-9]{4}-[0-9]{2}(_r[0-9]{1,4})?", re.ASCII)


def months_back(last: str, count: int) -> list[str]:
    """The `count` billing months ending with `last` (YYYY-MM), oldest first."""
    period = BillingPeriod.from_key(last)
    index = period.year * 12 + period.month - 1
    return [period_key(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


class ConsoleReads:
    def __init__(self, listing: InvoiceListing, receivables: ReceivableRepository):
        self.listing = listing
        self.receivables = receivables

    def months(self, last: str, count: int = 12) -> list[ConsoleAnswer]:
        """[{period, invoices, invoicedPaise, collectedPaise, outstandingPaise}] for the last `count`
        months up to `last`, oldest first (zeros where a month has nothing)."""
        periods = months_back(last, count)
        totals = self.receivables.month_totals(periods[0], periods[-1])
        return [{"period": p, **{f: int((totals.get(p) or {}).get(f, 0)) for f in MONTH_FIELDS}} for p in periods]

    def invoice_page(self, period: str, status: str | None, payment_status: str | None,
                     page_token: str | None, today: date, size: int = PAGE_SIZE) -> ConsoleAnswer:
        """A page of the month's invoices: [{invoice (its list fields), receivable (as the invoice read
        shows it) or None}]. Without a status: the issued and void ones (drafts only when asked for)."""
        BillingPeriod.from_key(period)
        if status and status not in INVOICE_STATUSES:
            raise ValidationError(f"status must be one of {', '.join(INVOICE_STATUSES)}, got {status!r}")
        if payment_status and payment_status not in PAYMENT_STATUSES:
            raise ValidationError(f"paymentStatus must be one of {', '.join(PAYMENT_STATUSES)}, "
                                  f"got {payment_status!r}")
        if page_token is not None and not _TOKEN.fullmatch(page_token):
            raise ValidationError("pageToken is not one this console returned")
        if status in (InvoiceStatus.DRAFT, InvoiceStatus.ISSUING) and payment_status:
            raise ValidationError(f"a {status} invoice has no payment status yet: choose one filter or the other")
        rows, next_token = self.listing.page(period, status or None, payment_status or None, size,
                                             page_token or None)
        return {"rows": [_row(inv, rec, today) for inv, rec in rows], "nextPageToken": next_token}


def _row(invoice: Invoice | None, receivable: Receivable | None, today: date) -> ConsoleAnswer:
    """A row of the list: the invoice's list fields (from the invoice while it is being issued, from
    its receivable once issued), and the receivable as the invoice read shows it."""
    if receivable is None:
        return {"invoice": invoice.document if invoice is not None else None, "receivable": None}
    return {"invoice": invoice.document if invoice is not None else listing_entry(receivable),
            "receivable": receivable_json(receivable, today)}
