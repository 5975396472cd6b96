"""An invoice's receivable and its payments as typed values (DESIGN 14).

Each is frozen; recording a payment, reversing it, counting a credit or debit note, voiding and
claiming or marking a reminder return a new value. Amounts are INR (integer paise inside):

    balance = net - paid - TDS,   net = total + notes (credit notes < 0, debit notes > 0)

The stored receivable carries its net, balance and payment status; a change recomputes them
(`settled`), a read keeps them as stored. The Firestore document <-> entity mapping is in one adapter
(`billing.adapters.receivable_document`); the stored receivable travels in `document` so that fields
this module does not know are written back as they were.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any, Mapping

from billing.domain.entities import Invoice
from billing.domain.lifecycle import InvoiceStatus
from billing.domain.money import INR
from billing.errors import ConflictError, ValidationError

MAX_PAYMENTS_PER_INVOICE = 200  # the receivable lists its payments: bounded, far beyond real use


class PaymentStatus(StrEnum):
    """How much of an invoice's net amount is settled (payments + TDS)."""

    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"

    @classmethod
    def of(cls, net: INR, settled: INR) -> "PaymentStatus":
        if settled.paise >= net.paise:
            return cls.PAID
        return cls.PARTIALLY_PAID if settled.paise > 0 else cls.UNPAID


class PaymentState(StrEnum):
    APPLIED = "applied"
    REVERSED = "reversed"


class ReminderStatus(StrEnum):
    SENDING = "sending"  # claimed by a run, the email going out
    SENT = "sent"
    FAILED = "failed"  # a later run may claim the step again


def due_day(invoice: Invoice) -> str:
    """The invoice's due date as a calendar day (stored with the supplier's offset; its invoice date
    when it has none): the day its receivable ages from."""
    return (invoice.due_date or invoice.invoice_date or "")[:10]


def rupees(paise: int) -> str:
    """Paise as rupees with two decimals, for messages."""
    return str(INR(paise).decimal)


@dataclass(frozen=True)
class Reversal:
    """Why and when an applied payment was reversed (a bounced cheque)."""

    reason: str
    at: str  # the UTC instant
    date: str | None = None  # the supplier's calendar day; None on reversals recorded before it was kept

    @property
    def day(self) -> str:
        """The day it counts on (reversals without `date` fall back to the UTC instant's day)."""
        return self.date or self.at[:10]


@dataclass(frozen=True)
class TdsMatch:
    """A payment's TDS found in Form 26AS."""

    at: str
    note: str


@dataclass(frozen=True)
class Payment:
    """A payment against one invoice (`payments/{companyId}_{reference}`), or its entry in the
    receivable's list (which leaves out the company, the invoice and the TDS quarter: None there)."""

    payment_id: str
    reference: str
    date: date
    mode: str
    amount: INR
    tds: INR
    tds_section: str | None
    status: PaymentState
    recorded_at: str
    company_id: str | None = None
    invoice_id: str | None = None
    invoice_number: str | None = None
    tds_key: str | None = None  # "2025-26-Q3": set on payments with TDS
    tds_matched: bool | None = None  # set (False first) on payments with TDS
    tds_match: TdsMatch | None = None
    reversal: Reversal | None = None

    @property
    def settles(self) -> INR:
        return self.amount + self.tds

    @property
    def applied(self) -> bool:
        return self.status is PaymentState.APPLIED

    @property
    def tds_fy(self) -> str | None:
        return self.tds_key.rsplit("-Q", 1)[0] if self.tds_key else None

    @property
    def tds_quarter(self) -> int | None:
        return int(self.tds_key.rsplit("-Q", 1)[1]) if self.tds_key else None

    def reverse(self, reversal: Reversal) -> "Payment":
        return replace(self, status=PaymentState.REVERSED, reversal=reversal)

    def matched(self, match: TdsMatch) -> "Payment":
        return replace(self, tds_matched=True, tds_match=match)

    def check_replay(self, new: "Payment") -> None:
        """This payment's reference used again: the same payment is fine; other data is a conflict."""
        differ = [name for name, mine, theirs in (
            ("invoiceId", self.invoice_id, new.invoice_id), ("amountPaise", self.amount, new.amount),
            ("tdsPaise", self.tds, new.tds), ("date", self.date, new.date), ("mode", self.mode, new.mode),
            ("tdsSection", self.tds_section, new.tds_section)) if mine != theirs]
        if differ:
            raise ConflictError(f"reference {self.reference!r} is already payment of invoice "
                                f"{self.invoice_number} with other data ({', '.join(differ)} differ)")


@dataclass(frozen=True)
class Reminder:
    """One reminder step's record on a receivable (`reminders.{step}`)."""

    status: ReminderStatus
    claim: str | None = None
    claimed_at: str | None = None
    to: str | None = None
    sent_at: str | None = None
    message_id: str | None = None
    error: str | None = None

    def failed(self, error: str) -> "Reminder":
        return replace(self, status=ReminderStatus.FAILED, error=error)

    def sent(self, at: str, message_id: str) -> "Reminder":
        return replace(self, status=ReminderStatus.SENT, sent_at=at, message_id=message_id)


@dataclass(frozen=True)
class Receivable:
    """What a customer owes on one issued (or void) invoice: `receivables/{invoiceId}`."""

    invoice_id: str
    company_id: str
    invoice_number: str | None
    invoice_date: str  # the calendar day ("" when the invoice had none)
    due_date: str  # the calendar day ("" when the invoice had none)
    period: str | None  # YYYY-MM
    total: INR
    notes: Mapping[str, INR]  # note id -> signed amount, each counted once
    paid: INR
    tds: INR
    payments: tuple[Payment, ...]
    reminders: Mapping[int, Reminder]  # step (days from the due date) -> its record
    net: INR
    balance: INR
    payment_status: PaymentStatus
    opened_at: str | None = None  # None on receivables opened before it was kept
    invoice_status: InvoiceStatus | None = None  # None on receivables written before it was kept
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def open(cls, invoice: Invoice, opened_at: str) -> "Receivable":
        """The receivable of an issued (or void) invoice: balance = its total (0 once voided in full)."""
        notes: dict[str, INR] = {}
        if invoice.status is InvoiceStatus.VOID and invoice.voided_by:
            notes[invoice.voided_by] = -invoice.total  # a full void credits the whole total
        zero = INR.zero()
        return cls(
            invoice_id=invoice.invoice_id, company_id=invoice.company_id, invoice_number=invoice.number,
            invoice_date=(invoice.invoice_date or "")[:10],
            due_date=due_day(invoice), period=invoice.period_key,
            total=invoice.total, notes=notes, paid=zero, tds=zero, payments=(), reminders={},
            net=zero, balance=zero, payment_status=PaymentStatus.UNPAID, opened_at=opened_at,
            invoice_status=InvoiceStatus.VOID if notes else InvoiceStatus.ISSUED).settled()

    def settled(self) -> "Receivable":
        """Net, balance and payment status recomputed from the parts."""
        net = self.total + sum(self.notes.values(), INR.zero())
        settled = self.paid + self.tds
        return replace(self, net=net, balance=net - settled, payment_status=PaymentStatus.of(net, settled))

    @property
    def revision(self) -> int:
        match = re.search(r"_r([0-9]+)$", self.invoice_id)
        return int(match.group(1)) if match else 0

    def has_note(self, note_id: str) -> bool:
        return note_id in self.notes

    def overdue(self, today: date) -> bool:
        """The due date has passed with a balance."""
        return self.balance.paise > 0 and bool(self.due_date) and today > date.fromisoformat(self.due_date)

    def apply_payment(self, payment: Payment) -> "Receivable":
        """The receivable with the payment applied; ValidationError beyond the balance."""
        if payment.settles.paise > self.balance.paise:
            raise ValidationError(
                f"the payment settles {rupees(payment.settles.paise)} (amount {rupees(payment.amount.paise)} + TDS "
                f"{rupees(payment.tds.paise)}) but invoice {self.invoice_number} has a balance of "
                f"{rupees(self.balance.paise)}")
        if len(self.payments) >= MAX_PAYMENTS_PER_INVOICE:
            raise ValidationError(f"invoice {self.invoice_number} already has {len(self.payments)} payments")
        return replace(self, payments=(*self.payments, payment), paid=self.paid + payment.amount,
                       tds=self.tds + payment.tds).settled()

    def reverse_payment(self, payment: Payment, reversal: Reversal) -> "Receivable":
        """The receivable with an applied payment reversed (kept in its list, marked reversed)."""
        payments = tuple(p.reverse(reversal) if p.payment_id == payment.payment_id else p for p in self.payments)
        return replace(self, payments=payments, paid=self.paid - payment.amount,
                       tds=self.tds - payment.tds).settled()

    def apply_note(self, note_id: str, amount: INR) -> "Receivable":
        """The receivable with a note counted once: < 0 for a credit note, > 0 for a debit note."""
        return replace(self, notes={**self.notes, note_id: amount}).settled()

    def void(self, note_id: str) -> "Receivable":
        """The receivable of an invoice voided in full by its credit note (counted once by the caller)."""
        return replace(self.apply_note(note_id, -self.total), invoice_status=InvoiceStatus.VOID)

    def due_reminder(self, today: date, steps: tuple[int, ...]) -> int | None:
        """The step to send today: the latest step reached that was not sent, unless a later one was.

        A run missed on a step's day still sends it the next day; a step passed over by a later one is
        never sent (one reminder per run per invoice, the most recent)."""
        if self.balance.paise <= 0 or not self.due_date:
            return None
        days = (today - date.fromisoformat(self.due_date)).days
        reached = [s for s in steps if s <= days]
        if not reached:
            return None
        step = max(reached)
        taken = {k for k, v in self.reminders.items() if v.status is not ReminderStatus.FAILED}
        if any(k >= step for k in taken):
            return None
        return step

    def with_reminder(self, step: int, reminder: Reminder) -> "Receivable":
        return replace(self, reminders={**self.reminders, step: reminder})


@dataclass(frozen=True)
class CompanyOutstanding:
    """A company's outstanding balance by due date (ISO day -> paise): the ageing aggregate."""

    company_id: str
    by_due: Mapping[str, int]
