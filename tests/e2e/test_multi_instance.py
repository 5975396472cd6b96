"""Two server processes (two function instances) numbering at once still give gapless numbers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest

pytestmark = pytest.mark.emulators


def test_two_instances_share_one_gapless_series(api, make_server):
    import dataclasses

    api.db.document("settings/billing").set({"legalName": "Supplier", "stateCode": "29", "invoicePrefix": "M"})
    for i in range(16):
        cid = f"m{i:02d}"
        api.db.collection("companies").document(cid).set({"name": cid, "billing": {"ratePerMinute": 1}})
        api.db.collection("callLogs").document(cid).set(
            {"companyId": cid, "startedAt": datetime(2025, 9, 9, tzinfo=timezone.utc), "durationSeconds": 61})
    # the second instance talks to the same project and bucket as the first
    second = make_server({"GOOGLE_CLOUD_PROJECT": api.project, "BILLING_BUCKET": api.bucket})
    servers = [api, dataclasses.replace(second, project=api.project, bucket=api.bucket, db=api.db)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(
            lambda i: servers[i % 2].json("POST", f"/billing/generate/m{i:02d}?month=9&year=2025"), range(16)))
    assert {s for s, _ in results} == {200}, [b for s, b in results if s != 200][:2]
    numbers = sorted(int(b["invoiceNumber"].rsplit("/", 1)[1]) for _, b in results)
    assert numbers == list(range(1, 17))
