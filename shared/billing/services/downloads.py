"""Where an issued invoice's files are fetched: a signed URL where signing works, else the API's routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from billing.domain.invoice import FILE_KINDS, document_file_paths, download_name
from billing.errors import NotFoundError
from billing.ports import BlobStore
from billing.services.issuance import IssuanceService


@dataclass(frozen=True)
class Download:
    """One file: either a URL to redirect to, or its bytes in chunks."""

    filename: str
    content_type: str
    redirect_url: str | None = None
    chunks: Iterable[bytes] | None = None


class DownloadService:
    """Links for responses and emails, and the files behind the download routes."""

    def __init__(self, *, issuance: IssuanceService, blobs: BlobStore):
        self.issuance = issuance
        self.blobs = blobs

    def links(self, invoice: Mapping[str, Any], route_base: str | None) -> dict[str, str]:
        """kind -> URL: signed where possible, else `{route_base}/billing/invoices/.../{kind}`."""
        company, month = invoice["companyId"], invoice["billingPeriod"]["month"]
        paths = document_file_paths(invoice)
        links = {}
        for kind in FILE_KINDS:
            url = self.blobs.signed_url(paths[kind], download_name(invoice, kind))
            if not url and route_base:
                url = f"{route_base.rstrip('/')}/billing/invoices/{company}/{month}/{kind}"
            if url:
                links[kind] = url
        return links

    def open(self, company_id: str, period_key: str, kind: str) -> Download:
        """The month's current invoice's PDF or CSV: a signed-URL redirect, or its bytes streamed."""
        if kind not in FILE_KINDS:
            raise NotFoundError(f"unknown file kind {kind!r}; expected pdf or csv")
        doc = self.issuance.issued(company_id, period_key)
        path = document_file_paths(doc)[kind]
        name = download_name(doc, kind)
        url = self.blobs.signed_url(path, name)
        if url:
            return Download(name, FILE_KINDS[kind], redirect_url=url)
        return Download(name, FILE_KINDS[kind], chunks=self.blobs.open_read(path))
