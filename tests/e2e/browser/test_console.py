"""The operator console in a real browser (Debian's chromium, headless) against the real server over
the emulators: a read key sees the month; an admin voids with reissue and records a part payment, and
the pages show the statuses change. Screenshots at 1280 px and 360 px go to `screenshot_dir`."""

from __future__ import annotations

import time
import uuid
from datetime import date

import pytest

from billing.config import Settings
from billing.seed import COMPANIES, seed_demo
from e2e_support import API_KEY

pytestmark = pytest.mark.emulators

READ = "console-read-" + uuid.uuid4().hex[:8]
SIGNING_KEY = "console-e2e-signing-key-" + uuid.uuid4().hex  # >= 32 bytes


@pytest.fixture
def billed(make_server):
    """A server with three companies: September 2025 issued through the API, October by a run."""
    server = make_server({"BILLING_READ_KEYS": READ, "BILLING_LINK_SIGNING_KEY": SIGNING_KEY,
                          "BILLING_RUN_MODE": "in-process"})
    seed_demo(server.db, Settings(project=server.project))
    for company in sorted(COMPANIES):
        status, body = server.json("POST", f"/billing/generate/{company}?month=9&year=2025")
        assert status == 200, body
    status, body = server.json("POST", "/billing/run?month=10&year=2025")
    assert status == 202, body
    deadline = time.monotonic() + 240  # waiting for the run, not measuring it
    while True:
        status, run = server.json("GET", "/billing/runs/2025-10")
        counts = run.get("counts") or {} if status == 200 else {}
        finished = counts.get("done", 0) + counts.get("failed", 0) + counts.get("skipped", 0)
        if run.get("total") == len(COMPANIES) and finished == len(COMPANIES):  # not the empty record of a run
            break                                                              # that has not fanned out yet
        assert time.monotonic() < deadline, run
        time.sleep(0.5)
    return server


def sign_in(page, base: str, key: str) -> None:
    page.goto(f"{base}/console")
    assert page.url.endswith("/console/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/console")


def test_a_read_key_sees_the_month_and_no_actions(billed, new_page, screenshot_dir):
    for width in (1280, 360):
        page = new_page(width=width)
        sign_in(page, billed.base, READ)
        page.goto(f"{billed.base}/console?month=2025-10")
        assert page.get_by_role("heading", level=1).inner_text() == "Oct 2025"
        figures = page.locator("dl.figures").inner_text().lower()
        assert "invoiced\n₹ 6,104.44" in figures and "invoices\n3" in figures
        assert page.locator("svg rect").count() == 24
        states = page.locator("table", has_text="Companies per state").inner_text()
        assert "done" in states
        page.screenshot(path=str(screenshot_dir / f"console-overview-{width}.png"), full_page=True)
        assert _no_horizontal_overflow(page), width

        page.get_by_role("link", name="Invoices", exact=True).click()
        page.get_by_label("Month").fill("2025-09")
        page.get_by_role("button", name="Filter").click()
        rows = page.locator("table tbody tr")
        assert rows.count() == len(COMPANIES)
        page.screenshot(path=str(screenshot_dir / f"console-invoices-{width}.png"), full_page=True)
        assert _no_horizontal_overflow(page), width
        rows.filter(has_text="vysedeck").get_by_role("link").click()
        assert page.get_by_role("heading", level=1).inner_text().startswith("Invoice VX/")
        assert "₹ 1,798.32" in page.locator("dl.facts").inner_text()
        assert page.locator("form[method=post]").count() == 1  # sign-out only: no action for a read key
        assert "actions need an admin key" in page.content()
        page.screenshot(path=str(screenshot_dir / f"console-invoice-read-{width}.png"), full_page=True)
        assert _no_horizontal_overflow(page), width


def test_an_admin_voids_with_reissue_and_records_a_part_payment(billed, new_page, screenshot_dir):
    page = new_page(width=1280)
    sign_in(page, billed.base, API_KEY)
    detail = f"{billed.base}/console/invoices/vysedeck/2025-09"
    page.goto(detail)
    first = page.get_by_role("heading", level=1).inner_text().removeprefix("Invoice ")

    page.get_by_label("Reason (printed on the credit note)").fill("Rate per minute was wrong")
    page.get_by_label("Reissue the month's invoice").check()
    page.get_by_role("button", name="Void", exact=True).click()
    page.wait_for_url(f"{detail}?done=void")
    assert "The invoice was voided." in page.locator("[role=status]").inner_text()
    reissue = page.get_by_role("heading", level=1).inner_text().removeprefix("Invoice ")
    assert reissue != first
    history = page.locator("section", has=page.locator("#history")).inner_text()
    assert first in history and "void" in history and "Rate per minute was wrong" in history

    page.get_by_label("Amount (₹)").fill("1000")
    page.get_by_label("Date").fill(date.today().isoformat())
    page.get_by_label("Reference (UTR or cheque number)").fill("UTR" + uuid.uuid4().hex[:10].upper())
    page.get_by_role("button", name="Record payment").click()
    page.wait_for_url(f"{detail}?done=payment")
    facts = page.locator("dl.facts").inner_text()
    assert "partially paid" in facts and "₹ 798.32" in facts  # 1,798.32 - 1,000.00

    page.get_by_label("Amount (₹)").fill("5000")
    page.get_by_label("Reference (UTR or cheque number)").fill("UTR" + uuid.uuid4().hex[:10].upper())
    page.get_by_role("button", name="Record payment").click()
    alert = page.locator("[role=alert]").inner_text()
    assert "has a balance of 798.32" in alert  # the API's detail, shown on the page
    page.goto(detail)
    page.screenshot(path=str(screenshot_dir / "console-invoice-1280.png"), full_page=True)
    pdf = page.request.get(billed.base + page.locator("object.pdf").get_attribute("data"))  # what the page embeds
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline") and pdf.body().startswith(b"%PDF")
    assert page.context.request.get(f"{billed.base}/billing/invoices/vysedeck/2025-09/pdf").status == 401

    phone = new_page(width=360)
    sign_in(phone, billed.base, API_KEY)
    phone.goto(detail)
    assert "partially paid" in phone.locator("dl.facts").inner_text()
    phone.screenshot(path=str(screenshot_dir / "console-invoice-360.png"), full_page=True)
    assert _no_horizontal_overflow(phone)

    page.goto(f"{billed.base}/console/invoices?month=2025-09&paymentStatus=partially_paid")
    rows = page.locator("table tbody tr")
    assert rows.count() == 1 and reissue in rows.inner_text()
    page.goto(f"{billed.base}/console/invoices?month=2025-09&status=void")
    assert first in page.locator("table tbody").inner_text()
    page.goto(f"{billed.base}/console?month=2025-09")
    figures = page.locator("dl.figures").inner_text().lower()
    assert "collected\n₹ 1,000.00" in figures  # from the month totals
    totals = [billed.json("GET", f"/billing/invoices/{c}/2025-09")[1]["totalAmount"] for c in sorted(COMPANIES)]
    invoiced = f"{sum(round(t * 100) for t in totals) / 100:,.2f}"  # under 1 lakh: the groupings agree
    assert f"invoiced\n₹ {invoiced}" in figures  # the void left it, its reissue came in
    page.keyboard.press("Tab")  # the first stop is the skip link, then the brand and the navigation
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    stored = billed.db.collection("receivables").document("vysedeck_2025-09_r1").get().to_dict()
    assert stored["paymentStatus"] == "partially_paid" and stored["paidPaise"] == 100000
    page.goto(f"{billed.base}/console/ageing")
    assert "All companies" in page.locator("table").inner_text()


def test_a_cross_site_form_post_is_refused(billed, new_page):
    page = new_page(width=1280)
    sign_in(page, billed.base, API_KEY)
    cookies = page.context.cookies()
    session = next(c for c in cookies if c["name"] == "billing_console")
    assert session["httpOnly"] and session["sameSite"] == "Strict" and API_KEY not in session["value"]

    def stored() -> dict:
        status, body = billed.json("GET", "/billing/invoices/vysedeck/2025-09")
        assert status == 200
        return {k: v for k, v in body.items() if k != "downloadLinks"}  # signed links carry the time

    before = stored()
    answer = page.request.post(f"{billed.base}/console/invoices/vysedeck/2025-09/send",
                               form={"csrf": "forged"}, max_redirects=0)
    assert answer.status == 403
    assert stored() == before


def _no_horizontal_overflow(page) -> bool:
    """Nothing but the tables' own scroll boxes is wider than the viewport."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
