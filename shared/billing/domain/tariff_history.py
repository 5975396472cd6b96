"""Effective-dated tariffs: which tariff rates which part of a month.

A company's `billing` map is its tariff until the first dated one; `companies/{id}/tariffs/{YYYY-MM-DD}`
holds a `billing` map in force from 00:00 of that date in the company's billing timezone. A month
is cut into stretches, one per tariff in force during it; each call is rated by the stretch it
started in (one pass, one accumulator per stretch), each stretch's fee is its share of the month's
days, and the month-level terms (included minutes, minimum charge, discount, GST rate, payment
terms) are those of the tariff in force on the month's last day. In the month a company starts
or ends (billingStartDate / billingEndDate), each stretch's fee covers only its days inside them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Mapping

from billing.domain.period import BillingPeriod
from billing.domain.rating import (
    DEFAULT_NON_BILLABLE, CallRecord, RatedCall, Tariff, UsageAccumulator, UsageSummary,
)
from billing.domain.totals import PricedPart
from billing.errors import ConfigurationError

DATE_ID = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


@dataclass(frozen=True)
class DatedTariff:
    """A tariff and the day it takes effect (None: the company's own `billing`, in force before any)."""

    effective: date | None
    billing: Mapping[str, Any]
    tariff: Tariff


def parse_history(base: Mapping[str, Any] | None, dated: Iterable[tuple[str, Mapping[str, Any]]], *,
                  default_timezone: str = "UTC",
                  non_billable_statuses: Iterable[str] = DEFAULT_NON_BILLABLE) -> tuple[DatedTariff, ...]:
    """The company's tariffs in effective order, each validated (ConfigurationError naming the bad one).

    Every dated tariff is billed in the company's timezone: a dated `billing.timezone` that differs
    is refused (month boundaries cannot move mid-history)."""
    statuses = frozenset(non_billable_statuses)
    first = Tariff.from_mapping(base, default_timezone=default_timezone, non_billable_statuses=statuses)
    history = [DatedTariff(None, dict(base or {}), first)]
    for doc_id, doc in sorted(dated, key=lambda item: item[0]):
        where = f"tariffs/{doc_id}"
        if not DATE_ID.match(doc_id):
            raise ConfigurationError(f"{where}: the document id must be the date it takes effect, YYYY-MM-DD")
        try:
            effective = date.fromisoformat(doc_id)
        except ValueError:
            raise ConfigurationError(f"{where}: {doc_id!r} is not a date") from None
        billing = doc.get("billing") if isinstance(doc, Mapping) else None
        try:
            tariff = Tariff.from_mapping(billing, default_timezone=first.timezone, non_billable_statuses=statuses)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc.detail}") from None
        if tariff.timezone != first.timezone:
            raise ConfigurationError(
                f"{where}: billing.timezone must stay {first.timezone!r} (the company's), got {tariff.timezone!r}")
        history.append(DatedTariff(effective, dict(billing or {}), tariff))
    return tuple(history)


@dataclass(frozen=True)
class Stretch:
    """The days [first, last] of a month one tariff is in force, as instants [start, end)."""

    dated: DatedTariff
    start: datetime
    end: datetime
    first: date
    last: date
    month_days: int

    @property
    def tariff(self) -> Tariff:
        return self.dated.tariff

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def whole_month(self) -> bool:
        return self.days == self.month_days

    @property
    def label(self) -> str:
        """'1-14 Sep 2025'."""
        return days_label(self.first, self.last)

    def billed_days(self, billed_from: date | None, billed_to: date | None) -> tuple[date, date] | None:
        """The stretch's days inside the company's billing dates (None: none of them)."""
        first = max(self.first, billed_from) if billed_from else self.first
        last = min(self.last, billed_to) if billed_to else self.last
        return (first, last) if first <= last else None

    def to_json(self) -> dict[str, Any]:
        """What the invoice stores of each tariff it used."""
        effective = self.dated.effective
        return {"effectiveFrom": effective.isoformat() if effective else None, "from": self.first.isoformat(),
                "to": self.last.isoformat(), "billing": dict(self.dated.billing)}


def days_label(first: date, last: date) -> str:
    """'1-14 Sep 2025'; one day: '20 Sep 2025'."""
    return f"{last.day} {last:%b %Y}" if first == last else f"{first.day}-{last.day} {last:%b %Y}"


def stretches(history: tuple[DatedTariff, ...], period: BillingPeriod) -> tuple[Stretch, ...]:
    """The month cut at each tariff change inside it (one stretch when none)."""
    days = period.days
    first_day, last_day = days[0], days[-1]
    in_force = history[0]
    changes: list[DatedTariff] = []
    for dated in history[1:]:
        assert dated.effective is not None
        if dated.effective <= first_day:
            in_force = dated
        elif dated.effective <= last_day:
            changes.append(dated)
    starts = [(first_day, in_force)] + [(d.effective, d) for d in changes if d.effective is not None]
    out: list[Stretch] = []
    for i, (day, dated) in enumerate(starts):
        nxt = starts[i + 1][0] if i + 1 < len(starts) else None
        end_day = days[(nxt - first_day).days - 1] if nxt else last_day
        start = datetime(day.year, day.month, day.day, tzinfo=period.tz)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=period.tz) if nxt else period.end
        out.append(Stretch(dated, start, end, day, end_day, len(days)))
    return tuple(out)


def stored_history(entries: Iterable[Mapping[str, Any]], *, default_timezone: str = "UTC",
                   non_billable_statuses: Iterable[str] = DEFAULT_NON_BILLABLE) -> tuple[DatedTariff, ...]:
    """The history an invoice's `tariffs` field records (the first entry in force at the month's start)."""
    items = list(entries)
    if not items:
        raise ConfigurationError("the invoice records no tariffs")
    return parse_history(items[0].get("billing"), [(str(e["effectiveFrom"]), e) for e in items[1:]],
                         default_timezone=default_timezone, non_billable_statuses=non_billable_statuses)


@dataclass(frozen=True)
class MonthUsage:
    """The month's usage (counts, daily, anomalies) and each stretch's own."""

    total: UsageSummary
    parts: tuple[tuple[Stretch, UsageSummary], ...]

    def priced(self, billed_from: date | None = None, billed_to: date | None = None) -> list[PricedPart]:
        """Each stretch's usage and fee days for compute_totals; [] when one tariff bills the whole month.

        Call lines name their stretch's days only when the month has several; the fee covers the
        stretch's days inside [billed_from, billed_to] (the company's billing dates) and says which."""
        several = len(self.parts) > 1
        out: list[PricedPart] = []
        clipped = False
        for stretch, usage in self.parts:
            span = stretch.billed_days(billed_from, billed_to)
            fee_days = (span[1] - span[0]).days + 1 if span else 0
            fee_label = days_label(*span) if span else None
            clipped = clipped or fee_days != stretch.days
            out.append(PricedPart(stretch.tariff, usage.by_class, stretch.label if several else None,
                                  stretch.days, stretch.month_days,
                                  fee_days if fee_days != stretch.days else None,
                                  fee_label if fee_days != stretch.days else None))
        return out if several or clipped else []


class MonthAccumulator:
    """Rates each call with the tariff of the stretch it started in: one accumulator per stretch.

    Calls without a usable start go to the first stretch's accumulator, which lists them as
    anomalies. One stretch costs nothing over a plain UsageAccumulator."""

    def __init__(self, parts: tuple[Stretch, ...], period: BillingPeriod, max_listed_anomalies: int = 100):
        self.parts = parts
        self.period = period
        self._max = max_listed_anomalies
        self._accs = [UsageAccumulator(s.tariff, period, max_listed_anomalies) for s in parts]
        self._bounds = [s.start for s in parts]
        if len(self._accs) == 1:
            self.add = self._accs[0].add  # type: ignore[method-assign]

    def add(self, call: CallRecord) -> RatedCall:
        started = call.started_at
        i = 0
        if isinstance(started, datetime) and started.tzinfo is not None:
            i = max(0, bisect_right(self._bounds, started) - 1)
        return self._accs[i].add(call)

    def merge(self, other: "MonthAccumulator") -> None:
        for mine, theirs in zip(self._accs, other._accs):
            mine.merge(theirs)

    def summary(self) -> MonthUsage:
        summaries = [acc.summary() for acc in self._accs]
        return MonthUsage(combine(summaries, self._max), tuple(zip(self.parts, summaries)))


def combine(summaries: list[UsageSummary], max_listed_anomalies: int = 100) -> UsageSummary:
    """One month's summary from its stretches' (the same days, in the same order, in each)."""
    if len(summaries) == 1:
        return summaries[0]
    policies: list[str] = []
    for s in summaries:
        if s.policy not in policies:
            policies.append(s.policy)
    daily = tuple(
        (day, sum(s.daily[i][1] for s in summaries), sum((s.daily[i][2] for s in summaries), Decimal(0)))
        for i, (day, _, _) in enumerate(summaries[0].daily)
    )
    anomalies = tuple(a for s in summaries for a in s.anomalies)[:max_listed_anomalies]
    return UsageSummary(
        policy=" then ".join(policies),
        total_calls=sum(s.total_calls for s in summaries),
        billable_calls=sum(s.billable_calls for s in summaries),
        non_billable_calls=sum(s.non_billable_calls for s in summaries),
        anomaly_count=sum(s.anomaly_count for s in summaries),
        anomalies=anomalies,
        total_duration_seconds=sum((s.total_duration_seconds for s in summaries), Decimal(0)),
        billed_seconds=sum((s.billed_seconds for s in summaries), Decimal(0)),
        billed_minutes=sum((s.billed_minutes for s in summaries), Decimal(0)),
        daily=daily,
        by_class=(),
    )
