"""The invoice email as built (no network): headers, both bodies, attachments, injection safety."""

from __future__ import annotations

import copy
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from billing.adapters.email_message import build_invoice_email
from billing.errors import ConfigurationError

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
CSV = "callId,startedAt,durationSeconds\nc1,2025-09-01T10:00:00+05:30,61\n".encode()

INVOICE = {
    "invoiceNumber": "VD/25-26/00001", "invoiceDate": "2025-10-01", "dueDate": "2025-10-08",
    "companyId": "vysedeck",
    "billingPeriod": {"startDate": "2025-09-01T00:00:00", "endDate": "2025-09-30T23:59:59",
                      "month": "2025-09", "timezone": "Asia/Kolkata"},
    "supplier": {"legalName": "Voxa AI Private Limited", "supportEmail": "billing@example.com",
                 "bank": {"accountName": "Voxa AI Private Limited", "bankName": "Example Bank",
                          "accountNumber": "001234567890", "ifsc": "EXMP0000001", "upiId": "voxa@exmp"}},
    "recipient": {"legalName": "Vysedeck Technologies Private Limited", "billingEmail": "accounts@example.com"},
    "subtotal": 1524.0, "gstAmount": 274.32, "totalAmount": 1798.32,
    "taxBreakdown": {"type": "intra-state", "rate": 18.0},
    "amountInWords": "Indian Rupees One Thousand Seven Hundred Ninety Eight and Thirty Two Paise Only",
    "usageData": {"totalCalls": 13, "totalBilledMinutes": 12},
}
LINKS = {"pdf": "https://files.example/inv.pdf?sig=a&exp=1", "csv": "https://files.example/calls.csv?sig=b"}


def build(invoice=None, **overrides):
    kwargs = dict(pdf_bytes=PDF, csv_bytes=CSV, links=LINKS, settings={}, sender="noreply@voxa.example",
                  templates_dir=TEMPLATES)
    kwargs.update(overrides)
    return build_invoice_email(invoice or INVOICE, **kwargs)


def reparse(msg):
    """What a mail client sees: the message serialized and parsed back."""
    return message_from_bytes(msg.as_bytes(), policy=default)


def bodies(msg):
    return msg.get_body(("plain",)).get_content(), msg.get_body(("html",)).get_content()


def attachments(msg):
    return {part.get_filename(): (part.get_content_type(), part.get_payload(decode=True))
            for part in msg.iter_attachments()}


def test_headers_recipients_and_subject():
    msg = reparse(build(reply_to="accounts-team@voxa.example"))
    assert msg["To"].addresses[0].addr_spec == "accounts@example.com"
    assert msg["From"].addresses[0].addr_spec == "noreply@voxa.example"
    assert msg["From"].addresses[0].display_name == "Voxa AI Private Limited"
    assert msg["Reply-To"].addresses[0].addr_spec == "accounts-team@voxa.example"
    assert msg["Subject"] == "Tax invoice VD/25-26/00001 from Voxa AI Private Limited for September 2025 (₹ 1,798.32)"


def test_reply_to_defaults_to_support_email():
    assert reparse(build())["Reply-To"].addresses[0].addr_spec == "billing@example.com"


def test_several_billing_addresses():
    invoice = copy.deepcopy(INVOICE)
    invoice["recipient"]["billingEmail"] = "accounts@example.com, CFO <cfo@example.com>"
    msg = reparse(build(invoice))
    assert [a.addr_spec for a in msg["To"].addresses] == ["accounts@example.com", "cfo@example.com"]


def test_both_bodies_carry_number_period_amount_due_date_and_bank_details():
    for body in bodies(reparse(build())):
        for needle in ("VD/25-26/00001", "September 2025", "₹ 1,798.32", "₹ 274.32", "₹ 1,524.00",
                       "08 Oct 2025", "Voxa AI Private Limited", "Example Bank", "001234567890",
                       "EXMP0000001", "voxa@exmp", "billing@example.com", "13", "Ninety Eight"):
            assert needle in body, needle


def test_links_appear_in_both_bodies():
    text, html = bodies(reparse(build()))
    assert LINKS["pdf"] in text and LINKS["csv"] in text
    assert 'href="https://files.example/inv.pdf?sig=a&amp;exp=1"' in html
    assert f'href="{LINKS["csv"]}"' in html


def test_indian_digit_grouping_for_large_amounts():
    invoice = copy.deepcopy(INVOICE)
    invoice["totalAmount"] = 123456.78
    msg = reparse(build(invoice))
    assert "(₹ 1,23,456.78)" in msg["Subject"]
    assert all("₹ 1,23,456.78" in body for body in bodies(msg))


def test_missing_bank_fields_are_left_out():
    invoice = copy.deepcopy(INVOICE)
    invoice["supplier"]["bank"] = {"upiId": "voxa@exmp"}
    text, html = bodies(reparse(build(invoice)))
    assert "UPI ID: voxa@exmp" in text and "IFSC" not in text and "Account number" not in text
    invoice["supplier"].pop("bank")
    text, _ = bodies(reparse(build(invoice)))
    assert "contact us at billing@example.com for payment details" in text


def test_pdf_and_csv_attached_with_their_bytes():
    found = attachments(reparse(build()))
    assert found == {
        "VD-25-26-00001_vysedeck_2025-09_invoice.pdf": ("application/pdf", PDF),
        "VD-25-26-00001_vysedeck_2025-09_calls.csv": ("text/csv", CSV),
    }
    text, _ = bodies(reparse(build()))
    assert "CSV with every call is attached" in text


def test_large_csv_is_linked_not_attached():
    msg = reparse(build(csv_bytes=CSV * 10, max_csv_attachment_bytes=len(CSV) * 10 - 1))
    assert list(attachments(msg)) == ["VD-25-26-00001_vysedeck_2025-09_invoice.pdf"]
    for body in bodies(msg):
        assert "too large to attach" in body and "https://files.example/calls.csv?sig=b" in body


def test_csv_exactly_at_the_limit_is_attached():
    msg = reparse(build(max_csv_attachment_bytes=len(CSV)))
    assert any(name.endswith("_calls.csv") for name in attachments(msg))


def test_no_csv_bytes_points_to_the_link():
    msg = reparse(build(csv_bytes=None))
    assert len(attachments(msg)) == 1
    text, _ = bodies(msg)
    assert "available at the link below" in text and LINKS["csv"] in text


def test_header_injection_through_names_is_neutralised():
    invoice = copy.deepcopy(INVOICE)
    invoice["supplier"]["legalName"] = "Voxa\r\nBcc: thief@evil.example"
    invoice["recipient"]["legalName"] = "Evil Corp\r\nBcc: x@y.example\r\n\r\nbody"
    invoice["invoiceNumber"] = "VD/25-26/00001\r\nBcc: x@y.example"
    raw = build(invoice).as_bytes()
    msg = message_from_bytes(raw, policy=default)
    assert msg["Bcc"] is None and "\nBcc:" not in raw.decode("ascii", "replace")
    assert "\n" not in msg["Subject"] and "Bcc: x@y.example" in msg["Subject"]  # kept as text on one line
    assert [a.addr_spec for a in msg["To"].addresses] == ["accounts@example.com"]
    assert msg["From"].addresses[0].addr_spec == "noreply@voxa.example"


def test_line_break_in_billing_email_is_refused():
    invoice = copy.deepcopy(INVOICE)
    invoice["recipient"]["billingEmail"] = "accounts@example.com\r\nBcc: x@y.example"
    with pytest.raises(ConfigurationError):
        build(invoice)


@pytest.mark.parametrize("email", [None, "", "not-an-address"])
def test_missing_or_bad_billing_email_is_a_configuration_error(email):
    invoice = copy.deepcopy(INVOICE)
    invoice["recipient"]["billingEmail"] = email
    with pytest.raises(ConfigurationError):
        build(invoice)


def test_html_escapes_untrusted_text_and_drops_non_http_links():
    invoice = copy.deepcopy(INVOICE)
    invoice["recipient"]["legalName"] = "<script>alert(1)</script> & Co"
    _, html = bodies(reparse(build(invoice, links={"pdf": "javascript:alert(1)", "csv": LINKS["csv"]})))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert "javascript:" not in html
