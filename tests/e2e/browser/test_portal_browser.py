"""The customer portal in Debian's headless chromium, served by the real HTTP function over the emulators:
the portal link from the invoice email opens the company's page (invoices, notes, statement, balance,
UPI QR), the PDF downloads, and a changed token shows the friendly 403 page. Screenshots at 1280 and
360 px wide go to `screenshot_dir` for a person to look at."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from email import message_from_bytes
from email.policy import default

import pytest

from billing.config import Settings
from billing.seed import seed_demo
from e2e_support import Api, server_with_mail

pytestmark = pytest.mark.emulators

LINK_KEY = "portal-link-key-" + uuid.uuid4().hex
UPI_ID = "voxa.ai@okaxis"
TABLES_FIT = """[...document.querySelectorAll('table')].every(t =>
    t.getBoundingClientRect().right <= t.closest('section').getBoundingClientRect().right + 0.5)"""


@pytest.fixture
def portal_server(firestore_emulator, storage_emulator, tmp_path):
    with server_with_mail(tmp_path, "portal", {"BILLING_LINK_SIGNING_KEY": LINK_KEY}) as served:
        yield served


def post_json(api: Api, path: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(api.base + path, method="POST", data=json.dumps(body).encode(),
                                 headers={"X-API-Key": api.key, "Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.status, json.loads(resp.read())


def test_the_portal_from_the_invoice_email(portal_server, new_page, screenshot_dir, tmp_path):
    api, inbox = portal_server
    settings = Settings(project=api.project)
    seed_demo(api.db, settings)
    api.db.document(settings.settings_document).update({"upiId": UPI_ID})
    status, invoice = api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200, invoice
    number = invoice["invoiceNumber"]
    # a debit note for late calls and a part payment, so the page has a note, a statement and a balance
    status, note = post_json(api, "/billing/invoices/vysedeck/2025-09/debit-notes",
                             {"invoiceNumber": number, "reason": "25 calls arrived after the invoice", "minutes": 25},
                             {"Idempotency-Key": "portal-dn"})
    assert status == 200 and note["status"] == "issued", note
    status, paid = post_json(api, "/billing/invoices/vysedeck/2025-09/payments",
                             {"amount": 500, "date": invoice["invoiceDate"][:10], "reference": "UTIB0000042",
                              "mode": "upi"})
    assert status == 201 and paid["balance"] == 1357.32, paid  # 1,798.32 + 59.00 - 500.00

    status, sent = api.json("POST", "/billing/invoices/vysedeck/2025-09/send")
    assert status == 200 and sent["status"] == "sent", sent
    email = message_from_bytes(inbox.messages[-1], policy=default)
    text = email.get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(r"(http://127\.0\.0\.1:\d+/portal/\S+)", text)
    assert link in email.get_body(preferencelist=("html",)).get_content()

    page = new_page(width=1280)
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert response.headers["cache-control"] == "no-store" and response.headers["referrer-policy"] == "no-referrer"
    assert page.locator("h1").inner_text() == "Vysedeck Technologies Private Limited" or page.locator("h1").count() == 1
    invoices = page.get_by_role("region", name="Invoices")
    row = invoices.get_by_role("row").filter(has_text=number)
    # total, total with the debit note, balance: in Indian grouping
    assert all(amount in row.inner_text() for amount in ("₹1,798.32", "₹1,857.32", "₹1,357.32"))
    assert "Partially paid" in row.inner_text()
    assert "₹1,357.32" in page.get_by_role("region", name="Your balance").inner_text()
    assert note["debitNoteNumber"] in page.get_by_role("region", name="Credit and debit notes").inner_text()
    statement = page.get_by_role("region", name="Statement of account").inner_text()
    assert "UTIB0000042" in statement and "Closing balance: ₹1,357.32" in statement
    # the UPI QR of the balance, drawn (a decoded PNG of its declared size)
    qr = page.get_by_role("img", name=re.compile(r"UPI QR code: pay ₹1,357\.32"))
    assert qr.count() == 1
    assert qr.evaluate("img => img.complete && img.naturalWidth > 100 && img.naturalWidth === img.naturalHeight")
    assert page.get_by_role("link", name="Open in a UPI app").get_attribute("href").startswith(
        f"upi://pay?pa={UPI_ID}&")
    assert page.evaluate(TABLES_FIT), "a table is wider than its section"
    page.screenshot(path=str(screenshot_dir / "portal-1280.png"), full_page=True)

    # the PDF downloads through the token's route (a click, as a customer would)
    with page.expect_download() as download_info:
        row.get_by_role("link", name=re.compile("^PDF")).click()
    saved = tmp_path / "invoice.pdf"
    download_info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF-")
    assert saved.read_bytes() == api.objects()["invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf"]

    # keyboard only: the skip link is the first stop and moves to the content; Tab reaches the PDF link and
    # Enter downloads it
    keys = new_page(width=1280)
    assert keys.goto(link).status == 200
    keys.keyboard.press("Tab")
    assert keys.evaluate("document.activeElement.textContent") == "Skip to content"
    keys.keyboard.press("Enter")
    assert keys.evaluate("document.activeElement.id") == "main"
    for _ in range(30):
        keys.keyboard.press("Tab")
        if keys.evaluate("(document.activeElement.getAttribute('href') || '').endsWith('/vysedeck_2025-09/pdf')"):
            break
    else:
        pytest.fail("Tab never reached the invoice's PDF link")
    with keys.expect_download() as by_keyboard:
        keys.keyboard.press("Enter")
    assert by_keyboard.value.suggested_filename.endswith("_invoice.pdf")

    phone = new_page(width=360, height=780)
    assert phone.goto(link).status == 200
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling on a phone
    assert phone.evaluate(TABLES_FIT), "a table is wider than its section"
    assert phone.get_by_role("img", name=re.compile("UPI QR code")).is_visible()
    phone.screenshot(path=str(screenshot_dir / "portal-360.png"), full_page=True)

    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    forbidden = new_page(width=360, height=780)
    response = forbidden.goto(tampered)
    assert response is not None and response.status == 403
    assert forbidden.get_by_role("heading", level=1).inner_text() == "This link cannot be opened"
    assert "most recent invoice" in forbidden.content() and "Traceback" not in forbidden.content()
    assert forbidden.evaluate("document.documentElement.scrollWidth") <= 360
    forbidden.screenshot(path=str(screenshot_dir / "portal-forbidden-360.png"), full_page=True)
