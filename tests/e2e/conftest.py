"""A real functions-framework server (billing_http) against the session's emulators.

One server per session (one project, one bucket); every test starts from an empty Firestore
(the emulator's reset endpoint) and an empty bucket.
"""

from __future__ import annotations

import urllib.request
import uuid
from pathlib import Path

import pytest

import emulators
from e2e_support import API_KEY, Api, server_env, start_server


@pytest.fixture(scope="session")
def api_server(firestore_emulator, storage_emulator, pubsub_emulator, tmp_path_factory):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, storage

    project = f"e2e-{uuid.uuid4().hex[:8]}"
    bucket = f"e2e-invoices-{uuid.uuid4().hex[:8]}"
    gcs = storage.Client(project=project, credentials=AnonymousCredentials())
    gcs.create_bucket(bucket)
    log_path = tmp_path_factory.mktemp("server") / "http.log"
    record = start_server(server_env(project, bucket), log_path)
    db = firestore.Client(project=project, credentials=AnonymousCredentials())
    yield Api(f"http://127.0.0.1:{record.port}", API_KEY, project, bucket, db, gcs), record
    emulators.stop(record)


@pytest.fixture
def api(api_server, firestore_emulator) -> Api:
    """The server, with an empty database and an empty bucket."""
    server, _ = api_server
    req = urllib.request.Request(
        f"{firestore_emulator.url}/emulator/v1/projects/{server.project}/databases/(default)/documents",
        method="DELETE",
    )
    urllib.request.urlopen(req, timeout=30).read()
    for blob in server.storage.bucket(server.bucket).list_blobs():
        blob.delete()
    return server


@pytest.fixture
def server_log(api_server) -> Path:
    return Path(api_server[1].log)


@pytest.fixture
def make_server(firestore_emulator, storage_emulator, pubsub_emulator, tmp_path):
    """Start another server with its own project, bucket and extra environment (with the Pub/Sub
    emulator too: its environment names it, whichever test this worker happened to run first)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, storage

    started = []

    def make(extra_env: dict | None = None) -> Api:
        project = f"e2e-{uuid.uuid4().hex[:8]}"
        bucket = f"e2e-{uuid.uuid4().hex[:8]}"
        gcs = storage.Client(project=project, credentials=AnonymousCredentials())
        gcs.create_bucket(bucket)
        record = start_server(server_env(project, bucket, extra_env), tmp_path / f"{project}.log")
        started.append(record)
        db = firestore.Client(project=project, credentials=AnonymousCredentials())
        return Api(f"http://127.0.0.1:{record.port}", API_KEY, project, bucket, db, gcs)

    yield make
    for record in started:
        emulators.stop(record)
