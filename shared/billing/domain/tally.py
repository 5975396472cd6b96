"""A month's books as Tally Prime import XML (DESIGN 14): sales vouchers for the invoices, credit-
and debit-note vouchers, receipts (bank + TDS receivable) and journals for reversed payments.

Tally's sign convention: a debit is a negative AMOUNT with ISDEEMEDPOSITIVE Yes, a credit a positive
AMOUNT with ISDEEMEDPOSITIVE No; every voucher's amounts add up to zero. Amounts come from the
documents' integer paise, so the export reconciles with them to the paisa. Ledger names come from
settings/billing.tally (defaults below); a party's ledger is its legal name as on the document.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping
from xml.sax.saxutils import escape

from billing.domain.lifecycle import NUMBERED
from billing.domain.receivable import Payment, PaymentState
from billing.domain.receivables import rupees, to_paise
from billing.errors import ConfigurationError

DEFAULT_LEDGERS = {
    "sales": "Sales - Voice Agent Services", "cgst": "Output CGST", "sgst": "Output SGST", "igst": "Output IGST",
    "bank": "Bank Account", "tds": "TDS Receivable", "roundOff": "Round Off",
}
_NUMBERED = NUMBERED  # compared with the stored strings (a StrEnum equals its value)


def ledgers(settings_tally: object) -> dict[str, str]:
    if settings_tally is None:
        return dict(DEFAULT_LEDGERS)
    if not isinstance(settings_tally, dict) or any(not isinstance(v, str) or not v.strip()
                                                   for v in settings_tally.values()):
        raise ConfigurationError("settings/billing.tally must map sales, cgst, sgst, igst, bank, tds, roundOff "
                                 f"to ledger names (non-empty strings), got {settings_tally!r}")
    unknown = sorted(set(settings_tally) - set(DEFAULT_LEDGERS))
    if unknown:
        raise ConfigurationError(f"settings/billing.tally has unknown keys: {', '.join(unknown)}")
    return {**DEFAULT_LEDGERS, **settings_tally}


def _paise(doc: Mapping[str, Any], key: str, json_key: str) -> int:
    stored = (doc.get("amountsPaise") or {}).get(key)
    if stored is not None:
        return int(stored)
    return to_paise(doc.get(json_key, 0) or 0, json_key, allow_zero=True)


def _party(doc: Mapping[str, Any]) -> str:
    recipient = doc.get("recipient") or {}
    return str(recipient.get("legalName") or recipient.get("name") or doc.get("companyId"))


def _tax_lines(doc: Mapping[str, Any], names: Mapping[str, str]) -> list[tuple[str, int]]:
    """(ledger, paise) of the document's taxable value and each tax, plus any round-off to its total."""
    lines = [(names["sales"], _paise(doc, "subtotal", "subtotal"))]
    paise = doc.get("amountsPaise") or {}
    for comp in ("cgst", "sgst", "igst"):
        if int(paise.get(comp, 0) or 0):
            lines.append((names[comp], int(paise[comp])))
    if not any(comp in paise for comp in ("cgst", "sgst", "igst")):  # an old document: the components' JSON
        for c in (doc.get("taxBreakdown") or {}).get("components") or []:
            lines.append((names[str(c["name"]).lower()], to_paise(c["amount"], "tax", allow_zero=True)))
    total = _paise(doc, "total", "totalAmount")
    off = total - sum(p for _, p in lines)
    if off:
        lines.append((names["roundOff"], off))
    return lines


def _entry(ledger: str, paise: int) -> str:
    """Positive paise: a debit; negative: a credit (Tally: debits negative, deemed positive)."""
    debit = paise > 0
    return ("<ALLLEDGERENTRIES.LIST>"
            f"<LEDGERNAME>{escape(ledger)}</LEDGERNAME>"
            f"<ISDEEMEDPOSITIVE>{'Yes' if debit else 'No'}</ISDEEMEDPOSITIVE>"
            f"<AMOUNT>{rupees(-paise)}</AMOUNT>"
            "</ALLLEDGERENTRIES.LIST>")


def _voucher(kind: str, day: str, number: str, party: str, narration: str, entries: list[tuple[str, int]],
             reference: str = "") -> str:
    assert sum(p for _, p in entries) == 0, f"voucher {number} does not balance"
    ref = f"<REFERENCE>{escape(reference)}</REFERENCE>" if reference else ""
    return (f'<TALLYMESSAGE xmlns:UDF="TallyUDF"><VOUCHER VCHTYPE="{kind}" ACTION="Create">'
            f"<DATE>{day.replace('-', '')[:8]}</DATE><VOUCHERTYPENAME>{kind}</VOUCHERTYPENAME>"
            f"<VOUCHERNUMBER>{escape(number)}</VOUCHERNUMBER>{ref}"
            f"<PARTYLEDGERNAME>{escape(party)}</PARTYLEDGERNAME><NARRATION>{escape(narration)}</NARRATION>"
            + "".join(_entry(ledger, paise) for ledger, paise in entries if paise)
            + "</VOUCHER></TALLYMESSAGE>")


def tally_xml(company_name: str, start: date, end: date, invoices: Iterable[Mapping[str, Any]],
              notes: Iterable[Mapping[str, Any]], payments: Iterable[Payment],
              names: Mapping[str, str], parties: Mapping[str, str]) -> str:
    """The import XML of the documents dated in [start, end) (ISO dates); a payment's party ledger is
    parties[its invoice id] (else its company id)."""
    lo, hi = start.isoformat(), end.isoformat()

    def inside(day: object) -> bool:
        return lo <= str(day)[:10] < hi

    out: list[str] = []
    for inv in invoices:
        if inv.get("status") not in _NUMBERED or not inside(inv.get("invoiceDate", "")):
            continue
        party, lines = _party(inv), _tax_lines(inv, names)
        out.append(_voucher("Sales", str(inv["invoiceDate"])[:10], str(inv["invoiceNumber"]), party,
                            f"Invoice {inv['invoiceNumber']} for {(inv.get('billingPeriod') or {}).get('month')}",
                            [(party, sum(p for _, p in lines))] + [(ledger, -p) for ledger, p in lines]))
    for note in notes:
        debit_note = note.get("documentType") == "Debit Note" or bool(note.get("debitNoteNumber"))
        day = str(note.get("debitNoteDate" if debit_note else "creditNoteDate", ""))
        if note.get("status") not in _NUMBERED or not inside(day):
            continue
        party, lines = _party(note), _tax_lines(note, names)
        number = str(note.get("debitNoteNumber" if debit_note else "creditNoteNumber"))
        original = (note.get("originalInvoice") or {}).get("invoiceNumber", "")
        sign = 1 if debit_note else -1  # a credit note reverses a sale
        out.append(_voucher("Debit Note" if debit_note else "Credit Note", day[:10], number, party,
                            f"{'Debit' if debit_note else 'Credit'} note {number} on {original}: {note.get('reason', '')}",
                            [(party, sign * sum(p for _, p in lines))] + [(ledger, -sign * p) for ledger, p in lines],
                            reference=str(original)))
    for p in payments:
        amount, tds = p.amount.paise, p.tds.paise
        party = parties.get(str(p.invoice_id)) or str(p.company_id)
        entries = [(names["bank"], amount), (names["tds"], tds), (party, -(amount + tds))]
        if inside(p.date.isoformat()):
            tds_text = f", TDS {rupees(tds)} u/s {p.tds_section}" if tds else ""
            out.append(_voucher("Receipt", p.date.isoformat(), p.reference, party,
                                f"{p.mode.upper()} {p.reference} against {p.invoice_number}"
                                f"{tds_text}", entries, reference=str(p.invoice_number or "")))
        if p.status is PaymentState.REVERSED and p.reversal is not None and inside(p.reversal.day):
            out.append(_voucher("Journal", p.reversal.day, f"{p.reference}-R", party,
                                f"Payment {p.reference} reversed: {p.reversal.reason}",
                                [(ledger, -paise) for ledger, paise in entries]))
    return ("<ENVELOPE><HEADER><TALLYREQUEST>Import Data</TALLYREQUEST></HEADER><BODY><IMPORTDATA>"
            "<REQUESTDESC><REPORTNAME>Vouchers</REPORTNAME><STATICVARIABLES>"
            f"<SVCURRENTCOMPANY>{escape(company_name)}</SVCURRENTCOMPANY></STATICVARIABLES></REQUESTDESC>"
            "<REQUESTDATA>" + "".join(out) + "</REQUESTDATA></IMPORTDATA></BODY></ENVELOPE>\n")
