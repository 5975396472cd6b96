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
from aiosmtpd.controller import Controller

import emulators
from billing.config import Settings
from billing.seed import seed_demo
from e2e_support import API_KEY, Api, server_env, start_server

pytestmark = pytest.mark.emulators

LINK_KEY = "link-key-" + uuid.uuid4().hex


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content or envelope.content)
        return "250 Message accepted"


@pytest.fixture
def mail_server(firestore_emulator, storage_emulator, tmp_path):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, storage

    inbox, smtp_port = Inbox(), emulators.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    project, bucket = f"links-{uuid.uuid4().hex[:8]}", f"links-{uuid.uuid4().hex[:8]}"
    gcs = storage.Client(project=project, credentials=AnonymousCredentials())
    gcs.create_bucket(bucket)
    port = emulators.free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(project, bucket, {
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_SECURITY": "none",
        "SMTP_FROM": "billing@voxa.example", "BILLING_PUBLIC_BASE_URL": base,
        "BILLING_LINK_SIGNING_KEY": LINK_KEY,
    })
    record = start_server(env, tmp_path / "http.log", port=port)
    db = firestore.Client(project=project, credentials=AnonymousCredentials())
    yield Api(base, API_KEY, project, bucket, db, gcs), inbox
    emulators.stop(record)
    controller.stop()


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
