"""Email delivery of issued invoices, recorded on the invoice, never sent twice by accident.

`deliver_quietly` (used by the monthly run) sends once: an invoice already sent is left alone.
`send(..., force=True)` (the API's /send) resends on purpose. A failed send is recorded
(status, attempts, last error) and never touches the invoice itself.

Exactly-once is guarded by a claim: before talking to SMTP the delivery record moves to
"sending" with a claim id in a transaction; a concurrent sender sees the claim and stops.
A claim older than CLAIM_TIMEOUT (a crashed sender) may be taken over.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any, Mapping

from billing.domain.invoice import MAX_CSV_ATTACHMENT_BYTES
from billing.domain.naming import document_file_paths, document_id
from billing.errors import BillingError, ConfigurationError, ConflictError, ValidationError
from billing.ports import BlobStore, Clock, InvoiceEmailBuilder, InvoiceRepository, Mailer
from billing.services.downloads import DownloadService
from billing.services.queries import InvoiceQueries
from billing.domain.lifecycle import InvoiceStatus

log = logging.getLogger(__name__)

CLAIM_TIMEOUT = timedelta(minutes=10)


class DeliveryService:
    """Sends invoice emails through a Mailer and records each attempt on the invoice document."""

    def __init__(
        self,
        *,
        queries: InvoiceQueries,
        invoices: InvoiceRepository,
        blobs: BlobStore,
        downloads: DownloadService,
        mailer: Mailer | None,
        build_message: InvoiceEmailBuilder,
        clock: Clock,
        public_base_url: str = "",
        unavailable_reason: str = "email is not configured (SMTP_HOST unset)",
    ):
        self.queries = queries
        self.invoices = invoices
        self.blobs = blobs
        self.downloads = downloads
        self.mailer = mailer
        self.build_message = build_message
        self.clock = clock
        self.public_base_url = public_base_url.rstrip("/")
        self.unavailable_reason = unavailable_reason

    def send(self, company_id: str, period_key: str, force: bool = False) -> dict[str, Any]:
        """Send the issued invoice's email; with force, also when it was sent before."""
        invoice = self.queries.get(company_id, period_key)
        return self._deliver(invoice, force=force, raise_errors=True)

    def deliver_quietly(self, invoice: Mapping[str, Any]) -> dict[str, Any]:
        """Send once if not sent yet; failures are recorded and returned, never raised."""
        try:
            return self._deliver(invoice, force=False, raise_errors=False)
        except Exception as exc:  # delivery must never undo or block the invoice
            log.exception("delivery failed unexpectedly")
            return {"status": "failed", "lastError": f"{type(exc).__name__}: {exc}"}

    def _deliver(self, invoice: Mapping[str, Any], force: bool, raise_errors: bool) -> dict[str, Any]:
        if InvoiceStatus.of(invoice) is not InvoiceStatus.ISSUED:
            raise ConflictError(f"invoice {invoice.get('invoiceNumber')} is not issued yet; nothing to send")
        inv_id = document_id(invoice)
        recipient = (invoice.get("recipient") or {}).get("billingEmail")
        if not recipient:
            record = {"status": "skipped", "reason": "company has no billingEmail"}
            self.invoices.update(inv_id, {"delivery.status": "skipped", "delivery.reason": record["reason"]})
            return record
        if self.mailer is None:
            if raise_errors:  # the caller asked for this send: answer 409, write nothing
                raise ConflictError(self.unavailable_reason)
            record = {"status": "skipped", "reason": self.unavailable_reason}
            self.invoices.update(inv_id, {"delivery.status": "skipped", "delivery.reason": record["reason"]})
            return record

        claim_id = uuid.uuid4().hex
        claimed = self.invoices.claim_delivery(inv_id, claim_id, force, self.clock(),
                                               CLAIM_TIMEOUT.total_seconds())
        if claimed is None:
            current = (self.invoices.get(inv_id) or {}).get("delivery", {})
            return {**current, "note": "already sent or being sent; not sent again"}

        return self._send(invoice, inv_id, int(claimed.get("attempts", 0)), recipient, raise_errors)

    def _send(self, invoice: Mapping[str, Any], inv_id: str, attempts: int, recipient: str,
              raise_errors: bool) -> dict[str, Any]:
        """Build and send the claimed email; record the outcome on the invoice (the claim released)."""
        assert self.mailer is not None  # checked before claiming
        paths = document_file_paths(invoice)
        try:
            pdf = self.blobs.read(paths["pdf"])
            size = self.blobs.size(paths["csv"])
            csv_bytes = self.blobs.read(paths["csv"]) if size is not None and size <= MAX_CSV_ATTACHMENT_BYTES else None
            links = self.downloads.links(invoice, self.public_base_url or None)
            message = self.build_message(invoice, pdf, csv_bytes, links)
            message_id = self.mailer.send(message)
        except Exception as exc:  # recorded, and the claim released, whatever went wrong
            detail = self._record_failure(inv_id, attempts, exc)
            if raise_errors:
                raise
            return {"status": "failed", "attempts": attempts, "lastError": detail}
        fields = {
            "delivery.status": "sent",
            "delivery.attempts": attempts,
            "delivery.messageId": message_id,
            "delivery.to": recipient,
            "delivery.sentAt": self.clock().isoformat(),
            "delivery.lastError": None,
            "delivery.claim": None,
        }
        self.invoices.update(inv_id, fields)
        log.info("invoice emailed", extra={"json_fields": {"invoiceId": inv_id, "messageId": message_id}})
        return {"status": "sent", "attempts": attempts, "messageId": message_id, "to": recipient}

    def _record_failure(self, inv_id: str, attempts: int, exc: Exception) -> str:
        detail = exc.detail if isinstance(exc, BillingError) else f"{type(exc).__name__}: {exc}"
        fields = {
            "delivery.status": "failed",
            "delivery.attempts": attempts,
            "delivery.lastError": detail,
            # a bad address or template will not fix itself on retry
            "delivery.permanent": bool(getattr(exc, "permanent", isinstance(exc, (ConfigurationError, ValidationError)))),
            "delivery.updatedAt": self.clock().isoformat(),
            "delivery.claim": None,
        }
        self.invoices.update(inv_id, fields)
        log.warning(f"invoice email failed: {detail}", extra={"json_fields": {"invoiceId": inv_id, "attempts": attempts}})
        return detail

