"""The invoice email (the PDF, and the CSV when small, attached; the customer portal's link; the UPI QR
code inline when the supplier has a UPI ID) and the credit and debit note emails (their PDF).

What the emails say lives in templates/email (invoice_*, credit_note_*, debit_note_* .txt/html)
so a non-programmer can change the wording. Header values are built with `email.headerregistry.Address`
and the default policy, and every free-text value that reaches a header is flattened to one line, so a
company name like "Acme\\r\\nBcc: x@y" cannot add a header.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Mapping, Sequence

import jinja2

from billing.adapters.formatting import as_decimal, display_date, rupees
from billing.adapters.reminder_email import qr_png
from billing.domain.entities import Note
from billing.domain.invoice import BANK_FIELDS, MAX_CSV_ATTACHMENT_BYTES
from billing.domain.naming import download_stem
from billing.domain.receivables import upi_uri
from billing.errors import ConfigurationError

TEMPLATE_FILES = ("invoice_subject.txt", "invoice_body.txt", "invoice_body.html",
                  "credit_note_subject.txt", "credit_note_body.txt", "credit_note_body.html",
                  "debit_note_subject.txt", "debit_note_body.txt", "debit_note_body.html")

_envs: dict[str, tuple[jinja2.Environment, jinja2.Environment]] = {}


def _environments(templates_dir: Path) -> tuple[jinja2.Environment, jinja2.Environment]:
    """(plain-text env, HTML env with autoescape) over templates_dir/email, cached per directory."""
    key = str(Path(templates_dir).resolve())
    if key not in _envs:
        folder = Path(templates_dir) / "email"
        missing = [name for name in TEMPLATE_FILES if not (folder / name).is_file()]
        if missing:
            raise ConfigurationError(f"email templates missing in {folder}: {', '.join(missing)}")
        loader = jinja2.FileSystemLoader(str(folder))
        text = jinja2.Environment(loader=loader, autoescape=False, undefined=jinja2.StrictUndefined,
                                  keep_trailing_newline=True, trim_blocks=False)
        html = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
        _envs[key] = (text, html)
    return _envs[key]


def _one_line(value: Any) -> str:
    """Collapse every run of whitespace (CR, LF, tabs...) into one space: safe in a header."""
    return " ".join(str(value or "").split())


def _period_name(period: Mapping[str, Any]) -> str:
    """{"month": "2025-09", ...} -> "September 2025"."""
    key = str(period.get("month") or str(period.get("startDate") or "")[:7])
    try:
        return date.fromisoformat(f"{key}-01").strftime("%B %Y")
    except ValueError:
        return key


def _percent(value: Any) -> str:
    """18.0 -> "18"; 2.5 -> "2.5"; missing -> ""."""
    try:
        return f"{Decimal(str(value)).normalize():f}" if value is not None else ""
    except (InvalidOperation, ValueError):
        return ""


def _address(value: str, what: str) -> Address:
    """One mailbox ("a@b.example" or "Name <a@b.example>") as a header-safe Address."""
    if not value or "\r" in value or "\n" in value:
        raise ConfigurationError(f"{what} {value!r} is not a valid email address")
    name, addr = parseaddr(value)
    try:
        address = Address(display_name=_one_line(name), addr_spec=addr)
    except (ValueError, IndexError, TypeError):
        raise ConfigurationError(f"{what} {value!r} is not a valid email address") from None
    if not address.username or not address.domain:
        raise ConfigurationError(f"{what} {value!r} is not a valid email address")
    return address


def _recipients(value: Any) -> list[Address]:
    """billingEmail: one address, or several separated by commas/semicolons."""
    text = str(value or "")
    if not text.strip():
        raise ConfigurationError("the invoice recipient has no billingEmail")
    if "\r" in text or "\n" in text:
        raise ConfigurationError(f"billingEmail {text!r} contains a line break")
    result = []
    for name, addr in getaddresses([text.replace(";", ",")]):
        if addr:
            result.append(_address(f"{name} <{addr}>" if name else addr, "billingEmail"))
    if not result:
        raise ConfigurationError(f"billingEmail {text!r} is not a valid email address")
    return result


def _safe_link(url: Any) -> str | None:
    """Only http(s) download links make it into the email."""
    url = str(url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) and not any(c.isspace() for c in url) else None


def build_invoice_email(
    invoice: Mapping[str, Any], *, pdf_bytes: bytes, csv_bytes: bytes | None, links: Mapping[str, str],
    settings: Mapping[str, Any], sender: str, templates_dir: Path, reply_to: str | None = None,
    max_csv_attachment_bytes: int = MAX_CSV_ATTACHMENT_BYTES, to: Sequence[str] | None = None,
) -> EmailMessage:
    """The invoice email for `to` (else invoice["recipient"]["billingEmail"]), ready for SmtpMailer.send.

    settings: optional extras for the templates (e.g. supportEmail as a fallback when the invoice's
    supplier snapshot has none); also passed to the templates as `settings`.
    Reply-To: reply_to, else the supplier's support email when it differs from the sender.
    """
    settings = settings or {}
    supplier = invoice.get("supplier") or {}
    recipient = invoice.get("recipient") or {}
    usage = invoice.get("usageData") or {}
    bank = supplier.get("bank") or {}
    addresses = _recipients(", ".join(to) if to else recipient.get("billingEmail"))
    supplier_name = _one_line(supplier.get("legalName"))
    from_address = _from(sender, supplier_name)

    safe_links = {kind: _safe_link(url) for kind, url in (links or {}).items()}
    csv_attached = csv_bytes is not None and len(csv_bytes) <= max_csv_attachment_bytes
    support = supplier.get("supportEmail") or settings.get("supportEmail") or from_address.addr_spec
    tax = invoice.get("taxBreakdown") or {}
    replaces = invoice.get("replaces")
    upi_id = _one_line(supplier.get("upiId"))
    upi_link = _invoice_upi_link(invoice, upi_id) if upi_id else None
    qr_cid = make_msgid(domain="upi.qr") if upi_link else None
    context = {
        "replaces": ({"invoice": _one_line(replaces.get("invoiceNumber")),
                      "credit_note": _one_line(replaces.get("creditNoteNumber"))}
                     if isinstance(replaces, Mapping) and replaces.get("invoiceNumber") else None),
        "number": _one_line(invoice.get("invoiceNumber")),
        "supplier": supplier_name,
        "recipient": _one_line(recipient.get("legalName")) or "Customer",
        "period": _period_name(invoice.get("billingPeriod") or {}),
        "invoice_date": display_date(invoice.get("invoiceDate")),
        "subtotal": rupees(invoice.get("subtotal")) if invoice.get("subtotal") is not None else "",
        "gst": rupees(invoice.get("gstAmount")) if invoice.get("gstAmount") is not None else "",
        "gst_rate": _percent(tax.get("rate")),
        "total": rupees(invoice.get("totalAmount", 0)),
        "amount_in_words": _one_line(invoice.get("amountInWords")),
        "due_date": display_date(invoice.get("dueDate")),
        "calls": usage.get("totalCalls", 0),
        "minutes": usage.get("totalBilledMinutes", 0),
        "bank": [(label, _one_line(bank[key])) for key, label in BANK_FIELDS if bank.get(key)],
        "links": {"pdf": safe_links.get("pdf"), "csv": safe_links.get("csv")},
        "portal": safe_links.get("portal"),
        "upi": {"id": upi_id, "link": upi_link, "cid": qr_cid[1:-1] if qr_cid else ""} if upi_link else None,
        "csv_attached": csv_attached,
        "csv_too_large": csv_bytes is not None and not csv_attached,
        "support": _one_line(support),
        "settings": settings,
    }
    message = _message(templates_dir, "invoice", context, from_address, addresses, reply_to, support)
    if upi_link and qr_cid:  # the QR code, inline in the HTML part (multipart/related)
        html_part = message.get_body(preferencelist=("html",))
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(qr_png(upi_link), maintype="image", subtype="png", cid=qr_cid, filename="upi-qr.png")
    stem = download_stem(invoice)
    message.add_attachment(bytes(pdf_bytes), maintype="application", subtype="pdf", filename=f"{stem}_invoice.pdf")
    if csv_attached and csv_bytes is not None:  # csv_attached implies csv_bytes; said again for mypy
        message.add_attachment(bytes(csv_bytes), maintype="text", subtype="csv", filename=f"{stem}_calls.csv")
    return message


def _invoice_upi_link(invoice: Mapping[str, Any], upi_id: str) -> str:
    """The UPI deep link for the invoice's total (as its PDF's QR code carries it)."""
    supplier = invoice.get("supplier") or {}
    total = (invoice.get("amountsPaise") or {}).get("total")
    paise = int(total) if total is not None else int(as_decimal(invoice.get("totalAmount", 0)) * 100)
    return upi_uri(upi_id, _one_line(supplier.get("legalName")), paise, _one_line(invoice.get("invoiceNumber")))


def _from(sender: str, supplier_name: str) -> Address:
    """The sender, named after the supplier when the configured address has no display name."""
    from_address = _address(sender, "sender")
    if not from_address.display_name and supplier_name:
        from_address = Address(display_name=supplier_name, addr_spec=from_address.addr_spec)
    return from_address


def _message(templates_dir: Path, kind: str, context: Mapping[str, Any], from_address: Address,
             to: list[Address], reply_to: str | None, support: str) -> EmailMessage:
    """Subject, text and HTML bodies from the `{kind}_*` templates; the headers set."""
    text_env, html_env = _environments(templates_dir)
    try:
        subject = _one_line(text_env.get_template(f"{kind}_subject.txt").render(context))
        text_body = text_env.get_template(f"{kind}_body.txt").render(context)
        html_body = html_env.get_template(f"{kind}_body.html").render(context)
    except jinja2.TemplateError as exc:
        raise ConfigurationError(f"email template error: {type(exc).__name__}: {exc}") from None
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = from_address
    message["To"] = to
    reply = reply_to or (support if _one_line(support) != from_address.addr_spec else None)
    if reply:
        message["Reply-To"] = _address(_one_line(reply), "reply-to")
    message.set_content(text_body)
    message.add_alternative(html_body, subtype="html")
    return message


def build_credit_note_email(
    note: Note, *, pdf_bytes: bytes, to: Sequence[str], link: str | None, sender: str,
    templates_dir: Path, reply_to: str | None = None,
) -> EmailMessage:
    """The credit note email (templates/email/credit_note_*) to `to`, its PDF attached."""
    extra = {"partial": note.scope == "partial"}  # a partial credit note reduces the invoice, never cancels it
    return _note_email("credit_note", note.document, note.download_name, extra, pdf_bytes=pdf_bytes, to=to,
                       link=link, sender=sender, templates_dir=templates_dir, reply_to=reply_to)


def build_debit_note_email(
    note: Note, *, pdf_bytes: bytes, to: Sequence[str], link: str | None, sender: str,
    templates_dir: Path, reply_to: str | None = None,
) -> EmailMessage:
    """The debit note email (templates/email/debit_note_*) to `to`, its PDF attached."""
    return _note_email("debit_note", note.document, note.download_name, {}, pdf_bytes=pdf_bytes, to=to,
                       link=link, sender=sender, templates_dir=templates_dir, reply_to=reply_to)


def _note_email(
    kind: str, note: Mapping[str, Any], filename: str, extra: Mapping[str, object], *, pdf_bytes: bytes,
    to: Sequence[str], link: str | None, sender: str, templates_dir: Path, reply_to: str | None,
) -> EmailMessage:
    """A note's email from templates/email/<kind>_*: kind is credit_note or debit_note, whose number and
    date fields are creditNoteNumber/creditNoteDate or debitNoteNumber/debitNoteDate."""
    field = "creditNote" if kind == "credit_note" else "debitNote"
    supplier = note.get("supplier") or {}
    original = note.get("originalInvoice") or {}
    supplier_name = _one_line(supplier.get("legalName"))
    from_address = _from(sender, supplier_name)
    support = supplier.get("supportEmail") or from_address.addr_spec
    context = {
        "number": _one_line(note.get(f"{field}Number")),
        "date": display_date(note.get(f"{field}Date")),
        "supplier": supplier_name,
        "recipient": _one_line((note.get("recipient") or {}).get("legalName")) or "Customer",
        "period": _period_name(note.get("billingPeriod") or {}),
        "invoice": _one_line(original.get("invoiceNumber")),
        "invoice_date": display_date(original.get("invoiceDate")),
        "reason": _one_line(note.get("reason")),
        "subtotal": rupees(note.get("subtotal")) if note.get("subtotal") is not None else "",
        "gst": rupees(note.get("gstAmount")) if note.get("gstAmount") is not None else "",
        "total": rupees(note.get("totalAmount", 0)),
        "amount_in_words": _one_line(note.get("amountInWords")),
        "link": _safe_link(link),
        "support": _one_line(support),
        **extra,
    }
    message = _message(templates_dir, kind, context, from_address, _recipients(", ".join(to)), reply_to, support)
    message.add_attachment(bytes(pdf_bytes), maintype="application", subtype="pdf", filename=filename)
    return message
