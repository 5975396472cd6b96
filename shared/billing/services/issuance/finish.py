"""Finishing a numbered document from the document alone: its files stored, then marked issued.

Shared by invoices and credit notes: the PDF is rendered (deterministic bytes), stored create-only
(a retry keeps the first copy) and the document is marked issued with the PDF's checksum
(`store_pdf` gives those facts as an `IssuedPdf`).
"""

from __future__ import annotations

import hashlib
import logging
from typing import Callable

from billing.domain.entities import Invoice, IssuedPdf
from billing.domain.naming import FILE_KINDS
from billing.errors import IntegrityError
from billing.ports import BlobStore, Clock, InvoicePdfRenderer, InvoiceRepository
from billing.domain.lifecycle import InvoiceStatus

log = logging.getLogger("billing.services.issuance")

def store_pdf(blobs: BlobStore, clock: Clock, doc_id: str, path: str, pdf: bytes, filename: str, kind: str,
              id_field: str) -> IssuedPdf:
    """Store the document's PDF (create-only: a retry keeps the first copy); what marks it issued."""
    if not blobs.put_create_only(path, pdf, FILE_KINDS["pdf"], filename):
        log.info(f"{kind} PDF already stored; kept as it is", extra={"json_fields": {id_field: doc_id}})
    return IssuedPdf(clock(), hashlib.md5(pdf).hexdigest())


class InvoiceFinisher:
    def __init__(self, invoices: InvoiceRepository, blobs: BlobStore, render_pdf: InvoicePdfRenderer, clock: Clock,
                 on_issued: Callable[[Invoice], object] | None = None):
        self.invoices = invoices
        self.blobs = blobs
        self.render_pdf = render_pdf
        self.clock = clock
        self.on_issued = on_issued  # opens the invoice's receivable (idempotent; retried with the finish)

    def finish(self, invoice: Invoice) -> Invoice:
        """Make a numbered ("issuing") invoice complete from its document alone (idempotent)."""
        if invoice.has_files:
            if invoice.status is InvoiceStatus.ISSUED:
                self._opened(invoice)  # a retry after a crash between marking it issued and this
            return invoice
        if invoice.status is not InvoiceStatus.ISSUING:
            raise IntegrityError(f"invoice {invoice.invoice_id} is {invoice.status.value!r}, not numbered yet")
        paths = invoice.file_paths
        if invoice.revision:
            self._link_replaced(invoice)
        self._store_csv(invoice, paths["csv"], invoice.staged_csv)
        stored = store_pdf(self.blobs, self.clock, invoice.invoice_id, paths["pdf"], self.render_pdf(invoice),
                           invoice.download_name("pdf"), "invoice", "invoiceId")
        final = self.invoices.mark_issued(invoice.mark_issued().invoice_id, stored)
        if invoice.staged_csv:
            self.blobs.delete(invoice.staged_csv)
        self._opened(final)
        return final

    def _opened(self, issued: Invoice) -> None:
        if self.on_issued is not None:
            self.on_issued(issued)

    def _link_replaced(self, invoice: Invoice) -> None:
        """A reissue's void predecessor names it in `replacedBy` (set by the void when it asked for
        the reissue; set here when the reissue came later, from generate)."""
        before = self.invoices.find(invoice.previous_id)
        if before is not None and not before.replaced_by:
            self.invoices.link_replacement(before.invoice_id, invoice.invoice_id)

    def _store_csv(self, invoice: Invoice, final: str, staging: str | None) -> None:
        if self.blobs.exists(final):
            return
        if not staging or not self.blobs.exists(staging):
            raise IntegrityError(
                f"invoice {invoice.number} ({invoice.invoice_id}) is missing its staged CSV "
                f"({staging}); it needs an operator"
            )
        self.blobs.promote(staging, final)
