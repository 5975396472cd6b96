"""Ids, storage paths and download names of invoices and credit notes (one place for each)."""

from __future__ import annotations

import re
from typing import Any, Mapping

from billing.errors import ValidationError

COMPANY_ID = re.compile(r"^[a-z0-9_-]{1,64}$")
FILE_KINDS = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}
CREDIT_NOTE_SUFFIX = "_cn"


def validate_company_id(company_id: object) -> str:
    """companyId: 1-64 characters of a-z, 0-9, '_' and '-'."""
    if not isinstance(company_id, str) or not COMPANY_ID.match(company_id):
        text = str(company_id)
        shown = company_id if isinstance(company_id, str) and len(text) <= 80 else f"{text[:80]}..."
        raise ValidationError(f"company id must be 1-64 characters of a-z, 0-9, '_' or '-', got {shown!r}")
    return company_id


def invoice_id(company_id: str, period_key: str, revision: int = 0) -> str:
    """The idempotency key of a company-month's invoice: the first `{c}_{YYYY-MM}`, reissues `..._r{k}`."""
    base = f"{company_id}_{period_key}"
    return f"{base}_r{revision}" if revision else base


def file_paths(company_id: str, period_key: str, revision: int = 0) -> dict[str, str]:
    """Where the invoice's PDF and CSV are stored in the bucket (each revision its own; the first
    invoice's paths are those every invoice had before reissues existed)."""
    base = f"invoices/{company_id}/{period_key}/{invoice_id(company_id, period_key, revision)}"
    return {"pdf": f"{base}_invoice.pdf", "csv": f"{base}_calls.csv"}


def revision_of(doc: Mapping[str, Any]) -> int:
    """0 for a month's first invoice, k for its k-th reissue (documents before reissues have no field)."""
    return int(doc.get("revision") or 0)


def document_id(doc: Mapping[str, Any]) -> str:
    """The stored invoice's id, from its company, month and revision."""
    return invoice_id(str(doc["companyId"]), str(doc["billingPeriod"]["month"]), revision_of(doc))


def document_file_paths(doc: Mapping[str, Any]) -> dict[str, str]:
    """The stored invoice's PDF and CSV paths."""
    return file_paths(str(doc["companyId"]), str(doc["billingPeriod"]["month"]), revision_of(doc))


def staging_path(company_id: str, period_key: str, token: str) -> str:
    """A unique staging object for a CSV being written (promoted once the invoice exists)."""
    return f"staging/{company_id}/{period_key}/{token}.csv"


def download_stem(doc: Mapping[str, Any], number_field: str = "invoiceNumber") -> str:
    """"VD/25-26/00001", "vysedeck", "2025-09" -> "VD-25-26-00001_vysedeck_2025-09"."""
    return stem(str(doc.get(number_field, "")), str(doc.get("companyId", "")),
                str((doc.get("billingPeriod") or {}).get("month", "")))


def stem(number: str, company_id: str, period_key: str) -> str:
    """A document's download stem from its number, company and month (file-name safe)."""
    text = f"{number.replace('/', '-')}_{company_id}_{period_key}"
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


def file_name(stem_text: str, kind: str) -> str:
    """An invoice's PDF or CSV file name from its stem."""
    return f"{stem_text}_{'invoice.pdf' if kind == 'pdf' else 'calls.csv'}"


def download_name(doc: Mapping[str, Any], kind: str) -> str:
    """The file name a browser or a mail client shows for the invoice's PDF or CSV."""
    return file_name(download_stem(doc), kind)


def csv_name(company_id: str, period_key: str) -> str:
    """The CSV's file name while it is written (before the invoice has a number)."""
    return f"{company_id}_{period_key}_calls.csv"


def credit_note_id(invoice_id: str) -> str:
    """The credit note that voids invoice `invoice_id` (at most one per invoice)."""
    return f"{invoice_id}{CREDIT_NOTE_SUFFIX}"


def credit_note_pdf_path(company_id: str, period_key: str, cn_id: str) -> str:
    """Where the credit note's PDF is stored (create-only, never overwritten)."""
    return f"credit-notes/{company_id}/{period_key}/{cn_id}_credit-note.pdf"


def credit_note_download_name(doc: Mapping[str, Any]) -> str:
    """"CN/26-27/00001" of vysedeck 2025-09 -> "CN-26-27-00001_vysedeck_2025-09_credit-note.pdf"."""
    return f"{download_stem(doc, 'creditNoteNumber')}_credit-note.pdf"
