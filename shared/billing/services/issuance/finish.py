"""Finishing a numbered document from the document alone: its files stored, then marked issued.

Shared by invoices and credit notes: the PDF is rendered (deterministic bytes), stored create-only
(a retry keeps the first copy) and the document is marked issued with the PDF's checksum.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Callable, Mapping

from billing.domain.entities import Invoice
from billing.domain.naming import (
    FILE_KINDS, document_file_paths, document_id, download_name, invoice_id, revision_of,
)
from billing.errors import IntegrityError
from billing.ports import BlobStore, Clock, InvoiceMapper, InvoiceRepository, PdfRenderer
from billing.domain.lifecycle import InvoiceStatus

log = logging.getLogger("billing.services.issuance")

MarkIssued = Callable[[str, Mapping[str, Any]], dict[str, Any]]


def store_pdf_and_mark_issued(blobs: BlobStore, clock: Clock, doc_id: str, path: str, pdf: bytes,
                              filename: str, mark_issued: MarkIssued, kind: str, id_field: str) -> dict[str, Any]:
    """Store the document's PDF (create-only) and mark the document issued."""
    if not blobs.put_create_only(path, pdf, FILE_KINDS["pdf"], filename):
        log.info(f"{kind} PDF already stored; kept as it is", extra={"json_fields": {id_field: doc_id}})
    return mark_issued(doc_id, {
        "status": InvoiceStatus.ISSUED.value,
        "issuedAt": clock().isoformat(timespec="milliseconds"),
        "files.pdfMd5": hashlib.md5(pdf).hexdigest(),
    })


class InvoiceFinisher:
    def __init__(self, invoices: InvoiceRepository, blobs: BlobStore, render_pdf: PdfRenderer, clock: Clock,
                 to_invoice: InvoiceMapper, on_issued: Callable[[Invoice], object] | None = None):
        self.invoices = invoices
        self.to_invoice = to_invoice
        self.blobs = blobs
        self.render_pdf = render_pdf
        self.clock = clock
        self.on_issued = on_issued  # opens the invoice's receivable (idempotent; retried with the finish)

    def finish(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Make a numbered ("issuing") invoice complete from its document alone (idempotent)."""
        status = InvoiceStatus.of(doc)
        if status is not None and status.has_files:
            if status is InvoiceStatus.ISSUED:
                self._opened(doc)  # a retry after a crash between marking it issued and this
            return doc
        if status is not InvoiceStatus.ISSUING:
            raise IntegrityError(f"invoice {doc.get('invoiceId')} is {doc.get('status')!r}, not numbered yet")
        inv_id = document_id(doc)
        paths = document_file_paths(doc)
        staging = doc["files"].get("csvStaging")
        if revision_of(doc):
            self._link_replaced(doc)
        self._store_csv(doc, paths["csv"], staging)
        final = store_pdf_and_mark_issued(self.blobs, self.clock, inv_id, paths["pdf"], self.render_pdf(doc),
                                          download_name(doc, "pdf"), self.invoices.mark_issued, "invoice", "invoiceId")
        if staging:
            self.blobs.delete(staging)
        self._opened(final)
        return final

    def _opened(self, stored: Mapping[str, Any]) -> None:
        """The issued invoice (its document as stored) handed to on_issued as the entity."""
        if self.on_issued is not None:
            self.on_issued(self.to_invoice(stored))

    def _link_replaced(self, doc: Mapping[str, Any]) -> None:
        """A reissue's void predecessor names it in `replacedBy` (set by the void when it asked for
        the reissue; set here when the reissue came later, from generate)."""
        previous = invoice_id(doc["companyId"], doc["billingPeriod"]["month"], revision_of(doc) - 1)
        before = self.invoices.find(previous)
        if before is not None and not before.replaced_by:
            self.invoices.update(previous, {"replacedBy": document_id(doc)})

    def _store_csv(self, doc: Mapping[str, Any], final: str, staging: str | None) -> None:
        if self.blobs.exists(final):
            return
        if not staging or not self.blobs.exists(staging):
            raise IntegrityError(
                f"invoice {doc['invoiceNumber']} ({doc.get('invoiceId')}) is missing its staged CSV "
                f"({staging}); it needs an operator"
            )
        self.blobs.promote(staging, final)
