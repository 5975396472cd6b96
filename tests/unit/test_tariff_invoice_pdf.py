"""The PDF of an invoice with everything a tariff can do: tiers, two directions, a change on the 15th,
a start on the 3rd (fee pro-rated), a one-off charge and a discount, rendered by the real renderer."""

from __future__ import annotations

import copy
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pypdf import PdfReader

from billing.adapters.pdf import render_invoice_pdf
from billing.domain.period import MonthQuery
from billing.domain.rating import CallRecord
from billing.seed import COMPANIES, IST, SUPPLIER
from fakes import FakeCompanies, fake_container

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
NOW = datetime(2025, 10, 2, 6, 0, tzinfo=timezone.utc)
BILLING = {"policy": "pulse", "pulseSeconds": 30, "includedMinutes": 10, "maintenanceFee": 1500,
           "timezone": "Asia/Kolkata", "directionRates": {"inbound": 1}, "discount": {"percent": 10},
           "tiers": {"mode": "graduated", "tiers": [{"upToMinutes": 20, "ratePerMinute": 2},
                                                    {"upToMinutes": None, "ratePerMinute": 1.5}]}}
LATER = {**BILLING, "directionRates": {"inbound": 1.25},
         "tiers": {"mode": "graduated", "tiers": [{"upToMinutes": 10, "ratePerMinute": 1.8},
                                                  {"upToMinutes": None, "ratePerMinute": 1.2}]}}
# outbound calls of 100 s (pulse 30 s -> 2 min) and inbound of 50 s (-> 1 min), from the 3rd on
CALLS = sorted([CallRecord(f"o{i:02d}", datetime(2025, 9, 3 + i, 11, 0, tzinfo=IST), 100, "completed", "outbound")
                for i in range(26)]
               + [CallRecord(f"i{i:02d}", datetime(2025, 9, 3 + 2 * i, 15, 0, tzinfo=IST), 50, "completed", "inbound")
                  for i in range(13)], key=lambda c: c.started_at)


def issued_invoice() -> tuple[dict, bytes]:
    company = {**copy.deepcopy(COMPANIES["vysedeck"]), "billing": BILLING, "billingStartDate": "2025-09-03"}
    ticks = iter(range(10**6))
    c = fake_container(companies={"vysedeck": company}, supplier=SUPPLIER, calls={"vysedeck": CALLS},
                       clock=lambda: NOW + timedelta(seconds=next(ticks)),
                       render_pdf=lambda invoice: render_invoice_pdf(invoice.document, templates_dir=TEMPLATES))
    assert isinstance(c.companies, FakeCompanies)
    c.companies.dated.update({"vysedeck": {"2025-09-15": {"billing": LATER}}})
    c.charges.add("vysedeck", {"period": "2025-09", "description": "Onboarding and number porting", "amount": 2500})
    doc = c.issuance.generate("vysedeck", MonthQuery(9, 2025)).document
    return doc, c.blobs.objects["invoices/vysedeck/2025-09/vysedeck_2025-09_invoice.pdf"]


def test_every_line_is_printed_and_the_totals_match():
    doc, pdf = issued_invoice()
    # 3-14 Sep: outbound o00-o11 = 12 x 2 = 24 min - 10 included = 14 min at 2.00 = 28.00;
    #           inbound i00-i05 (3rd..13th) = 6 x 1 min at 1.00 = 6.00; fee 1500 x 12/30 = 600.00
    # 15-30 Sep: outbound o12-o25 = 14 x 2 = 28 min: 10 x 1.80 = 18.00 + 18 x 1.20 = 21.60;
    #           inbound i06-i12 = 7 x 1 min at 1.25 = 8.75; fee 1500 x 16/30 = 800.00
    # one-off 2500.00; before the discount 28 + 6 + 18 + 21.60 + 8.75 + 600 + 800 + 2500 = 3982.35
    # 10% = 398.235 -> 398.24; taxable 3584.11; CGST = SGST = round(322.5699) = 322.57; total 4229.25
    assert [(i["description"].split(" (")[0], i["amount"]) for i in doc["lineItems"]] == [
        ("Voice agent call charges, 1-14 Sep 2025, other calls, graduated tier 0-20 min", 28.0),
        ("Voice agent call charges, 1-14 Sep 2025, inbound calls", 6.0),
        ("Voice agent call charges, 15-30 Sep 2025, other calls, graduated tier 0-10 min", 18.0),
        ("Voice agent call charges, 15-30 Sep 2025, other calls, graduated tier over 10 min", 21.6),
        ("Voice agent call charges, 15-30 Sep 2025, inbound calls", 8.75),
        ("Monthly maintenance fee, 3-14 Sep 2025", 600.0),
        ("Monthly maintenance fee, 15-30 Sep 2025", 800.0),
        ("One-off charge: Onboarding and number porting", 2500.0),
        ("Discount", -398.24),
    ]
    assert (doc["subtotal"], doc["gstAmount"], doc["totalAmount"]) == (3584.11, 645.14, 4229.25)
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    for printed in ("One-off charge: Onboarding and number porting", "Discount (10%)", "3-14 Sep 2025 (12/30",
                    "graduated tier over 10 min", "inbound calls", "3,584.11", "4,229.25", "322.57"):
        assert printed in text, printed
