"""One-off charges through the real services over fakes: lines before GST, discount and GST on them,
refused once the month is invoiced, carried again by a reissue (DESIGN 15)."""

from __future__ import annotations

import copy
import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.errors import ConflictError, NotFoundError, OutsideBillingDatesError, ValidationError
from billing.seed import COMPANIES, IST, SUPPLIER, VYSEDECK_SEPTEMBER
from fakes import fake_container

NOW = datetime(2025, 10, 2, 6, 0, tzinfo=timezone.utc)
SEPT_CALLS = [CallRecord(f"v{i:02d}", datetime(2025, 9, 3, 10, 0, tzinfo=IST) + timedelta(hours=i), seconds)
              for i, seconds in enumerate(VYSEDECK_SEPTEMBER)]  # 13 calls, 12 billed minutes at Rs 2


def container(company: dict | None = None):
    companies = copy.deepcopy(COMPANIES)
    if company is not None:
        companies["vysedeck"] = company
    ticks = iter(range(10**6))  # a clock that moves: charges are listed in the order they were added
    return fake_container(companies=companies, supplier=SUPPLIER, calls={"vysedeck": SEPT_CALLS},
                          clock=lambda: NOW + timedelta(seconds=next(ticks)))


def with_discount(state_code: str | None = None) -> dict:
    company = copy.deepcopy(COMPANIES["vysedeck"])
    company["billing"]["discount"] = {"percent": 10}
    if state_code:  # another state than the supplier's (29): IGST
        company.pop("gstin")
        company["stateCode"] = state_code
    return company


SETUP = {"period": "2025-09", "description": "Onboarding and number porting", "amount": 999.99}


def test_one_off_and_ten_percent_discount_intra_state_by_hand():
    c = container(with_discount())
    c.charges.add("vysedeck", SETUP, "setup-1")
    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    # call charges 12 min x 2.00 = 24.00; fee 1500.00; one-off 999.99
    # before the discount 24.00 + 1500.00 + 999.99 = 2523.99; 10% = 252.399 -> 252.40 (half up)
    # taxable value 2523.99 - 252.40 = 2271.59
    # intra-state (29 = 29): CGST = SGST = round(2271.59 x 9%) = round(204.4431) = 204.44; GST 408.88
    # total 2271.59 + 408.88 = 2680.47
    assert [(i["description"], i["quantity"], i["rate"], i["amount"]) for i in doc["lineItems"]] == [
        ("Voice agent call charges (12 min x ₹ 2.00/min)", 12, 2.0, 24.0),
        ("Monthly maintenance fee", 1, 1500.0, 1500.0),
        ("One-off charge: Onboarding and number porting", 1, 999.99, 999.99),
        ("Discount (10%)", 1, -252.4, -252.4),
    ]
    assert doc["subtotal"] == doc["taxBreakdown"]["taxableValue"] == 2271.59
    assert (doc["taxBreakdown"]["cgst"], doc["taxBreakdown"]["sgst"], doc["taxBreakdown"]["igst"]) == (204.44, 204.44, 0)
    assert (doc["gstAmount"], doc["totalAmount"]) == (408.88, 2680.47)
    assert doc["amountsPaise"]["oneOffCharges"] == 99999
    assert [(x["description"], x["amount"]) for x in doc["oneOffCharges"]] == [("Onboarding and number porting", 999.99)]
    # The CSV: its calls unaffected (they add up to the call charges), its summary names the one-off.
    rows = list(csv.DictReader(io.StringIO(
        c.blobs.objects["invoices/vysedeck/2025-09/vysedeck_2025-09_calls.csv"].decode())))
    assert sum(Decimal(r["amount"]) for r in rows if r["amount"]) == 24
    assert [(r["note"], r["invoiceAmount"]) for r in rows if r["invoiceAmount"]] == [
        ("call charges", "24.00"), ("maintenance fee", "1500.00"), ("one-off charges", "999.99"),
        ("discount", "-252.40"), ("taxable value", "2271.59"), ("CGST 9%", "204.44"), ("SGST 9%", "204.44"),
        ("total", "2680.47")]


def test_one_off_and_ten_percent_discount_inter_state_by_hand():
    c = container(with_discount("27"))
    c.charges.add("vysedeck", SETUP)
    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    # the same taxable value 2271.59; inter-state (29 -> 27): IGST = round(2271.59 x 18%)
    # = round(408.8862) = 408.89 (one rounding, a paisa more than CGST + SGST); total 2680.48
    assert doc["subtotal"] == 2271.59
    assert (doc["taxBreakdown"]["cgst"], doc["taxBreakdown"]["sgst"], doc["taxBreakdown"]["igst"]) == (0, 0, 408.89)
    assert (doc["gstAmount"], doc["totalAmount"]) == (408.89, 2680.48)


def test_preview_shows_the_charges_and_writes_nothing():
    c = container()
    c.charges.add("vysedeck", {**SETUP, "amount": 500})
    c.charges.add("vysedeck", {"period": "2025-09", "description": "SIM cards", "amount": 120.5})
    preview = c.preview.preview("vysedeck", MonthQuery(9, 2025))
    # 24.00 + 1500.00 + 500.00 + 120.50 = 2144.50 taxable
    assert [i["description"] for i in preview["lineItems"]][2:] == [
        "One-off charge: Onboarding and number porting", "One-off charge: SIM cards"]
    assert preview["subtotal"] == 2144.5
    assert c.invoices.docs == {}
    # and the month is still open: issuance (not a preview) closes it
    c.charges.add("vysedeck", {"period": "2025-09", "description": "late", "amount": 1})


def test_refused_once_the_month_is_issued_and_carried_by_the_reissue():
    c = container()
    c.charges.add("vysedeck", SETUP)
    first = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    with pytest.raises(ConflictError, match="already invoiced.*debit note"):
        c.charges.add("vysedeck", {"period": "2025-09", "description": "late", "amount": 1})
    assert len(c.charges.month("vysedeck", "2025-09")["charges"]) == 1
    # another month is open
    c.charges.add("vysedeck", {"period": "2025-10", "description": "October item", "amount": 10})
    # voided without reissue: the month takes charges again, and the reissue carries all of them
    c.corrections.void("vysedeck", "2025-09", {"invoiceNumber": first["invoiceNumber"], "reason": "wrong fee",
                                               "reissue": False})
    c.charges.add("vysedeck", {"period": "2025-09", "description": "Forgotten device", "amount": 250})
    again = c.issuance.generate("vysedeck", MonthQuery(9, 2025), reissue_void=True).document
    assert again["invoiceId"] == "vysedeck_2025-09_r1"
    assert [i["description"] for i in again["lineItems"] if i["description"].startswith("One-off")] == [
        "One-off charge: Onboarding and number porting", "One-off charge: Forgotten device"]
    assert again["subtotal"] == first["subtotal"] + 250


def test_a_month_being_issued_takes_no_charge():
    c = container()
    c.charge_repo.close("vysedeck", "2025-09", 0)  # what issuance does before it reads them
    with pytest.raises(ConflictError, match="being issued"):
        c.charges.add("vysedeck", SETUP)


def test_idempotency_key_returns_the_same_charge_and_refuses_another_body():
    c = container()
    first, created = c.charges.add("vysedeck", SETUP, "k1")
    again, created_again = c.charges.add("vysedeck", SETUP, "k1")
    assert created and not created_again and again == first
    with pytest.raises(ConflictError, match="different request"):
        c.charges.add("vysedeck", {**SETUP, "amount": 1000}, "k1")
    c.issuance.generate("vysedeck", MonthQuery(9, 2025))
    assert c.charges.add("vysedeck", SETUP, "k1")[0] == first  # a retry after issuance: the same charge
    listed = c.charges.month("vysedeck", "2025-09")
    assert [x["chargeId"] for x in listed["charges"]] == [first["chargeId"]] and listed["total"] == 999.99


@pytest.mark.parametrize("body, detail", [
    ({**SETUP, "amount": 0}, "greater than zero"),
    ({**SETUP, "amount": -5}, "greater than zero"),
    ({**SETUP, "amount": 1.005}, "two decimals"),
    ({**SETUP, "amount": "100"}, "JSON number"),
    ({**SETUP, "amount": True}, "JSON number"),
    ({**SETUP, "amount": 1e11}, "at most"),
    ({**SETUP, "description": ""}, "1 to 200"),
    ({**SETUP, "description": "x" * 201}, "1 to 200"),
    ({**SETUP, "description": "two\nlines"}, "control characters"),
    ({**SETUP, "period": "2025-13"}, "YYYY-MM"),
    ({**SETUP, "extra": 1}, "unexpected field"),
    ({"period": "2025-09", "amount": 1}, "missing field"),
    ([1], "JSON object"),
])
def test_bad_requests_are_422_and_write_nothing(body, detail):
    c = container()
    with pytest.raises(ValidationError, match=detail):
        c.charges.add("vysedeck", body)
    assert c.charges.month("vysedeck", "2025-09")["charges"] == []


def test_unknown_company_and_months_outside_the_billing_dates():
    c = container({**COMPANIES["vysedeck"], "billingEndDate": "2025-08-31"})
    with pytest.raises(NotFoundError, match="nobody"):
        c.charges.add("nobody", SETUP)
    with pytest.raises(NotFoundError):
        c.charges.month("nobody", "2025-09")
    with pytest.raises(OutsideBillingDatesError, match="billingEndDate"):
        c.charges.add("vysedeck", SETUP)
    with pytest.raises(ValidationError, match="period"):
        c.charges.month("vysedeck", None)
