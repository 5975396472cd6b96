"""Links in a sent invoice email open without an API key (HMAC-signed); tampered or expired ones are 403."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import urllib.error
import urllib.request
import uuid
from email import message_from_bytes
from email.policy import default

import pytest

from billing.config import Settings
from billing.seed import seed_demo
from e2e_support import server_with_mail

pytestmark = pytest.mark.emulators

LINK_KEY = "link-key-" + uuid.uuid4().hex


@pytest.fixture
def mail_server(firestore_emulator, storage_emulator, tmp_path):
    with server_with_mail(tmp_path, "links", {"BILLING_LINK_SIGNING_KEY": LINK_KEY}) as served:
        yield served


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:  # no X-API-Key: a customer's click
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_email_links_open_without_a_key_and_refuse_tampering(mail_server):
    api, inbox = mail_server
    seed_demo(api.db, Settings(project=api.project))
    assert api.json("POST", "/billing/generate/vysedeck?month=9&year=2025")[0] == 200
    status, body = api.json("POST", "/billing/invoices/vysedeck/2025-09/send")
    assert status == 200 and body["status"] == "sent", body
    email = message_from_bytes(inbox.messages[-1], policy=default)
    text = email.get_body(preferencelist=("plain",)).get_content()
    links = {kind: url for url, kind in re.findall(r"(http://\S+/(pdf|csv)\?\S+)", text)}
    assert sorted(links) == ["csv", "pdf"]
    stored = api.objects()
    for kind, url in links.items():
        status, data = fetch(url)
        assert status == 200, data
        assert data == stored[f"invoices/vysedeck/2025-09/vysedeck_2025-09_{'invoice.pdf' if kind == 'pdf' else 'calls.csv'}"]

    tampered = links["pdf"].replace("/pdf?", "/csv?")  # the PDF's signature on the CSV's route
    assert fetch(tampered)[0] == 403
    assert fetch(links["pdf"][:-4] + "0000")[0] == 403
    expired = int(time.time()) - 60
    message = f"vysedeck/2025-09/pdf/{expired}/vysedeck_2025-09".encode()  # bound to the document id
    sig = hmac.new(LINK_KEY.encode(), message, hashlib.sha256).hexdigest()
    status, data = fetch(f"{api.base}/billing/invoices/vysedeck/2025-09/pdf?doc=vysedeck_2025-09&expires={expired}"
                         f"&signature={sig}")
    assert status == 403 and b"expired" in data
    assert fetch(f"{api.base}/billing/invoices/vysedeck/2025-09/pdf")[0] == 401  # no signature, no key
