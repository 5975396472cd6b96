"""A new user's path, through the `billing` command only, on the emulators (docs/data-model.md and
docs/operations.md describe it): an empty Firestore -> `billing settings set` -> `billing companies
set` -> call logs written by the voice platform -> `billing generate` -> an issued invoice. And the
strict schema where Firestore's typing matters: a company written by the real client with
`active: "false"` (a string) is refused with the field named, by generate, preview and the run, and
nothing is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.emulators

BILLING = str(Path(sys.executable).parent / "billing")

SUPPLIER = {"legalName": "Acme Voice Private Limited", "address": "1 MG Road, Bengaluru, Karnataka 560001",
            "gstin": "29AAGCV4821K1ZX", "invoicePrefix": "AV", "supportEmail": "billing@acme-voice.example"}


@pytest.fixture
def cli(firestore_project, bucket_name):
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GOOGLE_", "BILLING_", "PUBSUB_"))}
    env = {**base, "GOOGLE_CLOUD_PROJECT": firestore_project, "BILLING_BUCKET": bucket_name}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BILLING, *args], env=env, input=stdin, capture_output=True, text=True, timeout=180)

    return run


def everything(db) -> dict[str, dict]:
    """Every document in the database, by path (subcollections of companies and runs included)."""
    out: dict[str, dict] = {}

    def walk(collection) -> None:
        for snap in collection.stream():
            out[snap.reference.path] = snap.to_dict()
            for sub in snap.reference.collections():
                walk(sub)

    for col in db.collections():
        walk(col)
    return out


def test_from_an_empty_firestore_to_an_issued_invoice_with_the_cli_only(cli, firestore_client, tmp_path):
    assert everything(firestore_client) == {}
    supplier_file = tmp_path / "supplier.json"
    supplier_file.write_text(json.dumps(SUPPLIER))
    settings = cli("settings", "set", "--file", str(supplier_file))
    assert settings.returncode == 0, settings.stderr
    assert json.loads(settings.stdout) == {"settings": SUPPLIER}

    # A wrong type is refused, naming field, value and type, and writes nothing.
    bad = cli("companies", "set", "ravi-logistics", "--set", "name=Ravi Logistics LLP",
              "--set", 'billing.ratePerMinute="2"')
    assert bad.returncode == 2 and bad.stdout == ""
    assert "billing.ratePerMinute = '2' (string): expected a number" in bad.stderr
    assert not firestore_client.document("companies/ravi-logistics").get().exists

    created = cli("companies", "set", "ravi-logistics", "--set", "name=Ravi Logistics LLP",
                  "--set", "gstin=27AABFW5529Q1ZG", "--set", "billing.ratePerMinute=2.5",
                  "--set", "billing.maintenanceFee=500", "--set", "billing.timezone=Asia/Kolkata",
                  "--set", "billingStartDate=2025-09-01")
    assert created.returncode == 0, created.stderr
    company = {"name": "Ravi Logistics LLP", "gstin": "27AABFW5529Q1ZG", "billingStartDate": "2025-09-01",
               "billing": {"ratePerMinute": 2.5, "maintenanceFee": 500, "timezone": "Asia/Kolkata"}}
    assert firestore_client.document("companies/ravi-logistics").get().to_dict() == company
    # --set on an existing company changes one field and keeps the rest.
    assert cli("companies", "set", "ravi-logistics", "--set", "billingEmail=ap@ravi.example").returncode == 0
    company["billingEmail"] = "ap@ravi.example"
    shown = cli("companies", "show", "ravi-logistics")
    assert json.loads(shown.stdout) == {"companyId": "ravi-logistics", "company": company}

    # The voice platform writes call logs (docs/data-model.md, callLogs).
    for i, seconds in enumerate((61, 30, 125)):
        firestore_client.collection("callLogs").document(f"call-{i}").set({
            "companyId": "ravi-logistics", "startedAt": datetime(2025, 9, 10 + i, 6, 0, tzinfo=timezone.utc),
            "durationSeconds": seconds, "status": "completed"})

    before = cli("generate", "ravi-logistics", "--month", "8", "--year", "2025")
    assert before.returncode == 2
    assert "2025-08 is before the company's billingStartDate 2025-09-01" in before.stderr

    issued = cli("generate", "ravi-logistics", "--month", "9", "--year", "2025")
    assert issued.returncode == 0, issued.stderr
    invoice = json.loads(issued.stdout)  # stdout is the JSON alone: logs went to stderr
    assert invoice["status"] == "issued" and invoice["invoiceNumber"].startswith("AV/")
    # per-call: 2 + 1 + 3 = 6 minutes x 2.50 = 15.00, + 500 fee = 515.00; Maharashtra vs Karnataka: IGST 18%
    assert (invoice["subtotal"], invoice["gstAmount"], invoice["totalAmount"]) == (515.0, 92.7, 607.7)
    assert invoice["taxBreakdown"]["type"] == "inter-state"
    listed = json.loads(cli("list", "ravi-logistics").stdout)
    assert [i["invoiceNumber"] for i in listed["invoices"]] == [invoice["invoiceNumber"]]
    companies = json.loads(cli("companies", "list").stdout)["companies"]
    assert companies == [{"companyId": "ravi-logistics", "name": "Ravi Logistics LLP", "active": True,
                          "billingEmail": "ap@ravi.example", "problems": []}]

    # What an operator does next, with the CLI too: preview, void with a reissue, credit notes, history.
    preview = json.loads(cli("preview", "ravi-logistics", "--month", "9", "--year", "2025").stdout)
    assert preview["totalAmount"] == 607.7 and "invoiceNumber" not in preview
    voided = cli("void", "ravi-logistics", "2025-09", "--invoice-number", invoice["invoiceNumber"],
                 "--reason", "wrong rate", "--reissue")
    assert voided.returncode == 0, voided.stderr
    result = json.loads(voided.stdout)
    assert result["voided"]["status"] == "void" and result["reissued"]["status"] == "issued"
    notes = json.loads(cli("credit-notes", "list", "ravi-logistics").stdout)["creditNotes"]
    assert [n["creditNoteId"] for n in notes] == ["ravi-logistics_2025-09_cn"] and notes[0]["reason"] == "wrong rate"
    note = json.loads(cli("credit-notes", "show", "ravi-logistics", "ravi-logistics_2025-09_cn").stdout)
    assert note["originalInvoice"]["invoiceNumber"] == invoice["invoiceNumber"]
    shown = json.loads(cli("show", "ravi-logistics", "2025-09").stdout)
    assert shown["invoiceId"] == "ravi-logistics_2025-09_r1"
    assert [h["invoiceId"] for h in shown["history"]] == ["ravi-logistics_2025-09", "ravi-logistics_2025-09_r1"]
    runs = cli("runs", "--month", "9", "--year", "2025")
    assert runs.returncode == 2 and "No billing run for 2025-09" in runs.stderr


def test_a_string_false_written_with_the_real_client_is_refused_everywhere_and_nothing_is_written(
        cli, firestore_client):
    firestore_client.document("settings/billing").set(SUPPLIER)
    firestore_client.document("companies/strings").set(
        {"name": "Strings Ltd", "active": "false", "billing": {"ratePerMinute": 2}})
    firestore_client.document("companies/Ab3XyZgenerated01").set(
        {"name": "Imported Ltd", "billing": {"ratePerMinute": 2}})
    stored = firestore_client.document("companies/strings").get().to_dict()
    assert stored["active"] == "false"  # Firestore keeps the string: no guess on either side
    before = everything(firestore_client)

    for args in (("generate", "strings", "--month", "9", "--year", "2025"),
                 ("preview", "strings", "--month", "9", "--year", "2025"),
                 ("companies", "show", "strings")):
        result = cli(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "active = 'false' (string): expected a boolean (true or false)" in result.stderr
    assert everything(firestore_client) == before

    listed = cli("companies", "list")
    assert listed.returncode == 1  # something keeps a company from being billed
    problems = {c["companyId"]: c["problems"] for c in json.loads(listed.stdout)["companies"]}
    assert "^[a-z0-9_-]{1,64}$" in problems["Ab3XyZgenerated01"][0]
    assert any("active = 'false'" in p for p in problems["strings"])

    run = cli("run", "--month", "9", "--year", "2025", "--no-progress")
    assert run.returncode == 1
    assert "FAILED  strings: company 'strings' (companies/strings): active = 'false' (string)" in run.stdout
    assert "FAILED  Ab3XyZgenerated01: company id must be" in run.stdout
    after = everything(firestore_client)
    written = {path for path in after if path not in before}
    counters = {path for path in written if path.startswith("billingRuns/2025-09/stateCounts/")}
    assert written - counters == {"billingRuns/2025-09", "billingRuns/2025-09/companies/strings",
                                  "billingRuns/2025-09/companies/Ab3XyZgenerated01"}
    assert sum(after[path].get("failed", 0) for path in counters) == 2  # the run's state counters
    assert after["billingRuns/2025-09/companies/strings"]["state"] == "failed"

    # The documented way out for the generated id: copy it to a valid id.
    copied = cli("companies", "copy", "Ab3XyZgenerated01", "imported-ltd")
    assert copied.returncode == 0, copied.stderr
    assert firestore_client.document("companies/imported-ltd").get().to_dict() == {
        "name": "Imported Ltd", "billing": {"ratePerMinute": 2}}
    assert "set companyId to 'imported-ltd' on its call logs" in copied.stderr
