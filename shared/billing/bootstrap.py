"""The one place SDK clients are built: lazily, from Settings, cached for warm instances."""

from __future__ import annotations

import os
import threading
from functools import cached_property

from billing.config import Settings


def on_google_cloud() -> bool:
    """True inside Cloud Functions / Cloud Run (they set K_SERVICE), outside any emulator."""
    return bool(os.environ.get("K_SERVICE")) and not os.environ.get("STORAGE_EMULATOR_HOST")


class Container:
    """Builds adapters and services on first use; nothing touches the network at construction."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings.from_env()
        self._lock = threading.Lock()

    @cached_property
    def firestore(self):
        from google.cloud import firestore

        if os.environ.get("FIRESTORE_EMULATOR_HOST"):
            from google.auth.credentials import AnonymousCredentials

            return firestore.Client(project=self.settings.project, credentials=AnonymousCredentials())
        return firestore.Client(project=self.settings.project)

    @cached_property
    def storage(self):
        from google.cloud import storage

        if os.environ.get("STORAGE_EMULATOR_HOST"):
            from google.auth.credentials import AnonymousCredentials

            return storage.Client(project=self.settings.project, credentials=AnonymousCredentials())
        return storage.Client(project=self.settings.project)

    @cached_property
    def publisher(self):
        from billing.adapters.pubsub_publisher import PubSubPublisher

        return PubSubPublisher(self.settings.project)

    @cached_property
    def blobs(self):
        from billing.adapters.gcs_blobs import GcsBlobStore, iam_signer

        mode = self.settings.signed_urls
        signer = iam_signer() if mode == "on" or (mode == "auto" and on_google_cloud()) else None
        return GcsBlobStore(self.storage, self.settings.bucket, signer=signer)

    @cached_property
    def companies(self):
        from billing.adapters.firestore_repo import FirestoreCompanies

        return FirestoreCompanies(self.firestore, self.settings)

    @cached_property
    def supplier_settings(self):
        from billing.adapters.firestore_repo import FirestoreSettings

        return FirestoreSettings(self.firestore, self.settings)

    @cached_property
    def call_logs(self):
        from billing.adapters.firestore_calls import FirestoreCallLogs

        return FirestoreCallLogs(self.firestore, self.settings)

    @cached_property
    def invoices(self):
        from billing.adapters.firestore_repo import FirestoreInvoices

        return FirestoreInvoices(self.firestore, self.settings)

    @cached_property
    def runs(self):
        from billing.adapters.firestore_repo import FirestoreRuns

        return FirestoreRuns(self.firestore, self.settings)

    def render_pdf(self, invoice) -> bytes:
        from billing.adapters.pdf import render_invoice_pdf

        return render_invoice_pdf(invoice, templates_dir=self.settings.templates_dir)

    @cached_property
    def issuance(self):
        from billing.services.issuance import IssuanceService

        return IssuanceService(
            companies=self.companies,
            settings_repo=self.supplier_settings,
            calls=self.call_logs,
            invoices=self.invoices,
            blobs=self.blobs,
            settings=self.settings,
            render_pdf=self.render_pdf,
        )

    @cached_property
    def runs_service(self):
        from billing.services.runs import RunService

        return RunService(
            companies=self.companies,
            runs=self.runs,
            issuance=self.issuance,
            settings=self.settings,
            publisher=_Lazy(lambda: self.publisher),  # the CLI's in-process run never needs Pub/Sub
            delivery=self.delivery if self.settings.send_email else None,
        )

    @cached_property
    def delivery(self):
        from billing.services.delivery import DeliveryService

        return DeliveryService.from_container(self)


class _Lazy:
    """Builds the wrapped adapter on its first use."""

    def __init__(self, factory):
        self._factory = factory

    def __getattr__(self, name):
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
