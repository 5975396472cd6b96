"""Heavy reads (DESIGN.md section 10): at most BILLING_HEAVY_CONCURRENCY previews/reconciles/GSTR-1s at a
time per instance; one more is 429 + Retry-After at once, and cheap routes are still answered.

A fake call-log source blocks each read on an Event, so the test knows exactly how many reads are
in flight without any sleep or timing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Iterator

from billing.domain.period import BillingPeriod
from billing.domain.rating import CallRecord
from fakes import FakeCallLogs
from http_inprocess import SETTINGS, World

ADMIN = {"X-API-Key": "admin-key"}
PREVIEW = "/billing/preview/vysedeck?month=9&year=2025"


class BlockingCalls(FakeCallLogs):
    """Each read announces itself on `entered`, then waits for `release`."""

    def __init__(self, inner: FakeCallLogs):
        super().__init__(inner.calls)
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def _block(self) -> None:
        self.entered.release()
        assert self.release.wait(60), "the test never released the read"

    def stream(self, company_id: str, period: BillingPeriod) -> Iterator[CallRecord]:
        self._block()
        return super().stream(company_id, period)

    def slices(self, company_id: str, period: BillingPeriod, count: int) -> list[Iterator[CallRecord]]:
        self._block()
        return super().slices(company_id, period, count)


def test_past_the_limit_heavy_reads_get_429_and_cheap_routes_still_answer():
    world = World(settings=replace(SETTINGS, heavy_concurrency=2))
    calls = BlockingCalls(world.container.call_logs)
    world.container.rating.calls = calls
    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(world.client.get, PREVIEW, headers=ADMIN) for _ in range(2)]
        for _ in running:
            assert calls.entered.acquire(timeout=60)  # both heavy reads are inside, blocked
        busy = world.client.get(PREVIEW, headers=ADMIN)
        assert busy.status_code == 429 and busy.headers["Retry-After"] == "5"
        assert "heavy reads" in busy.get_json()["detail"]
        reconcile = world.client.get("/billing/invoices/vysedeck/2025-09/reconcile", headers=ADMIN)
        assert reconcile.status_code == 429
        assert world.client.get("/").status_code == 200
        assert world.client.get("/billing/invoices/vysedeck/2025-09", headers=ADMIN).status_code == 200
        calls.release.set()
        assert [f.result().status_code for f in running] == [200, 200]
    assert world.client.get(PREVIEW, headers=ADMIN).status_code == 200  # the slots were given back
