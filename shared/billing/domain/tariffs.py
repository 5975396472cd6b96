"""Tariff shapes beyond one flat rate: tiers (graduated, volume) and per-direction rates.

Parsing (from the company's `billing` map) and pricing are pure; the order in which they are
applied to a month's usage is written down once, in `domain/totals.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Mapping

from billing.domain.money import quantize, to_decimal
from billing.errors import ConfigurationError, ValidationError

TIER_MODES = ("graduated", "volume")


@dataclass(frozen=True)
class Tier:
    """A band of chargeable minutes (previous band's upper bound, up_to]; up_to None = no limit."""

    up_to: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class TierSchedule:
    mode: str
    tiers: tuple[Tier, ...]

    @property
    def first_rate(self) -> Decimal:
        return self.tiers[0].rate


@dataclass(frozen=True)
class Band:
    """Minutes priced at one rate: the part of a tier a month's minutes fall in."""

    minutes: Decimal
    rate: Decimal
    lower: Decimal  # the tier's lower bound (exclusive), in minutes
    upper: Decimal | None  # the tier's upper bound (inclusive); None = no limit

    @property
    def amount(self) -> Decimal:
        """The exact (unrounded) price of the band."""
        return self.minutes * self.rate


def _number(value: object, field: str) -> Decimal:
    try:
        result = to_decimal(value, field)
    except ValidationError as exc:
        raise ConfigurationError(exc.detail) from None
    if result < 0:
        raise ConfigurationError(f"{field} must not be negative, got {value!r}")
    return result


def parse_tiers(raw: object) -> TierSchedule | None:
    """`billing.tiers` -> TierSchedule (None when absent); ConfigurationError saying what is wrong."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigurationError("billing.tiers must be a map {mode, tiers}")
    mode = raw.get("mode")
    if mode not in TIER_MODES:
        raise ConfigurationError(f"billing.tiers.mode must be one of {', '.join(TIER_MODES)}, got {mode!r}")
    rows = raw.get("tiers")
    if not isinstance(rows, list) or not rows:
        raise ConfigurationError("billing.tiers.tiers must be a non-empty list")
    tiers: list[Tier] = []
    previous = Decimal(0)
    for i, row in enumerate(rows):
        where = f"billing.tiers.tiers[{i}]"
        if not isinstance(row, Mapping):
            raise ConfigurationError(f"{where} must be a map {{upToMinutes, ratePerMinute}}")
        if row.get("ratePerMinute") is None:
            raise ConfigurationError(f"{where}.ratePerMinute is required")
        rate = _number(row.get("ratePerMinute"), f"{where}.ratePerMinute")
        last = i == len(rows) - 1
        raw_up = row.get("upToMinutes")
        if last:
            if raw_up is not None:
                raise ConfigurationError(f"{where}.upToMinutes must be null (the last tier has no limit)")
            tiers.append(Tier(None, rate))
            continue
        if raw_up is None:
            raise ConfigurationError(f"{where}.upToMinutes is required (only the last tier is unlimited)")
        up_to = _number(raw_up, f"{where}.upToMinutes")
        if up_to <= previous:
            raise ConfigurationError(f"{where}.upToMinutes must be greater than {previous}, got {raw_up!r}")
        tiers.append(Tier(up_to, rate))
        previous = up_to
    return TierSchedule(str(mode), tuple(tiers))


def direction_key(direction: object) -> str:
    """A call's direction as direction rates are keyed ('Inbound ' -> 'inbound')."""
    return direction.strip().lower() if isinstance(direction, str) else ""


def parse_direction_rates(raw: object) -> tuple[tuple[str, Decimal], ...]:
    """`billing.directionRates` -> ((direction, rate), ...) sorted by direction; () when absent."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        raise ConfigurationError("billing.directionRates must be a map of direction -> rate per minute")
    rates: dict[str, Decimal] = {}
    for name, value in raw.items():
        key = direction_key(name)
        if not key:
            raise ConfigurationError(f"billing.directionRates: {name!r} is not a direction")
        if key in rates:
            raise ConfigurationError(f"billing.directionRates names {key!r} twice")
        if value is None:
            raise ConfigurationError(f"billing.directionRates.{key} must be a number")
        rates[key] = _number(value, f"billing.directionRates.{key}")
    return tuple(sorted(rates.items()))


def price_tiers(minutes: Decimal, schedule: TierSchedule) -> list[Band]:
    """The bands `minutes` chargeable minutes are priced in.

    graduated: each tier's share of the minutes at that tier's rate (one band per tier reached);
    volume: all minutes at the rate of the tier the total falls in (one band). A tier's upper
    bound belongs to it: exactly 10,000 minutes is in the tier `upToMinutes: 10000`. Zero minutes
    are one empty band of the first tier."""
    tiers = schedule.tiers
    if schedule.mode == "volume":
        lower = Decimal(0)
        for tier in tiers:
            if tier.up_to is None or minutes <= tier.up_to:
                return [Band(minutes, tier.rate, lower, tier.up_to)]
            lower = tier.up_to
        raise AssertionError("the last tier has no limit")  # pragma: no cover - parse_tiers ensures it
    bands: list[Band] = []
    lower = Decimal(0)
    for tier in tiers:
        if minutes <= lower and bands:
            break
        top = minutes if tier.up_to is None else min(minutes, tier.up_to)
        bands.append(Band(max(Decimal(0), top - lower), tier.rate, lower, tier.up_to))
        if tier.up_to is None:
            break
        lower = tier.up_to
    return bands


PERIOD_KEY = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")


def _month_index(key: str) -> int:
    match = PERIOD_KEY.match(key)
    if not match:
        raise ValueError(f"not a YYYY-MM month: {key!r}")
    return int(match.group(1)) * 12 + int(match.group(2)) - 1


@dataclass(frozen=True)
class Discount:
    """`billing.discount`: a percentage of, or a fixed amount off, the month's charges before GST;
    every month, or `months` months from `from` (YYYY-MM) on."""

    percent: Decimal | None = None
    amount: Decimal | None = None
    months: int | None = None
    start: str | None = None

    def applies_to(self, period_key: str) -> bool:
        if self.months is None or self.start is None:
            return True
        offset = _month_index(period_key) - _month_index(self.start)
        return 0 <= offset < self.months

    def off(self, charges: Decimal) -> Decimal:
        """The (positive) amount taken off `charges`, rounded half up to paise, never more than them."""
        if self.percent is not None:
            return min(charges, quantize(charges * self.percent / 100))
        return min(charges, quantize(self.amount or Decimal(0)))

    def label(self) -> str:
        what = f"{format(self.percent.normalize(), 'f')}%" if self.percent is not None else "fixed amount"
        if self.months is not None and self.start is not None:
            return f"Discount ({what}, {self.months} month{'s' if self.months != 1 else ''} from {self.start})"
        return f"Discount ({what})"


def parse_discount(raw: object) -> Discount | None:
    """`billing.discount` -> Discount (None when absent); ConfigurationError saying what is wrong."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or ("percent" in raw) == ("amount" in raw):
        raise ConfigurationError('billing.discount must be {"percent": p} or {"amount": a} '
                                 '(optionally with "months": N and "from": "YYYY-MM")')
    percent = amount = None
    if "percent" in raw:
        percent = _number(raw.get("percent"), "billing.discount.percent")
        if percent > 100:
            raise ConfigurationError(f"billing.discount.percent is a percentage 0-100, got {raw.get('percent')!r}")
    else:
        amount = _number(raw.get("amount"), "billing.discount.amount")
    months, start = raw.get("months"), raw.get("from")
    if (months is None) != (start is None):
        raise ConfigurationError('billing.discount: "months" and "from" go together')
    if months is not None:
        if isinstance(months, bool) or not isinstance(months, int) or months <= 0:
            raise ConfigurationError(f"billing.discount.months must be a whole number >= 1, got {months!r}")
        if not isinstance(start, str) or not PERIOD_KEY.match(start):
            raise ConfigurationError(f"billing.discount.from must be a month YYYY-MM, got {start!r}")
    return Discount(percent, amount, months, start)
