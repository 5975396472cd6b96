"""Links (DESIGN.md section 10): from BILLING_PUBLIC_BASE_URL where set, else from a well-formed Host /
X-Forwarded-Prefix; a signed link serves only the document it was made for."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from http_inprocess import SETTINGS, World

ADMIN = {"X-API-Key": "admin-key"}
LINK_KEY = "0123456789abcdef0123456789abcdef"


def links_of(world: World, headers: dict[str, str] | None = None, url: str = "/billing/invoices/vysedeck/2025-09"):
    response = world.client.get(url, headers={**ADMIN, **(headers or {})})
    return response.status_code, (response.get_json() or {})


def test_the_public_base_url_wins_over_the_callers_headers():
    world = World(settings=replace(SETTINGS, public_base_url="https://billing.voxa.example/billing-api"))
    status, body = links_of(world, {"Host": "evil.example", "X-Forwarded-Prefix": "@evil.example"})
    assert status == 200
    assert body["downloadLinks"]["pdf"] == \
        "https://billing.voxa.example/billing-api/billing/invoices/vysedeck/2025-09/pdf"
    response = world.client.post("/billing/run?month=11&year=2025", headers={**ADMIN, "Host": "evil.example"})
    assert response.headers["Location"] == "https://billing.voxa.example/billing-api/billing/runs/2025-11"


@pytest.mark.parametrize("headers", [{"X-Forwarded-Prefix": "@evil.example"}, {"X-Forwarded-Prefix": "//evil.example"},
                                     {"X-Forwarded-Prefix": "/a?b"}, {"Host": "127.0.0.1:18000@evil.example"},
                                     {"Host": "evil.example/x"}])
def test_without_it_a_malformed_prefix_or_host_is_refused(headers):
    world = World()
    status, body = links_of(world, headers)
    assert status == 400 and set(body) == {"detail"}


def test_without_it_local_links_follow_a_well_formed_request():
    world = World()
    status, body = links_of(world, {"Host": "127.0.0.1:18000", "X-Forwarded-Prefix": "/billing-api"})
    assert status == 200
    assert body["downloadLinks"]["csv"] == "http://127.0.0.1:18000/billing-api/billing/invoices/vysedeck/2025-09/csv"


def test_a_signed_link_does_not_serve_the_reissue():
    world = World(settings=replace(SETTINGS, link_signing_key=LINK_KEY))
    _, body = links_of(world)
    old = body["downloadLinks"]["pdf"]
    parts = urlsplit(old)
    assert "doc=vysedeck_2025-09" in parts.query
    opened = world.client.get(f"{parts.path}?{parts.query}")
    assert opened.status_code == 200 and opened.data.startswith(b"PDF ")
    # the doc parameter is signed: pointing it elsewhere breaks the signature
    tampered = world.client.get(f"{parts.path}?{parts.query.replace('doc=vysedeck_2025-09', 'doc=vysedeck_2025-09_r1')}")
    assert tampered.status_code == 403
    number = world.september["invoiceNumber"]
    voided = world.client.post("/billing/invoices/vysedeck/2025-09/void", headers=ADMIN,
                               json={"invoiceNumber": number, "reason": "Wrong rate", "reissue": True})
    assert voided.status_code == 200 and voided.get_json()["reissued"]["invoiceNumber"] != number
    stale = world.client.get(f"{parts.path}?{parts.query}")
    assert stale.status_code == 403 and "voided and reissued" in stale.get_json()["detail"]
    _, body = links_of(world)
    fresh = urlsplit(body["downloadLinks"]["pdf"])
    assert "doc=vysedeck_2025-09_r1" in fresh.query
    assert world.client.get(f"{fresh.path}?{fresh.query}").status_code == 200
