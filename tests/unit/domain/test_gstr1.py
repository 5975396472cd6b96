"""GSTR-1 layout and reconciliation: every figure adds up, to the paisa, to the documents."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from billing.adapters.invoice_document import invoice_from_document
from billing.domain.gstr1 import Gstr1Builder, portal_date

SUPPLIER = "29AAGCV4821K1ZX"


def invoice(n: int, total_paise: int, ctin: str | None, pos: str, day: str = "2025-10-02") -> dict:
    taxable = round(total_paise / Decimal("1.18"))
    tax = total_paise - taxable
    intra = pos == "29"
    half = tax // 2
    return {
        "invoiceNumber": f"VX/25-26/{n:05d}", "sequence": n, "invoiceDate": f"{day}T11:30:00+05:30",
        "recipient": {"gstin": ctin, "stateCode": pos}, "placeOfSupply": {"stateCode": pos},
        "reverseCharge": False, "supplier": {"sacCode": "998319"}, "taxBreakdown": {"rate": 18.0},
        "amountsPaise": {"subtotal": taxable, "total": total_paise, "cgst": half if intra else 0,
                         "sgst": tax - half if intra else 0, "igst": 0 if intra else tax},
    }


def as_invoice(inv: dict):
    """The invoice document as the entity the builder takes (as the repository reads it)."""
    return invoice_from_document({"companyId": "c", "billingPeriod": {"month": "2025-10"}, "status": "issued", **inv})


def credit_note(n: int, inv: dict) -> dict:
    return {"creditNoteNumber": f"CN/25-26/{n:05d}", "sequence": n, "creditNoteDate": "2025-10-20T10:00:00+05:30",
            "recipient": inv["recipient"], "placeOfSupply": inv["placeOfSupply"], "sacCode": "998319",
            "taxBreakdown": inv["taxBreakdown"], "amountsPaise": dict(inv["amountsPaise"]),
            "originalInvoice": {"invoiceNumber": inv["invoiceNumber"], "invoiceDate": inv["invoiceDate"],
                                "totalAmount": inv["amountsPaise"]["total"] / 100}}


def partial_note(kind: str, n: int, inv: dict, taxable: int) -> dict:
    """A partial credit note or a debit note of `taxable` paise, taxed as on the invoice (half up)."""
    intra = inv["placeOfSupply"]["stateCode"] == "29"
    half = int((Decimal(taxable) * Decimal("0.09")).to_integral_value(rounding="ROUND_HALF_UP"))
    full = int((Decimal(taxable) * Decimal("0.18")).to_integral_value(rounding="ROUND_HALF_UP"))
    tax = {"cgst": half if intra else 0, "sgst": half if intra else 0, "igst": 0 if intra else full}
    prefix = "CN" if kind == "credit" else "DN"
    return {f"{kind}NoteNumber": f"{prefix}/25-26/{n:05d}", "sequence": n,
            f"{kind}NoteDate": "2025-10-25", "recipient": inv["recipient"], "placeOfSupply": inv["placeOfSupply"],
            "sacCode": "998319", "taxBreakdown": inv["taxBreakdown"],
            "amountsPaise": {"subtotal": taxable, **tax, "total": taxable + sum(tax.values())},
            "originalInvoice": {"invoiceNumber": inv["invoiceNumber"], "invoiceDate": inv["invoiceDate"],
                                "totalAmount": inv["amountsPaise"]["total"] / 100}}


def paise(x: float) -> int:
    return int((Decimal(str(x)) * 100).to_integral_value())


def test_layout_and_sections():
    b = Gstr1Builder(SUPPLIER, "29", 2025, 10)
    registered = invoice(1, 179832, "27AABFW5529Q1ZN", "27")
    small = invoice(2, 50000, None, "29")
    large = invoice(3, 20000000, None, "27")  # Rs 2 lakh, inter-state, unregistered: B2CL
    for inv in (registered, small, large):
        b.add_invoice(as_invoice(inv))
    b.add_credit_note(credit_note(1, registered))
    out = b.result().to_json()
    assert out["gstin"] == SUPPLIER and out["fp"] == "102025"
    inv = out["b2b"][0]["inv"][0]
    assert out["b2b"][0]["ctin"] == "27AABFW5529Q1ZN"
    assert (inv["inum"], inv["idt"], inv["val"], inv["pos"], inv["rchrg"], inv["inv_typ"]) == (
        "VX/25-26/00001", "02-10-2025", 1798.32, "27", "N", "R")
    assert set(inv["itms"][0]["itm_det"]) == {"txval", "rt", "iamt", "camt", "samt", "csamt"}
    assert out["b2cl"][0]["pos"] == "27" and out["b2cl"][0]["inv"][0]["inum"] == "VX/25-26/00003"
    assert out["b2cs"] == [{"sply_ty": "INTRA", "pos": "29", "typ": "OE", "rt": 18.0, "txval": 423.73,
                            "iamt": 0.0, "camt": 38.13, "samt": 38.14, "csamt": 0}]
    note = out["cdnr"][0]["nt"][0]
    assert (note["ntty"], note["nt_num"], note["nt_dt"], note["val"]) == ("C", "CN/25-26/00001", "20-10-2025", 1798.32)
    docs = out["doc_issue"]["doc_det"]
    assert [(d["doc_num"], d["doc_typ"]) for d in docs] == [(1, "Invoices for outward supply"), (5, "Credit Note")]
    assert docs[0]["docs"] == [{"num": 1, "from": "VX/25-26/00001", "to": "VX/25-26/00003", "totnum": 3,
                                "cancel": 0, "net_issue": 3}]
    assert sorted(out["hsn"]) == ["hsn_b2b", "hsn_b2c"] and out["hsn"]["hsn_b2b"][0]["txval"] == 0.0
    assert portal_date("2026-03-31T23:59:00+05:30") == "31-03-2026"


def test_debit_notes_and_partial_credit_notes():
    b = Gstr1Builder(SUPPLIER, "29", 2025, 10)
    registered = invoice(1, 179832, "29AAHCV7310M1ZU", "29")
    small = invoice(2, 50000, None, "29")
    for inv in (registered, small):
        b.add_invoice(as_invoice(inv))
    b.add_credit_note(partial_note("credit", 1, registered, 8000))  # 40 min at Rs 2: 80.00 + 7.20 + 7.20
    b.add_debit_note(partial_note("debit", 1, registered, 5000))  # 25 min at Rs 2: 50.00 + 4.50 + 4.50
    b.add_debit_note(partial_note("debit", 2, small, 1000))
    out = b.result().to_json()
    notes = out["cdnr"][0]["nt"]
    assert [(n["ntty"], n["nt_num"], n["val"]) for n in notes] == [("C", "CN/25-26/00001", 94.4),
                                                                    ("D", "DN/25-26/00001", 59.0)]
    assert notes[1]["itms"][0]["itm_det"] == {"txval": 50.0, "rt": 18.0, "iamt": 0.0, "camt": 4.5,
                                         "samt": 4.5, "csamt": 0}
    assert out["b2cs"][0]["txval"] == 433.73  # a small B2C debit adds to B2CS
    docs = out["doc_issue"]["doc_det"]
    assert [(d["doc_num"], d["doc_typ"], [r["from"] for r in d["docs"]]) for d in docs] == [
        (1, "Invoices for outward supply", ["VX/25-26/00001"]), (4, "Debit Note", ["DN/25-26/00001"]),
        (5, "Credit Note", ["CN/25-26/00001"])]
    assert docs[1]["docs"][0]["totnum"] == 2


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(100, 30_000_000), st.booleans(), st.sampled_from(["29", "27", "07"]),
                          st.sampled_from(["none", "void", "partial", "debit", "both"]), st.integers(1, 99)),
                max_size=25))
def test_every_figure_reconciles_to_the_paisa(specs):
    """Invoices, void credit notes, partial credit notes and debit notes in one month."""
    b = Gstr1Builder(SUPPLIER, "29", 2025, 10)
    invoices, notes, debits = [], [], []
    for n, (total, registered, pos, adjusted, percent) in enumerate(specs, start=1):
        inv = invoice(n, total, f"{pos}AABFW5529Q1ZN" if registered else None, pos)
        invoices.append(inv)
        b.add_invoice(as_invoice(inv))
        part = max(1, inv["amountsPaise"]["subtotal"] * percent // 100)
        if adjusted == "void":
            notes.append(credit_note(len(notes) + 1, inv))
            b.add_credit_note(notes[-1])
        if adjusted in ("partial", "both"):
            notes.append(partial_note("credit", len(notes) + 1, inv, part))
            b.add_credit_note(notes[-1])
        if adjusted in ("debit", "both"):
            debits.append(partial_note("debit", len(debits) + 1, inv, part))
            b.add_debit_note(debits[-1])
    out = b.result().to_json()
    expected = {k: sum(d["amountsPaise"][k] for d in invoices + debits) - sum(d["amountsPaise"][k] for d in notes)
                for k in ("subtotal", "igst", "cgst", "sgst")}
    fields = {"subtotal": "txval", "igst": "iamt", "cgst": "camt", "sgst": "samt"}
    sign = {"C": -1, "D": 1}
    for key, name in fields.items():
        sections = (
            sum(paise(i["itms"][0]["itm_det"][name]) for c in out["b2b"] for i in c["inv"])
            + sum(paise(i["itms"][0]["itm_det"][name]) for c in out["b2cl"] for i in c["inv"])
            + sum(paise(r[name]) for r in out["b2cs"])
            + sum(sign[nt["ntty"]] * paise(nt["itms"][0]["itm_det"][name]) for c in out["cdnr"] for nt in c["nt"])
            + sum(sign[nt["ntty"]] * paise(nt["itms"][0]["itm_det"][name]) for nt in out["cdnur"])
        )
        hsn = sum(paise(r[name]) for part in out["hsn"].values() for r in part)
        assert sections == hsn == expected[key], key
    counts = {d["doc_num"]: sum(r["totnum"] for r in d["docs"]) for d in out["doc_issue"]["doc_det"]}
    assert counts.get(1, 0) == len(invoices) and counts.get(5, 0) == len(notes) and counts.get(4, 0) == len(debits)
