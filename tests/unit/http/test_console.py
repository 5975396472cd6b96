"""The operator console in this process over the fakes (DESIGN 16): no page without a session, no
POST without the session's CSRF token or from another site, read keys see and admins act, and a
tampered, expired or revoked session is refused. Every refusal writes nothing."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from billing.entrypoints.http.console import session as sessions
from billing.entrypoints.http.console.views import RULES
from http_inprocess import NOW, SETTINGS, World

SECRET_KEY = "console-test-signing-key-0123456789abcdef"
CONSOLE_SETTINGS = replace(SETTINGS, link_signing_key=SECRET_KEY)
ARGS = {"company": "vysedeck", "period": "2025-09", "kind": "pdf", "action": "payment"}
ACTIONS = ("send", "void", "credit-note", "debit-note", "payment")


@pytest.fixture
def world() -> World:
    return World(settings=CONSOLE_SETTINGS)


def sign_in(world: World, key: str, prefix: str = "") -> str:
    """Signs the client in; returns the CSRF token of its session (read from a page's sign-out form)."""
    form = world.client.get(f"{prefix}/console/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    answer = world.client.post(f"{prefix}/console/sign-in", data={"csrf": token, "key": key})
    assert answer.status_code == 303, answer.text
    page = world.client.get(f"{prefix}/console/companies")
    assert page.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def concrete_urls() -> list[tuple[str, str]]:
    """(method, url) of every console rule except sign-in and the stylesheet."""
    found = []
    for rule in RULES.iter_rules():
        if rule.endpoint in ("sign_in", "css"):
            continue
        url = rule.rule
        for name, value in ARGS.items():
            url = url.replace(f"<{name}>", value)
        url = re.sub(r"<any\([^)]*\):kind>", "pdf", url)
        url = re.sub(r"<any\([^)]*\):action>", "payment", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, url))
    return found


def payment_form(csrf: str, **extra: str) -> dict[str, str]:
    return {"csrf": csrf, "amount": "100.50", "date": "2025-12-02", "reference": "UTR0000042", "mode": "neft",
            **extra}


@pytest.mark.parametrize("prefix", ["", "/billing-api"])
def test_every_console_route_refuses_without_a_session(world, prefix):
    before = world.state()
    urls = concrete_urls()
    assert len(urls) >= 10
    for method, url in urls:
        answer = world.client.open(prefix + url, method=method, data={"amount": "1"})
        if method == "GET":
            assert answer.status_code == 303, url
            assert answer.headers["Location"] == f"{prefix}/console/sign-in"
        else:
            assert answer.status_code == 401, url
    assert world.state() == before


def test_sign_in_gives_an_httponly_strict_cookie_without_the_key(world):
    form = world.client.get("/console/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    answer = world.client.post("/console/sign-in", data={"csrf": token, "key": "read-key"})
    assert answer.status_code == 303
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith(f"{sessions.COOKIE}="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Max-Age=28800" in cookie and "Secure" not in cookie  # the base URL is http here
    assert "read-key" not in cookie
    assert world.client.get("/console").status_code == 200


def test_the_cookie_is_secure_and_prefixed_when_the_public_base_url_is(world):
    world.container.settings = replace(CONSOLE_SETTINGS, public_base_url="https://billing.example/billing-api")
    form = world.client.get("/billing-api/console/sign-in")
    assert 'action="/billing-api/console/sign-in"' in form.text
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    answer = world.client.post("/billing-api/console/sign-in", data={"csrf": token, "key": "admin-key"},
                               headers={"Origin": "https://billing.example"})
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith(f"{sessions.COOKIE}="))
    assert "Secure" in cookie and "Path=/billing-api/console" in cookie
    assert answer.headers["Location"] == "/billing-api/console"


def test_a_wrong_key_or_a_sign_in_without_its_form_token_gets_no_session(world):
    form = world.client.get("/console/sign-in")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    wrong = world.client.post("/console/sign-in", data={"csrf": token, "key": "not-a-key"})
    assert wrong.status_code == 401 and "That key is not valid." in wrong.text
    assert not any(c.startswith(f"{sessions.COOKIE}=") for c in wrong.headers.getlist("Set-Cookie"))
    forged = world.client.post("/console/sign-in", data={"csrf": "0" * 64, "key": "admin-key"})
    assert forged.status_code == 403
    assert world.client.get("/console").status_code == 303


@pytest.mark.parametrize("action", ACTIONS)
def test_a_post_without_or_with_a_wrong_csrf_token_is_403_and_writes_nothing(world, action):
    csrf = sign_in(world, "admin-key")
    before = world.state()
    url = f"/console/invoices/vysedeck/2025-09/{action}"
    body = {**payment_form(csrf), "invoiceNumber": world.september["invoiceNumber"], "reason": "Test",
            "reissue": "yes", "basis": "minutes", "minutes": "1"}
    for data in ({k: v for k, v in body.items() if k != "csrf"}, {**body, "csrf": csrf[:-1] + ("1" if csrf.endswith("0") else "0")},
                 {**body, "csrf": ""}):
        assert world.client.post(url, data=data).status_code == 403
    cross_site = world.client.post(url, data=body, headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    fetch_site = world.client.post(url, data=body, headers={"Sec-Fetch-Site": "cross-site"})
    assert fetch_site.status_code == 403
    assert world.state() == before


def test_a_read_key_sees_every_page_but_no_action_form_and_gets_403_on_actions(world):
    csrf = sign_in(world, "read-key")
    before = world.state()
    for url in ("/console", "/console?month=2025-09", "/console/invoices?month=2025-09",
                "/console/invoices/vysedeck/2025-09", "/console/companies", "/console/companies/vysedeck",
                "/console/ageing"):
        page = world.client.get(url)
        assert page.status_code == 200, url
        actions = re.findall(r'<form[^>]*method="post"[^>]*action="([^"]+)"', page.text)
        assert actions == ["/console/sign-out"], (url, actions)
    for action in ACTIONS:
        answer = world.client.post(f"/console/invoices/vysedeck/2025-09/{action}",
                                   data={**payment_form(csrf), "invoiceNumber": world.september["invoiceNumber"],
                                         "reason": "x", "basis": "minutes", "minutes": "1"})
        assert answer.status_code == 403, action
    edit = world.client.post("/console/companies/vysedeck", data={"csrf": csrf, "document": "{}"})
    assert edit.status_code == 403
    assert world.state() == before


def test_a_tampered_an_expired_or_a_revoked_session_is_refused(world):
    secret = sessions.console_secret(CONSOLE_SETTINGS)
    assert secret is not None
    now = NOW.timestamp()
    good = sessions.issue(secret, "admin-key", now)

    def status(cookie: str) -> int:
        world.client.set_cookie(sessions.COOKIE, cookie, path="/console")
        return world.client.get("/console/companies").status_code

    assert status(good) == 200
    fp, expires, nonce, signature = good.split(".")
    assert status(f"{fp}.{int(expires) + 3600}.{nonce}.{signature}") == 303  # a longer life, same signature
    assert status(f"{fp}.{expires}.{nonce}.{signature[:-1]}{'0' if signature[-1] != '0' else '1'}") == 303
    assert status(".".join([fp, expires, nonce])) == 303
    assert status(sessions.issue(secret, "admin-key", now - sessions.SESSION_SECONDS - 1)) == 303  # expired
    other = sessions.console_secret(replace(CONSOLE_SETTINGS, link_signing_key="another-key-" + "x" * 32))
    assert other is not None
    assert status(sessions.issue(other, "admin-key", now)) == 303  # signed with another secret
    assert status(good) == 200
    world.container.settings = replace(CONSOLE_SETTINGS, admin_keys=("new-admin-key",))  # the key was removed
    assert status(good) == 303


def test_a_demoted_key_keeps_its_session_with_its_new_role_only(world):
    sign_in(world, "admin-key")
    assert "/void" in world.client.get("/console/invoices/vysedeck/2025-09").text
    world.container.settings = replace(CONSOLE_SETTINGS, admin_keys=(), read_keys=("read-key", "admin-key"))
    page = world.client.get("/console/invoices/vysedeck/2025-09")
    assert page.status_code == 200 and "/void" not in page.text


def test_the_console_is_off_without_a_signing_key():
    world = World()
    assert world.client.get("/console/sign-in").status_code == 503


def test_admin_records_a_part_payment_then_an_overpayment_is_refused_with_the_apis_detail(world):
    csrf = sign_in(world, "admin-key")
    url = "/console/invoices/vysedeck/2025-09"
    done = world.client.post(f"{url}/payment", data=payment_form(csrf))
    assert done.status_code == 303 and done.headers["Location"] == f"{url}?done=payment"
    page = world.client.get(done.headers["Location"])
    assert "The payment was recorded." in page.text and "UTR0000042" in page.text
    assert "partially paid" in page.text
    before = world.state()
    over = world.client.post(f"{url}/payment", data=payment_form(csrf, amount="99999", reference="UTR0000043"))
    assert over.status_code == 422
    assert "has a balance of" in over.text and 'role="alert"' in over.text
    assert 'value="UTR0000043"' in over.text  # the form keeps what was typed
    assert world.state() == before


def test_admin_voids_with_reissue_through_the_same_service(world):
    csrf = sign_in(world, "admin-key")
    url = "/console/invoices/vysedeck/2025-09"
    number = world.september["invoiceNumber"]
    missing = world.client.post(f"{url}/void", data={"csrf": csrf, "invoiceNumber": number, "reason": " "})
    assert missing.status_code == 422 and "reason is required" in missing.text
    done = world.client.post(f"{url}/void", data={"csrf": csrf, "invoiceNumber": number,
                                                  "reason": "Wrong rate", "reissue": "yes"})
    assert done.status_code == 303
    page = world.client.get(done.headers["Location"]).text
    assert "The invoice was voided." in page
    current = world.container.queries.current("vysedeck", "2025-09").document
    assert current["status"] == "issued" and current["invoiceNumber"] != number
    assert f"Invoice {current['invoiceNumber']}" in page and "Wrong rate" in page


def test_admin_issues_a_debit_note_once_for_one_form(world):
    csrf = sign_in(world, "admin-key")
    url = "/console/invoices/vysedeck/2025-09"
    form = {"csrf": csrf, "invoiceNumber": world.september["invoiceNumber"], "reason": "Late calls",
            "basis": "minutes", "minutes": "2", "idempotencyKey": "form-1"}
    assert world.client.post(f"{url}/debit-note", data=form).status_code == 303
    assert world.client.post(f"{url}/debit-note", data=form).status_code == 303  # a double submit
    notes = world.container.adjustments.list("debit", "vysedeck")
    assert len(notes) == 1
    assert notes[0]["debitNoteNumber"] in world.client.get(url).text


def test_the_company_edit_is_validated_like_the_api_and_writes_nothing_on_error(world):
    csrf = sign_in(world, "admin-key")
    before = world.state()
    bad_json = world.client.post("/console/companies/vysedeck", data={"csrf": csrf, "document": "{not json"})
    assert bad_json.status_code == 422 and "must be JSON" in bad_json.text
    doc: dict[str, Any] = dict(world.container.companies.get("vysedeck").document)
    wrong_type = world.client.post("/console/companies/vysedeck",
                                   data={"csrf": csrf, "document": _json({**doc, "active": "false"})})
    assert wrong_type.status_code == 422 and "active" in wrong_type.text
    assert world.state() == before
    saved = world.client.post("/console/companies/vysedeck",
                              data={"csrf": csrf, "document": _json({**doc, "billingEmail": "ap@vysedeck.example"})})
    assert saved.status_code == 303
    assert world.container.companies.get("vysedeck").document["billingEmail"] == "ap@vysedeck.example"


def _json(doc: dict[str, Any]) -> str:
    import json

    return json.dumps(doc)


def test_pages_show_indian_amounts_and_printed_dates_and_escape_text(world):
    sign_in(world, "read-key")
    page = world.client.get("/console/invoices/vysedeck/2025-09").text
    assert "₹ 1,798.32" in page and "01 Sep 2025" in page
    bad = world.client.get("/console/invoices?month=2025-09&status=<script>")
    assert bad.status_code == 422 and "<script>" not in bad.text and "&lt;script&gt;" in bad.text


def test_overview_figures_come_from_the_month_totals(world):
    sign_in(world, "read-key")
    receivables = [r for r in world.container.receivables_repo.docs.values() if r["period"] == "2025-09"]
    month = world.container.console_reads.months("2025-09", 12)[-1]
    assert month["invoicedPaise"] == sum(r["netPaise"] for r in receivables)
    assert month["collectedPaise"] == sum(r["paidPaise"] + r["tdsPaise"] for r in receivables) == 50000
    assert month["outstandingPaise"] == sum(r["balancePaise"] for r in receivables)
    august = world.container.console_reads.months("2025-08", 1)[-1]
    assert august["invoicedPaise"] == sum(r["netPaise"] for r in world.container.receivables_repo.docs.values()
                                          if r["period"] == "2025-08")  # the void counts nothing, its reissue counts
    page = world.client.get("/console?month=2025-09").text
    assert "₹ 500.00" in page and page.count("<rect") == 24


def test_the_invoice_list_pages_by_token_and_filters(world):
    reads = world.container.console_reads
    seen, token = [], None
    while True:
        page = reads.invoice_page("2025-08", None, None, token, NOW.date(), size=1)
        seen += [row["invoice"]["invoiceNumber"] for row in page["rows"]]
        token = page["nextPageToken"]
        if token is None:
            break
    august = [d for d in world.container.invoices.docs.values() if d["billingPeriod"]["month"] == "2025-08"]
    assert len(seen) == len(august) == 2 and len(set(seen)) == 2
    void = reads.invoice_page("2025-08", "void", None, None, NOW.date())["rows"]
    assert [r["invoice"]["status"] for r in void] == ["void"]
    partly = reads.invoice_page("2025-09", "issued", "partially_paid", None, NOW.date())["rows"]
    assert [r["invoice"]["companyId"] for r in partly] == ["vysedeck"]
    sign_in(world, "read-key")
    listed = world.client.get("/console/invoices?month=2025-09&paymentStatus=unpaid").text
    assert "webxpress" in listed and ">vysedeck<" not in listed
    assert world.client.get("/console/invoices?month=2025-09&pageToken=../x").status_code == 422
