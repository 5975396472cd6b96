"""The customer portal in-process over fakes (DESIGN 16): tokens, pages, downloads bound to one company."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest

from billing.domain.naming import document_file_paths
from billing.entrypoints.http.portal import PORTAL_ROUTES
from billing.errors import ForbiddenError
from billing.services.portal import PortalTokens
from http_inprocess import NOW, SETTINGS, World

KEY = "portal-test-signing-key-0123456789abcdef"
UPI = "voxa@okaxis"


@pytest.fixture(scope="module")
def world() -> World:
    w = World(settings=dataclasses.replace(SETTINGS, link_signing_key=KEY))
    supplier = dict(w.container.supplier_settings.doc or {})
    w.container.supplier_settings.put({**supplier, "upiId": UPI})
    return w


def token(world: World, company: str = "vysedeck") -> str:
    return world.container.portal_tokens.issue(company)


def stored(world: World, invoice_id: str, kind: str) -> bytes:
    doc = world.container.invoices.get(invoice_id)
    assert doc is not None
    return world.container.blobs.read(document_file_paths(doc)[kind])


def forbidden_page(response) -> str:
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "<h1>" in text and "Traceback" not in text and "signature" not in text.lower()
    assert response.headers["Cache-Control"] == "no-store"
    return text


def test_a_token_round_trips_and_names_its_company():
    tokens = PortalTokens(KEY, lambda: NOW)
    issued = tokens.issue("vysedeck")
    assert issued.startswith("vysedeck.") and tokens.verify(issued) == "vysedeck"
    # the portal's key is derived under its own label: a download link's HMAC under the raw key differs
    import hashlib
    import hmac
    company, expires, signature = issued.split(".")
    raw = hmac.new(KEY.encode(), f"{company}.{expires}".encode(), hashlib.sha256).digest()
    assert signature != __import__("base64").urlsafe_b64encode(raw).rstrip(b"=").decode()
    # valid for 30 days, not a second more
    assert int(expires) == int((NOW + timedelta(days=30)).timestamp())
    later = PortalTokens(KEY, lambda: NOW + timedelta(days=30, seconds=1))
    with pytest.raises(ForbiddenError, match="expired"):
        later.verify(issued)
    assert PortalTokens(KEY, lambda: NOW + timedelta(days=29)).verify(issued) == "vysedeck"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),                      # signature changed
    lambda t: "webxpress" + t[len("vysedeck"):],                             # another company, same signature
    lambda t: t.replace(".", ".9", 1),                                       # expiry pushed out
    lambda t: t.split(".")[0],                                               # malformed: one part
    lambda t: t + ".x",                                                      # malformed: four parts
    lambda t: "VYSEDECK" + t[len("vysedeck"):],                              # not a company id
    lambda t: "a" * 400,                                                     # too long
    lambda t: t.replace("vysedeck", "vysedéck"),                             # not ASCII
], ids=["signature", "other-company", "expiry", "one-part", "four-parts", "bad-id", "long", "non-ascii"])
def test_a_changed_or_malformed_token_is_a_friendly_403(world, mangle):
    response = world.client.get(f"/portal/{mangle(token(world))}")
    text = forbidden_page(response)
    assert "cannot be opened" in text and "most recent invoice" in text
    assert "vysedeck" not in text.lower() and "Vysedeck" not in text


def test_an_expired_token_says_so(world):
    old = PortalTokens(KEY, lambda: NOW - timedelta(days=31)).issue("vysedeck")
    text = forbidden_page(world.client.get(f"/portal/{old}"))
    assert "expired" in text and "30 days" in text


def test_without_a_signing_key_the_portal_refuses_every_token():
    w = World()  # SETTINGS has no BILLING_LINK_SIGNING_KEY
    other = PortalTokens(KEY, lambda: NOW).issue("vysedeck")
    forbidden_page(w.client.get(f"/portal/{other}"))
    assert w.container.portal_tokens.link("vysedeck", "https://billing.example") is None


def test_the_page_shows_invoices_notes_statement_balance_and_the_upi_qr(world):
    t = token(world)
    response = world.client.get(f"/portal/{t}")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "form-action 'none'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    september = world.september
    # September: 1,798.32 issued, 500 paid (World) -> 1,298.32 due, Indian grouping as the PDF prints it
    assert september["invoiceNumber"] in html and "₹1,798.32" in html and "₹1,298.32" in html
    assert "Partially paid" in html and "Void (cancelled)" in html  # August was voided and reissued
    assert "Statement of account" in html and "Closing balance" in html
    assert re.search(r"<td data-label=\"Date\">\d{2} [A-Z][a-z]{2} \d{4}</td>", html)  # as the invoices print them
    # the QR of the balance of each unpaid invoice, and its UPI link with the invoice number
    assert "data:image/png;base64," in html and f"pa={UPI}" in html and "am=1298.32" in html
    assert "tn=" + september["invoiceNumber"].replace("/", "%2F") in html
    # read-only: no form, no button that writes
    assert "<form" not in html and 'method="post"' not in html.lower()
    # links relative to the page: they work under /billing-api and without it
    assert f'href="{t}/invoices/vysedeck_2025-09/pdf"' in html


def test_the_page_works_behind_the_droplet_prefix(world):
    t = token(world)
    response = world.client.get(f"/billing-api/portal/{t}", headers={"X-Forwarded-Prefix": "/billing-api"})
    assert response.status_code == 200 and world.september["invoiceNumber"] in response.get_data(as_text=True)
    pdf = world.client.get(f"/billing-api/portal/{t}/invoices/vysedeck_2025-09/pdf")
    assert pdf.status_code == 200 and pdf.get_data() == stored(world, "vysedeck_2025-09", "pdf")


def test_downloads_are_bound_to_the_token_company(world):
    t = token(world)
    pdf = world.client.get(f"/portal/{t}/invoices/vysedeck_2025-09/pdf")
    assert pdf.status_code == 200 and pdf.get_data() == stored(world, "vysedeck_2025-09", "pdf")
    assert pdf.headers["Cache-Control"] == "no-store" and pdf.headers["Referrer-Policy"] == "no-referrer"
    csv = world.client.get(f"/portal/{t}/invoices/vysedeck_2025-09/csv")
    assert csv.status_code == 200 and csv.get_data() == stored(world, "vysedeck_2025-09", "csv")
    void = world.client.get(f"/portal/{t}/invoices/vysedeck_2025-08/pdf")  # the CANCELLED copy
    assert void.status_code == 200 and void.mimetype == "application/pdf"
    assert void.get_data() != stored(world, "vysedeck_2025-08", "pdf")  # not the original: its CANCELLED copy
    cn = world.client.get(f"/portal/{t}/credit-notes/vysedeck_2025-08_cn/pdf")
    assert cn.status_code == 200 and cn.mimetype == "application/pdf" and cn.get_data()
    statement = world.client.get(f"/portal/{t}/statement.pdf")
    assert statement.status_code == 200 and statement.mimetype == "application/pdf"
    # webxpress's documents through vysedeck's token: refused, whatever the path says
    dn = world.debit_note["debitNoteId"]
    assert world.client.get(f"/portal/{token(world, 'webxpress')}/debit-notes/{dn}/pdf").status_code == 200
    for path in ("invoices/webxpress_2025-09/pdf", "invoices/webxpress_2025-09/csv", f"debit-notes/{dn}/pdf",
                 "credit-notes/webxpress_2025-09_cn/pdf", "invoices/vysedeck_2025-09/../webxpress_2025-09/pdf"):
        response = world.client.get(f"/portal/{t}/{path}")
        assert response.status_code in (403, 404), path
        assert response.mimetype == "text/html" and b"PDF " not in response.get_data()


def test_an_invoice_id_that_starts_like_the_company_is_still_checked(world):
    # company ids may hold "_": "vysedeck_x_2025-09" must not open another company's invoice
    t = token(world)
    other = dict(world.container.invoices.get("vysedeck_2025-09") or {})
    world.container.invoices.docs["vysedeck_x_2025-09"] = {**other, "companyId": "vysedeck_x"}
    try:
        response = world.client.get(f"/portal/{t}/invoices/vysedeck_x_2025-09/pdf")
        assert response.status_code == 403 and response.mimetype == "text/html"
    finally:
        del world.container.invoices.docs["vysedeck_x_2025-09"]


def test_the_portal_has_no_write_routes(world):
    assert all(rule.methods is not None and rule.methods <= {"GET", "HEAD"} for rule in PORTAL_ROUTES.iter_rules())
    t = token(world)
    before = world.state()
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for path in (f"/portal/{t}", f"/portal/{t}/invoices/vysedeck_2025-09/pdf"):
            response = world.client.open(path, method=method)
            assert response.status_code == 405 and response.mimetype == "text/html"
            assert "GET" in response.headers["Allow"]
    assert world.state() == before


def test_an_unknown_page_under_a_token_is_a_404_page(world):
    response = world.client.get(f"/portal/{token(world)}/nothing-here")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert world.client.get("/portal").status_code == 404


def test_the_invoice_email_carries_the_portal_link_and_the_upi_qr():
    settings = dataclasses.replace(SETTINGS, link_signing_key=KEY, public_base_url="https://billing.example/billing-api")
    w = World(settings=settings)
    supplier = dict(w.container.supplier_settings.doc or {})
    w.container.supplier_settings.put({**supplier, "upiId": UPI})
    from billing.domain.period import MonthQuery
    invoice = w.container.issuance.generate("dcgpac", MonthQuery(9, 2025)).document
    assert w.container.delivery.send("dcgpac", "2025-09", force=True, body={"to": ["accounts@dcgpac.example"]})[
        "status"] == "sent"
    message = w.container.mailer.sent[-1]
    text = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",))
    html = html_part.get_content()
    links = re.findall(r"https://billing\.example/billing-api/portal/[A-Za-z0-9._-]+", text)
    assert links and links[0] in html
    assert w.container.portal_tokens.verify(links[0].rsplit("/", 1)[1]) == "dcgpac"
    # the QR code: an inline PNG the HTML part names by its Content-ID, carrying the invoice's UPI link
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 1 and images[0].get_content().startswith(b"\x89PNG")
    cid = images[0]["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html and f"pa={UPI}" in text
    assert "tn=" + invoice["invoiceNumber"].replace("/", "%2F") in text


def test_the_reminder_email_carries_the_portal_link():
    settings = dataclasses.replace(SETTINGS, link_signing_key=KEY, public_base_url="https://billing.example/billing-api")
    w = World(settings=settings)
    sent_before = len(w.container.mailer.sent)
    w.container.clock = lambda: NOW + timedelta(days=10)  # past the invoices' due date (issued at NOW, 7 days)
    report = w.container.reminders.run()
    assert report["sent"], report
    [message, *_] = w.container.mailer.sent[sent_before:]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    [link] = re.findall(r"https://billing\.example/billing-api/portal/[A-Za-z0-9._-]+", text)
    assert f'href="{link}"' in html
    company = w.container.portal_tokens.verify(link.rsplit("/", 1)[1])
    assert company == report["sent"][0]["companyId"]
