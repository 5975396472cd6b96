"""Input hardening (DESIGN.md section 10), in-process over fakes: what the security review found as a 500
(or an unbounded read, or a huge log line) is now a 4xx JSON answer, and nothing is written."""

from __future__ import annotations

import logging

import pytest

from billing.adapters.smtp_mailer import SmtpConfig
from billing.config import Settings
from billing.entrypoints.http.limits import LOGGED_PATH_CHARS, MAX_BODY_BYTES, MAX_JSON_DEPTH
from billing.errors import ConfigurationError
from http_inprocess import SETTINGS, World

LINK_KEY = "k" * 32
ADMIN = {"X-API-Key": "admin-key"}


@pytest.fixture(scope="module")
def world() -> World:
    from dataclasses import replace

    return World(settings=replace(SETTINGS, link_signing_key=LINK_KEY))


def assert_json_error(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"detail"}
    detail: str = body["detail"]
    return detail


@pytest.mark.parametrize("query", ["expires=%C2%B2&signature=ab", "expires=%D9%A3&signature=ab",
                                   "expires=-5&signature=ab"])
def test_a_signed_links_expiry_is_ascii_digits(world, query):
    """'²' passes str.isdigit() and then broke int(): 500 without any key."""
    detail = assert_json_error(world.client.get(f"/billing/invoices/vysedeck/2025-09/pdf?{query}"), 422)
    assert "ASCII digits" in detail


@pytest.mark.parametrize("url", ["/billing/runs/2025-09?pageSize=%C2%B2", "/billing/runs/2025-09?pageSize=%D9%A3",
                                 "/billing/invoices/vysedeck?year=%D9%A2%D9%A0%D9%A2%D9%A5",
                                 "/billing/preview/vysedeck?month=%D9%A3&year=2025"])
def test_numbers_in_the_query_are_ascii_digits(world, url):
    assert "ASCII digits" in assert_json_error(world.client.get(url, headers=ADMIN), 422)


@pytest.mark.parametrize("credit_note_id", ["__x__", "..", "%2E%2E", "vysedeck_2025-08_cn.", "other_2025-08_cn",
                                            "vysedeck_2025-08_r0_cn", "__name__"])
@pytest.mark.parametrize("suffix", ["", "/pdf"])
def test_credit_note_ids_are_validated_before_use(world, credit_note_id, suffix):
    """An unvalidated id reached Firestore (`__x__` is a reserved id there, `..` a path): 500."""
    response = world.client.get(f"/billing/credit-notes/vysedeck/{credit_note_id}{suffix}", headers=ADMIN)
    assert response.status_code in (404, 422)
    assert_json_error(response, response.status_code)


def test_the_real_credit_note_id_passes(world):
    assert world.client.get("/billing/credit-notes/vysedeck/vysedeck_2025-08_cn", headers=ADMIN).status_code == 200


@pytest.mark.parametrize("url", ["/billing/invoices/vysedeck/%D9%A2%D9%A0%D9%A2%D9%A5-09",
                                 "/billing/runs/2025-9", "/billing/gst/gstr1/%C2%B2025-09",
                                 "/billing/invoices/Vysedeck/2025-09/csv"])
def test_every_path_id_is_validated(world, url):
    assert_json_error(world.client.get(url, headers=ADMIN), 422)


def test_a_body_over_64_kib_is_413_before_it_is_read(world):
    before = world.state()
    body = b'{"reason": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    response = world.client.post("/billing/invoices/vysedeck/2025-09/void", data=body, headers=ADMIN,
                                 content_type="application/json")
    assert "64 KiB" in assert_json_error(response, 413)
    assert world.state() == before


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 60_000, 100_000])
def test_deeply_nested_json_is_a_4xx_not_a_recursion_error(world, depth):
    before = world.state()
    response = world.client.post("/billing/invoices/vysedeck/2025-09/void", data=b"[" * depth, headers=ADMIN,
                                 content_type="application/json")
    assert_json_error(response, 422 if depth <= MAX_BODY_BYTES else 413)
    assert world.state() == before


def test_nesting_inside_strings_does_not_count(world):
    number = world.september["invoiceNumber"]
    body = '{"invoiceNumber": "%s", "reason": "%s", "reissue": 1}' % (number, "[" * 400)
    response = world.client.post("/billing/invoices/vysedeck/2025-09/void", data=body, headers=ADMIN,
                                 content_type="application/json")
    assert "reissue" in assert_json_error(response, 422)  # the service's own check, after parsing


def test_a_huge_path_is_414_and_its_log_line_is_short(world, caplog):
    caplog.set_level(logging.INFO, logger="billing.http")
    path = "/billing/invoices/" + "a" * 200_000
    assert_json_error(world.client.get(path), 414)
    assert assert_json_error(world.client.get("/x" + "y" * 900), 404)
    lines = [r.getMessage() for r in caplog.records]
    assert lines and max(len(line) for line in lines) < LOGGED_PATH_CHARS + 200


def test_smtp_refuses_a_password_in_clear_unless_allowed():
    env = {"SMTP_HOST": "relay.example", "SMTP_SECURITY": "none", "SMTP_USERNAME": "apikey",
           "SMTP_PASSWORD": "secret", "SMTP_FROM": "billing@voxa.example"}
    with pytest.raises(ConfigurationError) as err:
        SmtpConfig.from_env(env)
    assert "SMTP_ALLOW_PLAINTEXT_AUTH" in err.value.detail and "secret" not in err.value.detail
    assert SmtpConfig.from_env({**env, "SMTP_ALLOW_PLAINTEXT_AUTH": "true"}) is not None
    assert SmtpConfig.from_env({**env, "SMTP_SECURITY": "starttls"}) is not None
    no_auth = {k: v for k, v in env.items() if not k.startswith("SMTP_USERNAME") and k != "SMTP_PASSWORD"}
    assert SmtpConfig.from_env(no_auth) is not None  # a relay without AUTH on a private network


def test_settings_need_a_public_base_url_in_production_and_a_long_signing_key():
    Settings.from_env({}).check_serving()
    with pytest.raises(ConfigurationError, match="BILLING_PUBLIC_BASE_URL"):
        Settings.from_env({"K_SERVICE": "billing-http"}).check_serving()
    with pytest.raises(ConfigurationError, match="BILLING_PUBLIC_BASE_URL"):
        Settings.from_env({"BILLING_ENV": "production"}).check_serving()
    Settings.from_env({"BILLING_ENV": "production", "BILLING_PUBLIC_BASE_URL": "https://x.example/billing-api"}
                      ).check_serving()
    for bad in ("x.example", "https://x.example/?a=1", "javascript:alert(1)", "https://u:p@x.example"):
        with pytest.raises(ConfigurationError, match="BILLING_PUBLIC_BASE_URL"):
            Settings.from_env({"BILLING_PUBLIC_BASE_URL": bad}).check_serving()
    with pytest.raises(ConfigurationError, match="at least 32 bytes"):
        Settings.from_env({"BILLING_LINK_SIGNING_KEY": "short"}).check_serving()
