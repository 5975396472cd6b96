"""Stored documents as the API returns them: download links added, internals left out."""

from __future__ import annotations

import re
from typing import Any, Mapping

import flask
from werkzeug.exceptions import BadRequest

from billing.bootstrap import Container
from billing.domain.adjustments import net_amount
from billing.domain.entities import Invoice
from billing.domain.lifecycle import InvoiceStatus

LEGACY_PREFIX = "/billing-api"
INTERNAL_FIELDS = {"tariff", "amountsPaise", "terms"}
CREDIT_NOTE_INTERNAL = {"amountsPaise", "requestDigest"}
PUBLIC_DELIVERY_FIELDS = ("status", "attempts", "to", "sentAt", "messageId", "reason", "permanent", "note")


def public_delivery(record: Mapping[str, Any]) -> dict[str, Any]:
    """A delivery record without internals (claim ids, the relay's raw error text)."""
    return {k: record[k] for k in PUBLIC_DELIVERY_FIELDS if k in record}


HOST = re.compile(r"([A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*|\[[0-9A-Fa-f:.]{2,45}\])(:[0-9]{1,5})?", re.ASCII)
PREFIX = re.compile(r"(/[A-Za-z0-9._~-]{1,64}){0,8}", re.ASCII)


def base_url(request: flask.Request, container: Container) -> str:
    """Where links point: BILLING_PUBLIC_BASE_URL when set (always in production, DESIGN 10); else, for
    local use, the request's own Host and X-Forwarded-Prefix, each refused (400) unless well-formed."""
    if container.settings.public_base_url:
        return container.settings.public_base_url.rstrip("/")
    prefix = request.headers.get("X-Forwarded-Prefix", "")
    if not PREFIX.fullmatch(prefix):
        raise BadRequest("X-Forwarded-Prefix must be a path such as /billing-api")
    if request.path.startswith(LEGACY_PREFIX + "/"):
        prefix = LEGACY_PREFIX
    if not HOST.fullmatch(request.host):
        raise BadRequest("the Host header is not a host name")
    return f"{request.scheme}://{request.host}{prefix}"


def present(invoice: Invoice, request: flask.Request, container: Container) -> dict[str, Any]:
    """The invoice as the API returns it: the stored document, download links, no internals."""
    doc = invoice.document
    first = ("companyId", "invoiceNumber", "status", "billingPeriod", "usageData", "lineItems", "subtotal",
             "gstAmount", "totalAmount", "currency", "taxBreakdown", "amountInWords", "invoiceDate", "dueDate")
    body = {k: doc[k] for k in first if k in doc}
    body.update({k: doc[k] for k in sorted(doc) if k not in body and k not in INTERNAL_FIELDS})
    if doc.get("adjustments"):  # its partial credit notes and debit notes (a fresh invoice's JSON is the old API's)
        body.update(adjustments_json(invoice))
    files = dict(doc.get("files") or {})
    body["files"] = {"pdf": files.get("pdf"), "csv": files.get("csv")}
    if "delivery" in body:
        body["delivery"] = public_delivery(body["delivery"])
    if "replaces" in body:
        body["replaces"] = container.queries.replaces(invoice)
    if invoice.status is InvoiceStatus.ISSUED:
        body["downloadLinks"] = container.downloads.links(invoice, base_url(request, container))
    return body


def adjustments_json(invoice: Invoice) -> dict[str, Any]:
    """The invoice's notes (number, kind, date, taxable, tax, total) and its netAmount (total - credits + debits)."""
    doc = invoice.document
    body: dict[str, Any] = {"adjustments": [{k: v for k, v in e.items() if k != "paise"}
                                            for e in doc.get("adjustments") or []]}
    if "totalAmount" in doc:
        body["netAmount"] = net_amount(doc)
    return body


def summary(invoice: Invoice) -> dict[str, Any]:
    doc = invoice.document
    keep = (
        "invoiceNumber", "companyId", "status", "invoiceDate", "dueDate", "billingPeriod",
        "subtotal", "gstAmount", "totalAmount", "currency",
    )
    body = {k: doc.get(k) for k in keep}
    body.update({k: doc[k] for k in ("invoiceId", "revision", "voidedBy", "replacedBy") if k in doc})
    return body


def history_entry(invoice: Invoice) -> dict[str, Any]:
    """One invoice of a month's history: its summary, and why and by what it was voided."""
    doc = invoice.document
    body = summary(invoice)
    body.update({k: doc[k] for k in ("voidedAt", "voidReason") if k in doc})
    body.setdefault("revision", 0)
    if doc.get("adjustments"):  # its partial credit notes and debit notes
        body.update(adjustments_json(invoice))
    return body


def present_credit_note(doc: Mapping[str, Any], request: flask.Request, container: Container) -> dict[str, Any]:
    """The credit note as the API returns it, with its PDF's download link once issued."""
    body = {k: v for k, v in doc.items() if k not in CREDIT_NOTE_INTERNAL}
    body["files"] = {"pdf": (doc.get("files") or {}).get("pdf")}
    if "delivery" in body:
        body["delivery"] = public_delivery(body["delivery"])
    if InvoiceStatus.of(doc) is InvoiceStatus.ISSUED:
        base = base_url(request, container)
        body["downloadLinks"] = {
            "pdf": f"{base}/billing/credit-notes/{doc['companyId']}/{doc['creditNoteId']}/pdf"}
    return body


def present_debit_note(doc: Mapping[str, Any], request: flask.Request, container: Container) -> dict[str, Any]:
    """The debit note as the API returns it, with its PDF's download link once issued."""
    body = {k: v for k, v in doc.items() if k not in CREDIT_NOTE_INTERNAL}
    body["files"] = {"pdf": (doc.get("files") or {}).get("pdf")}
    if InvoiceStatus.of(doc) is InvoiceStatus.ISSUED:
        base = base_url(request, container)
        body["downloadLinks"] = {
            "pdf": f"{base}/billing/debit-notes/{doc['companyId']}/{doc['debitNoteId']}/pdf"}
    return body
