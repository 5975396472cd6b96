"""Invoice and note entities: transitions follow the lifecycle (draft -> issuing -> issued -> void) only."""

from decimal import Decimal

import pytest

from billing.domain.entities import Invoice, InvoiceLine, Note, TaxAmounts, TransitionRefused
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import INR
from billing.errors import ConflictError


def draft(**changes):
    base = dict(company_id="vysedeck", period_key="2025-09", timezone="Asia/Kolkata", status=InvoiceStatus.DRAFT,
                revision=0, lines=(InvoiceLine("calls", Decimal(12), Decimal("2.00"), INR(2400), "min"),),
                call_charges=INR(2400), subtotal=INR(152400), tax=TaxAmounts(INR(13716), INR(13716), INR(0)),
                total=INR(179832))
    base.update(changes)
    return Invoice(**base)


def test_the_happy_path_draft_issuing_issued_void():
    numbered = draft().start_issuing("VX/25-26/00001", "25-26", "2025-10-01T00:05:00+05:30",
                                     "2025-10-08T00:05:00+05:30")
    assert numbered.status is InvoiceStatus.ISSUING and numbered.number == "VX/25-26/00001"
    issued = numbered.mark_issued()
    assert issued.status is InvoiceStatus.ISSUED and issued.has_files
    void = issued.void("vysedeck_2025-09_cn", "vysedeck_2025-09_r1")
    assert (void.status, void.voided_by, void.replaced_by) == (
        InvoiceStatus.VOID, "vysedeck_2025-09_cn", "vysedeck_2025-09_r1")
    assert void.has_files and void.number == "VX/25-26/00001"
    assert draft().status is InvoiceStatus.DRAFT  # values: the original is unchanged


@pytest.mark.parametrize("status, step", [
    (InvoiceStatus.DRAFT, lambda i: i.mark_issued()),
    (InvoiceStatus.DRAFT, lambda i: i.void("cn", None)),
    (InvoiceStatus.ISSUING, lambda i: i.start_issuing("n", "25-26", "d", "d")),
    (InvoiceStatus.ISSUING, lambda i: i.void("cn", None)),
    (InvoiceStatus.ISSUED, lambda i: i.mark_issued()),
    (InvoiceStatus.ISSUED, lambda i: i.start_issuing("n", "25-26", "d", "d")),
    (InvoiceStatus.VOID, lambda i: i.void("cn", None)),
    (InvoiceStatus.VOID, lambda i: i.mark_issued()),
])
def test_bad_transitions_are_refused_with_a_domain_error(status, step):
    with pytest.raises(TransitionRefused) as exc:
        step(draft(status=status, number="VX/25-26/00001"))
    assert isinstance(exc.value, ConflictError)  # the API answers 409
    assert f"invoice VX/25-26/00001 is '{status.value}'" in exc.value.detail


def test_amounts_are_inr_and_add_up():
    invoice = draft()
    assert invoice.gst == INR(27432)
    assert invoice.subtotal + invoice.gst == invoice.total
    assert sum(line.amount for line in invoice.lines) == invoice.call_charges


def test_ids_and_paths_come_from_company_month_and_revision():
    invoice = draft(revision=2)
    assert invoice.invoice_id == "vysedeck_2025-09_r2"
    assert invoice.file_paths["pdf"] == "invoices/vysedeck/2025-09/vysedeck_2025-09_r2_invoice.pdf"
    assert invoice.cancelled_pdf_path == "invoices/vysedeck/2025-09/vysedeck_2025-09_r2_invoice_cancelled.pdf"


def test_a_note_is_issued_once():
    note = Note("credit", "vysedeck_2025-09_cn", "vysedeck", "2025-09", "vysedeck_2025-09", InvoiceStatus.ISSUING,
                INR(152400), INR(27432), INR(179832), number="CN/25-26/00001")
    assert note.mark_issued().status is InvoiceStatus.ISSUED
    with pytest.raises(TransitionRefused, match="credit note CN/25-26/00001 is 'issued'"):
        note.mark_issued().mark_issued()
