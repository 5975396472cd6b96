"""The one place SDK clients are built: lazily, from Settings, cached for warm instances."""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping

from billing.config import Settings
from billing.ports import (
    BlobStore,
    CallLogSource,
    Clock,
    CompanyRepository,
    InvoiceRepository,
    Publisher,
    RunRepository,
    SettingsRepository,
)

if TYPE_CHECKING:
    from billing.services.runs import RunService

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def is_unavailable(exc: BaseException) -> bool:
    """An SDK error that escaped the adapters but means "unavailable, retry later" (-> 503)."""
    from billing.adapters.sdk_errors import is_transient

    return is_transient(exc)


def on_google_cloud() -> bool:
    """True inside Cloud Functions / Cloud Run (they set K_SERVICE), outside any emulator."""
    return bool(os.environ.get("K_SERVICE")) and not os.environ.get("STORAGE_EMULATOR_HOST")


class Container:
    """Builds adapters and services on first use; nothing touches the network at construction."""

    def __init__(self, settings: Settings | None = None, *, clock: Clock = utc_now,
                 env: Mapping[str, str] | None = None):
        self.settings = settings or Settings.from_env()
        self.clock = clock
        self.env = os.environ if env is None else env
        self._lock = threading.Lock()

    @cached_property
    def firestore(self) -> Any:
        from billing.adapters.firebase_app import firestore_client

        return firestore_client(self.settings.project, self.env)

    @cached_property
    def storage(self) -> Any:
        import google.cloud.storage as storage

        if os.environ.get("STORAGE_EMULATOR_HOST"):
            from google.auth.credentials import AnonymousCredentials

            return storage.Client(project=self.settings.project, credentials=AnonymousCredentials())
        return storage.Client(project=self.settings.project)

    @cached_property
    def publisher(self) -> Publisher:
        from billing.adapters.pubsub_publisher import PubSubPublisher

        return PubSubPublisher(self.settings.project)

    @cached_property
    def blobs(self) -> BlobStore:
        from billing.adapters.gcs_blobs import GcsBlobStore, iam_signer

        mode = self.settings.signed_urls
        signer = iam_signer() if mode == "on" or (mode == "auto" and on_google_cloud()) else None
        return GcsBlobStore(self.storage, self.settings.bucket, signer=signer,
                            staging_bucket=self.settings.staging_bucket or None)

    @cached_property
    def companies(self) -> CompanyRepository:
        from billing.adapters.firestore_repo import FirestoreCompanies

        return FirestoreCompanies(self.firestore, self.settings)

    @cached_property
    def supplier_settings(self) -> SettingsRepository:
        from billing.adapters.firestore_repo import FirestoreSettings

        return FirestoreSettings(self.firestore, self.settings)

    @cached_property
    def call_logs(self) -> CallLogSource:
        from billing.adapters.firestore_calls import FirestoreCallLogs

        return FirestoreCallLogs(self.firestore, self.settings)

    @cached_property
    def invoices(self) -> InvoiceRepository:
        from billing.adapters.firestore_repo import FirestoreInvoices

        return FirestoreInvoices(self.firestore, self.settings)

    @cached_property
    def runs(self) -> RunRepository:
        from billing.adapters.firestore_runs import FirestoreRuns

        return FirestoreRuns(self.firestore, self.settings)

    def render_pdf(self, invoice: Mapping[str, Any]) -> bytes:
        from billing.adapters.pdf import render_invoice_pdf

        return render_invoice_pdf(invoice, templates_dir=self.settings.templates_dir)

    @cached_property
    def issuance(self) -> Any:
        from billing.adapters.csv_export import CallCsvWriter
        from billing.services.issuance import IssuanceService

        return IssuanceService(
            companies=self.companies,
            settings_repo=self.supplier_settings,
            calls=self.call_logs,
            invoices=self.invoices,
            blobs=self.blobs,
            csv_writer=CallCsvWriter,
            settings=self.settings,
            render_pdf=self.render_pdf,
            clock=lambda: self.clock(),
        )

    @cached_property
    def credit_notes(self) -> Any:
        from billing.adapters.firestore_credit_notes import FirestoreCreditNotes

        return FirestoreCreditNotes(self.firestore, self.settings)

    def render_credit_note_pdf(self, credit_note: Mapping[str, Any]) -> bytes:
        from billing.adapters.pdf import render_credit_note_pdf

        return render_credit_note_pdf(credit_note, templates_dir=self.settings.templates_dir)

    @cached_property
    def corrections(self) -> Any:
        from billing.services.corrections import CorrectionService

        return CorrectionService(
            issuance=self.issuance,
            invoices=self.invoices,
            credit_notes=self.credit_notes,
            settings_repo=self.supplier_settings,
            blobs=self.blobs,
            render_credit_note=self.render_credit_note_pdf,
            clock=lambda: self.clock(),
        )

    @cached_property
    def reconcile(self) -> Any:
        from billing.adapters.csv_import import read_billed_calls
        from billing.services.reconcile import ReconcileService

        return ReconcileService(issuance=self.issuance, calls=self.call_logs, blobs=self.blobs,
                                read_billed=read_billed_calls, settings=self.settings)

    @cached_property
    def gst_returns(self) -> Any:
        from billing.services.gst_returns import GstReturnService

        return GstReturnService(invoices=self.invoices, credit_notes=self.credit_notes,
                                settings_repo=self.supplier_settings)

    @cached_property
    def downloads(self) -> Any:
        from billing.services.downloads import DownloadService

        return DownloadService(issuance=self.issuance, blobs=self.blobs, clock=lambda: self.clock(),
                               signing_key=self.settings.link_signing_key,
                               link_ttl_seconds=self.settings.link_ttl_seconds)

    @cached_property
    def runs_service(self) -> RunService:
        from billing.adapters.firestore_wakes import FirestoreWakeClaims
        from billing.services.runs import RunService
        from billing.services.sequencer_wake import SequencerWake

        wake = SequencerWake(FirestoreWakeClaims(self.firestore, self.settings), lambda: self.publisher,
                             self.settings.sequencer_topic, lambda: self.clock())
        return RunService(
            wake=wake,
            alerts=self.run_alerts,
            companies=self.companies,
            runs=self.runs,
            issuance=self.issuance,
            settings=self.settings,
            publisher=_Lazy(lambda: self.publisher),  # the CLI's in-process run never needs Pub/Sub
            delivery=self.delivery if self.settings.send_email else None,
        )

    @cached_property
    def run_alerts(self) -> Any:
        """The operator's email about a failed run (off without BILLING_OPERATOR_EMAIL or SMTP)."""
        from billing.adapters.firestore_wakes import FirestoreWakeClaims
        from billing.adapters.smtp_mailer import SmtpConfig, SmtpMailer
        from billing.errors import ConfigurationError
        from billing.services.run_alerts import RunAlerts

        try:
            config = SmtpConfig.from_env(self.env)
        except ConfigurationError as exc:
            log.error(f"operator alerts disabled: {exc.detail}")
            config = None
        if self.settings.operator_email and config is None:
            log.warning("BILLING_OPERATOR_EMAIL is set but SMTP is not configured: no operator alerts")
        return RunAlerts(runs=self.runs, claims=FirestoreWakeClaims(self.firestore, self.settings, "alerts"),
                         mailer=SmtpMailer(config) if config is not None else None,
                         operator=self.settings.operator_email, sender=config.sender if config else "",
                         clock=lambda: self.clock())

    @cached_property
    def delivery(self) -> Any:
        from billing.adapters.email_message import build_invoice_email
        from billing.adapters.smtp_mailer import SmtpConfig, SmtpMailer
        from billing.errors import ConfigurationError
        from billing.services.delivery import DeliveryService

        try:
            config = SmtpConfig.from_env(self.env)
        except ConfigurationError as exc:
            # A bad SMTP setting must never block issuing invoices: sending is skipped with the reason.
            log.error(f"email disabled: {exc.detail}")
            config, unavailable = None, f"email is misconfigured: {exc.detail}"
        else:
            unavailable = "email is not configured (SMTP_HOST unset)"
        templates = self.settings.templates_dir

        def build(invoice: Mapping[str, Any], pdf_bytes: bytes, csv_bytes: bytes | None,
                  links: Mapping[str, str]) -> Any:
            assert config is not None  # only called when a mailer exists
            return build_invoice_email(invoice, pdf_bytes=pdf_bytes, csv_bytes=csv_bytes, links=links,
                                       settings={}, sender=config.sender, reply_to=config.reply_to,
                                       templates_dir=templates)

        return DeliveryService(
            issuance=self.issuance,
            invoices=self.invoices,
            blobs=self.blobs,
            downloads=self.downloads,
            mailer=SmtpMailer(config) if config is not None else None,
            build_message=build,
            clock=lambda: self.clock(),
            public_base_url=self.settings.public_base_url,
            unavailable_reason=unavailable,
        )


class _Lazy:
    """Builds the wrapped adapter on its first use."""

    def __init__(self, factory: Callable[[], Any]):
        self._factory = factory

    def __getattr__(self, name: str) -> Any:
        return getattr(self._factory(), name)


_container: Container | None = None
_container_lock = threading.Lock()


def get_container() -> Container:
    """The process-wide container (built on first request, reused while the instance is warm)."""
    global _container
    with _container_lock:
        if _container is None:
            _container = Container()
        return _container


def reset_container(container: Container | None = None) -> None:
    """Replace the process-wide container (tests, or after the environment changed)."""
    global _container
    with _container_lock:
        _container = container
