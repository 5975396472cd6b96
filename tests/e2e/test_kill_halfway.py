"""SIGKILL `billing generate` part way through, rerun it: same number, byte-identical files."""

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


@pytest.mark.parametrize("kill_after", [0.8, 1.6, 2.4, 3.2])
def test_killed_issuance_is_completed_by_a_rerun(reference, kill_after):
    ref_doc, ref_files = reference
    env, db, bucket = setup_project(CALLS)
    proc = subprocess.Popen(cli(env), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    subprocess.run(cli(env), env=env, check=True, capture_output=True, timeout=300)
    doc = db.document("invoices/big_2025-09").get().to_dict()
    for key in ("invoiceNumber", "totalAmount", "subtotal", "usageData", "lineItems", "status"):
        assert doc[key] == ref_doc[key], key
    assert final_files(bucket) == ref_files
    assert [c.to_dict()["next"] for c in db.collection("invoiceCounters").stream()] == [2]
