"""The customer portal's pages and downloads (DESIGN 16): `GET /portal/{token}` and the files under it.

Read-only: every route is GET (HEAD). The token (services/portal.py) stands in for an API key and binds
every page and file to its company. Errors are HTML pages meant for a customer, never JSON and
never a cause: a changed, malformed or expired token is a 403 page saying what to do next.
Links on the page are relative to the page, so they work behind the droplet's /billing-api prefix
and without it. Every answer is `Cache-Control: no-store` and `Referrer-Policy: no-referrer`: the
token is in the URL.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import flask
import jinja2
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Response as WerkzeugResponse

from billing.bootstrap import Container, is_unavailable
from billing.entrypoints.http.pages import environment
from billing.errors import BillingError, ForbiddenError, NotFoundError, TransientError, ValidationError
from billing.services.downloads import Download
from billing.services.portal import EXPIRED

log = logging.getLogger("billing.portal")

PORTAL_PREFIX = "/portal"
DOCUMENT_ID = r"[a-z0-9_-]{1,128}"


class RegexConverter(BaseConverter):
    """A path segment matching the given regular expression (document ids: ASCII only, bounded)."""

    def __init__(self, url_map: Map, regex: str):
        super().__init__(url_map)
        self.regex = regex


PORTAL_ROUTES = Map(
    [
        Rule("/portal/<token>", endpoint="portal_page", methods=["GET"]),
        Rule(f"/portal/<token>/invoices/<regex('{DOCUMENT_ID}'):invoice_id>/<any(pdf, csv):kind>",
             endpoint="portal_invoice_file", methods=["GET"]),
        Rule(f"/portal/<token>/credit-notes/<regex('{DOCUMENT_ID}'):note_id>/pdf", endpoint="portal_credit_note",
             methods=["GET"]),
        Rule(f"/portal/<token>/debit-notes/<regex('{DOCUMENT_ID}'):note_id>/pdf", endpoint="portal_debit_note",
             methods=["GET"]),
        Rule("/portal/<token>/statement.pdf", endpoint="portal_statement", methods=["GET"]),
    ],
    strict_slashes=False,
    merge_slashes=False,
    converters={"regex": RegexConverter},
)

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
}

def is_portal_path(path: str) -> bool:
    return path == PORTAL_PREFIX or path.startswith(PORTAL_PREFIX + "/")


def _env(templates_dir: Path) -> jinja2.Environment:
    return environment(templates_dir, "portal", undefined=jinja2.StrictUndefined)


def _secured(response: WerkzeugResponse) -> WerkzeugResponse:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def _html(container: Container, template: str, code: int = 200, **context: Any) -> WerkzeugResponse:
    body = _env(container.settings.templates_dir).get_template(template).render(**context)
    return _secured(flask.Response(body, status=code, mimetype="text/html"))


def dispatch(request: flask.Request, container: Container, path: str) -> WerkzeugResponse:
    """Answer a /portal request (path without the /billing-api prefix); every error as an HTML page."""
    try:
        endpoint, args = PORTAL_ROUTES.bind("localhost", path_info=path).match(path, method=request.method)
        return HANDLERS[endpoint](request, container, **args)
    except MethodNotAllowed as exc:
        response = _error(container, 405, "This page is read-only", "Nothing can be changed from this page.")
        response.headers["Allow"] = ", ".join(exc.valid_methods or ["GET", "HEAD"])
        return response
    except NotFound:
        return _error(container, 404, "Page not found", "There is no such page in your billing portal.")
    except ForbiddenError as exc:
        log.warning(f"portal: 403 {exc.detail}")
        return _forbidden(container, expired=exc.detail == EXPIRED)
    except (NotFoundError, ValidationError) as exc:
        log.warning(f"portal: 404 {exc.detail}")
        return _error(container, 404, "Document not found", "This document is not available (yet).")
    except TransientError as exc:
        log.error(f"portal: 503 {exc.detail}")
        return _unavailable(container)
    except BillingError as exc:
        log.error(f"portal: {type(exc).__name__}: {exc.detail}")
        return _error(container, 500, "Something went wrong", "Please try again later.")
    except Exception as exc:  # the edge: the cause goes to the log only
        if is_unavailable(exc):
            log.error(f"portal: dependency unavailable: {type(exc).__name__}: {exc}")
            return _unavailable(container)
        log.exception("portal: unhandled error")
        return _error(container, 500, "Something went wrong", "Please try again later.")


def _unavailable(container: Container) -> WerkzeugResponse:
    response = _error(container, 503, "Temporarily unavailable", "Please try again in a minute.")
    response.headers["Retry-After"] = "30"
    return response


def _error(container: Container, status: int, title: str, message: str) -> WerkzeugResponse:
    return _html(container, "error.html", status, title=title, message=message, status=status)


def _forbidden(container: Container, expired: bool) -> WerkzeugResponse:
    return _html(container, "forbidden.html", 403, expired=expired, status=403,
                 title="This link has expired" if expired else "This link cannot be opened")


def _root(request: flask.Request, token: str) -> str:
    """The page's links, relative to the page itself (so they work under any prefix)."""
    return "" if request.path.endswith("/") else f"{token}/"


def page(request: flask.Request, container: Container, token: str) -> WerkzeugResponse:
    company_id, company = container.portal.company(token)
    view = container.portal.page(company_id, company)
    return _html(container, "portal.html", view=view, root=_root(request, token), title=view["companyName"])


def _company(request: flask.Request, container: Container, token: str) -> str:
    company_id, _ = container.portal.company(token)
    return company_id


def invoice_file(request: flask.Request, container: Container, token: str, invoice_id: str,
                 kind: str) -> WerkzeugResponse:
    return _download(container.portal.invoice_file(_company(request, container, token), invoice_id, kind))


def credit_note(request: flask.Request, container: Container, token: str, note_id: str) -> WerkzeugResponse:
    return _download(container.portal.note_file(_company(request, container, token), "credit", note_id))


def debit_note(request: flask.Request, container: Container, token: str, note_id: str) -> WerkzeugResponse:
    return _download(container.portal.note_file(_company(request, container, token), "debit", note_id))


def statement(request: flask.Request, container: Container, token: str) -> WerkzeugResponse:
    company_id = _company(request, container, token)
    pdf = container.portal.statement_pdf(company_id)
    return _secured(flask.Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="statement_{company_id}.pdf"'}))


def _download(item: Download) -> WerkzeugResponse:
    if item.redirect_url:
        return _secured(flask.redirect(item.redirect_url, code=302))
    return _secured(flask.Response(flask.stream_with_context(iter(item.chunks or ())), content_type=item.content_type,
                                   headers={
                                       "Content-Disposition": f'attachment; filename="{item.filename}"'}))


HANDLERS: dict[str, Callable[..., WerkzeugResponse]] = {
    "portal_page": page, "portal_invoice_file": invoice_file, "portal_credit_note": credit_note,
    "portal_debit_note": debit_note, "portal_statement": statement,
}
