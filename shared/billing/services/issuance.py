"""Issue a company's invoice for a month, exactly once, and read issued invoices back.

The steps, each safe to repeat after a crash:
  1. validate everything (nothing is written on bad input);
  2. an issued invoice is returned as it is;
  3. stream the month's calls once: rate them and write the CSV to a unique staging object;
  4. one Firestore transaction creates the invoice document (status "issuing") with the next
     invoice number, unless another request created it first (then that one is used);
  5. finish from the document alone: promote the staged CSV, render and upload the PDF
     (create-only, deterministic bytes), mark the invoice "issued".
A retry that finds an "issuing" document resumes at step 5 with the same number and inputs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from billing.adapters.csv_export import CallCsvWriter
from billing.config import Settings
from billing.domain import gst, numbering
from billing.domain.period import BillingPeriod, parse_period
from billing.domain.rating import Tariff, UsageAccumulator
from billing.domain.totals import compute_totals, due_date, invoice_amounts_json
from billing.errors import ConfigurationError, NotFoundError, ValidationError
from billing.ports import BlobStore, CallLogSource, CompanyRepository, InvoiceRepository, SettingsRepository

log = logging.getLogger(__name__)

COMPANY_ID = re.compile(r"^[a-z0-9_-]{1,64}$")
PERIOD_KEY = re.compile(r"^\d{4}-\d{2}$")
FILE_KINDS = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


def validate_company_id(company_id: str) -> str:
    """companyId: 1-64 characters of a-z, 0-9, '_' and '-'."""
    if not isinstance(company_id, str) or not COMPANY_ID.match(company_id):
        shown = company_id if isinstance(company_id, str) and len(company_id) <= 80 else f"{str(company_id)[:80]}..."
        raise ValidationError(
            f"company id must be 1-64 characters of a-z, 0-9, '_' or '-', got {shown!r}"
        )
    return company_id


def invoice_id(company_id: str, period_key: str) -> str:
    return f"{company_id}_{period_key}"


def file_paths(company_id: str, period_key: str) -> dict[str, str]:
    base = f"invoices/{company_id}/{period_key}/{company_id}_{period_key}"
    return {"pdf": f"{base}_invoice.pdf", "csv": f"{base}_calls.csv"}


def file_name(doc: Mapping[str, Any], kind: str) -> str:
    number = str(doc.get("invoiceNumber", "")).replace("/", "-")
    month = doc.get("billingPeriod", {}).get("month", "")
    suffix = "invoice.pdf" if kind == "pdf" else "calls.csv"
    return f"{number}_{doc.get('companyId')}_{month}_{suffix}"


@dataclass(frozen=True)
class Supplier:
    """The service operator, as invoices show it."""

    legal_name: str
    address: str
    gstin: str | None
    state_code: str
    sac_code: str
    prefix: str
    raw: Mapping[str, Any]

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any] | None) -> "Supplier":
        if not doc:
            raise ConfigurationError("supplier settings (settings/billing) are missing")
        name = doc.get("legalName")
        if not name:
            raise ConfigurationError("supplier settings need legalName")
        gstin = doc.get("gstin")
        try:
            if gstin:
                gstin = gst.validate_gstin(gstin)
            state = gst.recipient_state_code(gstin, doc.get("stateCode"), default="")
        except ValidationError as exc:
            raise ConfigurationError(f"supplier settings: {exc.detail}") from None
        if not state:
            raise ConfigurationError("supplier settings need stateCode or gstin")
        prefix = numbering.validate_prefix(doc.get("invoicePrefix") or "")
        return cls(name, doc.get("address", ""), gstin, state, str(doc.get("sacCode") or "998319"), prefix, doc)

    def snapshot(self) -> dict:
        keep = ("supportEmail", "phone", "bank", "logoPath", "website", "pan", "cin")
        return {
            "legalName": self.legal_name,
            "address": self.address,
            "gstin": self.gstin,
            "stateCode": self.state_code,
            "stateName": gst.STATE_NAMES.get(self.state_code, ""),
            "sacCode": self.sac_code,
            **{k: self.raw[k] for k in keep if k in self.raw},
        }


def recipient_snapshot(company_id: str, company: Mapping[str, Any], supplier_state: str) -> dict:
    """The customer as the invoice shows it; a malformed GSTIN is a configuration error."""
    gstin = company.get("gstin") or None
    try:
        if gstin:
            gstin = gst.validate_gstin(gstin)
        state = gst.recipient_state_code(gstin, company.get("stateCode"), default=supplier_state)
    except ValidationError as exc:
        raise ConfigurationError(f"company '{company_id}': {exc.detail}") from None
    name = company.get("name") or company.get("legalName")
    if not name:
        raise ConfigurationError(f"company '{company_id}' has no name")
    return {
        "companyId": company_id,
        "legalName": name,
        "address": company.get("address", ""),
        "gstin": gstin,
        "stateCode": state,
        "stateName": gst.STATE_NAMES.get(state, ""),
        "billingEmail": company.get("billingEmail"),
    }


def _digest(*parts: Any) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


class IssuanceService:
    """generate / get / list invoices over the ports."""

    def __init__(
        self,
        *,
        companies: CompanyRepository,
        settings_repo: SettingsRepository,
        calls: CallLogSource,
        invoices: InvoiceRepository,
        blobs: BlobStore,
        settings: Settings,
        render_pdf: Callable[[Mapping[str, Any]], bytes],
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ):
        self.companies = companies
        self.settings_repo = settings_repo
        self.calls = calls
        self.invoices = invoices
        self.blobs = blobs
        self.settings = settings
        self.render_pdf = render_pdf
        self.clock = clock

    # -- issuing -------------------------------------------------------------------------------

    def generate(self, company_id: str, month: Any = None, year: Any = None, read_slices: int | None = None) -> dict:
        """The company's invoice for the month: the existing one, or a newly issued one.

        read_slices overrides how many parallel time slices the month is read in (a run that
        already issues several companies at once reads each month as one stream)."""
        validate_company_id(company_id)
        company = self.companies.get(company_id)
        if company is None:
            raise NotFoundError(f"Invoice generation failed: Company '{company_id}' not found")
        tariff = Tariff.from_mapping(
            company.get("billing"),
            default_timezone=self.settings.default_timezone,
            non_billable_statuses=frozenset(self.settings.non_billable_statuses),
        )
        now = self.clock()
        period = parse_period(month, year, tariff.timezone, now)
        inv_id = invoice_id(company_id, period.key)

        existing = self.invoices.get(inv_id)
        if existing is not None:
            return self._finish(inv_id, existing)

        supplier = Supplier.from_doc(self.settings_repo.supplier())
        recipient = recipient_snapshot(company_id, company, supplier.state_code)
        doc, created, staging = self._rate_and_create(
            company_id, company, tariff, period, supplier, recipient, now, read_slices or self.settings.read_slices
        )
        if created:
            log.info("invoice created", extra={"json_fields": {
                "invoiceId": inv_id, "invoiceNumber": doc["invoiceNumber"]}})
        else:
            self.blobs.delete(staging)  # another request won the race; its CSV is the one kept
            log.info("invoice already created by a concurrent request",
                     extra={"json_fields": {"invoiceId": inv_id}})
        return self._finish(inv_id, doc)

    def _rate_and_create(self, company_id, company, tariff, period, supplier, recipient, now, slices):
        paths = file_paths(company_id, period.key)
        staging = f"staging/{company_id}/{period.key}/{uuid.uuid4().hex}.csv"
        usage, totals, csv_digest, csv_rows = self._rate_calls(
            company_id, tariff, period, supplier, recipient, staging, slices
        )
        invoice_date = now.astimezone(ZoneInfo(period.timezone)).date()
        fy = numbering.financial_year(invoice_date)
        amounts = invoice_amounts_json(totals, usage)
        tariff_snapshot = dict(company.get("billing") or {})
        digest = _digest(tariff_snapshot, recipient, supplier.snapshot(), period.key, csv_digest)

        def build(seq: int) -> dict:
            return {
                "invoiceId": invoice_id(company_id, period.key),
                "companyId": company_id,
                "invoiceNumber": numbering.format_invoice_number(supplier.prefix, fy, seq),
                "financialYear": fy,
                "sequence": seq,
                "status": "issuing",
                "invoiceDate": invoice_date.isoformat(),
                "dueDate": due_date(invoice_date, tariff.payment_terms_days).isoformat(),
                "billingPeriod": period.to_json(),
                "supplier": supplier.snapshot(),
                "recipient": recipient,
                "placeOfSupply": {
                    "stateCode": recipient["stateCode"], "stateName": recipient["stateName"],
                },
                "reverseCharge": False,
                **amounts,
                "anomalies": list(usage.anomalies),
                "tariff": _jsonable(tariff_snapshot),
                "files": {
                    "pdf": self.blobs.uri(paths["pdf"]),
                    "csv": self.blobs.uri(paths["csv"]),
                    "csvStaging": staging,
                    "csvChecksum": csv_digest,
                    "csvRows": csv_rows,
                },
                "inputsDigest": digest,
                "createdAt": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
                "delivery": {"status": "not-sent", "attempts": 0},
            }

        doc, created = self.invoices.create_numbered(
            invoice_id(company_id, period.key), numbering.counter_id(supplier.prefix, fy), build
        )
        return doc, created, staging

    def _rate_calls(self, company_id, tariff, period, supplier, recipient, staging, slices):
        """Read the month's calls once, rate them and write the CSV to `staging`.

        With a call-log source that can cut the month into time slices, the slices are read,
        rated and written in parallel (one CSV part each), then composed in time order."""
        tz = ZoneInfo(period.timezone)
        slicer = getattr(self.calls, "slices", None)
        sources = slicer(company_id, period, slices) if slicer and slices > 1 \
            else [self.calls.stream(company_id, period)]
        parts = [staging] if len(sources) == 1 else [f"{staging}.part{i:02d}" for i in range(len(sources))]
        csv_name = f"{company_id}_{period.key}_calls.csv"

        def rate_part(i: int):
            acc = UsageAccumulator(tariff, period)
            with self.blobs.writer(parts[i], FILE_KINDS["csv"], csv_name) as out:
                writer = CallCsvWriter(out, tz, tariff.rate_per_minute, header=(i == 0))
                for call in sources[i]:
                    writer.write(acc.add(call))
                writer.flush()
            return acc, writer

        if len(sources) == 1:
            # One stream: the trailer goes into the same object, before it is closed.
            acc = UsageAccumulator(tariff, period)
            with self.blobs.writer(staging, FILE_KINDS["csv"], csv_name) as out:
                writer = CallCsvWriter(out, tz, tariff.rate_per_minute)
                for call in sources[0]:
                    writer.write(acc.add(call))
                usage, totals = self._totals(acc, tariff, supplier, recipient)
                writer.finish(totals.chargeable_minutes, totals.call_charges, self._adjustments(totals, tariff))
                digest = out.md5_base64()
            return usage, totals, digest, writer.rows

        with ThreadPoolExecutor(len(sources), thread_name_prefix="rate-slice") as pool:
            results = list(pool.map(rate_part, range(len(sources))))
        acc = results[0][0]
        for other, _ in results[1:]:
            acc.merge(other)
        usage, totals = self._totals(acc, tariff, supplier, recipient)
        trailer_path = f"{staging}.trailer"
        with self.blobs.writer(trailer_path, FILE_KINDS["csv"], csv_name) as out:
            trailer = CallCsvWriter(out, tz, tariff.rate_per_minute, header=False)
            trailer.minutes_written = sum((w.minutes_written for _, w in results), Decimal(0))
            trailer.amount_written = sum((w.amount_written for _, w in results), Decimal(0))
            trailer.finish(totals.chargeable_minutes, totals.call_charges, self._adjustments(totals, tariff))
        digest = self.blobs.compose(parts + [trailer_path], staging, FILE_KINDS["csv"], csv_name)
        for path in parts + [trailer_path]:
            self.blobs.delete(path)
        return usage, totals, digest, sum(w.rows for _, w in results)

    @staticmethod
    def _totals(acc, tariff, supplier, recipient):
        usage = acc.summary()
        return usage, compute_totals(usage, tariff, supplier.state_code, recipient["stateCode"])

    @staticmethod
    def _adjustments(totals, tariff) -> list:
        adjustments = []
        if totals.included_minutes_applied:
            adjustments.append((
                "included minutes",
                -totals.included_minutes_applied,
                -(totals.included_minutes_applied * tariff.rate_per_minute),
            ))
        if totals.minimum_adjustment:
            adjustments.append(("minimum usage charge", Decimal(0), totals.minimum_adjustment))
        return adjustments

    def _finish(self, inv_id: str, doc: dict) -> dict:
        """Make an "issuing" invoice complete from its document alone (idempotent)."""
        if doc.get("status") == "issued":
            return doc
        company_id = doc["companyId"]
        key = doc["billingPeriod"]["month"]
        paths = file_paths(company_id, key)
        staging = doc["files"].get("csvStaging")
        if not self.blobs.exists(paths["csv"]):
            if not staging or not self.blobs.exists(staging):
                raise ConfigurationError(
                    f"invoice {doc['invoiceNumber']} is missing its staged CSV ({staging}); "
                    "it needs an operator"
                )
            self.blobs.promote(staging, paths["csv"])
        pdf = self.render_pdf(doc)
        if not self.blobs.put_create_only(paths["pdf"], pdf, FILE_KINDS["pdf"], file_name(doc, "pdf")):
            log.info("invoice PDF already stored; kept as it is", extra={"json_fields": {"invoiceId": inv_id}})
        fields = {
            "status": "issued",
            "issuedAt": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "files.pdfMd5": hashlib.md5(pdf).hexdigest(),
        }
        self.invoices.update(inv_id, fields)
        if staging:
            self.blobs.delete(staging)
        final = self.invoices.get(inv_id)
        return final if final is not None else {**doc, "status": "issued"}

    # -- reading -------------------------------------------------------------------------------

    def get(self, company_id: str, period_key: str) -> dict:
        validate_company_id(company_id)
        if not PERIOD_KEY.match(period_key or ""):
            raise ValidationError(f"period must look like YYYY-MM, got {period_key!r}")
        BillingPeriod.from_key(period_key, "UTC")
        doc = self.invoices.get(invoice_id(company_id, period_key))
        if doc is None:
            raise NotFoundError(f"Invoice for company '{company_id}' and period {period_key} not found")
        return doc

    def list(self, company_id: str, year: Any = None) -> list[dict]:
        validate_company_id(company_id)
        year_int = None
        if year not in (None, ""):
            try:
                year_int = int(year)
            except (TypeError, ValueError):
                raise ValidationError(f"year must be an integer, got {year!r}") from None
            if not 2000 <= year_int <= 9999:
                raise ValidationError(f"year must be between 2000 and 9999, got {year_int}")
        if self.companies.get(company_id) is None:
            raise NotFoundError(f"Company '{company_id}' not found")
        return self.invoices.list_for_company(company_id, year_int)

    def file(self, company_id: str, period_key: str, kind: str) -> tuple[str, str, str]:
        """(object path, download filename, content type) of an issued invoice's PDF or CSV."""
        if kind not in FILE_KINDS:
            raise NotFoundError(f"unknown file kind {kind!r}; expected pdf or csv")
        doc = self.get(company_id, period_key)
        if doc.get("status") != "issued":
            raise NotFoundError(f"invoice {doc.get('invoiceNumber')} is not issued yet")
        return file_paths(company_id, period_key)[kind], file_name(doc, kind), FILE_KINDS[kind]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (Decimal, date, datetime)):
        return str(value)
    return value

