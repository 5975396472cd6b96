"""GST credit notes (section 34 of the CGST Act, rule 53): numbers, time limit, the void (ids in `naming`).

A credit note voids one issued invoice in full. Its id derives from the invoice's id (one credit
note per invoice, whatever the retries); its number comes from its own gapless series per
financial year of the credit note's date, `{creditNotePrefix}/{FY}/{seq}`, under the same rules
as invoice numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from billing.domain import numbering
from billing.domain.entities import Invoice
from billing.errors import ValidationError

MAX_REASON = 500
DOCUMENT_TYPE = "Credit Note"


def counter_id(prefix: str, fy: str) -> str:
    """The credit-note counter of one financial year (kept apart from the invoice counters)."""
    return numbering.counter_id(prefix, fy)


def time_limit(invoice_date: date) -> date:
    """Section 34(2): no credit note after 30 November following the end of the invoice's FY."""
    return date(numbering.financial_year_start(invoice_date) + 1, 11, 30)


def check_time_limit(invoice_number: str, invoice_date: date, today: date) -> None:
    """ValidationError when a credit note for that invoice can no longer be issued today."""
    limit = time_limit(invoice_date)
    if today > limit:
        raise ValidationError(
            f"invoice {invoice_number} (dated {invoice_date.isoformat()}) can no longer be credited: "
            f"section 34 of the CGST Act allows a credit note only until {limit.isoformat()} "
            f"(30 November following the end of the invoice's financial year)"
        )


def validate_void_request(body: object) -> tuple[str, str, bool]:
    """(invoiceNumber, reason, reissue) from the void request's JSON body, or ValidationError."""
    if not isinstance(body, Mapping):
        raise ValidationError('the body must be a JSON object {"invoiceNumber": str, "reason": str, "reissue": bool}')
    number = body.get("invoiceNumber")
    if not isinstance(number, str) or not number.strip():
        raise ValidationError("invoiceNumber is required: the number of the invoice to void")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("reason is required: why the invoice is voided (printed on the credit note)")
    if len(reason.strip()) > MAX_REASON:
        raise ValidationError(f"reason must be at most {MAX_REASON} characters")
    reissue = body.get("reissue", False)
    if not isinstance(reissue, bool):
        raise ValidationError(f"reissue must be true or false, got {reissue!r}")
    return number.strip(), reason.strip(), reissue


@dataclass(frozen=True)
class Void:
    """What voiding records on the invoice beside its status (its number, amounts and files stay):
    when, why, the credit note that voids it, and the reissue asked for (its id), if any."""

    credit_note_id: str
    credit_note_number: str
    credit_note_date: date
    reissue_id: str | None
    reason: str
    voided_at: datetime


def replaces_fields(voided: Invoice) -> dict[str, str | None]:
    """What a reissue says it replaces: the void invoice's number and the credit note that cancelled it."""
    return {"invoiceNumber": voided.number,
            "creditNoteNumber": (voided.document.get("voidedBy") or {}).get("creditNoteNumber")}


def repeat_conflict(voided: Mapping[str, Any], reason: str, reissue: bool) -> str | None:
    """Why a repeated void request differs from the one that voided the invoice, or None when it is
    the same request again (which is answered with what the first produced)."""
    first_reissue = voided.get("voidReissue")  # absent on voids made before it was recorded
    differs = []
    if voided.get("voidReason") is not None and voided.get("voidReason") != reason:
        differs.append(f"reason {reason!r}")
    if isinstance(first_reissue, bool) and first_reissue != reissue:
        differs.append(f"reissue {str(reissue).lower()}")
    if not differs:
        return None
    by = (voided.get("voidedBy") or {}).get("creditNoteNumber")
    did = (f"a reissue ({voided.get('replacedBy')})" if first_reissue else "no reissue")
    return (f"invoice {voided.get('invoiceNumber')} was already voided on {str(voided.get('voidedAt', ''))[:10]} "
            f"by credit note {by}, with reason {voided.get('voidReason')!r} and {did}; this request asks for "
            f"{' and '.join(differs)}. Nothing was changed: a void cannot be redone differently (void the "
            "reissue, if any, to correct it again)")
