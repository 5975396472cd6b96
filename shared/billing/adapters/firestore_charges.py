"""One-off charges in Firestore: companies/{id}/charges/{chargeId} and companies/{id}/chargeMonths/{YYYY-MM}.

The month document is the lock both sides take: adding a charge reads it (and the month's
invoices) and writes it; issuance's close reads and writes it. Two such transactions on one
month serialise, so a charge added before the close is read by issuance, and one after is refused.
"""

from __future__ import annotations

from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from billing.adapters.charge_document import charge_document, charge_from_document
from billing.adapters.firestore_repo import run_contended
from billing.adapters.invoice_document import invoice_from_document
from billing.adapters.sdk_errors import transient
from billing.config import Settings
from billing.domain.charges import OneOffCharge, closed_reason
from billing.domain.entities import Invoice
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.naming import invoice_id
from billing.errors import ConflictError
from billing.ports import Clock, utc_now

MAX_REVISIONS = 100  # a month voided and reissued more often than this needs an operator anyway


class FirestoreCharges:
    def __init__(self, db: firestore.Client, settings: Settings, clock: Clock = utc_now):
        self._db = db
        self._companies = db.collection(settings.companies_collection)
        self._invoices = db.collection(settings.invoices_collection)
        self._clock = clock

    def _month(self, company_id: str, period_key: str) -> Any:
        return self._companies.document(company_id).collection("chargeMonths").document(period_key)

    def _charges(self, company_id: str) -> Any:
        return self._companies.document(company_id).collection("charges")

    def add(self, charge: OneOffCharge) -> tuple[OneOffCharge, bool]:
        company_id, period_key = charge.company_id, charge.period
        month = self._month(company_id, period_key)
        ref = self._charges(company_id).document(charge.charge_id)

        @firestore.transactional
        def txn(transaction: Any) -> tuple[OneOffCharge, bool]:
            existing = ref.get(transaction=transaction)
            marker = month.get(transaction=transaction)
            if existing.exists:
                return charge_from_document(existing.to_dict() or {}), False
            invoices = self._month_invoices(company_id, period_key, transaction)
            state = (marker.to_dict() or {}) if marker.exists else {}
            closed = state.get("closedRevision")
            reason = closed_reason(period_key, invoices, int(closed) if closed is not None else None)
            if reason:
                raise ConflictError(reason)
            transaction.set(ref, charge_document(charge))
            transaction.set(month, {"period": period_key, "charges": int(state.get("charges", 0)) + 1,
                                    "updatedAt": self._now()}, merge=True)
            return charge, True

        result: tuple[OneOffCharge, bool] = run_contended(self._db, month.path, txn,
                                                             f"adding a charge to {company_id} {period_key}")
        return result

    def _month_invoices(self, company_id: str, period_key: str, transaction: Any) -> list[Invoice]:
        """The month's invoices in revision order, read in the transaction (up to the first missing)."""
        found: list[Invoice] = []
        for revision in range(MAX_REVISIONS):
            snap = self._invoices.document(invoice_id(company_id, period_key, revision)).get(transaction=transaction)
            if not snap.exists:
                break
            found.append(invoice_from_document(snap.to_dict() or {}))
            if found[-1].status is not InvoiceStatus.VOID:
                break
        return found

    def close(self, company_id: str, period_key: str, revision: int) -> None:
        month = self._month(company_id, period_key)

        @firestore.transactional
        def txn(transaction: Any) -> None:
            snap = month.get(transaction=transaction)
            closed = (snap.to_dict() or {}).get("closedRevision") if snap.exists else None
            if closed is None or int(closed) < revision:
                transaction.set(month, {"period": period_key, "closedRevision": revision,
                                        "closedAt": self._now()}, merge=True)

        run_contended(self._db, month.path, txn, f"closing {company_id} {period_key} for charges")

    def for_month(self, company_id: str, period_key: str) -> list[OneOffCharge]:
        query = self._charges(company_id).where(filter=FieldFilter("period", "==", period_key))
        with transient(f"reading the charges of {company_id} for {period_key}"):
            return [charge_from_document(snap.to_dict() or {}) for snap in query.stream()]

    def _now(self) -> str:
        return self._clock().isoformat(timespec="milliseconds")
