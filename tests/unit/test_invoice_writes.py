"""The invoice's write paths through the entity: numbering a draft in the domain, the fields the
mapper writes for it (the same names and values as before the entity), issuing, a reissue's link."""

from datetime import datetime, timedelta, timezone

import pytest

from billing.adapters.invoice_document import (
    invoice_from_document, issued_fields, numbering_fields, replaced_by_fields,
)
from billing.domain.entities import IssuedPdf, TransitionRefused
from billing.domain.invoice import numbered
from billing.domain.lifecycle import InvoiceStatus

IST = timezone(timedelta(hours=5, minutes=30))
DRAFT = {"invoiceId": "vysedeck_2025-09", "companyId": "vysedeck", "status": "draft",
         "billingPeriod": {"month": "2025-09", "timezone": "Asia/Kolkata"}, "terms": {"paymentTermsDays": 15},
         "amountsPaise": {"subtotal": 100000, "cgst": 9000, "sgst": 9000, "igst": 0, "total": 118000},
         "files": {"csvStaging": "staging/vysedeck/2025-09/abc.csv"}, "unplacedCalls": {"count": 2, "ids": ["a", "b"]}}


def test_numbering_a_draft_writes_the_fields_numbering_always_wrote():
    draft = invoice_from_document(DRAFT)
    assert (draft.payment_terms_days, draft.staged_csv, draft.unplaced_calls) == (
        15, "staging/vysedeck/2025-09/abc.csv", 2)
    issuing = numbered(draft, "VX", 42, datetime(2026, 3, 31, 23, 59, 30, tzinfo=IST))
    assert numbering_fields(issuing) == {
        "invoiceNumber": "VX/25-26/00042", "financialYear": "25-26", "sequence": 42, "status": "issuing",
        "invoiceDate": "2026-03-31T23:59:30+05:30", "dueDate": "2026-04-15T23:59:30+05:30",
    }
    # Read back, the stored fields give the same entity.
    assert invoice_from_document({**DRAFT, **numbering_fields(issuing)}) == issuing


def test_a_numbered_invoice_is_never_numbered_again():
    issuing = numbered(invoice_from_document(DRAFT), "VX", 1, datetime(2025, 10, 1, 0, 5, tzinfo=IST))
    with pytest.raises(TransitionRefused):
        numbered(issuing, "VX", 2, datetime(2025, 10, 1, 0, 6, tzinfo=IST))


def test_issuing_and_a_reissue_link_write_the_stored_field_names():
    at = datetime(2025, 10, 1, 0, 5, 1, 123456, tzinfo=timezone.utc)
    assert issued_fields(IssuedPdf(at, "0cc175b9c0f1b6a831c399e269772661")) == {
        "status": "issued", "issuedAt": "2025-10-01T00:05:01.123+00:00",
        "files.pdfMd5": "0cc175b9c0f1b6a831c399e269772661"}
    assert replaced_by_fields("vysedeck_2025-09_r1") == {"replacedBy": "vysedeck_2025-09_r1"}
    void = invoice_from_document({**DRAFT, "status": "void", **replaced_by_fields("vysedeck_2025-09_r1")})
    assert (void.status, void.replaced_by) == (InvoiceStatus.VOID, "vysedeck_2025-09_r1")
