"""GSTR-1 layout and reconciliation: every figure adds up, to the paisa, to the documents."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings, strategies as st

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


def credit_note(n: int, inv: dict) -> dict:
    return {"creditNoteNumber": f"CN/25-26/{n:05d}", "sequence": n, "creditNoteDate": "2025-10-20T10:00:00+05:30",
            "recipient": inv["recipient"], "placeOfSupply": inv["placeOfSupply"], "sacCode": "998319",
            "taxBreakdown": inv["taxBreakdown"], "amountsPaise": dict(inv["amountsPaise"]),
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
        b.add_invoice(inv)
    b.add_credit_note(credit_note(1, registered))
    out = b.result()
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


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(100, 30_000_000), st.booleans(), st.sampled_from(["29", "27", "07"]),
                          st.booleans()), max_size=25))
def test_every_figure_reconciles_to_the_paisa(specs):
    b = Gstr1Builder(SUPPLIER, "29", 2025, 10)
    invoices, notes = [], []
    for n, (total, registered, pos, credited) in enumerate(specs, start=1):
        inv = invoice(n, total, f"{pos}AABFW5529Q1ZN" if registered else None, pos)
        invoices.append(inv)
        b.add_invoice(inv)
        if credited:
            notes.append(credit_note(len(notes) + 1, inv))
            b.add_credit_note(notes[-1])
    out = b.result()
    expected = {k: sum(d["amountsPaise"][k] for d in invoices) - sum(d["amountsPaise"][k] for d in notes)
                for k in ("subtotal", "igst", "cgst", "sgst")}
    fields = {"subtotal": "txval", "igst": "iamt", "cgst": "camt", "sgst": "samt"}
    for key, name in fields.items():
        sections = (
            sum(paise(i["itms"][0]["itm_det"][name]) for c in out["b2b"] for i in c["inv"])
            + sum(paise(i["itms"][0]["itm_det"][name]) for c in out["b2cl"] for i in c["inv"])
            + sum(paise(r[name]) for r in out["b2cs"])
            - sum(paise(nt["itms"][0]["itm_det"][name]) for c in out["cdnr"] for nt in c["nt"])
            - sum(paise(nt["itms"][0]["itm_det"][name]) for nt in out["cdnur"])
        )
        hsn = sum(paise(r[name]) for part in out["hsn"].values() for r in part)
        assert sections == hsn == expected[key], key
    counts = {d["doc_num"]: sum(r["totnum"] for r in d["docs"]) for d in out["doc_issue"]["doc_det"]}
    assert counts.get(1, 0) == len(invoices) and counts.get(5, 0) == len(notes)
