"""The composition root: adapters and services built lazily from Settings, cached for warm instances.

`Container(settings, **overrides)`: any property can be given instead of built (tests pass fakes of
the ports; see tests/fakes.py `fake_container`), and every property is typed, so mypy checks the
wiring of each service against the ports it takes.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime
from email.message import EmailMessage
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from billing.config import Settings
from billing.ports import (
    AdjustmentNoteRepository, BilledCallReader, BlobStore, CallCsvFactory, CallLogSource, ChargeRepository, Clock,
    CompanyRepository, CreditNoteRepository, InvoiceListing, InvoicePdfRenderer, InvoiceRepository, Mailer,
    NotePdfRenderer, PdfRenderer, PdfStamper,
    Publisher, ReceivableRepository, RunRepository,
    SettingsRepository, WakeClaims, utc_now,
)

if TYPE_CHECKING:
    from google.cloud.firestore import Client as FirestoreClient
    from google.cloud.storage import Client as StorageClient

    from billing.domain.company import Company
    from billing.domain.entities import Invoice, Note
    from billing.domain.invoice import Supplier
    from billing.domain.receivable import Receivable
    from billing.services.adjustments import AdjustmentService
    from billing.services.charges import ChargeService
    from billing.services.companies import CompanyAdmin
    from billing.services.corrections import CorrectionService
    from billing.services.settlement import SettlementService
    from billing.services.delivery import DeliveryService
    from billing.services.downloads import DownloadService
    from billing.services.gst_returns import GstReturnService
    from billing.services.portal import PortalService, PortalTokens
    from billing.services.issuance.finish import InvoiceFinisher
    from billing.services.issuance.inputs import InputLoader
    from billing.services.issuance.issue import IssuanceService
    from billing.services.issuance.numbering import InvoiceNumbering
    from billing.services.issuance.preview import PreviewService
    from billing.services.issuance.rating import RatingPipeline
    from billing.services.queries import InvoiceQueries
    from billing.services.console_reads import ConsoleReads
    from billing.services.receivables import ReceivableService
    from billing.services.reminders import ReminderService
    from billing.services.reconcile import ReconcileService
    from billing.services.run_alerts import RunAlerts
    from billing.services.runs.common import RunContext
    from billing.services.runs.fanout import FanoutService, RunTrigger
    from billing.services.runs.in_process import InProcessRuns
    from billing.services.runs.sequencer import Sequencer
    from billing.services.runs.status import RunStatus
    from billing.services.runs.worker import CompanyWorker

log = logging.getLogger(__name__)


def is_unavailable(exc: BaseException) -> bool:
    """An SDK error that escaped the adapters but means "unavailable, retry later" (-> 503)."""
    from billing.adapters.sdk_errors import is_transient

    return is_transient(exc)


def on_google_cloud() -> bool:
    """True inside Cloud Functions / Cloud Run (they set K_SERVICE), outside any emulator."""
    return bool(os.environ.get("K_SERVICE")) and not os.environ.get("STORAGE_EMULATOR_HOST")


class Container:
    """Builds adapters and services on first use; nothing touches the network at construction.

    Overrides name properties (`companies=FakeCompanies(...)`, `render_pdf=...`): each is used
    instead of building that property; everything built on top of it uses it."""

    def __init__(self, settings: Settings | None = None, *, clock: Clock = utc_now,
                 env: Mapping[str, str] | None = None, **overrides: object):
        self.settings = settings or Settings.from_env()
        self.clock = clock
        self.env = os.environ if env is None else env
        self._lock = threading.Lock()
        for name, value in overrides.items():
            self.override(name, value)

    def override(self, name: str, value: object) -> None:
        """Use `value` as property `name` (before anything built on it is)."""
        if not isinstance(getattr(type(self), name, None), cached_property):
            raise TypeError(f"Container has no overridable property {name!r}")
        self.__dict__[name] = value  # what cached_property would have cached

    def now(self) -> datetime:
        """The container's clock, read at call time (tests and benches may replace `clock`)."""
        return self.clock()

    # -- SDK clients and adapters ----------------------------------------------------------------

    @cached_property
    def firestore(self) -> FirestoreClient:
        from billing.adapters.deadlines import bound_firestore
        from billing.adapters.firebase_app import firestore_client

        client: FirestoreClient = bound_firestore(firestore_client(self.settings.project, self.env),
                                                  self.settings.dependency_timeout_seconds)
        return client

    @cached_property
    def storage(self) -> StorageClient:
        import google.cloud.storage as storage

        if os.environ.get("STORAGE_EMULATOR_HOST"):
            from google.auth.credentials import AnonymousCredentials

            return storage.Client(project=self.settings.project, credentials=AnonymousCredentials())
        return storage.Client(project=self.settings.project)

    @cached_property
    def publisher(self) -> Publisher:
        from billing.adapters.pubsub_publisher import PubSubPublisher

        return PubSubPublisher(self.settings.project, timeout=self.settings.dependency_timeout_seconds)

    @cached_property
    def blobs(self) -> BlobStore:
        from billing.adapters.gcs_blobs import GcsBlobStore, iam_signer

        mode = self.settings.signed_urls
        signer = iam_signer() if mode == "on" or (mode == "auto" and on_google_cloud()) else None
        return GcsBlobStore(self.storage, self.settings.bucket, signer=signer,
                            staging_bucket=self.settings.staging_bucket or None,
                            timeout=self.settings.dependency_timeout_seconds)

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

        return FirestoreInvoices(self.firestore, self.settings, clock=self.now)

    @cached_property
    def credit_notes(self) -> CreditNoteRepository:
        from billing.adapters.firestore_credit_notes import FirestoreCreditNotes

        return FirestoreCreditNotes(self.firestore, self.settings)

    @cached_property
    def charge_repo(self) -> ChargeRepository:
        from billing.adapters.firestore_charges import FirestoreCharges

        return FirestoreCharges(self.firestore, self.settings, clock=self.now)

    @cached_property
    def partial_credit_notes(self) -> AdjustmentNoteRepository:
        """Partial credit notes: in creditNotes/, numbered on the void's series."""
        from billing.adapters.firestore_adjustments import FirestoreAdjustmentNotes

        s = self.settings
        return FirestoreAdjustmentNotes(self.firestore, notes_collection=s.credit_notes_collection,
                                        counters_collection=s.credit_note_counters_collection,
                                        invoices_collection=s.invoices_collection, date_field="creditNoteDate",
                                        lock_prefix="creditNote:")

    @cached_property
    def debit_notes(self) -> AdjustmentNoteRepository:
        from billing.adapters.firestore_adjustments import FirestoreAdjustmentNotes

        s = self.settings
        return FirestoreAdjustmentNotes(self.firestore, notes_collection=s.debit_notes_collection,
                                        counters_collection=s.debit_note_counters_collection,
                                        invoices_collection=s.invoices_collection, date_field="debitNoteDate",
                                        lock_prefix="debitNote:")

    @cached_property
    def receivables_repo(self) -> ReceivableRepository:
        from billing.adapters.firestore_receivables import FirestoreReceivables

        return FirestoreReceivables(self.firestore)

    @cached_property
    def runs(self) -> RunRepository:
        from billing.adapters.firestore_runs import FirestoreRuns

        return FirestoreRuns(self.firestore, self.settings, clock=self.now)

    @cached_property
    def csv_writer(self) -> CallCsvFactory:
        from billing.adapters.csv_export import CallCsvWriter

        return CallCsvWriter

    @cached_property
    def read_billed(self) -> BilledCallReader:
        from billing.adapters.csv_import import read_billed_calls

        return read_billed_calls

    @cached_property
    def render_pdf(self) -> InvoicePdfRenderer:
        from billing.adapters.pdf import render_invoice_pdf

        templates = self.settings.templates_dir
        return lambda invoice: render_invoice_pdf(invoice.document, templates_dir=templates)

    @cached_property
    def render_credit_note_pdf(self) -> NotePdfRenderer:
        from billing.adapters.pdf import render_credit_note_pdf

        templates = self.settings.templates_dir
        return lambda note: render_credit_note_pdf(note.document, templates_dir=templates)

    @cached_property
    def render_adjustment_pdf(self) -> NotePdfRenderer:
        from billing.adapters.pdf_adjustments import render_adjustment_note_pdf

        templates = self.settings.templates_dir
        return lambda note: render_adjustment_note_pdf(note.document, templates_dir=templates)

    @cached_property
    def stamp_cancelled_pdf(self) -> PdfStamper:
        from billing.adapters.pdf_stamp import stamp_cancelled_pdf

        templates = self.settings.templates_dir
        return lambda original, invoice: stamp_cancelled_pdf(original, invoice.document, templates_dir=templates)

    @cached_property
    def mailer(self) -> Mailer | None:
        """The SMTP mailer; None (sending skipped, with the reason) when unset or misconfigured."""
        return self._smtp[0]

    @cached_property
    def _smtp(self) -> tuple[Mailer | None, str, str, str | None]:
        """(mailer, why there is none, sender, reply-to)."""
        from billing.adapters.smtp_mailer import SmtpConfig, SmtpMailer
        from billing.errors import ConfigurationError

        try:
            config = SmtpConfig.from_env(self.env)
        except ConfigurationError as exc:
            # A bad SMTP setting must never block issuing invoices: sending is skipped with the reason.
            log.error(f"email disabled: {exc.detail}")
            return None, f"email is misconfigured: {exc.detail}", "", None
        if config is None:
            return None, "email is not configured (SMTP_HOST unset)", "", None
        return SmtpMailer(config), "", config.sender, config.reply_to

    # -- issuance and the read side --------------------------------------------------------------

    @cached_property
    def queries(self) -> InvoiceQueries:
        from billing.services.queries import InvoiceQueries

        return InvoiceQueries(self.companies, self.invoices)

    @cached_property
    def receivables(self) -> ReceivableService:
        """Payments, balances, ageing and TDS (DESIGN 14)."""
        from billing.services.receivables import ReceivableService

        return ReceivableService(queries=self.queries, receivables=self.receivables_repo,
                                 settings_repo=self.supplier_settings, clock=self.now,
                                 credit_notes=self.credit_notes, render_statement=self.render_statement_pdf,
                                 debit_notes=self.debit_notes)

    @cached_property
    def reminders(self) -> ReminderService:
        """Payment reminders at the configured steps, each at most once per invoice (DESIGN 14)."""
        from billing.services.reminders import ReminderService

        _, _, sender, reply_to = self._smtp

        def build(receivable: Receivable, company: Company, supplier: Supplier,
                  step: int, pdf_link: str | None, upi_link: str | None) -> EmailMessage:
            from billing.adapters.reminder_email import build_reminder_email

            portal = self.portal_tokens.link(receivable.company_id, self.settings.public_base_url)
            return build_reminder_email(receivable, company.document, supplier.snapshot(), step, pdf_link, upi_link,
                                        sender=sender, reply_to=reply_to, portal_link=portal)

        return ReminderService(receivables=self.receivables_repo, companies=self.companies, invoices=self.invoices,
                               settings_repo=self.supplier_settings, downloads=self.downloads, mailer=self.mailer,
                               build_message=build, clock=self.now, public_base_url=self.settings.public_base_url)

    @cached_property
    def render_statement_pdf(self) -> PdfRenderer:
        from billing.adapters.statement_pdf import render_statement_pdf

        templates = self.settings.templates_dir
        return lambda doc: render_statement_pdf(doc, templates_dir=templates)

    @cached_property
    def company_admin(self) -> CompanyAdmin:
        from billing.services.companies import CompanyAdmin

        return CompanyAdmin(self.companies, self.supplier_settings, self.settings)

    @cached_property
    def inputs(self) -> InputLoader:
        from billing.services.issuance.inputs import InputLoader

        return InputLoader(self.companies, self.settings)

    @cached_property
    def rating(self) -> RatingPipeline:
        from billing.services.issuance.rating import RatingPipeline

        return RatingPipeline(self.call_logs, self.blobs, self.csv_writer)

    @cached_property
    def numbering(self) -> InvoiceNumbering:
        from billing.services.issuance.numbering import InvoiceNumbering

        return InvoiceNumbering(self.invoices, self.supplier_settings, self.now)

    @cached_property
    def finisher(self) -> InvoiceFinisher:
        from billing.services.issuance.finish import InvoiceFinisher

        return InvoiceFinisher(self.invoices, self.blobs, self.render_pdf, self.now, on_issued=self.receivables.open)

    @cached_property
    def issuance(self) -> IssuanceService:
        from billing.services.issuance.issue import IssuanceService

        return IssuanceService(inputs=self.inputs, queries=self.queries, rating=self.rating,
                               numbering=self.numbering, finisher=self.finisher, invoices=self.invoices,
                               blobs=self.blobs, settings_repo=self.supplier_settings, settings=self.settings,
                               clock=self.now, charges=self.charges)

    @cached_property
    def preview(self) -> PreviewService:
        from billing.adapters.invoice_document import preview_document
        from billing.services.issuance.preview import PreviewService

        return PreviewService(inputs=self.inputs, rating=self.rating, settings_repo=self.supplier_settings,
                              settings=self.settings, clock=self.now, charges=self.charges,
                              preview_document=preview_document)

    @cached_property
    def charges(self) -> ChargeService:
        from billing.services.charges import ChargeService

        return ChargeService(companies=self.companies, charges=self.charge_repo, settings=self.settings,
                             clock=self.now)

    @cached_property
    def corrections(self) -> CorrectionService:
        from billing.services.corrections import CorrectionService

        return CorrectionService(issuance=self.issuance, queries=self.queries, invoices=self.invoices,
                                 credit_notes=self.credit_notes, settings_repo=self.supplier_settings,
                                 blobs=self.blobs, render_credit_note=self.render_credit_note_pdf,
                                 downloads=self.downloads, clock=self.now, on_void=self.receivables.on_void)

    @cached_property
    def adjustments(self) -> AdjustmentService:
        from billing.services.adjustments import AdjustmentService

        return AdjustmentService(queries=self.queries,
                                 notes={"credit": self.partial_credit_notes, "debit": self.debit_notes},
                                 settings_repo=self.supplier_settings, blobs=self.blobs,
                                 render=self.render_adjustment_pdf, clock=self.now,
                                 on_note=self.receivables.on_note)

    @cached_property
    def settlement(self) -> SettlementService:
        from billing.services.settlement import SettlementService

        return SettlementService(adjustments=self.adjustments, reconcile=self.reconcile, blobs=self.blobs)

    @cached_property
    def reconcile(self) -> ReconcileService:
        from billing.services.reconcile import ReconcileService

        return ReconcileService(queries=self.queries, calls=self.call_logs, blobs=self.blobs,
                                read_billed=self.read_billed, settings=self.settings)

    @cached_property
    def gst_returns(self) -> GstReturnService:
        from billing.services.gst_returns import GstReturnService

        return GstReturnService(invoices=self.invoices, credit_notes=self.credit_notes,
                                settings_repo=self.supplier_settings, debit_notes=self.debit_notes)

    @cached_property
    def downloads(self) -> DownloadService:
        from billing.services.downloads import DownloadService

        return DownloadService(queries=self.queries, blobs=self.blobs, clock=self.now,
                               stamp_cancelled=self.stamp_cancelled_pdf,
                               signing_key=self.settings.link_signing_key,
                               link_ttl_seconds=self.settings.link_ttl_seconds)

    @cached_property
    def delivery(self) -> DeliveryService:
        from billing.services.delivery import DeliveryService

        _, unavailable, sender, reply_to = self._smtp
        templates = self.settings.templates_dir

        def build(invoice: Invoice, replaces: Mapping[str, str | None] | None, pdf_bytes: bytes,
                  csv_bytes: bytes | None, links: Mapping[str, str], to: Sequence[str]) -> EmailMessage:
            from billing.adapters.email_message import build_invoice_email

            return build_invoice_email({**invoice.document, "replaces": replaces}, pdf_bytes=pdf_bytes,
                                       csv_bytes=csv_bytes, links=links, settings={}, sender=sender,
                                       reply_to=reply_to, templates_dir=templates, to=to)

        def build_credit_note(note: Note, pdf_bytes: bytes, link: str | None, to: Sequence[str]) -> EmailMessage:
            from billing.adapters.email_message import build_credit_note_email

            return build_credit_note_email(note, pdf_bytes=pdf_bytes, to=to, link=link, sender=sender,
                                           reply_to=reply_to, templates_dir=templates)

        def build_debit_note(note: Note, pdf_bytes: bytes, link: str | None, to: Sequence[str]) -> EmailMessage:
            from billing.adapters.email_message import build_debit_note_email

            return build_debit_note_email(note, pdf_bytes=pdf_bytes, to=to, link=link, sender=sender,
                                          reply_to=reply_to, templates_dir=templates)

        return DeliveryService(queries=self.queries, invoices=self.invoices,
                               credit_notes=self.credit_notes,
                               blobs=self.blobs, downloads=self.downloads, mailer=self.mailer,
                               build_message=build, build_credit_note_message=build_credit_note, clock=self.now, public_base_url=self.settings.public_base_url,
                               unavailable_reason=unavailable or "email is not configured (SMTP_HOST unset)",
                               debit_notes=self.debit_notes, build_debit_note_message=build_debit_note,
                               portal_link=self.portal_tokens.link)

    # -- the customer portal (DESIGN 16) ---------------------------------------------------------

    @cached_property
    def portal_tokens(self) -> PortalTokens:
        """Signed per-company portal links (30 days); the key derived from BILLING_LINK_SIGNING_KEY."""
        from billing.services.portal import PortalTokens

        return PortalTokens(self.settings.link_signing_key, self.now)

    @cached_property
    def portal(self) -> PortalService:
        from billing.adapters.formatting import display_date, indian_amount
        from billing.adapters.reminder_email import qr_png
        from billing.services.portal import PortalService

        return PortalService(tokens=self.portal_tokens, queries=self.queries, invoices=self.invoices,
                             credit_notes=self.credit_notes, adjustments=self.adjustments,
                             receivables=self.receivables, settings_repo=self.supplier_settings,
                             downloads=self.downloads, blobs=self.blobs,
                             money=lambda value: f"₹{indian_amount(value)}", day=display_date,
                             qr_png=lambda text: qr_png(text, scale=5, border=2))

    # -- the monthly run -------------------------------------------------------------------------

    @cached_property
    def run_context(self) -> RunContext:
        from billing.services.runs.common import RunContext

        from billing.services.runs.wake import WakeWindow

        wake = WakeWindow(self.wake_claims, lambda: self.publisher, self.settings.sequencer_topic, self.now)
        return RunContext(companies=self.companies, runs=self.runs, settings=self.settings,
                          publisher=_Lazy(lambda: self.publisher),  # the CLI's in-process run never needs Pub/Sub
                          delivery=self.delivery if self.settings.send_email else None,
                          clock=self.now,
                          wake=wake, alerts=self.run_alerts)

    @cached_property
    def wake_claims(self) -> WakeClaims:
        """One sequencer wake per window: `billingRuns/{M}/sequencerWakes/{window}`, created once."""
        from billing.adapters.firestore_wakes import FirestoreWakeClaims

        return FirestoreWakeClaims(self.firestore, self.settings)

    @cached_property
    def alert_claims(self) -> WakeClaims:
        """One operator email per run: `billingRuns/{M}/alerts/operator-email`, created once."""
        from billing.adapters.firestore_wakes import FirestoreWakeClaims

        return FirestoreWakeClaims(self.firestore, self.settings, "alerts")

    @cached_property
    def run_alerts(self) -> RunAlerts:
        """The operator's email about a run that needs a person (off without BILLING_OPERATOR_EMAIL or SMTP)."""
        from billing.services.run_alerts import RunAlerts

        mailer, unavailable, sender, _ = self._smtp
        if self.settings.operator_email and mailer is None:
            log.warning(f"BILLING_OPERATOR_EMAIL is set but {unavailable}: no operator alerts")
        return RunAlerts(runs=self.runs, claims=self.alert_claims, mailer=mailer,
                         operator=self.settings.operator_email, sender=sender, clock=self.now)

    @cached_property
    def run_worker(self) -> CompanyWorker:
        from billing.services.runs.worker import CompanyWorker

        return CompanyWorker(self.run_context, self.issuance, self.finisher, self.queries)

    @cached_property
    def sequencer(self) -> Sequencer:
        from billing.services.runs.sequencer import Sequencer

        return Sequencer(self.run_context, self.numbering)

    @cached_property
    def in_process_runs(self) -> InProcessRuns:
        from billing.services.runs.in_process import InProcessRuns

        return InProcessRuns(self.run_context, self.run_worker, self.numbering)

    @cached_property
    def run_fanout(self) -> FanoutService:
        from billing.services.runs.fanout import FanoutService

        return FanoutService(self.run_context)

    @cached_property
    def run_trigger(self) -> RunTrigger:
        from billing.services.runs.fanout import RunTrigger

        return RunTrigger(self.run_context, self.in_process_runs)

    @cached_property
    def run_status(self) -> RunStatus:
        from billing.services.runs.status import RunStatus

        return RunStatus(self.runs)

    # -- the operator console ------------------------------------------------------------------------

    @cached_property
    def invoice_listing(self) -> InvoiceListing:
        from billing.adapters.firestore_listing import FirestoreInvoiceListing

        return FirestoreInvoiceListing(self.firestore, invoices=self.settings.invoices_collection)

    @cached_property
    def console_reads(self) -> ConsoleReads:
        from billing.services.console_reads import ConsoleReads

        return ConsoleReads(self.invoice_listing, self.receivables_repo)

    @cached_property
    def text_formats(self) -> dict[str, Callable[[object], str]]:
        """How amounts and dates read on the invoices (the PDF's formatter), for the console's pages."""
        from billing.adapters.formatting import display_date, rate_amount, rupees

        return {"rupees": rupees, "date": display_date, "rate": rate_amount}


class _Lazy:
    """Builds the wrapped adapter on its first use."""

    def __init__(self, factory: Callable[[], Publisher]):
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
