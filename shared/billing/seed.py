"""Demo data (not on the functions' runtime path): supplier, three customer companies, Sep/Oct 2025 calls.

Every id is deterministic, so seeding twice leaves the same data (a re-seed overwrites).
The GSTINs are fictitious but carry valid checksums; no real person or company is named.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import EllipsisType
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from billing.config import Settings
from billing.domain.gst import gstin_checksum

IST = ZoneInfo("Asia/Kolkata")


def _gstin(first14: str) -> str:
    return first14 + gstin_checksum(first14)


SUPPLIER = {
    "legalName": "Voxa AI Private Limited",
    "address": "4th Floor, 12 Residency Road, Bengaluru, Karnataka 560025",
    "gstin": _gstin("29AAGCV4821K1Z"),
    "stateCode": "29",
    "sacCode": "998319",
    "invoicePrefix": "VX",
    "supportEmail": "billing@voxa.example",
    "phone": "+91 80 4000 0000",
    "bank": {
        "accountName": "Voxa AI Private Limited",
        "bankName": "Example Bank",
        "accountNumber": "000000000000",
        "ifsc": "EXMP0000001",
        "branch": "Residency Road, Bengaluru",
        "upiId": "voxa@examplebank",
    },
}

COMPANIES = {
    # Same state as the supplier (Karnataka): CGST + SGST. The seed's worked example.
    "vysedeck": {
        "name": "Vysedeck Technologies Private Limited",
        "active": True,
        "billingEmail": "accounts@vysedeck.example",
        "address": "221 Koramangala 5th Block, Bengaluru, Karnataka 560095",
        "gstin": _gstin("29AAHCV7310M1Z"),
        "billing": {
            "ratePerMinute": 2,
            "maintenanceFee": 1500,
            "policy": "per-call",
            "gstRate": 18,
            "paymentTermsDays": 7,
            "timezone": "Asia/Kolkata",
        },
    },
    # Another state (Maharashtra): IGST.
    "webxpress": {
        "name": "WebXpress Solutions LLP",
        "active": True,
        "billingEmail": "finance@webxpress.example",
        "address": "Unit 7, Andheri East, Mumbai, Maharashtra 400069",
        "gstin": _gstin("27AABFW5529Q1Z"),
        "billing": {
            "ratePerMinute": 1.5,
            "maintenanceFee": 2500,
            "policy": "pulse",
            "pulseSeconds": 30,
            "includedMinutes": 5,
            "timezone": "Asia/Kolkata",
        },
    },
    # Unregistered (no GSTIN), intra-state by stateCode; its call logs include malformed ones.
    "dcgpac": {
        "name": "DCG Packaging Co",
        "active": True,
        "address": "Plot 18, Peenya Industrial Area, Bengaluru, Karnataka 560058",
        "stateCode": "29",
        "billing": {
            "ratePerMinute": 3,
            "maintenanceFee": 1000,
            "policy": "aggregate",
            "minimumUsageCharge": 100,
            "timezone": "Asia/Kolkata",
        },
    },
}

# The seed's exact September example: 13 calls, one of 0 s, the rest at most 60 s -> 12 minutes.
VYSEDECK_SEPTEMBER = [0, 45, 60, 30, 12.5, 59, 60, 1, 33, 47, 58, 20, 60]


def demo_call_logs() -> list[tuple[str, dict[str, Any]]]:
    """(callId, document) pairs for every demo company, September and October 2025."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def add(
        company: str, when: datetime, duration: float | str | EllipsisType, status: str = "completed", **extra: Any
    ) -> None:
        call_id = f"{company}-{when.strftime('%Y%m%dT%H%M%S')}-{len(calls):04d}"
        doc: dict[str, Any] = {
            "companyId": company,
            "startedAt": when.astimezone(timezone.utc),
            "status": status,
            "direction": extra.pop("direction", "outbound"),
            "fromNumber": "+910000000000",
            "toNumber": f"+91000000{len(calls):04d}",
            "agentId": f"agent-{len(calls) % 3 + 1}",
        }
        if duration is not ...:
            doc["durationSeconds"] = duration
        doc.update(extra)
        calls.append((call_id, doc))

    start = datetime(2025, 9, 1, 10, 0, tzinfo=IST)
    for i, seconds in enumerate(VYSEDECK_SEPTEMBER):
        add("vysedeck", start + timedelta(days=2 * i, minutes=7 * i), seconds)
    for i, seconds in enumerate([95, 240, 61, 30, 0, 125.4, 600]):
        add("vysedeck", datetime(2025, 10, 2, 11, 0, tzinfo=IST) + timedelta(days=3 * i), seconds)

    for month in (9, 10):
        base = datetime(2025, month, 1, 9, 30, tzinfo=IST)
        for i, seconds in enumerate([31, 90, 15, 600, 45, 184, 29, 61, 0, 300]):
            status = "busy" if i == 8 else "completed"
            add("webxpress", base + timedelta(days=i * 2, hours=i), seconds, status)
        add("webxpress", base + timedelta(days=25), 75, "failed")

    for month in (9, 10):
        base = datetime(2025, month, 3, 14, 0, tzinfo=IST)
        for i, seconds in enumerate([10, 20, 35, 80]):
            add("dcgpac", base + timedelta(days=i * 5), seconds)
        # Malformed logs: rated as anomalies, never dropped or guessed.
        add("dcgpac", base + timedelta(days=1, hours=1), ...)  # no duration at all
        add("dcgpac", base + timedelta(days=2, hours=2), -5)
        add("dcgpac", base + timedelta(days=3, hours=3), "forty")
    return calls


def seed_demo(db: Any, settings: Settings) -> dict[str, Any]:
    """Write the demo supplier, companies and call logs through a Firestore client."""
    from billing.adapters.firestore_layout import FirestoreSeeder

    seeder = FirestoreSeeder(db, settings)
    seeder.put_supplier(SUPPLIER)
    seeder.put_companies(COMPANIES)
    calls = demo_call_logs()
    seeder.put_calls(calls)
    per_company: dict[str, int] = {}
    for _, doc in calls:
        per_company[doc["companyId"]] = per_company.get(doc["companyId"], 0) + 1
    return {
        "project": settings.project,
        "supplier": SUPPLIER["legalName"],
        "companies": sorted(COMPANIES),
        "callLogs": per_company,
    }


def seed_refusal(env: Mapping[str, str], force: bool, project: str | None, target: str) -> str | None:
    """Why `billing seed-demo` must not write to `target`, or None when it may.

    The demo overwrites settings/billing (the supplier on every invoice) and three companies, so it
    writes only to an emulator (FIRESTORE_EMULATOR_HOST set), or to a real project named twice: by
    the environment (GOOGLE_CLOUD_PROJECT) and by `--force --project` on the command line.
    """
    if project is not None and project != target:
        return f"--project {project!r} is not the configured project {target!r} (GOOGLE_CLOUD_PROJECT); nothing written"
    if env.get("FIRESTORE_EMULATOR_HOST"):
        return None
    if force and project:
        return None
    return (f"refusing to seed demo data into project {target!r}: FIRESTORE_EMULATOR_HOST is not set, so this is "
            "real Firestore and the demo would overwrite its settings/billing and companies. Point "
            f"FIRESTORE_EMULATOR_HOST at an emulator, or pass --force --project {target} to seed it on purpose; "
            "nothing written")
