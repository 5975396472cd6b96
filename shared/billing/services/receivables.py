"""Receivables (DESIGN 14): payments with TDS and their reversal, the invoice's balance, ageing, TDS.

Every write is one ReceivableRepository.change(): the invoice's receivable, the payment and the
ageing aggregates move together or not at all, and the decision (over the balance? the same
reference again?) is taken inside that transaction from what it read, so retries and concurrent
requests cannot overpay or record a payment twice. The issued invoice itself is never written.
"""

from __future__ import annotations

import logging
from datetime import date

from billing.domain import receivables as rules
from billing.domain.receivables import JsonBody
from billing.domain.invoice import Supplier
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.entities import Invoice
from billing.domain.money import INR
from billing.domain.receivable import Payment, Receivable, Reversal, TdsMatch, due_day
from billing.domain.naming import validate_company_id
from billing.domain.period import BillingPeriod, invoice_date
from billing.domain.presenter import paise_to_rupees
from billing.errors import NotFoundError, ValidationError
from billing.domain.statement import parse_range, statement, statement_rows
from billing.ports import (
    AdjustmentNoteRepository, Clock, CreditNoteRepository, PdfRenderer, ReceivableChange, ReceivableRepository,
    ReceivableUpdate, SettingsRepository,
)
from billing.services.queries import InvoiceQueries

log = logging.getLogger(__name__)


class ReceivableService:
    def __init__(self, *, queries: InvoiceQueries, receivables: ReceivableRepository,
                 settings_repo: SettingsRepository, clock: Clock, credit_notes: CreditNoteRepository | None = None,
                 render_statement: PdfRenderer | None = None, debit_notes: AdjustmentNoteRepository | None = None):
        self.queries = queries
        self.receivables = receivables
        self.settings_repo = settings_repo
        self.clock = clock
        self.credit_notes = credit_notes
        self.render_statement = render_statement
        self.debit_notes = debit_notes  # a debit note raises what the customer owes: a row of the statement

    def today(self) -> date:
        """Today in the supplier's calendar (due dates and payment dates are its days)."""
        return invoice_date(self.clock(), Supplier.required(self.settings_repo.supplier()).timezone)

    def _now(self) -> str:
        return self.clock().isoformat(timespec="microseconds")  # orders same-day payments on a statement

    # -- documents that move a balance ------------------------------------------------------------

    def open(self, invoice: Invoice) -> Receivable:
        """The invoice's receivable, opened (with the ageing aggregates) if it is not yet: idempotent."""
        existing = self.receivables.get(invoice.invoice_id)
        if existing is not None:
            return existing
        return self._note_or_open(invoice)

    def on_void(self, invoice: Invoice) -> Receivable:
        """A void invoice's credit note counted once on its receivable (its balance falls by the total)."""
        return self._note_or_open(invoice)

    def on_note(self, invoice: Invoice, note_id: str, signed_paise: int) -> Receivable:
        """A partial credit note (< 0) or a debit note (> 0) counted once on the invoice's receivable."""
        now = self._now()

        def update(rec: Receivable | None, _: Payment | None) -> ReceivableChange | None:
            base = rec if rec is not None else Receivable.open(invoice, now)
            before = rec.balance.paise if rec is not None else 0
            if base.has_note(note_id):
                return None if rec is not None else ReceivableChange(base, delta_paise=base.balance.paise)
            after = base.apply_note(note_id, INR(signed_paise))
            return ReceivableChange(after, delta_paise=after.balance.paise - before)

        return self._change(invoice, None, update)[1]

    def _note_or_open(self, invoice: Invoice) -> Receivable:
        now = self._now()
        note_id = invoice.voided_by or ""
        void = invoice.status is InvoiceStatus.VOID and bool(note_id)

        def update(rec: Receivable | None, _: Payment | None) -> ReceivableChange | None:
            if rec is None:
                opened = Receivable.open(invoice, now)
                return ReceivableChange(opened, delta_paise=opened.balance.paise)
            if not void or rec.has_note(note_id):
                return None
            after = rec.void(note_id)
            return ReceivableChange(after, delta_paise=after.balance.paise - rec.balance.paise)

        return self._change(invoice, None, update)[1]

    def _change(self, invoice: Invoice, payment_id: str | None,
                update: ReceivableUpdate) -> tuple[ReceivableChange | None, Receivable]:
        change, stored = self.receivables.change(invoice.invoice_id, invoice.company_id, due_day(invoice),
                                                 payment_id, update)
        assert stored is not None
        return change, stored

    def record_payment(self, company_id: str, period_key: str, body: object) -> tuple[Payment, Receivable, bool]:
        """(payment, receivable, created): the month's issued invoice settled by amount + TDS.

        The same reference with the same data returns the first payment (created False); with other
        data it is a ConflictError; beyond the balance a ValidationError, and nothing is written."""
        invoice = self.queries.current(company_id, period_key)
        if invoice.status is not InvoiceStatus.ISSUED:
            state = InvoiceStatus.VOID.value if invoice.status is InvoiceStatus.VOID else "not issued yet"
            raise ValidationError(f"invoice {invoice.number or invoice.invoice_id} is {state}: "
                                  "no payment can be recorded against it")
        request = rules.parse_payment(body, self.today())
        now = self._now()
        payment = rules.new_payment(company_id, invoice, request, now)

        def update(rec: Receivable | None, existing: Payment | None) -> ReceivableChange | None:
            if existing is not None:
                existing.check_replay(payment)
                return None
            before = rec if rec is not None else Receivable.open(invoice, now)
            after = before.apply_payment(payment)
            return ReceivableChange(after, payment, after.balance.paise - (0 if rec is None else rec.balance.paise))

        change, stored = self._change(invoice, payment.payment_id, update)
        if change is None:
            first = self.receivables.payment(payment.payment_id)
            assert first is not None
            return first, stored, False
        log.info("payment recorded", extra={"json_fields": {
            "invoiceId": invoice.invoice_id, "paymentId": payment.payment_id,
            "paymentStatus": stored.payment_status.value}})
        return payment, stored, True

    def reverse(self, company_id: str, period_key: str, reference: str, body: object) -> tuple[Payment, Receivable]:
        """(payment, receivable): an applied payment reversed (a bounced cheque), with the reason kept."""
        validate_company_id(company_id)
        BillingPeriod.from_key(period_key)
        rules.validate_reference(reference)
        if isinstance(body, dict) and set(body) - {"reason"}:
            raise ValidationError(f"unknown field(s): {', '.join(sorted(set(body) - {'reason'}))}")
        reason = body.get("reason") if isinstance(body, dict) else None
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
            raise ValidationError("reason is required (1-500 characters): why the payment is reversed")
        pid = rules.payment_id(company_id, reference)
        found = self.receivables.payment(pid)
        receivable = self.receivables.get(str(found.invoice_id)) if found else None
        if found is None or receivable is None or receivable.period != period_key:
            raise NotFoundError(f"no payment {reference!r} on the invoice of company '{company_id}' for {period_key}")
        reversal = Reversal(reason.strip(), self._now(), self.today().isoformat())

        def update(rec: Receivable | None, payment: Payment | None) -> ReceivableChange | None:
            if rec is None or payment is None:
                raise NotFoundError(f"payment {reference!r} vanished")
            if not payment.applied:
                return None  # a retried reversal: as the first one left it
            after = rec.reverse_payment(payment, reversal)
            return ReceivableChange(after, payment.reverse(reversal), after.balance.paise - rec.balance.paise)

        _, stored = self.receivables.change(receivable.invoice_id, company_id, receivable.due_date, pid, update)
        assert stored is not None
        after = self.receivables.payment(pid)
        assert after is not None
        return after, stored

    def rebuild_month(self, period_key: str) -> JsonBody:
        """The month totals (the console's overview) recomputed from the month's receivables and set
        exactly, and a missing `invoiceStatus` (the console's invoice filter) filled from the invoice:
        for receivables written before those existed, or as a repair. Idempotent; safe while payments
        are being recorded (see ReceivableRepository.rebuild_month)."""
        BillingPeriod.from_key(period_key)

        def invoice_status(invoice_id: str) -> str | None:
            invoice = self.queries.invoices.find(invoice_id)
            status = invoice.status if invoice is not None else None
            return status.value if status in (InvoiceStatus.ISSUED, InvoiceStatus.VOID) else None

        report = self.receivables.rebuild_month(period_key, invoice_status)
        totals = self.receivables.month_totals(period_key, period_key).get(period_key, {})
        log.info("month totals rebuilt", extra={"json_fields": {"period": period_key, **report}})
        return {"period": period_key, **report,
                "totals": {"invoices": int(totals.get("invoices", 0)),
                           **{f.removesuffix("Paise"): paise_to_rupees(int(totals.get(f, 0)))
                              for f in rules.MONTH_FIELDS[1:]}}}

    # -- reading ----------------------------------------------------------------------------------

    def view(self, invoice: Invoice) -> JsonBody:
        """What the invoice read shows of its receivable ({} while it is being issued). Never writes:
        an invoice whose receivable is not opened yet shows the balance it would open with."""
        if not invoice.has_files:
            return {}
        rec = self.receivables.get(invoice.invoice_id) or Receivable.open(invoice, "")
        return rules.receivable_json(rec, self.today())

    def aging(self, as_of: str | None, page_size: str | None, page_token: str | None) -> JsonBody:
        """Totals first (every company), then a page of companies with their buckets, by company id."""
        day = rules.parse_day(as_of, "asOf") if as_of is not None else self.today()
        size = rules.page_size(page_size)
        if page_token is not None:
            validate_company_id(page_token)  # a company id (pageToken= given empty is malformed too)
        companies, next_token = self.receivables.aging_page(size, page_token or None)
        totals = rules.buckets(self.receivables.aging_totals(), day)
        return {
            "asOf": day.isoformat(),
            "totals": rules.bucket_json(totals),
            "companies": [{"companyId": c.company_id, **rules.bucket_json(rules.buckets(c.by_due, day))}
                          for c in companies],
            "nextPageToken": next_token,
        }

    def tds(self, fy: str | None, quarter: str | None, company_id: str | None = None) -> JsonBody:
        """The quarter's TDS receivable per company: deducted, matched with Form 26AS, still to match."""
        key = rules.parse_fy_quarter(fy, quarter)
        if company_id is not None:
            validate_company_id(company_id)
        return rules.tds_report(key, self.receivables.tds_payments(key), company_id)

    def mark_tds_matched(self, company_id: str, reference: str, note: str = "") -> Payment:
        """Record that a payment's TDS appears in Form 26AS (idempotent)."""
        validate_company_id(company_id)
        pid = rules.payment_id(company_id, rules.validate_reference(reference))
        payment = self.receivables.payment(pid)
        if payment is None or not payment.tds.paise:
            raise NotFoundError(f"no payment with TDS {reference!r} of company '{company_id}'")
        if not payment.tds_matched:
            match = TdsMatch(self._now(), note[:500])
            self.receivables.mark_tds_matched(pid, match)
            payment = payment.matched(match)
        return payment


    def statement(self, company_id: str, start: str | None, end: str | None) -> JsonBody:
        """The company's statement of account: invoices, notes, payments, TDS and reversals, running balance."""
        validate_company_id(company_id)
        company = self.queries.companies.get(company_id)
        if company is None:
            raise NotFoundError(f"Company '{company_id}' not found")
        first, last = parse_range(start, end, self.today())
        notes = [n.document for n in self.credit_notes.list_for_company(company_id)] if self.credit_notes is not None else []
        if self.debit_notes is not None:
            notes = [*notes, *(n.document for n in self.debit_notes.list_for_company(company_id))]
        rows = statement_rows(self.queries.invoices.find_for_company(company_id), notes,
                              self.receivables.payments_for_company(company_id))
        supplier = Supplier.required(self.settings_repo.supplier())
        doc = company.document  # the statement shows the fields as stored
        return {**statement(company_id, rows, first, last), "companyName": doc.get("name", company_id),
                "companyAddress": doc.get("address", ""), "companyGstin": doc.get("gstin", ""),
                "supplier": supplier.snapshot(), "generatedOn": self.today().isoformat()}

    def tally(self, month: str | None, year: str | None) -> str:
        """The month's invoices, notes, receipts (with TDS) and payment reversals as Tally Prime import XML."""
        from billing.domain.tally import ledgers, tally_xml

        start = rules.month_start(month, year)
        end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        supplier = Supplier.required(self.settings_repo.supplier())
        names = ledgers(supplier.document.get("tally"))
        lo, hi = start.isoformat(), end.isoformat()
        invoices = [i.document for i in self.queries.invoices.find_dated(lo, hi)]
        notes = [n.document for n in self.credit_notes.dated(lo, hi)] if self.credit_notes is not None else []
        payments = self.receivables.payments_dated(lo, hi)
        parties: dict[str, str] = {}  # invoice id -> the party's ledger (its legal name on the invoice)
        for p in payments:
            inv_id = str(p.invoice_id)
            if inv_id not in parties:
                found = self.queries.invoices.find(inv_id)
                recipient = (found.document.get("recipient") or {}) if found is not None else {}
                parties[inv_id] = str(recipient.get("legalName") or p.company_id)
        return tally_xml(supplier.legal_name, start, end, invoices, notes, payments, names, parties)

    def statement_pdf(self, company_id: str, start: str | None, end: str | None) -> bytes:
        if self.render_statement is None:
            raise NotFoundError("statement PDFs are not available here")
        return self.render_statement(self.statement(company_id, start, end))

