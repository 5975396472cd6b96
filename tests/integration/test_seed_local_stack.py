"""`make up` on an empty database seeds the demo and runs an SMTP sink: the README's first curl works
as printed, and sending an invoice lands in the sink's Maildir. A second `up` seeds nothing.

The stack runs on free ports with its own state directory; the README's command is run with only
its port changed (8000 -> the test's HTTP port).
"""

from __future__ import annotations

import json
import mailbox
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from email.policy import default
from pathlib import Path

import pytest

import emulators

pytestmark = pytest.mark.emulators

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "infra" / "local" / "stack.py"


def readme_first_curl() -> str:
    """The first curl command in README.md, continuation lines joined."""
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^ *(curl (?:[^\n]*\\\n)*[^\n]*)$", text, re.M)
    assert match, "README.md has no curl command"
    return re.sub(r"\\\n\s*", "", match.group(1))


def _stack(command: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, str(STACK), command], env=env, capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_up_seeds_an_empty_database_and_email_reaches_the_sink(tmp_path):
    curl = shutil.which("curl")
    if not curl:
        pytest.skip("curl is not installed")
    command = readme_first_curl()
    assert "127.0.0.1:8000/billing/generate/vysedeck" in command, command

    names = ("FIRESTORE", "PUBSUB", "STORAGE", "HTTP", "TRIGGER", "WORKER", "DEAD_LETTER", "SEQUENCER", "SMTP")
    ports = {name: emulators.free_port() for name in names}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BILLING_", "SMTP_")) and not k.endswith("_EMULATOR_HOST")}
    env.update({f"BILLING_{name}_PORT": str(port) for name, port in ports.items()})
    state = tmp_path / "stack"
    env.update({"BILLING_STACK_DIR": str(state), "GOOGLE_CLOUD_PROJECT": "seed-stack-test"})
    try:
        first = _stack("up", env)
        assert "database    was empty: seeded the demo data" in first, first
        assert f"smtp        up on :{ports['SMTP']}" in first, first

        # The README's command as printed, on the test's port (default keys: local-dev-key).
        result = subprocess.run(["bash", "-c", command.replace("127.0.0.1:8000", f"127.0.0.1:{ports['HTTP']}")],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        invoice = json.loads(result.stdout)
        assert (invoice["companyId"], invoice["totalAmount"]) == ("vysedeck", 1798.32), invoice

        req = urllib.request.Request(f"http://127.0.0.1:{ports['HTTP']}/billing/invoices/vysedeck/2025-09/send",
                                     method="POST", data=b"", headers={"X-API-Key": "local-admin-key"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            assert resp.status == 200
        box = mailbox.Maildir(state / "mail", create=False)
        messages = [box.get_message(key) for key in box.keys()]
        assert len(messages) == 1
        from email import message_from_bytes

        sent = message_from_bytes(messages[0].as_bytes(), policy=default)
        assert sent["To"] == "accounts@vysedeck.example"
        attached = sorted(p.get_filename() for p in sent.iter_attachments())
        assert [name.rsplit("_", 1)[1] for name in attached] == ["calls.csv", "invoice.pdf"], attached
        assert invoice["invoiceNumber"].replace("/", "-") in attached[1]

        again = _stack("up", env)
        assert "database    has data: not seeded" in again and "smtp        already running" in again, again
    finally:
        down = _stack("down", env)
    assert "smtp        stopped" in down
    for port in ports.values():
        assert not emulators.port_open(port)
