"""Bounded waits (DESIGN.md section 10): the Firestore emulator, and separately fake-gcs-server, stopped
under a running functions-framework server. Reads and generate answer 503 + Retry-After JSON within
the dependency deadline (the client gives up well before the SDKs' default 270 s of retries), write
nothing half, and the server serves again once the dependency is back.

The test starts its own emulators (stopping the session's would break other tests). Both keep their
data in memory, so after a restart the test seeds again; the point is that the same server process
(same clients, same channels) recovers.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

import emulators
from billing.config import Settings
from billing.seed import seed_demo
from e2e_support import Api, API_KEY, server_env, start_server

pytestmark = pytest.mark.emulators

DEADLINE = 4  # BILLING_DEPENDENCY_TIMEOUT_SECONDS here (default 10): a short outage test
CLIENT_TIMEOUT = 3 * DEADLINE + 5  # an answer after this is as good as none (the old code took 273 s)


@pytest.fixture
def stack(tmp_path, pubsub_emulator, monkeypatch):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, storage

    fs = emulators.start_firestore(emulators.free_port(), tmp_path)
    gcs = emulators.start_storage(emulators.free_port(), tmp_path)
    project, bucket = f"outage-{uuid.uuid4().hex[:8]}", f"outage-{uuid.uuid4().hex[:8]}"
    env = server_env(project, bucket, {
        "FIRESTORE_EMULATOR_HOST": fs.host, "STORAGE_EMULATOR_HOST": gcs.url,
        "BILLING_DEPENDENCY_TIMEOUT_SECONDS": str(DEADLINE),
    })
    server = start_server(env, tmp_path / "http.log")

    class Stack:
        firestore, storage = fs, gcs
        api = Api(f"http://127.0.0.1:{server.port}", API_KEY, project, bucket, None, None)

        def clients(self):
            """Fresh SDK clients of the test's own emulators (the server keeps its clients)."""
            monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.url)
            monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", fs.host)
            db = firestore.Client(project=project, credentials=AnonymousCredentials())
            client = storage.Client(project=project, credentials=AnonymousCredentials())
            self.api.db, self.api.storage = db, client
            return db, client

        def seed(self):
            db, client = self.clients()
            if client.lookup_bucket(bucket) is None:
                client.create_bucket(bucket)
            seed_demo(db, Settings(project=project, bucket=bucket))

    s = Stack()
    s.seed()
    yield s
    for emu in (server, s.firestore, s.storage):  # the restarted ones, where a test restarted them
        emulators.stop(emu)


def call(api: Api, method: str, path: str):
    """(status, JSON body, headers); urllib's own timeout bounds the wait."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(api.base + path, method=method, headers={"X-API-Key": api.key},
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=CLIENT_TIMEOUT) as resp:
            return resp.status, json.loads(resp.read() or b"null"), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null"), dict(err.headers)


def assert_unavailable(result):
    status, body, headers = result
    assert status == 503, body
    assert body == {"detail": body["detail"]} and "unavailable" in body["detail"].lower()
    assert headers["Content-Type"] == "application/json" and int(headers["Retry-After"]) > 0


def test_firestore_down_is_a_fast_503_and_the_server_recovers(stack):
    api = stack.api
    status, september, _ = call(api, "POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200 and september["status"] == "issued"
    objects = sorted(b.name for b in api.storage.bucket(api.bucket).list_blobs())

    emulators.stop(stack.firestore)
    assert_unavailable(call(api, "GET", "/billing/invoices/vysedeck/2025-09"))
    assert_unavailable(call(api, "GET", "/billing/invoices/vysedeck"))
    assert_unavailable(call(api, "POST", "/billing/generate/vysedeck?month=8&year=2025"))
    assert_unavailable(call(api, "GET", "/billing/preview/vysedeck?month=8&year=2025"))
    assert call(api, "GET", "/")[0] == 200  # what needs no database still answers
    # nothing was half-written to Storage while Firestore was away (August was never staged)
    assert sorted(b.name for b in api.storage.bucket(api.bucket).list_blobs()) == objects

    stack.firestore = emulators.start_firestore(stack.firestore.port, Path(stack.firestore.log).parent)
    stack.seed()  # the emulator keeps data in memory: the restarted one is empty
    status, august, _ = call(api, "POST", "/billing/generate/vysedeck?month=8&year=2025")
    assert status == 200 and august["status"] == "issued", august
    status, read, _ = call(api, "GET", "/billing/invoices/vysedeck/2025-08")
    assert status == 200 and read["invoiceNumber"] == august["invoiceNumber"]


def test_storage_down_is_a_fast_503_writes_no_invoice_and_the_server_recovers(stack):
    api = stack.api
    status, september, _ = call(api, "POST", "/billing/generate/vysedeck?month=9&year=2025")
    assert status == 200

    emulators.stop(stack.storage)
    assert_unavailable(call(api, "GET", "/billing/invoices/vysedeck/2025-09/pdf"))
    assert_unavailable(call(api, "POST", "/billing/generate/vysedeck?month=8&year=2025"))
    # the August invoice was never drafted: its CSV could not be staged, so no document exists
    assert api.db.collection("invoices").document("vysedeck_2025-08").get().to_dict() is None
    assert call(api, "GET", "/billing/invoices/vysedeck/2025-09")[0] == 200  # Firestore reads still work

    stack.storage = emulators.start_storage(stack.storage.port, Path(stack.storage.log).parent)
    stack.seed()  # recreates the (in-memory) bucket
    status, august, _ = call(api, "POST", "/billing/generate/vysedeck?month=8&year=2025")
    assert status == 200 and august["status"] == "issued", august
    status, body, _ = api.request("GET", "/billing/invoices/vysedeck/2025-08/csv")
    assert status == 200 and b"," in body.splitlines()[0], body[:200]
