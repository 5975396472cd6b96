"""Billing periods: a calendar month in an IANA timezone, as the half-open interval [start, end)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from billing.errors import ConfigurationError, ValidationError

MIN_YEAR = 2000
MAX_YEAR = 9999
PERIOD_KEY = re.compile(r"(\d{4})-(\d{2})")


def zone(name: str) -> ZoneInfo:
    """The IANA timezone, or a ConfigurationError naming it."""
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigurationError(f"unknown timezone {name!r}; expected an IANA name like Asia/Kolkata") from None


@dataclass(frozen=True)
class BillingPeriod:
    """One month in one timezone."""

    year: int
    month: int
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not isinstance(self.month, int) or not 1 <= self.month <= 12:
            raise ValidationError(f"month must be an integer 1-12, got {self.month!r}")
        if not isinstance(self.year, int) or not MIN_YEAR <= self.year <= MAX_YEAR:
            raise ValidationError(f"year must be between {MIN_YEAR} and {MAX_YEAR}, got {self.year!r}")
        zone(self.timezone)

    @property
    def tz(self) -> ZoneInfo:
        return zone(self.timezone)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        return self.next().start

    @property
    def key(self) -> str:
        return period_key(self.year, self.month)

    @property
    def start_date(self) -> str:
        """The first instant, with the timezone's offset (the old API's format)."""
        return self.start.isoformat()

    @property
    def end_date(self) -> str:
        """The last second, with the offset in force then (wall-clock arithmetic in the zone)."""
        return (self.end - timedelta(seconds=1)).isoformat()

    @property
    def days(self) -> list[date]:
        first = date(self.year, self.month, 1)
        nxt = self.next()
        count = (date(nxt.year, nxt.month, 1) - first).days
        return [first + timedelta(days=i) for i in range(count)]

    def next(self) -> "BillingPeriod":
        if self.month == 12:
            return BillingPeriod(self.year + 1, 1, self.timezone)
        return BillingPeriod(self.year, self.month + 1, self.timezone)

    def previous(self) -> "BillingPeriod":
        if self.month == 1:
            return BillingPeriod(self.year - 1, 12, self.timezone)
        return BillingPeriod(self.year, self.month - 1, self.timezone)

    def contains(self, instant: datetime) -> bool:
        if instant.tzinfo is None:
            raise ValueError("instant must be timezone-aware")
        return self.start <= instant < self.end

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.tz).date()

    def to_json(self) -> dict[str, str]:
        return {"startDate": self.start_date, "endDate": self.end_date, "month": self.key,
                "timezone": self.timezone}

    @classmethod
    def from_key(cls, key: str, tz: str = "UTC") -> "BillingPeriod":
        match = PERIOD_KEY.fullmatch(key or "") if isinstance(key, str) else None
        if not match:
            raise ValidationError(f"period must look like YYYY-MM, got {key!r}")
        return cls(int(match.group(1)), int(match.group(2)), tz)


def not_ended(period: BillingPeriod, tz: str, now: datetime) -> str | None:
    """Why the month has not ended yet in timezone tz at `now`; None once it has (or when tz is
    unusable: that is a configuration error for issuance to report, not "not yet")."""
    try:
        own = BillingPeriod(period.year, period.month, tz)
    except (ConfigurationError, ValidationError):
        return None
    if own.end <= now:
        return None
    return f"{period.key} ends {own.end.isoformat()} in {own.timezone}"


def period_key(year: int, month: int) -> str:
    """A month's key, YYYY-MM (run ids, document ids, paths)."""
    return f"{year:04d}-{month:02d}"


def last_completed_period(now: datetime, tz: str) -> BillingPeriod:
    """The month before the one `now` falls in, in timezone tz (January -> previous December)."""
    local = now.astimezone(zone(tz))
    return BillingPeriod(local.year, local.month, tz).previous()


def parse_year(value: object) -> int:
    """A year filter (e.g. the list route's ?year=): an integer MIN_YEAR..MAX_YEAR."""
    try:
        year = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(f"year must be an integer, got {value!r}") from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationError(f"year must be between {MIN_YEAR} and {MAX_YEAR}, got {year}")
    return year


def local_time(now: datetime, tz: str) -> datetime:
    """The instant `now` on the wall clock of timezone tz (aware)."""
    return now.astimezone(zone(tz))


def invoice_date(now: datetime, tz: str) -> date:
    """The calendar date of the instant `now` in timezone tz."""
    return local_time(now, tz).date()


def _as_int(value: object, name: str, expected: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"{name} must be {expected}, got {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise ValidationError(f"{name} must be {expected}, got {value!r}")
    return int(text)


def parse_period(month: object, year: object, tz: str, now: datetime) -> BillingPeriod:
    """The requested month (default: last completed), refusing bad values and unfinished months."""
    zone(tz)
    if month in (None, "") and year in (None, ""):
        return last_completed_period(now, tz)
    if month in (None, "") or year in (None, ""):
        raise ValidationError("give both month and year, or neither (for the last completed month)")
    m = _as_int(month, "month", "an integer 1-12")
    y = _as_int(year, "year", "a four-digit year")
    if not 1 <= m <= 12:
        raise ValidationError(f"month must be an integer 1-12, got {month!r}")
    if not MIN_YEAR <= y <= now.year:
        raise ValidationError(f"year must be between {MIN_YEAR} and {now.year}, got {year!r}")
    period = BillingPeriod(y, m, tz)
    if period.end > now:
        raise ValidationError(
            f"{period.key} has not ended yet (ends {period.end.isoformat()}); "
            "only completed months can be invoiced"
        )
    return period


def _month_number(value: object, name: str, pattern: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(pattern, text):
        raise ValidationError(f"{name} must be {'an integer 1-12' if name == 'month' else 'a four-digit year'}, "
                              f"got {value!r}")
    return int(text)


def preview_period(month: object, year: object, tz: str, now: datetime) -> BillingPeriod:
    """The month to preview: the one named (ended, or the current one: month to date), default the
    current month in the company's timezone; a month that has not started is refused."""
    local = now.astimezone(zone(tz))
    if month in (None, "") and year in (None, ""):
        return BillingPeriod(local.year, local.month, tz)
    if month in (None, "") or year in (None, ""):
        raise ValidationError("give both month and year, or neither (for the current month to date)")
    m = _month_number(month, "month", r"[0-9]{1,2}")
    y = _month_number(year, "year", r"[0-9]{4}")
    if not 1 <= m <= 12:
        raise ValidationError(f"month must be an integer 1-12, got {month!r}")
    if y < MIN_YEAR:
        raise ValidationError(f"year must be {MIN_YEAR} or later, got {year!r}")
    if (y, m) > (local.year, local.month):
        raise ValidationError(f"{period_key(y, m)} has not started yet in {tz}; a preview covers the current "
                              "month to date or an earlier month")
    return BillingPeriod(y, m, tz)


MonthValue = str | int | None


@dataclass(frozen=True)
class MonthQuery:
    """The month a request names (?month=&year=, CLI flags, a scheduler message), or none: the
    default month. Which month that is, and whether it may be billed yet, depends on the timezone
    (the company's, or the earliest one for a run) and the clock, so it resolves to a BillingPeriod
    where those are known; the values are checked there, with the same messages as ever."""

    month: MonthValue = None
    year: MonthValue = None

    def ended(self, tz: str, now: datetime) -> BillingPeriod:
        """The named month, which must have ended in tz; default the last one ended there."""
        return parse_period(self.month, self.year, tz, now)

    def to_date(self, tz: str, now: datetime) -> BillingPeriod:
        """The named month, which must have started in tz; default the current one there."""
        return preview_period(self.month, self.year, tz, now)

    @classmethod
    def of(cls, period: BillingPeriod) -> "MonthQuery":
        return cls(period.month, period.year)
