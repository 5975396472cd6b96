"""Where documents live in Firestore: the one place that knows both call-log layouts."""

from __future__ import annotations

from typing import Any

from billing.config import Settings


def call_logs_collection(db: Any, settings: Settings, company_id: str) -> Any:
    """The collection holding a company's call logs: top-level (filtered by company) or per company."""
    schema = settings.call_logs
    if schema.layout == "subcollection":
        return db.collection(settings.companies_collection).document(company_id).collection(schema.collection)
    return db.collection(schema.collection)


def call_log_ref(db: Any, settings: Settings, company_id: str, call_id: str) -> Any:
    """The document of one call log."""
    return call_logs_collection(db, settings, company_id).document(call_id)


class FirestoreSeeder:
    """Writes supplier settings, companies and call logs in batches (demo data, benchmarks, fixtures)."""

    batch_size = 400

    def __init__(self, db: Any, settings: Settings):
        self._db = db
        self._settings = settings

    def put_supplier(self, doc: dict[str, Any]) -> None:
        self._db.document(self._settings.settings_document).set(doc)

    def put_companies(self, companies: dict[str, dict[str, Any]]) -> None:
        batch = self._db.batch()
        for company_id, doc in companies.items():
            batch.set(self._db.collection(self._settings.companies_collection).document(company_id), doc)
        batch.commit()

    def put_calls(self, calls: list[tuple[str, dict[str, Any]]]) -> None:
        """(callId, document) pairs; each document names its companyId."""
        company_field = self._settings.call_logs.company_field
        for offset in range(0, len(calls), self.batch_size):
            batch = self._db.batch()
            for call_id, doc in calls[offset: offset + self.batch_size]:
                batch.set(call_log_ref(self._db, self._settings, doc[company_field], call_id), doc)
            batch.commit()
