"""Where an issued invoice's files are fetched: a signed URL where signing works, else the API's routes."""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any, Iterable, Mapping
from urllib.parse import urlencode

from billing.domain.lifecycle import InvoiceStatus
from billing.domain.entities import Invoice
from billing.domain.naming import FILE_KINDS
from billing.errors import ForbiddenError, IntegrityError, NotFoundError, ValidationError
from billing.ports import BlobStore, Clock, PdfStamper
from billing.services.queries import InvoiceQueries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Download:
    """One file: either a URL to redirect to, or its bytes in chunks."""

    filename: str
    content_type: str
    redirect_url: str | None = None
    chunks: Iterable[bytes] | None = None


class DownloadService:
    """Links for responses and emails, and the files behind the download routes."""

    def __init__(self, *, queries: InvoiceQueries, blobs: BlobStore, clock: Clock, stamp_cancelled: PdfStamper,
                 signing_key: str = "", link_ttl_seconds: int = 7 * 24 * 3600):
        self.queries = queries
        self.blobs = blobs
        self.clock = clock
        self.stamp_cancelled = stamp_cancelled
        self._key = signing_key.encode()
        self.link_ttl_seconds = link_ttl_seconds

    def _signature(self, company_id: str, period_key: str, kind: str, expires: int, document: str) -> str:
        message = f"{company_id}/{period_key}/{kind}/{expires}/{document}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _route(self, route_base: str, company_id: str, period_key: str, kind: str, document: str) -> str:
        """The download route; with a signing key, a link that opens without an API key until it expires,
        bound to the document (after a void and reissue it does not serve the reissue's file)."""
        url = f"{route_base.rstrip('/')}/billing/invoices/{company_id}/{period_key}/{kind}"
        if not self._key:
            return url
        expires = int(self.clock().timestamp()) + self.link_ttl_seconds
        signature = self._signature(company_id, period_key, kind, expires, document)
        return f"{url}?{urlencode({'doc': document, 'expires': expires, 'signature': signature})}"

    def verify(self, company_id: str, period_key: str, kind: str, expires: str, signature: str,
               document: str = "") -> None:
        """A signed link's proof (no API key needed): ForbiddenError when tampered with or expired.
        The caller then opens the file with `document`, so a link serves only the document it was made for."""
        if not self._key:
            raise ForbiddenError("signed links are not enabled here; send X-API-Key instead")
        if not (expires.isascii() and expires.isdigit()) or len(expires) > 12:
            raise ValidationError(f"expires must be a Unix time, got {expires!r}")
        expected = self._signature(company_id, period_key, kind, int(expires), document)
        if not hmac.compare_digest(expected, signature):
            raise ForbiddenError("this download link is not valid (it was changed or is not ours)")
        if int(expires) < self.clock().timestamp():
            raise ForbiddenError("this download link has expired; ask for the invoice to be sent again")

    def links(self, invoice: Invoice, route_base: str | None) -> dict[str, str]:
        """kind -> URL: signed where possible, else `{route_base}/billing/invoices/.../{kind}`."""
        company, month, paths = invoice.company_id, invoice.period_key, invoice.file_paths
        doc_id = invoice.invoice_id
        names = {kind: invoice.download_name(kind) for kind in FILE_KINDS}
        links = {}
        for kind in FILE_KINDS:
            url = self.blobs.signed_url(paths[kind], names[kind])
            if not url and route_base:
                url = self._route(route_base, company, month, kind, doc_id)
            if url:
                links[kind] = url
        return links

    def open(self, company_id: str, period_key: str, kind: str, document: str | None = None) -> Download:
        """The month's current invoice's PDF or CSV: a signed-URL redirect, or its bytes streamed.
        With `document` (a signed link's), only while that document is still the month's current one."""
        if kind not in FILE_KINDS:
            raise NotFoundError(f"unknown file kind {kind!r}; expected pdf or csv")
        invoice = self.queries.with_files(company_id, period_key)
        if document is not None and invoice.invoice_id != document:
            raise ForbiddenError("this link is for an earlier invoice of this month, which was voided and reissued; "
                                 "ask for the current invoice to be sent")
        if kind == "pdf" and invoice.status is InvoiceStatus.VOID:
            path, name = self.cancelled_copy(invoice), invoice.cancelled_download_name
        else:
            path, name = invoice.file_paths[kind], invoice.download_name(kind)
        url = self.blobs.signed_url(path, name)
        if url:
            return Download(name, FILE_KINDS[kind], redirect_url=url)
        return Download(name, FILE_KINDS[kind], chunks=self.blobs.open_read(path))

    def cancelled_copy(self, invoice: Invoice) -> str:
        """The void invoice's copy stamped CANCELLED: stored create-only beside the original (which is
        never touched) when missing, e.g. for a void made before copies existed; its path.

        The bytes depend only on the original PDF and the credit note, so a retry after a crash, or a
        concurrent first download, stores (or finds) exactly the same file."""
        if invoice.status is not InvoiceStatus.VOID:
            raise IntegrityError(f"invoice {invoice.number} is not void; it has no CANCELLED copy")
        path = invoice.cancelled_pdf_path
        if self.blobs.exists(path):
            return path
        original = self.blobs.read(invoice.file_paths["pdf"])
        stamped = self.stamp_cancelled(original, invoice)
        if not self.blobs.put_create_only(path, stamped, FILE_KINDS["pdf"], invoice.cancelled_download_name):
            log.info("CANCELLED copy already stored; kept as it is",
                     extra={"json_fields": {"invoiceNumber": invoice.number}})
        return path
