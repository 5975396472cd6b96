"""The routes and their handlers: read the request, call one service, present its answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import flask
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response as WerkzeugResponse

from billing.bootstrap import Container
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.naming import validate_company_id
from billing.domain.period import MonthQuery
from billing.domain.receivable import Payment, Receivable
from billing.domain.receivables import payment_json, receivable_json
from billing.entrypoints.http.auth import ADMIN, SIGNED_DOCUMENT_KEY, caller_role
from billing.entrypoints.http.limits import json_body
from billing.entrypoints.http.errors import json_response
from billing.errors import ValidationError
from billing.entrypoints.http.presenters import (
    INTERNAL_FIELDS, adjustments_json, base_url, history_entry, present, present_credit_note, present_debit_note,
    public_delivery, summary,
)
from billing.errors import ForbiddenError, ValidationError
from billing.services.downloads import Download

OPENAPI_PATH = Path(__file__).resolve().parents[2] / "openapi.json"

ROUTES = Map(
    [
        Rule("/", endpoint="health", methods=["GET"]),
        Rule("/openapi.json", endpoint="openapi", methods=["GET"]),
        Rule("/billing/generate/<path:company>", endpoint="generate", methods=["POST"]),
        Rule("/billing/invoices/<path:company>/<period>/<any(pdf, csv):kind>", endpoint="file", methods=["GET"]),
        Rule("/billing/invoices/<path:company>/<period>/send", endpoint="send", methods=["POST"]),
        Rule("/billing/invoices/<path:company>/<period>/void", endpoint="void", methods=["POST"]),
        Rule("/billing/invoices/<path:company>/<period>/reconcile", endpoint="reconcile", methods=["GET"]),
        Rule("/billing/invoices/<company>/<period>/credit-notes", endpoint="credit_note_create", methods=["POST"]),
        Rule("/billing/invoices/<company>/<period>/debit-notes", endpoint="debit_note_create", methods=["POST"]),
        Rule("/billing/invoices/<company>/<period>/settle", endpoint="settle", methods=["POST"]),
        Rule("/billing/debit-notes/<company>/<debit_note_id>/pdf", endpoint="debit_note_pdf", methods=["GET"]),
        Rule("/billing/debit-notes/<company>/<debit_note_id>/send", endpoint="debit_note_send", methods=["POST"]),
        Rule("/billing/debit-notes/<company>/<debit_note_id>", endpoint="debit_note", methods=["GET"]),
        Rule("/billing/debit-notes/<company>", endpoint="debit_notes", methods=["GET"]),
        Rule("/billing/credit-notes/<company>/<credit_note_id>/pdf", endpoint="credit_note_pdf", methods=["GET"]),
        Rule("/billing/credit-notes/<company>/<credit_note_id>/send", endpoint="credit_note_send", methods=["POST"]),
        Rule("/billing/credit-notes/<company>/<credit_note_id>", endpoint="credit_note", methods=["GET"]),
        Rule("/billing/credit-notes/<company>", endpoint="credit_notes", methods=["GET"]),
        Rule("/billing/preview/<path:company>", endpoint="preview", methods=["GET"]),
        Rule("/billing/invoices/<company>/<period>", endpoint="invoice", methods=["GET"]),
        Rule("/billing/invoices/<company>", endpoint="list", methods=["GET"]),
        Rule("/billing/run", endpoint="run", methods=["POST"]),
        Rule("/billing/gst/gstr1/<period>", endpoint="gstr1", methods=["GET"]),
        Rule("/billing/runs/<period>", endpoint="run_status", methods=["GET"]),
        Rule("/billing/invoices/<company>/<period>/payments", endpoint="payment", methods=["POST"]),
        Rule("/billing/invoices/<company>/<period>/payments/<reference>/reverse", endpoint="payment_reverse",
             methods=["POST"]),
        Rule("/billing/receivables/aging", endpoint="aging", methods=["GET"]),
        Rule("/billing/receivables/tds", endpoint="tds", methods=["GET"]),
        Rule("/billing/companies/<company>/statement", endpoint="statement", methods=["GET"]),
        Rule("/billing/companies/<company>/charges", endpoint="charges", methods=["GET"]),
        Rule("/billing/companies/<company>/charges", endpoint="charge_add", methods=["POST"]),
        Rule("/billing/exports/tally", endpoint="tally", methods=["GET"]),
        Rule("/billing/companies", endpoint="companies", methods=["GET"]),
        Rule("/billing/companies/<company>", endpoint="company", methods=["GET"]),
        Rule("/billing/companies/<company>", endpoint="company_put", methods=["PUT"]),
        Rule("/billing/settings", endpoint="settings", methods=["GET"]),
        Rule("/billing/settings", endpoint="settings_put", methods=["PUT"]),
    ],
    strict_slashes=False,
    merge_slashes=False,
)

Handler = Callable[..., WerkzeugResponse]


def month_query(request: flask.Request) -> MonthQuery:
    """?month=&year= as given (checked by the service once the company's timezone is known)."""
    return MonthQuery(request.args.get("month"), request.args.get("year"))


def health(request: flask.Request, container: Container) -> WerkzeugResponse:
    return json_response({"message": "Billing API is running!"})


def openapi(request: flask.Request, container: Container) -> WerkzeugResponse:
    return flask.Response(OPENAPI_PATH.read_bytes(), mimetype="application/json")


def generate(request: flask.Request, container: Container, company: str) -> WerkzeugResponse:
    """DESIGN 10: an api key issues for an active company; the reissue of a month an admin voided
    without reissue (DESIGN 9) needs an admin key, so an api key gets 403 there, nothing written."""
    admin = caller_role(request) == ADMIN
    if not admin:
        validate_company_id(company)
        found = container.companies.get(company)
        if found is not None and not found.active:
            raise ForbiddenError(f"Company '{company}' is not active: only an admin key may issue its invoices")
    invoice = container.issuance.generate(company, month_query(request), reissue_void=admin)
    if invoice.status is InvoiceStatus.VOID:
        raise ForbiddenError(f"The invoice {invoice.number} of this month was voided without reissue: "
                             "only an admin key may issue its reissue")
    return json_response(present(invoice, request, container))


def list_invoices(request: flask.Request, container: Container, company: str) -> WerkzeugResponse:
    invoices = container.queries.for_company(company, request.args.get("year"))
    return json_response({"companyId": company, "invoices": [summary(i) for i in invoices]})


def invoice(request: flask.Request, container: Container, company: str, period: str) -> WerkzeugResponse:
    current, history = container.queries.current_and_history(company, period)
    body = present(current, request, container)
    body.update(adjustments_json(current))  # DESIGN 13: the read always shows them ([] and the total without notes)
    body.update(container.receivables.view(current))
    body["history"] = [history_entry(i) for i in history]
    return json_response(body)


def payment(request: flask.Request, container: Container, company: str, period: str) -> WerkzeugResponse:
    """DESIGN 14: 201 with the payment and the invoice's balance; the same reference again: 200, the same."""
    paid, receivable, created = container.receivables.record_payment(
        company, period, json_body(request))
    return json_response(_payment_body(paid, receivable, container), 201 if created else 200)


def payment_reverse(request: flask.Request, container: Container, company: str, period: str,
                    reference: str) -> WerkzeugResponse:
    paid, receivable = container.receivables.reverse(company, period, reference,
                                                     json_body(request))
    return json_response(_payment_body(paid, receivable, container))


def _payment_body(paid: Payment, receivable: Receivable, container: Container) -> dict[str, Any]:
    view = receivable_json(receivable, container.receivables.today())
    return {"payment": payment_json(paid), "invoiceNumber": receivable.invoice_number,
            **{k: view[k] for k in ("netAmount", "amountPaid", "tdsAmount", "balance", "paymentStatus", "overdue")}}


def aging(request: flask.Request, container: Container) -> WerkzeugResponse:
    return json_response(container.receivables.aging(
        request.args.get("asOf"), request.args.get("pageSize"), request.args.get("pageToken")))


def statement(request: flask.Request, container: Container, company: str) -> WerkzeugResponse:
    """DESIGN 14: JSON, or `?format=pdf` for the customer."""
    start, end, fmt = request.args.get("from"), request.args.get("to"), request.args.get("format", "json")
    if fmt == "pdf":
        pdf = container.receivables.statement_pdf(company, start, end)
        return flask.Response(pdf, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="statement_{company}_{end or "today"}.pdf"'})
    if fmt != "json":
        raise ValidationError(f"format must be json or pdf, got {fmt!r}")
    doc = container.receivables.statement(company, start, end)
    return json_response({k: v for k, v in doc.items() if k != "supplier"})


def tally(request: flask.Request, container: Container) -> WerkzeugResponse:
    """DESIGN 14: the month as Tally Prime import XML."""
    month, year = request.args.get("month"), request.args.get("year")
    xml = container.receivables.tally(month, year)
    return flask.Response(xml.encode(), mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="tally_{year}-{str(month).zfill(2)}.xml"'})


def tds(request: flask.Request, container: Container) -> WerkzeugResponse:
    return json_response(container.receivables.tds(
        request.args.get("fy"), request.args.get("quarter"), request.args.get("company")))


def void(request: flask.Request, container: Container, company: str, period: str) -> WerkzeugResponse:
    result = container.corrections.void(company, period, json_body(request))
    return json_response({
        "voided": present(result.voided, request, container),
        "creditNote": present_credit_note(result.credit_note.document, request, container),
        "reissued": present(result.reissued, request, container) if result.reissued else None,
    })


def reconcile(request: flask.Request, container: Container, company: str, period: str) -> WerkzeugResponse:
    return json_response(container.reconcile.reconcile(company, period).to_json())


def preview(request: flask.Request, container: Container, company: str) -> WerkzeugResponse:
    doc = container.preview.preview(company, month_query(request))
    return json_response({k: v for k, v in doc.items() if k not in INTERNAL_FIELDS})


def credit_notes(request: flask.Request, container: Container, company: str) -> WerkzeugResponse:
    notes = container.corrections.list(company)
    return json_response({"companyId": company,
                          "creditNotes": [present_credit_note(n, request, container) for n in notes]})


def credit_note(request: flask.Request, container: Container, company: str, credit_note_id: str) -> WerkzeugResponse:
    return json_response(present_credit_note(container.corrections.get(company, credit_note_id), request, container))


def credit_note_pdf(request: flask.Request, container: Container, company: str,
                    credit_note_id: str) -> WerkzeugResponse:
    return download(container.corrections.open_pdf(company, credit_note_id))


def credit_note_create(request: flask.Request, container: Container, company: str, period: str) -> WerkzeugResponse:
    note = container.adjustments.create("credit", company, period, json_body(request),
                                        request.headers.get("Idempotency-Key"))
    return json_response(present_credit_note(note, request, container))


def debit_note_create(request: flask.Request, container: Container, company: str, period: str) -> WerkzeugResponse:
    note = container.adjustments.create("debit", company, period, json_body(request),
                                        request.headers.get("Idempotency-Key"))
    return json_response(present_debit_note(note, request, container))


def settle(request: flask.Request, container: Container, company: str, period: str) -> WerkzeugResponse:
    result = container.settlement.settle(company, period, json_body(request))
    note = result["note"]
    if note is not None:
        present_note = present_debit_note if result["kind"] == "debit" else present_credit_note
        result = {**result, "note": present_note(note, request, container)}
    return json_response(result)


def debit_notes(request: flask.Request, container: Container, company: str) -> WerkzeugResponse:
    notes = container.adjustments.list("debit", company)
    return json_response({"companyId": company,
                          "debitNotes": [present_debit_note(n, request, container) for n in notes]})


def debit_note(request: flask.Request, container: Container, company: str, debit_note_id: str) -> WerkzeugResponse:
    return json_response(present_debit_note(container.adjustments.get("debit", company, debit_note_id),
                                            request, container))


def debit_note_pdf(request: flask.Request, container: Container, company: str,
                   debit_note_id: str) -> WerkzeugResponse:
    return download(container.adjustments.open_pdf("debit", company, debit_note_id))


def file(request: flask.Request, container: Container, company: str, period: str, kind: str) -> WerkzeugResponse:
    # A signed link (verified by dispatch) opens only the document it was made for.
    return download(container.downloads.open(company, period, kind, request.environ.get(SIGNED_DOCUMENT_KEY)))


def download(item: Download) -> WerkzeugResponse:
    if item.redirect_url:
        return flask.redirect(item.redirect_url, code=302)
    return flask.Response(
        flask.stream_with_context(iter(item.chunks or ())),
        mimetype=item.content_type.split(";")[0],
        content_type=item.content_type,
        headers={"Content-Disposition": f'attachment; filename="{item.filename}"'},
    )


def send_body(request: flask.Request) -> object:
    """The optional JSON body of a send ({"to": [...]}); ValidationError when it is not JSON."""
    if not request.get_data(cache=True):
        return None
    body = request.get_json(force=True, silent=True)
    if body is None:
        raise ValidationError('the body must be JSON: {"to": ["address", ...]}, or empty')
    return body


def send(request: flask.Request, container: Container, company: str, period: str) -> WerkzeugResponse:
    result = container.delivery.send(company, period, force=True, body=send_body(request))
    return json_response(public_delivery(result))


def credit_note_send(request: flask.Request, container: Container, company: str,
                     credit_note_id: str) -> WerkzeugResponse:
    result = container.delivery.send_credit_note(company, credit_note_id, body=send_body(request))
    return json_response(public_delivery(result))


def debit_note_send(request: flask.Request, container: Container, company: str,
                    debit_note_id: str) -> WerkzeugResponse:
    result = container.delivery.send_debit_note(company, debit_note_id, body=send_body(request))
    return json_response(public_delivery(result))


def run(request: flask.Request, container: Container) -> WerkzeugResponse:
    result = container.run_trigger.request_run(month_query(request), trigger="http")
    status_url = f"{base_url(request, container)}/billing/runs/{result['period']}"
    return json_response({**result, "statusUrl": status_url}, 202, headers={"Location": status_url})


def gstr1(request: flask.Request, container: Container, period: str) -> WerkzeugResponse:
    return json_response(container.gst_returns.gstr1(period).to_json())


def run_status(request: flask.Request, container: Container, period: str) -> WerkzeugResponse:
    return json_response(container.run_status.status(
        period, request.args.get("pageSize"), request.args.get("pageToken")))


def companies(request: flask.Request, container: Container) -> WerkzeugResponse:
    return json_response(container.company_admin.list(request.args.get("pageSize"), request.args.get("pageToken")))


def company(request: flask.Request, container: Container, company: str) -> WerkzeugResponse:
    return json_response(container.company_admin.get(company))


def company_put(request: flask.Request, container: Container, company: str) -> WerkzeugResponse:
    return json_response(container.company_admin.put(company, request.get_json(force=True, silent=True)))


def charges(request: flask.Request, container: Container, company: str) -> WerkzeugResponse:
    return json_response(container.charges.month(company, request.args.get("period")))


def charge_add(request: flask.Request, container: Container, company: str) -> WerkzeugResponse:
    charge, created = container.charges.add(company, json_body(request), request.headers.get("Idempotency-Key"))
    return json_response(charge, 201 if created else 200)


def settings(request: flask.Request, container: Container) -> WerkzeugResponse:
    return json_response(container.company_admin.supplier())


def settings_put(request: flask.Request, container: Container) -> WerkzeugResponse:
    return json_response(container.company_admin.put_supplier(request.get_json(force=True, silent=True)))


HANDLERS: dict[str, Handler] = {
    "health": health, "openapi": openapi, "generate": generate, "file": file, "send": send, "void": void,
    "reconcile": reconcile, "credit_note_pdf": credit_note_pdf, "credit_note_send": credit_note_send,
    "credit_note": credit_note,
    "credit_notes": credit_notes, "preview": preview, "invoice": invoice, "list": list_invoices, "run": run,
    "gstr1": gstr1, "run_status": run_status,
    "payment": payment, "payment_reverse": payment_reverse, "aging": aging, "tds": tds,
    "statement": statement, "tally": tally,
    "companies": companies, "company": company,
    "company_put": company_put, "settings": settings, "settings_put": settings_put,
    "credit_note_create": credit_note_create,
    "debit_note_create": debit_note_create, "debit_notes": debit_notes, "debit_note": debit_note,
    "debit_note_pdf": debit_note_pdf, "settle": settle, "debit_note_send": debit_note_send,
    "charges": charges, "charge_add": charge_add,
}
