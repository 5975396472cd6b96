"""Service configuration, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import urlsplit

from billing.domain.billing_dates import parse_first_period
from billing.domain.rating import DEFAULT_NON_BILLABLE
from billing.errors import ConfigurationError


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

    def __post_init__(self) -> None:
        if self.layout not in ("top-level", "subcollection"):
            raise ConfigurationError(
                f"BILLING_CALL_LOGS_LAYOUT must be 'top-level' or 'subcollection', got {self.layout!r}"
            )


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    project: str = "demo-billing"
    bucket: str = "demo-billing-invoices"
    staging_bucket: str = ""  # staging objects' own bucket (Google Cloud: the invoice bucket has a retention policy)
    read_keys: tuple[str, ...] = ()  # every GET (DESIGN 10)
    api_keys: tuple[str, ...] = ()  # GETs + generate for an active company
    admin_keys: tuple[str, ...] = ()  # everything
    default_timezone: str = "UTC"
    first_period: str = ""  # BILLING_FIRST_PERIOD, YYYY-MM: earlier months are never issued (DESIGN 11)
    non_billable_statuses: tuple[str, ...] = tuple(sorted(DEFAULT_NON_BILLABLE))
    call_logs: CallLogSchema = field(default_factory=CallLogSchema)
    companies_collection: str = "companies"
    invoices_collection: str = "invoices"
    counters_collection: str = "invoiceCounters"
    runs_collection: str = "billingRuns"
    settings_document: str = "settings/billing"
    worker_topic: str = "billing-company-invoice"
    max_event_age_seconds: int = 24 * 3600
    send_email: bool = False
    operator_email: str = ""  # who is emailed once per run that failed or is unfinished after 24 h
    signed_urls: str = "auto"  # auto: sign on Google Cloud, stream through the function elsewhere
    public_base_url: str = ""
    link_signing_key: str = ""  # HMAC key of download links that open without an API key
    link_ttl_seconds: int = 7 * 24 * 3600
    templates_dir: Path = field(default_factory=lambda: find_templates_dir())
    run_concurrency: int = 8
    # The month's calls are read in this many parallel time slices. One stream is the fastest on
    # the emulator (every slice's query scans the whole collection there) and decoding is bound to
    # one core by the GIL anyway. On Firestore a slice seeks its own index range, so 2-4 slices may
    # overlap the server's latency: not measured here, set BILLING_READ_SLICES to try.
    read_slices: int = 1
    monthly_topic: str = "billing-monthly-trigger"
    run_mode: str = "pubsub"  # "pubsub": fan out through Pub/Sub | "in-process": bill here (the droplet)
    run_fanout_chunk: int = 250  # companies per cursor step of the fan-out (and per batched write)
    run_republish_after_seconds: int = 1800  # a firing republishes a company pending longer than this
    sequencer_topic: str = "billing-sequencer"  # drafts waiting for numbers (one sequencer instance)
    numbering_batch: int = 300  # drafts numbered per counter transaction (Firestore: <= 500 writes)
    sequencer_settle_seconds: float = 2.0  # wait this long for more drafts while companies are rating
    sequencer_max_seconds: int = 420  # a sequencer invocation numbers whatever waits after this
    credit_notes_collection: str = "creditNotes"
    credit_note_counters_collection: str = "creditNoteCounters"  # apart from invoiceCounters
    debit_notes_collection: str = "debitNotes"
    debit_note_counters_collection: str = "debitNoteCounters"
    production: bool = False  # BILLING_ENV=production or K_SERVICE: links need BILLING_PUBLIC_BASE_URL
    heavy_concurrency: int = 2  # preview, reconcile, GSTR-1 at once per instance; past it 429
    dependency_timeout_seconds: float = 10.0  # deadline of each Firestore/Storage/Pub/Sub call (HTTP path)

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
            staging_bucket=get("BILLING_STAGING_BUCKET", d.staging_bucket),
            read_keys=_split(get("BILLING_READ_KEYS", "")),
            api_keys=_split(get("BILLING_API_KEYS", "")),
            admin_keys=_split(get("BILLING_ADMIN_KEYS", "")),
            default_timezone=get("BILLING_DEFAULT_TIMEZONE", d.default_timezone),
            first_period=parse_first_period(get("BILLING_FIRST_PERIOD", d.first_period)),
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
            operator_email=get("BILLING_OPERATOR_EMAIL", d.operator_email).strip(),
            signed_urls=get("BILLING_SIGNED_URLS", d.signed_urls),
            public_base_url=get("BILLING_PUBLIC_BASE_URL", d.public_base_url),
            link_signing_key=get("BILLING_LINK_SIGNING_KEY", d.link_signing_key),
            link_ttl_seconds=_int(get, "BILLING_LINK_TTL_SECONDS", d.link_ttl_seconds),
            templates_dir=Path(get("BILLING_TEMPLATES_DIR") or d.templates_dir),
            run_concurrency=_int(get, "BILLING_RUN_CONCURRENCY", d.run_concurrency),
            read_slices=max(1, min(31, _int(get, "BILLING_READ_SLICES", d.read_slices))),
            monthly_topic=get("BILLING_MONTHLY_TOPIC", d.monthly_topic),
            run_mode=_run_mode(get),
            run_fanout_chunk=max(1, min(500, _int(get, "BILLING_RUN_FANOUT_CHUNK", d.run_fanout_chunk))),
            run_republish_after_seconds=_int(get, "BILLING_RUN_REPUBLISH_AFTER_SECONDS",
                                             d.run_republish_after_seconds),
            sequencer_topic=get("BILLING_SEQUENCER_TOPIC", d.sequencer_topic),
            numbering_batch=max(1, min(400, _int(get, "BILLING_NUMBERING_BATCH", d.numbering_batch))),
            sequencer_max_seconds=_int(get, "BILLING_SEQUENCER_MAX_SECONDS", d.sequencer_max_seconds),
            credit_notes_collection=get("BILLING_CREDIT_NOTES_COLLECTION", d.credit_notes_collection),
            credit_note_counters_collection=get("BILLING_CREDIT_NOTE_COUNTERS_COLLECTION",
                                                d.credit_note_counters_collection),
            debit_notes_collection=get("BILLING_DEBIT_NOTES_COLLECTION", d.debit_notes_collection),
            debit_note_counters_collection=get("BILLING_DEBIT_NOTE_COUNTERS_COLLECTION",
                                               d.debit_note_counters_collection),
            production=_production(get),
            heavy_concurrency=max(1, _int(get, "BILLING_HEAVY_CONCURRENCY", d.heavy_concurrency)),
            dependency_timeout_seconds=_seconds(get, "BILLING_DEPENDENCY_TIMEOUT_SECONDS",
                                                d.dependency_timeout_seconds),
        )

    def check_serving(self) -> None:
        """Refuse to serve HTTP with settings that would leak or break links (DESIGN 10)."""
        url = self.public_base_url
        if self.production and not url:
            raise ConfigurationError(
                "BILLING_PUBLIC_BASE_URL must be set in production (on Google Cloud or with BILLING_ENV=production): "
                "links are never built from a request's Host or X-Forwarded-* headers there")
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
                    or parts.username or parts.password:
                raise ConfigurationError(
                    f"BILLING_PUBLIC_BASE_URL must be an http(s) URL with a host and an optional path, got {url!r}")
        if self.link_signing_key and len(self.link_signing_key.encode()) < MIN_SIGNING_KEY_BYTES:
            raise ConfigurationError(
                f"BILLING_LINK_SIGNING_KEY must be at least {MIN_SIGNING_KEY_BYTES} bytes "
                f"(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`), "
                f"got {len(self.link_signing_key.encode())}")


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


def _int(get: Callable[[str], str | None], name: str, default: int) -> int:
    raw = get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None


def _bool(get: Callable[[str], str | None], name: str, default: bool) -> bool:
    raw = get(name)
    if raw in (None, ""):
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


MIN_SIGNING_KEY_BYTES = 32


def _production(get: Callable[[str], str | None]) -> bool:
    """BILLING_ENV=production (the droplet), or Google Cloud (K_SERVICE set, no Storage emulator)."""
    raw = (get("BILLING_ENV") or "").strip().lower()
    if raw not in ("", "production", "local"):
        raise ConfigurationError(f"BILLING_ENV must be production or local, got {raw!r}")
    if raw:
        return raw == "production"
    return bool(get("K_SERVICE")) and not get("STORAGE_EMULATOR_HOST")


def _seconds(get: Callable[[str], str | None], name: str, default: float) -> float:
    raw = get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 300:
        raise ConfigurationError(f"{name} must be between 0 and 300 seconds, got {raw!r}")
    return value


RUN_MODES = ("pubsub", "in-process")


def _run_mode(get: Callable[[str], str | None]) -> str:
    """BILLING_RUN_MODE, or by default pubsub on Google Cloud / next to a Pub/Sub emulator, else in-process."""
    raw = (get("BILLING_RUN_MODE") or "").strip().lower()
    if not raw:
        return "pubsub" if get("K_SERVICE") or get("PUBSUB_EMULATOR_HOST") else "in-process"
    if raw not in RUN_MODES:
        raise ConfigurationError(f"BILLING_RUN_MODE must be one of {', '.join(RUN_MODES)}, got {raw!r}")
    return raw
