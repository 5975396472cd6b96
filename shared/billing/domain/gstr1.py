"""GSTR-1: a month's invoices and credit notes in the JSON layout of the GST portal's offline tool.

Field names follow the portal's JSON (the same keys ERPNext's india-compliance app maps):
b2b[].ctin/inv[].inum/idt/val/pos/rchrg/inv_typ/itms[].num/itm_det{txval,rt,iamt,camt,samt,csamt};
b2cl[].pos/inv[]; b2cs[] rows by supply type, place of supply and rate; cdnr[].ctin/nt[] and
cdnur[] with ntty ("C" credit, "D" debit)/nt_num/nt_dt; hsn.hsn_b2b/hsn_b2c[] (SAC summary, B2B and B2C apart);
doc_issue.doc_det[] (number ranges per series, totals, cancelled).

Inside, every row is typed (`InvoiceRow`, `NoteRow`, `_Totals`, `_Series`) and amounts are integer
paise; `Gstr1Return.to_json()` is the portal's JSON, built once at the edge.

Amounts are summed in integer paise (each document's `amountsPaise`) and turned into rupees once,
so every figure reconciles to the paisa with the documents. A voided invoice is reported as issued
and its credit note as a credit note (that is how the law sees them: nothing is deleted). Partial
credit notes are credit notes too; debit notes add what credit notes subtract. doc_issue has a row
per series (invoice prefix, credit-note prefix, debit-note prefix).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Mapping

from billing.domain.entities import Invoice
from billing.domain.presenter import paise_to_rupees, rate_number

B2CL_LIMIT_FROM_AUG_2024 = 100_000_00  # paise: inter-state B2C invoices above Rs 1 lakh are B2CL
B2CL_LIMIT_BEFORE = 250_000_00
B2CL_LIMIT_CHANGED = date(2024, 8, 1)
DOC_INVOICES = (1, "Invoices for outward supply")
DOC_DEBIT_NOTES = (4, "Debit Note")
DOC_CREDIT_NOTES = (5, "Credit Note")
DOC_KINDS = {k[0]: k for k in (DOC_INVOICES, DOC_DEBIT_NOTES, DOC_CREDIT_NOTES)}
AMOUNT_KEYS = ("txval", "iamt", "camt", "samt", "csamt")

PortalJson = dict[str, Any]
"""A piece of the GST portal's offline-tool JSON (its field names and rupee numbers): free-form by
design, built only by the typed rows' `to_json`/`*_json` at the edge, never read back."""


def b2cl_limit(on: date) -> int:
    """The B2C-large threshold (paise) in force on a date."""
    return B2CL_LIMIT_FROM_AUG_2024 if on >= B2CL_LIMIT_CHANGED else B2CL_LIMIT_BEFORE


def portal_date(iso: str) -> str:
    """'2025-10-02T11:30:00+05:30' -> '02-10-2025' (the portal's dd-mm-yyyy)."""
    day = date.fromisoformat(str(iso)[:10])
    return day.strftime("%d-%m-%Y")


def _paise(doc: Mapping[str, Any], key: str, json_key: str) -> int:
    """An amount in paise: from amountsPaise, else from the document's JSON number."""
    stored = (doc.get("amountsPaise") or {}).get(key)
    if stored is not None:
        return int(stored)
    value = doc.get(json_key) if json_key else (doc.get("taxBreakdown") or {}).get(key)
    return int((Decimal(str(value or 0)) * 100).to_integral_value())


@dataclass(frozen=True)
class Amounts:
    """A document's taxable value and taxes, in paise."""

    txval: int
    iamt: int
    camt: int
    samt: int
    total: int
    rate: Decimal

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> "Amounts":
        tax = doc.get("taxBreakdown") or {}
        return cls(
            txval=_paise(doc, "subtotal", "subtotal"),
            iamt=_paise(doc, "igst", ""),
            camt=_paise(doc, "cgst", ""),
            samt=_paise(doc, "sgst", ""),
            total=_paise(doc, "total", "totalAmount"),
            rate=Decimal(str(tax.get("rate", 0))),
        )

    @classmethod
    def of_invoice(cls, invoice: Invoice) -> "Amounts":
        return cls(txval=invoice.subtotal.paise, iamt=invoice.tax.igst.paise, camt=invoice.tax.cgst.paise,
                   samt=invoice.tax.sgst.paise, total=invoice.total.paise, rate=invoice.tax_rate)

    def item(self, sign: int = 1) -> PortalJson:
        return {"num": 1, "itm_det": {
            "txval": paise_to_rupees(sign * self.txval), "rt": rate_number(self.rate),
            "iamt": paise_to_rupees(sign * self.iamt), "camt": paise_to_rupees(sign * self.camt),
            "samt": paise_to_rupees(sign * self.samt), "csamt": 0,
        }}


@dataclass(frozen=True)
class InvoiceRow:
    """An invoice of b2b (a registered recipient) or b2cl (a large inter-state B2C one)."""

    number: str
    date: str  # dd-mm-yyyy
    amounts: Amounts
    place_of_supply: str
    reverse_charge: bool = False

    def b2b_json(self) -> PortalJson:
        return {"inum": self.number, "idt": self.date, "val": paise_to_rupees(self.amounts.total),
                "pos": self.place_of_supply, "rchrg": "Y" if self.reverse_charge else "N", "inv_typ": "R",
                "itms": [self.amounts.item()]}

    def b2cl_json(self) -> PortalJson:
        return {"inum": self.number, "idt": self.date, "val": paise_to_rupees(self.amounts.total),
                "itms": [self.amounts.item()]}


@dataclass(frozen=True)
class NoteRow:
    """A credit ("C") or debit ("D") note of cdnr (a registered recipient) or cdnur (B2CL)."""

    ntty: str
    number: str
    date: str  # dd-mm-yyyy
    amounts: Amounts
    place_of_supply: str

    def _json(self) -> PortalJson:
        return {"ntty": self.ntty, "nt_num": self.number, "nt_dt": self.date,
                "val": paise_to_rupees(self.amounts.total), "pos": self.place_of_supply}

    def cdnr_json(self) -> PortalJson:
        return {**self._json(), "rchrg": "N", "inv_typ": "R", "itms": [self.amounts.item()]}

    def cdnur_json(self) -> PortalJson:
        return {"typ": "B2CL", **self._json(), "itms": [self.amounts.item()]}


@dataclass
class _Series:
    """The numbers of one document series seen in the month (for doc_issue)."""

    numbers: list[tuple[int, str]] = field(default_factory=list)

    def add(self, number: str, sequence: int) -> None:
        self.numbers.append((sequence, number))

    def row(self, num: int) -> PortalJson:
        ordered = sorted(self.numbers)
        return {"num": num, "from": ordered[0][1], "to": ordered[-1][1], "totnum": len(ordered),
                "cancel": 0, "net_issue": len(ordered)}


@dataclass
class _Totals:
    """Running paise sums of one summary row (b2cs or hsn)."""

    txval: int = 0
    iamt: int = 0
    camt: int = 0
    samt: int = 0

    def add(self, amounts: Amounts, sign: int) -> None:
        self.txval += sign * amounts.txval
        self.iamt += sign * amounts.iamt
        self.camt += sign * amounts.camt
        self.samt += sign * amounts.samt

    def json(self) -> PortalJson:
        return {"txval": paise_to_rupees(self.txval), "iamt": paise_to_rupees(self.iamt),
                "camt": paise_to_rupees(self.camt), "samt": paise_to_rupees(self.samt), "csamt": 0}


@dataclass
class Gstr1Return:
    """A month's GSTR-1 as typed rows (paise); `to_json()` is the GST portal's offline-tool JSON."""

    gstin: str
    fp: str  # MMYYYY
    b2b: dict[str, list[InvoiceRow]] = field(default_factory=dict)  # by the recipient's GSTIN
    b2cl: dict[str, list[InvoiceRow]] = field(default_factory=dict)  # by place of supply
    b2cs: dict[tuple[str, str, Decimal], _Totals] = field(default_factory=dict)  # (supply type, pos, rate)
    cdnr: dict[str, list[NoteRow]] = field(default_factory=dict)  # by the recipient's GSTIN
    cdnur: list[NoteRow] = field(default_factory=list)
    hsn: dict[tuple[str, str, Decimal], _Totals] = field(default_factory=dict)  # ("b2b"|"b2c", SAC, rate)
    series: dict[tuple[int, str], _Series] = field(default_factory=dict)  # (document kind, number prefix)

    def to_json(self) -> PortalJson:
        """The GSTR-1 JSON."""
        b2cs = [{"sply_ty": supply, "pos": pos, "typ": "OE", "rt": rate_number(rate), **totals.json()}
                for (supply, pos, rate), totals in sorted(self.b2cs.items())]
        hsn: dict[str, list[PortalJson]] = {"hsn_b2b": [], "hsn_b2c": []}
        for (part, sac, rate), totals in sorted(self.hsn.items()):
            rows = hsn[f"hsn_{part}"]
            rows.append({"num": len(rows) + 1, "hsn_sc": sac, "desc": "", "uqc": "NA", "qty": 0,
                         "rt": rate_number(rate), **totals.json()})
        docs: dict[tuple[int, str], list[PortalJson]] = {}
        for (doc_num, _prefix), series in sorted(self.series.items()):
            kind = DOC_KINDS[doc_num]
            rows = docs.setdefault(kind, [])
            rows.append(series.row(len(rows) + 1))
        return {
            "gstin": self.gstin,
            "fp": self.fp,
            "b2b": [{"ctin": ctin, "inv": [i.b2b_json() for i in inv]} for ctin, inv in sorted(self.b2b.items())],
            "b2cl": [{"pos": pos, "inv": [i.b2cl_json() for i in inv]} for pos, inv in sorted(self.b2cl.items())],
            "b2cs": b2cs,
            "cdnr": [{"ctin": ctin, "nt": [n.cdnr_json() for n in nt]} for ctin, nt in sorted(self.cdnr.items())],
            "cdnur": [n.cdnur_json() for n in self.cdnur],
            "hsn": hsn,
            "doc_issue": {"doc_det": [{"doc_num": num, "doc_typ": name, "docs": rows}
                                      for (num, name), rows in sorted(docs.items())]},
        }


class Gstr1Builder:
    """Feed it the month's invoices and credit notes one at a time; `result()` is the return."""

    def __init__(self, supplier_gstin: str, supplier_state: str, year: int, month: int):
        self.state = supplier_state
        self._return = Gstr1Return(supplier_gstin, f"{month:02d}{year:04d}")
        self._b2b = self._return.b2b
        self._b2cl = self._return.b2cl
        self._b2cs = self._return.b2cs
        self._cdnr = self._return.cdnr
        self._cdnur = self._return.cdnur
        self._hsn = self._return.hsn
        self._series = self._return.series

    def _series_of(self, kind: tuple[int, str], number: str) -> _Series:
        prefix = number.rsplit("/", 1)[0]
        return self._series.setdefault((kind[0], prefix), _Series())

    def add_invoice(self, invoice: Invoice) -> None:
        """An invoice dated in the month (issued or since voided)."""
        amounts = Amounts.of_invoice(invoice)
        number, issued = str(invoice.number), str(invoice.invoice_date)
        pos = invoice.place_of_supply or self.state
        ctin = invoice.recipient_gstin
        sac = invoice.sac_code
        self._series_of(DOC_INVOICES, number).add(number, invoice.sequence or 0)
        row = InvoiceRow(number, portal_date(issued), amounts, pos, invoice.reverse_charge)
        if ctin:
            self._b2b.setdefault(ctin, []).append(row)
        elif pos != self.state and amounts.total > b2cl_limit(date.fromisoformat(issued[:10])):
            self._b2cl.setdefault(pos, []).append(row)
        else:
            self._b2cs_row(pos, amounts).add(amounts, 1)
        self._hsn_row("b2b" if ctin else "b2c", sac, amounts.rate).add(amounts, 1)

    def add_credit_note(self, doc: Mapping[str, Any]) -> None:
        """A credit note dated in the month (a void's, or a partial one)."""
        self._add_note(doc, "creditNote", "C", DOC_CREDIT_NOTES, -1)

    def add_debit_note(self, doc: Mapping[str, Any]) -> None:
        """A debit note dated in the month: adds to its invoice's supply."""
        self._add_note(doc, "debitNote", "D", DOC_DEBIT_NOTES, 1)

    def _add_note(self, doc: Mapping[str, Any], field_prefix: str, ntty: str, kind: tuple[int, str],
                  sign: int) -> None:
        amounts = Amounts.of(doc)
        number, dated = str(doc[f"{field_prefix}Number"]), str(doc[f"{field_prefix}Date"])
        original = doc.get("originalInvoice") or {}
        pos = str((doc.get("placeOfSupply") or {}).get("stateCode") or self.state)
        ctin = (doc.get("recipient") or {}).get("gstin")
        sac = str(doc.get("sacCode") or (doc.get("supplier") or {}).get("sacCode") or "")
        self._series_of(kind, number).add(number, int(doc.get("sequence") or 0))
        note = NoteRow(ntty, number, portal_date(dated), amounts, pos)
        original_total = _paise({"totalAmount": original.get("totalAmount")}, "total", "totalAmount")
        if ctin:
            self._cdnr.setdefault(str(ctin), []).append(note)
        elif pos != self.state and original_total > b2cl_limit(date.fromisoformat(str(original["invoiceDate"])[:10])):
            self._cdnur.append(note)
        else:  # a B2C (small) note changes the month's B2CS figures for that state and rate
            self._b2cs_row(pos, amounts).add(amounts, sign)
        self._hsn_row("b2b" if ctin else "b2c", sac, amounts.rate).add(amounts, sign)

    def _b2cs_row(self, pos: str, amounts: Amounts) -> _Totals:
        supply = "INTRA" if pos == self.state else "INTER"
        return self._b2cs.setdefault((supply, pos, amounts.rate), _Totals())

    def _hsn_row(self, part: str, sac: str, rate: Decimal) -> _Totals:
        return self._hsn.setdefault((part, sac, rate), _Totals())

    def result(self) -> Gstr1Return:
        """The return, as typed rows."""
        return self._return
