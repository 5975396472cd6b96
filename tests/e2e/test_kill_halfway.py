"""SIGKILL `billing generate` at a proven point mid-issuance, rerun it: same number, byte-identical files."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = pytest.mark.emulators

CALLS = 4000


def setup_project(n_calls: int):
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import firestore, storage

    project, bucket = f"kill-{uuid.uuid4().hex[:8]}", f"kill-{uuid.uuid4().hex[:8]}"
    gcs = storage.Client(project=project, credentials=AnonymousCredentials())
    gcs.create_bucket(bucket)
    db = firestore.Client(project=project, credentials=AnonymousCredentials())
    db.document("settings/billing").set({"legalName": "Supplier", "stateCode": "29", "invoicePrefix": "K"})
    db.collection("companies").document("big").set({"name": "Big Co", "billing": {"ratePerMinute": 2, "maintenanceFee": 100}})
    start = datetime(2025, 9, 1, tzinfo=timezone.utc)
    for offset in range(0, n_calls, 500):
        batch = db.batch()
        for i in range(offset, min(offset + 500, n_calls)):
            batch.set(db.collection("callLogs").document(f"call-{i:06d}"), {
                "companyId": "big", "startedAt": start + timedelta(minutes=10 * i), "durationSeconds": (i * 13) % 300})
        batch.commit()
    env = {**os.environ, "GOOGLE_CLOUD_PROJECT": project, "BILLING_BUCKET": bucket}
    return env, db, gcs.bucket(bucket)


def cli(env):
    return [str(Path(sys.executable).parent / "billing"), "generate", "big", "--month", "9", "--year", "2025"]


def final_files(bucket):
    return {b.name: b.download_as_bytes() for b in bucket.list_blobs() if b.name.startswith("invoices/")}


@pytest.fixture(scope="module")
def reference(firestore_emulator, storage_emulator):
    env, db, bucket = setup_project(CALLS)
    subprocess.run(cli(env), env=env, check=True, capture_output=True, timeout=300)
    return db.document("invoices/big_2025-09").get().to_dict(), final_files(bucket)


def invoice_state(db, bucket) -> tuple[str | None, list[str]]:
    """(the invoice's status or None, the staging objects left in the bucket)."""
    snap = db.document("invoices/big_2025-09").get()
    status = snap.to_dict().get("status") if snap.exists else None
    return status, [b.name for b in bucket.list_blobs(prefix="staging/")]


# Where the kill must land, seen from outside: the predicate that triggers the kill, and the state
# that proves it landed mid-issuance (not before the first write, not after the last).
KILL_POINTS = {
    "while staging the CSV": (lambda status, staged: bool(staged),
                              lambda status, staged: bool(staged) and status in (None, "issuing")),
    "after drafting, before numbering": (lambda status, staged: status == "draft",
                                         lambda status, staged: status == "draft"),
    "after numbering, before the files": (lambda status, staged: status == "issuing",
                                          lambda status, staged: status == "issuing"),
}


def kill_at(point: str, env, db, bucket, timeout: float = 120) -> bool:
    """Run the CLI, SIGKILL it as soon as `point` is observed; True when the kill landed there."""
    trigger, landed = KILL_POINTS[point]
    proc = subprocess.Popen(cli(env), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if trigger(*invoice_state(db, bucket)):
                break
            time.sleep(0.005)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return landed(*invoice_state(db, bucket))


@pytest.mark.parametrize("point", sorted(KILL_POINTS))
def test_killed_issuance_is_completed_by_a_rerun(reference, point):
    ref_doc, ref_files = reference
    for _attempt in range(6):  # the windows are short; a kill that landed elsewhere is retried
        env, db, bucket = setup_project(CALLS)
        if kill_at(point, env, db, bucket):
            break
    else:
        pytest.fail(f"no kill landed {point} in 6 attempts")
    status, staged = invoice_state(db, bucket)
    assert status != "issued" and (staged or status in ("draft", "issuing"))  # the crash left work half done
    subprocess.run(cli(env), env=env, check=True, capture_output=True, timeout=300)
    doc = db.document("invoices/big_2025-09").get().to_dict()
    for key in ("invoiceNumber", "totalAmount", "subtotal", "usageData", "lineItems", "status"):
        assert doc[key] == ref_doc[key], key
    assert final_files(bucket) == ref_files
    # The rerun removed the staged CSV it promoted; parts a killed run left go by the bucket's
    # lifecycle rule on staging/ (infra), never into an invoice.
    assert doc["files"]["csvStaging"] not in invoice_state(db, bucket)[1]
    assert [c.to_dict()["next"] for c in db.collection("invoiceCounters").stream()] == [2]
