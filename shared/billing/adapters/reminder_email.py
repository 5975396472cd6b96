"""The payment reminder email: the balance, the due date, the PDF link and, when the supplier has a
UPI ID, the UPI link and its QR code (an inline PNG drawn from reportlab's QR encoder with Pillow)."""

from __future__ import annotations

import io
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from html import escape
from typing import Any, Mapping

from billing.adapters.formatting import display_date, rupees
from billing.domain.receivable import Receivable


def _one_line(value: Any) -> str:
    return " ".join(str(value or "").split())


def qr_png(text: str, scale: int = 6, border: int = 4) -> bytes:
    """A QR code of `text` as PNG bytes."""
    from PIL import Image
    from reportlab.graphics.barcode import qrencoder

    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(text)
    qr.make()
    n: int = qr.getModuleCount()  # type: ignore[no-untyped-call]
    image = Image.new("1", ((n + 2 * border) * scale,) * 2, 1)
    pixels = image.load()
    assert pixels is not None
    for r in range(n):
        for c in range(n):
            if qr.isDark(r, c):  # type: ignore[no-untyped-call]
                for dy in range(scale):
                    for dx in range(scale):
                        pixels[(c + border) * scale + dx, (r + border) * scale + dy] = 0
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def when(step: int, due: str) -> str:
    if step < 0:
        return f"is due in {-step} day{'s' if step != -1 else ''}, on {display_date(due)}"
    if step == 0:
        return f"is due today, {display_date(due)}"
    return f"was due on {display_date(due)} ({step} day{'s' if step != 1 else ''} ago)"


def build_reminder_email(receivable: Receivable, company: Mapping[str, Any], supplier: Mapping[str, Any],
                         step: int, pdf_link: str | None, upi_link: str | None, *, sender: str,
                         reply_to: str | None, portal_link: str | None = None) -> EmailMessage:
    number = _one_line(receivable.invoice_number)
    balance = rupees(Decimal(receivable.balance.paise) / 100)
    due = receivable.due_date
    message = EmailMessage()
    message["Subject"] = _one_line(f"Payment reminder: invoice {number}, {balance} {('overdue' if step > 0 else 'due')}")
    name, addr = parseaddr(sender)
    addr = addr or str(supplier.get("supportEmail") or "billing@localhost")  # SMTP_FROM, else the supplier's
    message["From"] = Address(display_name=_one_line(name or supplier.get("legalName", "")), addr_spec=addr)
    message["To"] = str(company.get("billingEmail"))
    if reply_to:
        message["Reply-To"] = reply_to
    message["Message-ID"] = make_msgid(domain=addr.split("@")[-1] if "@" in addr else None)
    lines = [f"Dear {company.get('name') or receivable.company_id},", "",
             f"Invoice {number} from {supplier.get('legalName', '')} {when(step, due)}.",
             f"Balance to pay: {balance}.", ""]
    if pdf_link:
        lines += [f"Invoice PDF: {pdf_link}", ""]
    if portal_link:
        lines += [f"Your invoices, notes, statement and balance (this link works for 30 days): {portal_link}", ""]
    if upi_link:
        lines += [f"Pay by UPI to {supplier.get('upiId')} (scan the QR code in this email's HTML part, or open: "
                  f"{upi_link})", ""]
    lines += ["If you have already paid, please ignore this reminder and share the payment reference (UTR) "
              f"with {supplier.get('supportEmail') or 'us'}.", "", str(supplier.get("legalName", ""))]
    message.set_content("\n".join(lines) + "\n")
    html = [f"<p>{escape(line)}</p>" if line else "" for line in lines[:5]]
    if pdf_link:
        html.append(f'<p><a href="{escape(pdf_link)}">Download invoice {escape(number)} (PDF)</a></p>')
    if portal_link:
        html.append(f'<p><a href="{escape(portal_link)}">Your billing portal</a>: your invoices, notes, statement '
                    'and balance (the link works for 30 days).</p>')
    cid = None
    if upi_link:
        cid = make_msgid(domain="upi.qr")
        html.append(f'<p>Pay by UPI to <b>{escape(str(supplier.get("upiId")))}</b>:</p>'
                    f'<p><img src="cid:{cid[1:-1]}" alt="UPI QR code" width="180" height="180"></p>'
                    f'<p><a href="{escape(upi_link)}">Open in a UPI app</a></p>')
    html.append(f"<p>{escape(lines[-3])}</p><p>{escape(lines[-1])}</p>")
    message.add_alternative("<html><body>" + "".join(html) + "</body></html>", subtype="html")
    if upi_link and cid:
        html_part = message.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(qr_png(upi_link), maintype="image", subtype="png", cid=cid, filename="upi-qr.png")
    return message

