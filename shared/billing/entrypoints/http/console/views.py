"""The console's routes: every page needs a session (sign-in and the stylesheet excepted), every POST a
CSRF token bound to the session and a same-site origin, every action an admin key. Actions call the
same services as the JSON API's routes and show the API's `detail` on failure."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

import flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Response as WerkzeugResponse

from billing.bootstrap import Container
from billing.entrypoints.http.auth import ADMIN
from billing.entrypoints.http.console import reads, session as sessions
from billing.entrypoints.http.console.chart import bars, month_label
from billing.entrypoints.http.console.render import render
from billing.entrypoints.http.errors import public_detail
from billing.entrypoints.http.presenters import base_url
from billing.errors import BillingError, ForbiddenError, ValidationError

PREFIX = "/console"

RULES = Map([
    Rule("/console", endpoint="overview", methods=["GET"]),
    Rule("/console/sign-in", endpoint="sign_in", methods=["GET", "POST"]),
    Rule("/console/sign-out", endpoint="sign_out", methods=["POST"]),
    Rule("/console/console.css", endpoint="css", methods=["GET"]),
    Rule("/console/invoices", endpoint="invoices", methods=["GET"]),
    Rule("/console/invoices/<company>/<period>", endpoint="invoice", methods=["GET"]),
    Rule("/console/invoices/<company>/<period>/<any(pdf, csv):kind>", endpoint="file", methods=["GET"]),
    Rule("/console/invoices/<company>/<period>/<any(send, void, 'credit-note', 'debit-note', payment):action>",
         endpoint="action", methods=["POST"]),
    Rule("/console/companies", endpoint="companies", methods=["GET"]),
    Rule("/console/companies/<company>", endpoint="company", methods=["GET", "POST"]),
    Rule("/console/ageing", endpoint="ageing", methods=["GET"]),
], strict_slashes=False, merge_slashes=False)

OPEN = {"sign_in", "css"}  # everything else needs a session
DONE = {  # the message after an action (a fixed text per action: nothing from the query is echoed)
    "send": "The invoice was emailed.", "void": "The invoice was voided.", "credit-note": "The credit note was issued.",
    "debit-note": "The debit note was issued.", "payment": "The payment was recorded.",
    "company": "The company was saved.",
}
NAV = {"overview.html": "overview", "invoices.html": "invoices", "invoice.html": "invoices",
       "companies.html": "companies", "company.html": "companies", "ageing.html": "ageing"}
SECURITY_HEADERS = {
    # No script at all; the PDF may come from a V4 signed URL on Google Cloud (the file route redirects).
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "frame-src 'self' https://storage.googleapis.com; "
                               "object-src 'self' https://storage.googleapis.com; form-action 'self'; "
                               "frame-ancestors 'self'; base-uri 'none'",
    "X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Page:
    """One request of the console: where links point, the session, the cookie to set."""

    def __init__(self, request: flask.Request, container: Container, secret: bytes):
        self.request, self.container, self.secret = request, container, secret
        base = base_url(request, container)
        self.root = urlsplit(base).path.rstrip("/") + PREFIX  # /console, or /billing-api/console
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
        self.secure = base.startswith("https://")
        self.session: sessions.Session | None = None
        self.cookies: list[tuple[str, str, int]] = []

    def url(self, path: str = "", **query: str | None) -> str:
        args = {k: v for k, v in query.items() if v not in (None, "")}
        return self.root + path + (f"?{urlencode(args)}" if args else "")

    def now(self) -> float:
        return self.container.now().timestamp()

    def html(self, template: str, code: int = 200, **context: Any) -> WerkzeugResponse:
        formats = self.container.text_formats
        body = render(self.container.settings.templates_dir, template, page=self, session=self.session,
                      nav=NAV.get(template, ""),
                      admin=self.session is not None and self.session.role == ADMIN,
                      csrf=self.session.csrf(self.secret) if self.session else "",
                      rupees=formats["rupees"], date=formats["date"], rate=formats["rate"],
                      paise=lambda p: formats["rupees"](Decimal(int(p)) / 100), month_label=month_label, **context)
        return self.finish(flask.Response(body, status=code, mimetype="text/html"))

    def redirect(self, location: str) -> WerkzeugResponse:
        return self.finish(flask.redirect(location, code=303))

    def finish(self, response: WerkzeugResponse) -> WerkzeugResponse:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        for name, value, max_age in self.cookies:
            response.set_cookie(name, value, max_age=max_age, path=self.root, secure=self.secure, httponly=True,
                                samesite="Strict")
        return response


def handle(request: flask.Request, container: Container, path: str) -> WerkzeugResponse:
    """Answer a /console request (path without the droplet's prefix)."""
    try:
        endpoint, args = RULES.bind("localhost", path_info=path).match(path, method=request.method)
    except NotFound:
        endpoint, args = "", {}
    secret = sessions.console_secret(container.settings)
    if endpoint == "css":
        css_file = Path(container.settings.templates_dir) / "console" / "console.css"
        return flask.Response(css_file.read_bytes(), mimetype="text/css", headers={"Cache-Control": "max-age=3600"})
    if secret is None:
        return flask.Response("The console is off: set BILLING_LINK_SIGNING_KEY (at least 32 bytes) to use it.",
                              status=503, mimetype="text/plain")
    page = Page(request, container, secret)
    cookie = request.cookies.get(sessions.COOKIE, "")
    page.session = sessions.verify(secret, cookie, container.settings, page.now()) if cookie else None
    if endpoint not in OPEN and page.session is None:
        if request.method in ("GET", "HEAD"):
            return page.redirect(page.url("/sign-in"))
        return page.finish(flask.Response("Sign in first.", status=401, mimetype="text/plain"))
    if not endpoint:
        return page.html("error.html", 404, detail=f"No console page at {path[:200]}")
    if request.method == "POST" and not _same_site(page):
        return page.finish(flask.Response("Cross-site request refused.", status=403, mimetype="text/plain"))
    if request.method == "POST" and endpoint != "sign_in":
        assert page.session is not None
        if not sessions.same(request.form.get("csrf", ""), page.session.csrf(secret)):
            return page.finish(flask.Response("The form's security token is missing or wrong: reload the page.",
                                              status=403, mimetype="text/plain"))
    try:
        return VIEWS[endpoint](page, **args)
    except BillingError as exc:
        status, detail = public_detail(exc)
        return page.html("error.html", status, detail=detail)


def _same_site(page: Page) -> bool:
    """No cross-site POST: the browser's Origin (when sent) is ours, and Sec-Fetch-Site is not cross-site."""
    origin = page.request.headers.get("Origin")
    if origin is not None and origin != page.origin:
        return False
    return page.request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


# -- sign-in ---------------------------------------------------------------------------------------

def sign_in(page: Page) -> WerkzeugResponse:
    request = page.request
    if request.method == "GET":
        if page.session is not None:
            return page.redirect(page.url())
        return _sign_in_form(page)
    nonce = request.cookies.get(sessions.LOGIN_COOKIE, "")
    if not nonce or not sessions.same(request.form.get("csrf", ""), sessions.login_token(page.secret, nonce)):
        return _sign_in_form(page, "The sign-in form expired: please try again.", 403)
    key = request.form.get("key", "")
    if not key or sessions.role_of_key(key, page.container.settings) is None:
        return _sign_in_form(page, "That key is not valid.", 401)
    page.cookies.append((sessions.COOKIE, sessions.issue(page.secret, key, page.now()), sessions.SESSION_SECONDS))
    page.cookies.append((sessions.LOGIN_COOKIE, "", 0))
    return page.redirect(page.url())


def _sign_in_form(page: Page, error: str = "", status: int = 200) -> WerkzeugResponse:
    nonce = sessions.new_nonce()
    page.cookies.append((sessions.LOGIN_COOKIE, nonce, sessions.LOGIN_SECONDS))
    page.session = None
    return page.html("sign_in.html", status, error=error, login_csrf=sessions.login_token(page.secret, nonce))


def sign_out(page: Page) -> WerkzeugResponse:
    page.cookies.append((sessions.COOKIE, "", 0))
    return page.redirect(page.url("/sign-in"))


# -- pages -----------------------------------------------------------------------------------------

def overview(page: Page) -> WerkzeugResponse:
    period = page.request.args.get("month") or reads.last_month(page.container)
    data = reads.overview(page.container, period)
    return page.html("overview.html", chart=bars(data["months"]), **data)


def invoices(page: Page) -> WerkzeugResponse:
    args = page.request.args
    period = args.get("month") or reads.last_month(page.container)
    status, paid, token = args.get("status") or None, args.get("paymentStatus") or None, args.get("pageToken")
    listing = reads.invoice_page(page.container, period, status, paid, token)
    return page.html("invoices.html", period=period, status=status or "", payment_status=paid or "",
                     listing=listing, first_page=token is None)


def invoice(page: Page, company: str, period: str, error: str = "", status: int = 200,
            form: dict[str, str] | None = None) -> WerkzeugResponse:
    doc = reads.invoice_detail(page.request, page.container, company, period)
    done = DONE.get(page.request.args.get("done", "")) if not error else None
    return page.html("invoice.html", status, doc=doc, company=company, period=period, error=error, done=done,
                     form=form or {}, idempotency_key=sessions.new_nonce(), today=reads.today(page.container))


def file(page: Page, company: str, period: str, kind: str) -> WerkzeugResponse:
    """The invoice's PDF shown inline (the frame on the detail page), or its CSV downloaded."""
    item = page.container.downloads.open(company, period, kind, None)
    if item.redirect_url:
        return page.redirect(item.redirect_url)
    disposition = "inline" if kind == "pdf" else "attachment"
    response = flask.Response(flask.stream_with_context(iter(item.chunks or ())), content_type=item.content_type,
                              headers={"Content-Disposition": f'{disposition}; filename="{item.filename}"'})
    return page.finish(response)


def action(page: Page, company: str, period: str, action: str) -> WerkzeugResponse:
    form = {k: v for k, v in page.request.form.items() if k != "csrf"}
    try:
        _require_admin(page)
        ACTIONS[action](page.container, company, period, form)
    except BillingError as exc:
        status, detail = public_detail(exc)
        if status in (404,) or isinstance(exc, ForbiddenError):
            return page.html("error.html", status, detail=detail)
        return invoice(page, company, period, error=detail, status=status, form={**form, "action": action})
    return page.redirect(page.url(f"/invoices/{company}/{period}", done=action))


def _require_admin(page: Page) -> None:
    if page.session is None or page.session.role != ADMIN:
        raise ForbiddenError("Only an admin key may do this: sign in with a key from BILLING_ADMIN_KEYS")


def _number(text: str) -> object:
    """A form's number as the JSON API would receive it (an int, or a float that reads back exactly);
    anything else is passed on unchanged, for the service's own message."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    if value == value.to_integral_value() and "." not in text:
        return int(value)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else text


def _send(container: Container, company: str, period: str, form: dict[str, str]) -> None:
    container.delivery.send(company, period, force=True, body=None)


def _void(container: Container, company: str, period: str, form: dict[str, str]) -> None:
    container.corrections.void(company, period, {"invoiceNumber": form.get("invoiceNumber", ""),
                                                 "reason": form.get("reason", ""),
                                                 "reissue": form.get("reissue") == "yes"})


def _note(kind: str) -> Callable[[Container, str, str, dict[str, str]], None]:
    def create(container: Container, company: str, period: str, form: dict[str, str]) -> None:
        body: dict[str, Any] = {"invoiceNumber": form.get("invoiceNumber", ""), "reason": form.get("reason", "")}
        if form.get("basis") == "minutes":
            body["minutes"] = _number(form.get("minutes", ""))
        else:
            body["lines"] = [{"description": form.get("description", ""),
                              "taxableValue": _number(form.get("taxableValue", ""))}]
        container.adjustments.create(kind, company, period, body, form.get("idempotencyKey") or None)
    return create


def _payment(container: Container, company: str, period: str, form: dict[str, str]) -> None:
    body: dict[str, Any] = {k: form.get(k, "") for k in ("amount", "date", "reference", "mode")}
    if form.get("tdsAmount"):
        body["tdsAmount"] = form["tdsAmount"]
    if form.get("tdsSection"):
        body["tdsSection"] = form["tdsSection"]
    container.receivables.record_payment(company, period, body)


ACTIONS: dict[str, Callable[[Container, str, str, dict[str, str]], None]] = {
    "send": _send, "void": _void, "credit-note": _note("credit"), "debit-note": _note("debit"), "payment": _payment,
}


def companies(page: Page) -> WerkzeugResponse:
    token = page.request.args.get("pageToken")
    return page.html("companies.html", listing=reads.companies(page.container, token), first_page=token is None)


def company(page: Page, company: str) -> WerkzeugResponse:
    error, status, text = "", 200, None
    if page.request.method == "POST":
        text = page.request.form.get("document", "")
        try:
            _require_admin(page)
            try:
                document = json.loads(text)
            except ValueError as exc:
                raise ValidationError(f"the company document must be JSON: {exc}") from None
            page.container.company_admin.put(company, document)
            return page.redirect(page.url(f"/companies/{company}", done="company"))
        except ForbiddenError:
            raise
        except BillingError as exc:
            status, error = public_detail(exc)
    found = reads.company(page.container, company)
    if text is None:
        text = json.dumps(found["company"], indent=2, ensure_ascii=False, sort_keys=True, default=str)
    done = DONE.get(page.request.args.get("done", "")) if not error else None
    return page.html("company.html", status, company_id=company, doc=found["company"], text=text, error=error,
                     done=done)


def ageing(page: Page) -> WerkzeugResponse:
    token = page.request.args.get("pageToken")
    return page.html("ageing.html", ageing=reads.ageing(page.container, token), first_page=token is None)


VIEWS: dict[str, Callable[..., WerkzeugResponse]] = {
    "overview": overview, "sign_in": sign_in, "sign_out": sign_out, "invoices": invoices,
    "invoice": invoice, "file": file, "action": action, "companies": companies, "company": company,
    "ageing": ageing,
}
