"""The folder `make stage` builds serves the HTTP function on its own (the deploy bundle is complete)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

import emulators

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra"))

# Run functions-framework with the repository's copy of `billing` (the editable install's path
# entry) removed, so only the staged folder can provide it.
LAUNCH = (
    "import sys; sys.path[:] = [p for p in sys.path if not p.rstrip('/').endswith('/shared')];"
    "sys.path.insert(0, '.');"
    "import billing; print('billing from', billing.__file__, flush=True);"
    "from functions_framework._cli import _cli; sys.argv = ['functions-framework'] + sys.argv[1:]; _cli()"
)


def test_staged_folder_serves_the_http_function(tmp_path):
    from stage import stage

    bundle = stage(tmp_path / "function")
    assert sorted(p.name for p in bundle.iterdir()) == [".gcloudignore", "billing", "main.py", "requirements.txt", "templates"]
    text = (bundle / "requirements.txt").read_text()
    pins = re.findall(r"^([a-z0-9_.-]+)==(\S+) \\$", text, re.M)  # the hashed lock: every line pinned
    assert text.count("--hash=sha256:") >= len(pins) > 20 and ("functions-framework", "3.10.2") in pins
    names = {name for name, _ in pins}
    assert {"firebase-admin", "babel", "pydantic", "pydantic-core"} <= names and not names & {"tqdm", "google-cloud-scheduler"}
    assert not (bundle / "billing" / "seed.py").exists() and not (bundle / "billing" / "cli.py").exists()

    port = emulators.free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({"BILLING_API_KEYS": "stage-key", "GOOGLE_CLOUD_PROJECT": "stage-test"})
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "--target", "billing_http", "--source", "main.py",
             "--host", "127.0.0.1", "--port", str(port)],
            cwd=bundle, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = emulators.Emulator("staged", port, proc.pid, str(log))
    try:
        emulators.wait_until(lambda: emulators.http_ok(f"http://127.0.0.1:{port}/"), "staged function", 60, server)
        assert f"billing from {bundle}/billing/__init__.py" in log.read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as resp:
            assert json.loads(resp.read()) == {"message": "Billing API is running!"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json") as resp:
            assert json.loads(resp.read())["info"]["title"] == "Billing API"
        req = urllib.request.Request(f"http://127.0.0.1:{port}/billing/invoices/acme", headers={})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req)
        assert err.value.code == 401
        # templates travel with the bundle: the PDF renderer finds its branding and fonts there
        probe = subprocess.run(
            [sys.executable, "-c", LAUNCH.split("from functions_framework")[0]
             + "from billing.config import find_templates_dir; print(find_templates_dir())"],
            cwd=bundle, env=env, capture_output=True, text=True, check=True)
        assert probe.stdout.strip().endswith(f"{bundle}/templates")
    finally:
        emulators.stop(server)
