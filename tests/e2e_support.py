"""Helpers for the end-to-end tests: a client for the HTTP function, starting functions-framework."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import emulators

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "test-key-" + uuid.uuid4().hex[:8]  # an admin key: the e2e tests exercise every route
READ_KEY = "read-key-" + uuid.uuid4().hex[:8]  # generate/read/download only
ADMIN_KEY = "test-admin-" + uuid.uuid4().hex[:8]


@dataclass
class Api:
    """Talks to the running server over real HTTP."""

    base: str
    key: str
    project: str
    bucket: str
    db: object
    storage: object

    def request(self, method: str, path: str, key: str | None = ..., headers: dict | None = None):
        hdrs = dict(headers or {})
        if key is ...:
            key = self.key
        if key is not None:
            hdrs["X-API-Key"] = key
        req = urllib.request.Request(self.base + path, method=method, headers=hdrs, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as err:
            return err.code, err.read(), dict(err.headers)

    def json(self, method: str, path: str, **kw):
        status, body, _ = self.request(method, path, **kw)
        return status, json.loads(body) if body else None

    def objects(self) -> dict[str, bytes]:
        bucket = self.storage.bucket(self.bucket)
        return {b.name: b.download_as_bytes() for b in bucket.list_blobs()}


def server_env(project: str, bucket: str, extra: dict | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLING_")}
    env.update({
        "GOOGLE_CLOUD_PROJECT": project,
        "BILLING_BUCKET": bucket,
        "BILLING_API_KEYS": f"other-key,{READ_KEY}",
        "BILLING_ADMIN_KEYS": API_KEY,
        "PYTHONPATH": str(ROOT / "shared"),
    })
    env.update(extra or {})
    return env


def admin_env(extra: dict | None = None) -> dict[str, str]:
    """Extra server environment with an admin key: ADMIN_KEY in BILLING_ADMIN_KEYS (run, void, send),
    and in BILLING_API_KEYS too, so a server that reads only that variable accepts it as well."""
    return {"BILLING_API_KEYS": f"other-key,{API_KEY},{ADMIN_KEY}", "BILLING_ADMIN_KEYS": ADMIN_KEY, **(extra or {})}


def start_server(env: dict[str, str], log_path: Path, source: Path | None = None, cwd: Path | None = None,
                 target: str = "billing_http", signature: str | None = None, port: int | None = None):
    port = port or emulators.free_port()
    argv = [
        str(Path(sys.executable).parent / "functions-framework"),
        "--source", str(source or ROOT / "functions" / "main.py"),
        "--target", target, "--host", "127.0.0.1", "--port", str(port),
    ]
    if signature:
        argv += ["--signature-type", signature]
    log = open(log_path, "ab")
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd or ROOT,
                            start_new_session=True)
    record = emulators.Emulator(target, port, proc.pid, str(log_path))
    probe = "/" if signature is None else None
    if probe:
        emulators.wait_until(lambda: emulators.http_ok(f"http://127.0.0.1:{port}/"), target, 60, record)
    else:
        emulators.wait_until(lambda: emulators.port_open(port), target, 60, record)
    return record




class Inbox:
    """An aiosmtpd handler that keeps every message it accepts (raw bytes)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.original_content or envelope.content)
        return "250 Message accepted"


@contextmanager
def server_with_mail(tmp_path: Path, name: str, extra_env: dict | None = None) -> Iterator[tuple[Api, Inbox]]:
    """A server of its own (project and bucket named `name-...`) whose emails go to an SMTP sink on
    loopback, its public base URL its own address (links in the emails open it)."""
    from aiosmtpd.controller import Controller
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, storage

    inbox, smtp_port = Inbox(), emulators.free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    project, bucket = f"{name}-{uuid.uuid4().hex[:8]}", f"{name}-{uuid.uuid4().hex[:8]}"
    gcs = storage.Client(project=project, credentials=AnonymousCredentials())
    gcs.create_bucket(bucket)
    port = emulators.free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(project, bucket, {
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port), "SMTP_SECURITY": "none",
        "SMTP_FROM": "billing@voxa.example", "BILLING_PUBLIC_BASE_URL": base, **(extra_env or {}),
    })
    record = start_server(env, tmp_path / "http.log", port=port)
    try:
        db = firestore.Client(project=project, credentials=AnonymousCredentials())
        yield Api(base, API_KEY, project, bucket, db, gcs), inbox
    finally:
        emulators.stop(record)
        controller.stop()
