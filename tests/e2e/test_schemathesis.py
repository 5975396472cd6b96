"""The served OpenAPI document matches the server: schemathesis `--checks all` against a real
functions-framework server on the emulators, with an admin key and the demo data seeded.

Bounded: a fixed number of examples per operation and a fixed seed, so a run takes well under a
minute and a failure reproduces. Set SCHEMATHESIS_SEED and SCHEMATHESIS_MAX_EXAMPLES to explore
further.
"""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest

from billing.config import Settings
from billing.seed import seed_demo
from e2e_support import ADMIN_KEY, ROOT, admin_env

pytestmark = pytest.mark.emulators

HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
SEED = os.environ.get("SCHEMATHESIS_SEED", "20251101")

# generate, run and preview answer 422 to some schema-valid requests (month/year together or neither,
# a month that has not ended), void and the credit/debit notes to a number that is not the month's invoice (or a credit beyond what
# the invoice has left, a length limit), and the company and
# supplier PUTs to documents whose GSTIN checksum, time zone or tariff the domain refuses: OpenAPI 3.0
# cannot say that (nor that a pageToken must be one the API returned). Allowed for those operations only,
# and the hooks' check makes sure every such 422 is one of those rules.
CONFIG = """
[[operations]]
include-operation-id = ["generateInvoice", "startRun", "previewInvoice", "voidInvoice", "recordPayment", "tdsReceivable", "statementOfAccount", "putCompany", "putSettings", "listCompanies", "createCreditNote", "createDebitNote", "settleInvoice", "addCharge"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
"""


@pytest.fixture
def served(make_server, pubsub_emulator):
    """A server with the demo data and the run's topics, as after deployment."""
    from google.cloud import pubsub_v1

    sys.path.insert(0, str(ROOT / "infra"))
    import setup_scheduler

    api = make_server(admin_env())
    seed_demo(api.db, Settings(project=api.project))
    publisher, subscriber = pubsub_v1.PublisherClient(), pubsub_v1.SubscriberClient()
    setup_scheduler.ensure_topics(publisher, subscriber, api.project)
    subscriber.close()
    return api


def test_openapi_document_matches_the_server(served, tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    argv = [
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config), "--no-color",
        "run", f"{served.base}/openapi.json",
        "--checks", "all",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", SEED,
        "--workers", "1",
        "--request-timeout", "60",
        "--header", f"X-API-Key: {ADMIN_KEY}",
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)}
    proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-12000:]
    # Every operation ran, and every phase that applies.
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", out)
    assert selected and selected.group(1) == selected.group(2) and int(selected.group(1)) >= 15, out[-4000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert f"✅ {phase}" in out, out[-4000:]


# What schemathesis found in the server, pinned down.

def test_allow_lists_only_the_methods_of_the_resource(api):
    status, _, headers = api.request("OPTIONS", "/billing/invoices/vysedeck/2025-09/send")
    assert (status, headers["Allow"]) == (405, "POST")  # GET came from the list route's <path:company>
    status, body, headers = api.request("GET", "/billing/invoices/vysedeck/2025-09/send")
    assert status == 405 and headers["Allow"] == "POST" and b'"detail"' in body


@pytest.mark.parametrize("path", ["/billing/invoices/a%0Ab/2025-09/csv", "/favicon.ico"])
def test_errors_of_the_framework_itself_are_json_too(api, path):
    status, body, headers = api.request("GET", path)
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(body)["detail"]
