"""The invoice email: subject and bodies from templates/email, the PDF (and CSV when small) attached."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from email.message import EmailMessage
from email.utils import formataddr
from pathlib import Path
from typing import Any, Mapping

import jinja2

from billing.domain.money import format_indian

_envs: dict[str, tuple[jinja2.Environment, jinja2.Environment]] = {}


def _environments(templates_dir: Path):
    key = str(templates_dir)
    if key not in _envs:
        loader = jinja2.FileSystemLoader(str(Path(templates_dir) / "email"))
        text = jinja2.Environment(loader=loader, autoescape=False, undefined=jinja2.StrictUndefined,
                                  keep_trailing_newline=True)
        html = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
        _envs[key] = (text, html)
    return _envs[key]


def _period_name(month_key: str) -> str:
    try:
        return date.fromisoformat(f"{month_key}-01").strftime("%B %Y")
    except ValueError:
        return month_key


def _one_line(value: Any) -> str:
    return " ".join(str(value or "").split())


def build_invoice_email(
    invoice: Mapping[str, Any], *, pdf_bytes: bytes, csv_bytes: bytes | None, links: Mapping[str, str],
    settings: Mapping[str, Any], sender: str, templates_dir: Path, reply_to: str | None = None,
    max_csv_attachment_bytes: int = 5_000_000,
) -> EmailMessage:
    supplier = invoice.get("supplier") or {}
    recipient = invoice.get("recipient") or {}
    usage = invoice.get("usageData") or {}
    bank = supplier.get("bank") or {}
    csv_attached = csv_bytes is not None and len(csv_bytes) <= max_csv_attachment_bytes
    context = {
        "number": invoice.get("invoiceNumber", ""),
        "supplier": _one_line(supplier.get("legalName")),
        "recipient": _one_line(recipient.get("legalName")),
        "period": _period_name((invoice.get("billingPeriod") or {}).get("month", "")),
        "total": f"₹ {format_indian(Decimal(str(invoice.get('totalAmount', 0))))}",
        "due_date": _date(invoice.get("dueDate")),
        "calls": usage.get("totalCalls", 0),
        "minutes": usage.get("totalBilledMinutes", 0),
        "bank": [(label, bank[key]) for key, label in (
            ("accountName", "Account name"), ("bankName", "Bank"), ("accountNumber", "Account number"),
            ("ifsc", "IFSC"), ("branch", "Branch"), ("upiId", "UPI")) if bank.get(key)],
        "links": {"pdf": links.get("pdf"), "csv": links.get("csv")},
        "csv_attached": csv_attached,
        "support": supplier.get("supportEmail") or sender,
    }
    text_env, html_env = _environments(templates_dir)
    message = EmailMessage()
    message["Subject"] = _one_line(text_env.get_template("invoice_subject.txt").render(context))
    message["From"] = formataddr((context["supplier"], sender)) if context["supplier"] else sender
    message["To"] = recipient.get("billingEmail", "")
    if reply_to:
        message["Reply-To"] = reply_to
    message.set_content(text_env.get_template("invoice_body.txt").render(context))
    message.add_alternative(html_env.get_template("invoice_body.html").render(context), subtype="html")
    stem = f"{str(context['number']).replace('/', '-')}_{invoice.get('companyId', '')}_{(invoice.get('billingPeriod') or {}).get('month', '')}"
    message.add_attachment(pdf_bytes, maintype="application", subtype="pdf", filename=f"{stem}_invoice.pdf")
    if csv_attached:
        message.add_attachment(csv_bytes, maintype="text", subtype="csv", filename=f"{stem}_calls.csv")
    return message


def _date(text: Any) -> str:
    try:
        return date.fromisoformat(str(text)[:10]).strftime("%d %b %Y")
    except ValueError:
        return str(text or "")
