"""Service configuration, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from billing.errors import ConfigurationError

DEFAULT_NON_BILLABLE = ("failed", "no-answer", "busy", "canceled")


@dataclass(frozen=True)
class CallLogSchema:
    """Where call logs live and what their fields are called (both Firestore layouts work)."""

    layout: str = "top-level"  # "top-level": /{collection}/{id} with companyId | "subcollection"
    collection: str = "callLogs"
    company_field: str = "companyId"
    started_at_field: str = "startedAt"
    duration_field: str = "durationSeconds"
    status_field: str = "status"
    direction_field: str = "direction"
    from_field: str = "fromNumber"
    to_field: str = "toNumber"
    agent_field: str = "agentId"

    def __post_init__(self):
        if self.layout not in ("top-level", "subcollection"):
            raise ConfigurationError(
                f"BILLING_CALL_LOGS_LAYOUT must be 'top-level' or 'subcollection', got {self.layout!r}"
            )


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    project: str = "demo-billing"
    bucket: str = "demo-billing-invoices"
    api_keys: tuple[str, ...] = ()
    default_timezone: str = "UTC"
    non_billable_statuses: tuple[str, ...] = DEFAULT_NON_BILLABLE
    call_logs: CallLogSchema = field(default_factory=CallLogSchema)
    companies_collection: str = "companies"
    invoices_collection: str = "invoices"
    counters_collection: str = "invoiceCounters"
    runs_collection: str = "billingRuns"
    settings_document: str = "settings/billing"
    worker_topic: str = "billing-company-invoice"
    max_event_age_seconds: int = 24 * 3600
    send_email: bool = False
    signed_urls: str = "auto"  # auto: sign on Google Cloud, stream through the function elsewhere
    public_base_url: str = ""
    templates_dir: Path = field(default_factory=lambda: find_templates_dir())
    run_concurrency: int = 8
    # The month's calls are read in this many parallel time slices. One stream is the fastest on
    # the emulator (every slice's query scans the whole collection there) and decoding is bound to
    # one core by the GIL anyway. On Firestore a slice seeks its own index range, so 2-4 slices may
    # overlap the server's latency: not measured here, set BILLING_READ_SLICES to try.
    read_slices: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Settings from environment variables; anything unset keeps the field's default."""
        env = os.environ if env is None else env
        get = env.get
        d, c = cls(), CallLogSchema()
        schema = CallLogSchema(
            layout=get("BILLING_CALL_LOGS_LAYOUT", c.layout),
            collection=get("BILLING_CALL_LOGS_COLLECTION", c.collection),
            company_field=get("BILLING_CALL_FIELD_COMPANY", c.company_field),
            started_at_field=get("BILLING_CALL_FIELD_STARTED_AT", c.started_at_field),
            duration_field=get("BILLING_CALL_FIELD_DURATION", c.duration_field),
            status_field=get("BILLING_CALL_FIELD_STATUS", c.status_field),
        )
        statuses = get("BILLING_NON_BILLABLE_STATUSES")
        return cls(
            project=get("GOOGLE_CLOUD_PROJECT") or get("GCLOUD_PROJECT") or d.project,
            bucket=get("BILLING_BUCKET", d.bucket),
            api_keys=_split(get("BILLING_API_KEYS", "")),
            default_timezone=get("BILLING_DEFAULT_TIMEZONE", d.default_timezone),
            non_billable_statuses=_split(statuses) if statuses is not None else d.non_billable_statuses,
            call_logs=schema,
            companies_collection=get("BILLING_COMPANIES_COLLECTION", d.companies_collection),
            invoices_collection=get("BILLING_INVOICES_COLLECTION", d.invoices_collection),
            counters_collection=get("BILLING_COUNTERS_COLLECTION", d.counters_collection),
            runs_collection=get("BILLING_RUNS_COLLECTION", d.runs_collection),
            settings_document=get("BILLING_SETTINGS_DOCUMENT", d.settings_document),
            worker_topic=get("BILLING_WORKER_TOPIC", d.worker_topic),
            max_event_age_seconds=_int(get, "BILLING_MAX_EVENT_AGE_SECONDS", d.max_event_age_seconds),
            send_email=_bool(get, "BILLING_SEND_EMAIL", d.send_email),
            signed_urls=get("BILLING_SIGNED_URLS", d.signed_urls),
            public_base_url=get("BILLING_PUBLIC_BASE_URL", d.public_base_url),
            templates_dir=Path(get("BILLING_TEMPLATES_DIR") or d.templates_dir),
            run_concurrency=_int(get, "BILLING_RUN_CONCURRENCY", d.run_concurrency),
            read_slices=max(1, min(31, _int(get, "BILLING_READ_SLICES", d.read_slices))),
        )


def find_templates_dir() -> Path:
    """templates/ beside the package: the repo root in a checkout, the bundle root when staged."""
    here = Path(__file__).resolve().parent
    for base in (here.parent, here.parent.parent, Path.cwd()):
        candidate = base / "templates"
        if candidate.is_dir():
            return candidate
    return here.parent.parent / "templates"


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _int(get, name: str, default: int) -> int:
    raw = get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None


def _bool(get, name: str, default: bool) -> bool:
    raw = get(name)
    if raw in (None, ""):
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")
