"""The limits of DESIGN.md section 10 through the real functions-framework server (gunicorn): what only
a real server shows (a streamed body, a request line of any length, startup refusal)."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path

import pytest

from e2e_support import ROOT, server_env
from billing.entrypoints.http.limits import LOGGED_PATH_CHARS, MAX_BODY_BYTES

pytestmark = pytest.mark.emulators


def raw(api, method: str, path: str, body: bytes | None = None, chunked: bool = False, key: str | None = None):
    """(status, headers, JSON body) over one plain HTTP/1.1 connection."""
    host, port = api.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    headers = {"X-API-Key": key or api.key, "Content-Type": "application/json"}
    if chunked:
        conn.putrequest(method, path)
        for name, value in {**headers, "Transfer-Encoding": "chunked"}.items():
            conn.putheader(name, value)
        conn.endheaders()
        step = 16 * 1024
        try:
            for i in range(0, len(body or b""), step):
                part = (body or b"")[i:i + step]
                conn.send(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            conn.send(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered 413 and stopped reading: what we want
    else:
        conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, dict(resp.getheaders()), json.loads(data) if data else None


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_64_kib_is_413_json_and_writes_nothing(api, chunked):
    body = b'{"invoiceNumber": "X", "reason": "' + b"r" * (4 * MAX_BODY_BYTES) + b'"}'
    status, headers, detail = raw(api, "POST", "/billing/invoices/vysedeck/2025-09/void", body, chunked=chunked)
    assert status == 413 and headers["Content-Type"] == "application/json" and "64 KiB" in detail["detail"]
    assert list(api.db.collection("invoices").stream()) == []


def test_deep_json_nesting_is_a_4xx(api):
    status, _, detail = raw(api, "POST", "/billing/invoices/vysedeck/2025-09/void", b"[" * 100_000)
    assert status == 413 and set(detail) == {"detail"}
    status, _, detail = raw(api, "POST", "/billing/invoices/vysedeck/2025-09/void", b"[" * 60_000)
    assert status == 422 and "nest" in detail["detail"]


def test_a_huge_url_without_a_key_is_414_and_logs_a_short_line(api, server_log):
    before = server_log.stat().st_size
    status, headers, detail = raw(api, "GET", "/billing/invoices/" + "a" * 300_000 + "?x=1", key="")
    assert status == 414 and headers["Content-Type"] == "application/json" and set(detail) == {"detail"}
    with open(server_log, "rb") as log:
        log.seek(before)
        lines = log.read().splitlines()
    assert lines and max(len(line) for line in lines) < 4 * LOGGED_PATH_CHARS + 2000


@pytest.mark.parametrize("extra, refusal", [
    ({"BILLING_ENV": "production"}, "BILLING_PUBLIC_BASE_URL must be set"),
    ({"K_SERVICE": "billing-http", "STORAGE_EMULATOR_HOST": ""}, "BILLING_PUBLIC_BASE_URL must be set"),
    ({"BILLING_PUBLIC_BASE_URL": "https://x.example", "BILLING_LINK_SIGNING_KEY": "short"}, "at least 32 bytes"),
])
def test_the_http_function_refuses_to_start_without_safe_link_settings(tmp_path, extra, refusal):
    env = server_env("refuse", "refuse", extra)
    argv = [str(Path(sys.executable).parent / "functions-framework"), "--source", str(ROOT / "functions" / "main.py"),
            "--target", "billing_http", "--port", "0"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode != 0 and refusal in proc.stdout + proc.stderr


def test_event_functions_start_without_a_public_base_url(tmp_path):
    """Only the HTTP function refuses: the event functions share main.py and build no request links."""
    import emulators
    from e2e_support import start_server

    record = start_server(server_env("events", "events", {"BILLING_ENV": "production"}), tmp_path / "worker.log",
                          target="billing_company_worker", signature="cloudevent")
    try:
        assert emulators.port_open(record.port)
    finally:
        emulators.stop(record)
