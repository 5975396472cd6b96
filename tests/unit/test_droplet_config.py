"""The droplet's static configuration: the cron schedule works in any server timezone, and
env.example names every variable the service reads."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from billing.domain.period import BillingPeriod, last_completed_period

ROOT = Path(__file__).resolve().parents[2]
DROPLET = ROOT / "infra" / "droplet"
# `billing run` without a month bills the latest month that has ended anywhere (UTC+14).
EARLIEST_ZONE = "Etc/GMT-14"
# Whole-hour offsets from UTC-12 to UTC+14, and the odd ones (-9:30, +5:30, +5:45, +12:45, +13:45).
ZONES = [f"Etc/GMT{-h:+d}" if h else "UTC" for h in range(-12, 15)] + [
    "Pacific/Marquesas", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Kiritimati",
    "America/Los_Angeles", "Europe/London",
]


def cron_schedule() -> tuple[list[int], list[int], list[int]]:
    """(minutes, hours, days of month) of the monthly run's job in billing.cron (plain lists, ranges, '*')."""
    jobs = [ln for ln in (DROPLET / "billing.cron").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert not any(ln.startswith("CRON_TZ") for ln in jobs), jobs
    lines = [ln for ln in jobs if "run-cli.sh run " in ln]
    assert len(lines) == 1, jobs
    assert sum("run-cli.sh remind " in ln for ln in jobs) == 1, jobs  # the daily payment reminders
    minute, hour, dom, month, dow = lines[0].split()[:5]
    assert (month, dow) == ("*", "*")

    def expand(spec: str, low: int, high: int) -> list[int]:
        if spec == "*":
            return list(range(low, high + 1))
        values: list[int] = []
        for part in spec.split(","):
            first, _, last = part.partition("-")
            values.extend(range(int(first), int(last or first) + 1))
        return values

    return expand(minute, 0, 59), expand(hour, 0, 23), expand(dom, 1, 31)


@pytest.mark.parametrize("server_zone", ZONES)
def test_cron_bills_every_company_month_whatever_the_server_timezone(server_zone):
    """Every firing names the same month, and for every company timezone some firing comes after
    that company's month has ended (so it is issued, not left waiting), with Debian's cron firing
    in the server's own zone."""
    minutes, hours, days = cron_schedule()
    server = ZoneInfo(server_zone)
    for year, month in ((2026, 1), (2026, 3), (2026, 12)):  # firings in Jan (Dec billed), Mar, Dec
        firings = [datetime(year, month, d, h, m, tzinfo=server) for d in days for h in hours for m in minutes]
        named = {last_completed_period(f.astimezone(timezone.utc), EARLIEST_ZONE).key for f in firings}
        previous = (datetime(year, month, 1) - timedelta(days=1)).strftime("%Y-%m")
        assert named == {previous}, (server_zone, named)
        for company_zone in ZONES:
            end = BillingPeriod(int(previous[:4]), int(previous[5:]), company_zone).end
            assert any(f >= end for f in firings), (server_zone, company_zone, previous)


def test_env_example_names_every_variable_the_service_reads():
    read: set[str] = set()
    sources = list((ROOT / "shared" / "billing").rglob("*.py")) + list((ROOT / "functions").rglob("*.py"))
    for path in sources:
        read |= set(re.findall(r"[\"']((?:BILLING|SMTP|GOOGLE|GCLOUD)_[A-Z0-9_]+)[\"']", path.read_text()))
    assert {"BILLING_LINK_SIGNING_KEY", "SMTP_HOST", "GOOGLE_CLOUD_PROJECT"} <= read  # the scan sees them
    example = (DROPLET / "env.example").read_text()
    missing = sorted(name for name in read if not re.search(rf"\b{name}\b", example))
    assert not missing, f"env.example does not mention {missing}"
    for line in example.splitlines():  # set lines hold placeholders, never a real-looking secret
        if re.match(r"^(BILLING_\w*KEYS?|SMTP_PASSWORD)=", line):
            assert "change-me" in line, line
