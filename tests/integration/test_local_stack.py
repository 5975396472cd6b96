"""`make up` serves the whole Scheduler -> Pub/Sub -> functions path on a laptop; `make down` stops it.

The stack runs as a subprocess on free ports with its own state directory, so it never touches
the test session's emulators or a developer's running stack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import emulators

pytestmark = pytest.mark.emulators

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "infra" / "local" / "stack.py"


def _stack(command: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, str(STACK), command], env=env, capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0 or command == "status", result.stdout + result.stderr
    return result.stdout


def _post(url: str, key: str) -> tuple[int, dict]:
    req = urllib.request.Request(url, method="POST", data=b"", headers={"X-API-Key": key})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_manual_run_on_the_local_stack_goes_through_pubsub_to_the_worker(tmp_path):
    names = ("FIRESTORE", "PUBSUB", "STORAGE", "HTTP", "TRIGGER", "WORKER", "DEAD_LETTER", "SEQUENCER")
    ports = {name: emulators.free_port() for name in names}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BILLING_") and not k.endswith("_EMULATOR_HOST")}
    env.update({f"BILLING_{name}_PORT": str(port) for name, port in ports.items()})
    env.update({"BILLING_STACK_DIR": str(tmp_path / "stack"), "GOOGLE_CLOUD_PROJECT": "stack-test",
                "BILLING_API_KEYS": "read-key", "BILLING_ADMIN_KEYS": "stack-key"})
    try:
        out = _stack("up", env)
        assert "billing-company-invoice" in out and f"127.0.0.1:{ports['WORKER']}" in out
        cli_env = {**env, "FIRESTORE_EMULATOR_HOST": f"127.0.0.1:{ports['FIRESTORE']}"}
        seeded = subprocess.run([str(Path(sys.executable).parent / "billing"), "seed-demo"], env=cli_env,
                                capture_output=True, text=True, timeout=120)
        assert seeded.returncode == 0, seeded.stderr

        base = f"http://127.0.0.1:{ports['HTTP']}"
        status, body = _post(f"{base}/billing/run?month=9&year=2025", "stack-key")
        assert status == 202 and body["mode"] == "pubsub", body
        deadline = time.monotonic() + 120
        while True:
            req = urllib.request.Request(f"{base}/billing/runs/2025-09", headers={"X-API-Key": "stack-key"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    run = json.loads(resp.read())
                if run["counts"]["done"] == 3:
                    break
            except urllib.error.HTTPError as err:
                assert err.code == 404  # until the trigger function has written the run
            assert time.monotonic() < deadline, "the run did not finish through Pub/Sub"
            time.sleep(1)
        assert run["counts"]["failed"] == 0 and run["fanout"]["published"] == 3
    finally:
        out = _stack("down", env)
    assert "worker      stopped" in out and "trigger     stopped" in out
    for port in ports.values():
        assert not emulators.port_open(port)
