"""Rating: call records -> billed seconds and minutes, streamed once with O(1) state.

One pure function per pricing policy, chosen from POLICIES. Calls that cannot be rated become
anomalies (counted, listed with a reason, billed nothing), never dropped or guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, Callable, Iterable, Mapping, NamedTuple

from billing.domain.money import to_decimal
from billing.domain.period import BillingPeriod, zone
from billing.domain.tariffs import (
    Discount, TierSchedule, direction_key, parse_direction_rates, parse_discount, parse_tiers,
)
from billing.errors import ConfigurationError, ValidationError

DEFAULT_NON_BILLABLE = frozenset({"failed", "no-answer", "busy", "canceled"})
DEFAULT_MAX_CALL_SECONDS = Decimal(21_600)  # 6 hours: a longer call is a unit error, not a call
SIXTY = Decimal(60)
ZERO = Decimal(0)
MAX_REMEMBERED = 4096  # distinct durations / statuses remembered per accumulator (bounded memory)


class CallRecord(NamedTuple):
    """One call log as stored; duration_seconds is the raw value (validated when rated)."""

    # A NamedTuple, not a frozen dataclass: just as immutable, several times cheaper to build,
    # and the readers build one per call.

    call_id: str
    started_at: datetime | None
    duration_seconds: object
    status: str | None = None
    direction: str | None = None
    from_number: str | None = None
    to_number: str | None = None
    agent_id: str | None = None



def company_timezone(billing: object, default: str) -> str:
    """The timezone a company is billed in: its `billing.timezone`, else the configured default."""
    tz = billing.get("timezone") if isinstance(billing, Mapping) else None
    return str(tz or default)

@dataclass(frozen=True)
class Tariff:
    """A company's pricing, parsed and validated from its Firestore `billing` map."""

    rate_per_minute: Decimal
    maintenance_fee: Decimal = Decimal(0)
    policy: str = "per-call"
    pulse_seconds: int | None = None
    included_minutes: Decimal = Decimal(0)
    minimum_usage_charge: Decimal = Decimal(0)
    gst_rate: Decimal = Decimal(18)
    payment_terms_days: int = 7
    timezone: str = "UTC"
    non_billable_statuses: frozenset[str] = DEFAULT_NON_BILLABLE
    max_call_seconds: Decimal = DEFAULT_MAX_CALL_SECONDS
    tiers: TierSchedule | None = None  # prices the minutes without a direction rate
    direction_rates: tuple[tuple[str, Decimal], ...] = ()  # (direction, rate), sorted
    discount: Discount | None = None

    def list_rate(self, direction: str | None) -> Decimal:
        """The per-minute rate a call class is listed at (the CSV's per-call amounts).

        A direction with its own rate is listed at it; other calls at ratePerMinute (with tiers:
        the first tier's rate, the tier pricing being one adjustment on the invoice)."""
        if direction is not None:
            for name, rate in self.direction_rates:
                if name == direction:
                    return rate
        return self.rate_per_minute

    @classmethod
    def from_mapping(cls, billing: Mapping[str, Any] | None, *, default_timezone: str = "UTC",
                     non_billable_statuses: Iterable[str] = DEFAULT_NON_BILLABLE) -> "Tariff":
        if not isinstance(billing, Mapping):
            raise ConfigurationError("company has no billing settings (billing.ratePerMinute is required)")

        def number(field: str, default: object = None, required: bool = False) -> Decimal:
            value = billing.get(field)
            if value is None:  # absent and null both mean "the default"
                value = default
            if value is None:
                if required:
                    raise ConfigurationError(f"billing.{field} is required")
                return Decimal(0)
            try:
                result = to_decimal(value, f"billing.{field}")
            except ValidationError as exc:
                raise ConfigurationError(exc.detail) from None
            if result < 0:
                raise ConfigurationError(f"billing.{field} must not be negative, got {value!r}")
            return result

        tiers = parse_tiers(billing.get("tiers"))
        # With tiers, the tiers price the minutes and ratePerMinute is not needed (nor used).
        rate = tiers.first_rate if tiers else number("ratePerMinute", required=True)
        policy = billing.get("policy", "per-call") or "per-call"
        if policy not in POLICIES:
            raise ConfigurationError(
                f"billing.policy must be one of {', '.join(sorted(POLICIES))}, got {policy!r}"
            )
        pulse = billing.get("pulseSeconds")
        if policy == "pulse":
            if isinstance(pulse, bool) or not isinstance(pulse, (int, float)) or pulse != int(pulse) or pulse <= 0:
                raise ConfigurationError(
                    f"billing.pulseSeconds must be a positive whole number for policy pulse, got {pulse!r}"
                )
            pulse = int(pulse)
        else:
            pulse = None
        gst_rate = number("gstRate", default=18)
        if gst_rate > 100:
            raise ConfigurationError(f"billing.gstRate is a percentage 0-100, got {billing.get('gstRate')!r}")
        terms = billing.get("paymentTermsDays", 7)
        if isinstance(terms, bool) or not isinstance(terms, (int, float)) or terms != int(terms) or not 0 <= terms <= 365:
            raise ConfigurationError(f"billing.paymentTermsDays must be a whole number 0-365, got {terms!r}")
        tz = company_timezone(billing, default_timezone)
        zone(tz)
        max_call = number("maxCallSeconds", default=DEFAULT_MAX_CALL_SECONDS)
        if not max_call:
            raise ConfigurationError(f"billing.maxCallSeconds must be positive, got {billing.get('maxCallSeconds')!r}")
        return cls(
            rate_per_minute=rate,
            maintenance_fee=number("maintenanceFee"),
            policy=policy,
            pulse_seconds=pulse,
            included_minutes=number("includedMinutes"),
            minimum_usage_charge=number("minimumUsageCharge"),
            gst_rate=gst_rate,
            payment_terms_days=int(terms),
            timezone=tz,
            non_billable_statuses=frozenset(non_billable_statuses),
            max_call_seconds=max_call,
            tiers=tiers,
            direction_rates=parse_direction_rates(billing.get("directionRates")),
            discount=parse_discount(billing.get("discount")),
        )


def _ceil_to(seconds: Decimal, unit: int) -> Decimal:
    if seconds <= 0:
        return Decimal(0)
    return (seconds / unit).to_integral_value(rounding=ROUND_CEILING) * unit


def per_call_seconds(seconds: Decimal, tariff: Tariff) -> Decimal:
    """Each call rounded up to whole minutes (0 s bills 0)."""
    return _ceil_to(seconds, 60)


def exact_seconds(seconds: Decimal, tariff: Tariff) -> Decimal:
    """Exact seconds (per-second, and aggregate before its one rounding)."""
    return seconds


def pulse_seconds(seconds: Decimal, tariff: Tariff) -> Decimal:
    """Each call rounded up to the tariff's pulse."""
    return _ceil_to(seconds, tariff.pulse_seconds or 60)


def exact_minutes(total_seconds: Decimal) -> Decimal:
    return total_seconds / SIXTY


def ceil_minutes(total_seconds: Decimal) -> Decimal:
    """Aggregate: sum all seconds, round up once."""
    return _ceil_to(total_seconds, 60) / SIXTY


@dataclass(frozen=True)
class Policy:
    """How one policy bills a call, and how it turns the month's billed seconds into minutes."""

    name: str
    per_call: Callable[[Decimal, Tariff], Decimal]
    total_minutes: Callable[[Decimal], Decimal]


POLICIES: dict[str, Policy] = {
    "per-call": Policy("per-call", per_call_seconds, exact_minutes),
    "per-second": Policy("per-second", exact_seconds, exact_minutes),
    "pulse": Policy("pulse", pulse_seconds, exact_minutes),
    "aggregate": Policy("aggregate", exact_seconds, ceil_minutes),
}


class RatedCall(NamedTuple):
    """A call with what it bills; anomaly is the reason it could not be rated."""

    call: CallRecord
    duration_seconds: Decimal | None
    billed_seconds: Decimal
    billable: bool
    anomaly: str | None = None
    started_local: datetime | None = None  # start in the billing timezone (for reports)
    rate: Decimal | None = None  # the list rate of its class (the CSV's per-call price); None: bills 0

    @property
    def billed_minutes(self) -> Decimal:
        return self.billed_seconds / SIXTY


@dataclass(frozen=True)
class UsageSummary:
    """The month's usage after rating every call once."""

    policy: str
    total_calls: int
    billable_calls: int
    non_billable_calls: int
    anomaly_count: int
    anomalies: tuple[Mapping[str, Any], ...]
    total_duration_seconds: Decimal
    billed_seconds: Decimal
    billed_minutes: Decimal
    daily: tuple[tuple[date, int, Decimal], ...]  # (date, calls, billed minutes)
    # Billed minutes per rate class: (direction with its own rate, or None for every other call),
    # the class without a direction first; one (None, billed_minutes) without direction rates.
    by_class: tuple[tuple[str | None, Decimal], ...] = ()


def parse_duration(raw: object) -> tuple[Decimal | None, str | None]:
    """(seconds, None) or (None, reason) for a raw stored duration (the number rules of to_decimal)."""
    if raw is None:
        return None, "duration is missing"
    try:
        value = to_decimal(raw, "duration")
    except ValidationError:
        return None, _unusable_duration(raw)
    if value < 0:
        return None, f"duration is negative ({raw})"
    return value, None


def _seconds_text(seconds: Decimal) -> str:
    """Seconds as plain digits (1e12 -> '1000000000000'), never an exponent."""
    return format(seconds.normalize(), "f")


def _unusable_duration(raw: object) -> str:
    """Why to_decimal refused a duration, in the words the CSV and the invoice show."""
    if isinstance(raw, float):
        return f"duration is not a finite number ({raw!r})"
    if isinstance(raw, str):
        try:
            Decimal(raw.strip())
        except InvalidOperation:
            return f"duration is not a number ({raw[:40]!r})"
        return f"duration is not a finite number ({raw[:40]!r})"
    if isinstance(raw, bool):
        return f"duration is not a number ({raw!r})"
    return f"duration is not a number ({type(raw).__name__})"


class UsageAccumulator:
    """Rates calls one at a time; keeps counters, ≤31 daily buckets and ≤N listed anomalies."""

    def __init__(self, tariff: Tariff, period: BillingPeriod, max_listed_anomalies: int = 100):
        self.tariff = tariff
        self.period = period
        self.policy = POLICIES[tariff.policy]
        self._max = max_listed_anomalies
        self._start, self._end, self._tz = period.start, period.end, period.tz
        self._longest = tariff.max_call_seconds
        self.total_calls = 0
        self.billable_calls = 0
        self.non_billable_calls = 0
        self.anomaly_count = 0
        self.anomalies: list[dict[str, str]] = []
        self.duration = Decimal(0)
        self.billed = Decimal(0)
        self._daily: dict[date, list[Any]] = {}  # day -> [calls, billed seconds]
        # Months repeat few distinct durations and statuses: each is parsed and rated once.
        self._rated: dict[type, dict[object, tuple[Decimal, Decimal]]] = {int: {}, float: {}}
        self._non_billable: dict[str | None, bool] = {}
        self._directions = frozenset(name for name, _ in tariff.direction_rates)
        self._by_class: dict[str | None, Decimal] = {}  # billed seconds per rate class (<= rates + 1)
        self._list_rate = tariff.rate_per_minute
        self._rates = dict(tariff.direction_rates)

    def _anomaly(self, call: CallRecord, reason: str, duration: Decimal | None = None,
                 local: datetime | None = None) -> RatedCall:
        self.anomaly_count += 1
        if len(self.anomalies) < self._max:
            self.anomalies.append({"callId": call.call_id, "reason": reason})
        return RatedCall(call, duration, ZERO, False, reason, local)

    def add(self, call: CallRecord) -> RatedCall:
        self.total_calls += 1
        started = call.started_at
        if started is None:
            return self._anomaly(call, "startedAt is missing")
        if not isinstance(started, datetime) or started.tzinfo is None:
            return self._anomaly(call, "startedAt is not a timestamp")
        if not self._start <= started < self._end:
            return self._anomaly(call, f"startedAt {started.isoformat()} is outside {self.period.key}")
        local = started.astimezone(self._tz)
        day = self._daily.get(local.date()) or self._new_day(local.date())
        day[0] += 1
        raw = call.duration_seconds
        cache = self._rated.get(raw.__class__)
        rated = cache.get(raw) if cache is not None else None
        if rated is None:
            seconds, reason = parse_duration(raw)
            if seconds is None:
                return self._anomaly(call, reason or "duration is not a number", None, local)
            rated = self._rate(raw, seconds, cache)
        seconds, billed = rated
        if seconds > self._longest:
            return self._anomaly(call, f"duration {_seconds_text(seconds)} s is longer than billing.maxCallSeconds "
                                 f"({_seconds_text(self._longest)} s)", seconds, local)
        self.duration += seconds
        non_billable = self._non_billable.get(call.status)
        if non_billable is None:
            non_billable = self._status_is_non_billable(call.status)
        if non_billable:
            self.non_billable_calls += 1
            return RatedCall(call, seconds, ZERO, False, None, local)
        self.billed += billed
        day[1] += billed
        if self._directions:
            direction = direction_key(call.direction)
            key = direction if direction in self._directions else None
            self._by_class[key] = self._by_class.get(key, ZERO) + billed
            if billed:
                self.billable_calls += 1
            return RatedCall(call, seconds, billed, True, None, local, self._rates.get(key or "", self._list_rate))
        if billed:
            self.billable_calls += 1
        return RatedCall(call, seconds, billed, True, None, local, self._list_rate)

    def _new_day(self, day: date) -> list[Any]:
        bucket: list[Any] = [0, ZERO]
        self._daily[day] = bucket
        return bucket

    def _rate(self, raw: object, seconds: Decimal,
              cache: dict[object, tuple[Decimal, Decimal]] | None) -> tuple[Decimal, Decimal]:
        """(seconds, billed seconds) of a valid duration, remembered for its raw value."""
        rated = (seconds, self.policy.per_call(seconds, self.tariff))
        # -0.0 equals 0.0 but is a different Decimal: zero floats are not remembered.
        if cache is not None and len(cache) < MAX_REMEMBERED and (raw or raw.__class__ is int):
            cache[raw] = rated
        return rated

    def _status_is_non_billable(self, status: str | None) -> bool:
        result = (status or "").strip().lower() in self.tariff.non_billable_statuses
        if len(self._non_billable) < MAX_REMEMBERED:
            self._non_billable[status] = result
        return result

    def merge(self, other: "UsageAccumulator") -> None:
        """Fold in another accumulator of the same tariff and period (e.g. one time slice's)."""
        self.total_calls += other.total_calls
        self.billable_calls += other.billable_calls
        self.non_billable_calls += other.non_billable_calls
        self.anomaly_count += other.anomaly_count
        self.anomalies.extend(other.anomalies[: max(0, self._max - len(self.anomalies))])
        self.duration += other.duration
        self.billed += other.billed
        for day, (calls, seconds) in other._daily.items():
            mine = self._daily.setdefault(day, [0, Decimal(0)])
            mine[0] += calls
            mine[1] += seconds
        for key, billed in other._by_class.items():
            self._by_class[key] = self._by_class.get(key, ZERO) + billed

    def summary(self) -> UsageSummary:
        daily = tuple(
            (d, self._daily.get(d, [0, Decimal(0)])[0], self._daily.get(d, [0, Decimal(0)])[1] / SIXTY)
            for d in self.period.days
        )
        minutes = self.policy.total_minutes
        if self._directions:  # each class rounded on its own (aggregate: once per class)
            by_class = tuple((key, minutes(self._by_class[key]))
                             for key in sorted(self._by_class, key=lambda k: (k is not None, k or "")))
        else:
            by_class = ((None, minutes(self.billed)),)
        return UsageSummary(
            policy=self.tariff.policy,
            total_calls=self.total_calls,
            billable_calls=self.billable_calls,
            non_billable_calls=self.non_billable_calls,
            anomaly_count=self.anomaly_count,
            anomalies=tuple(self.anomalies),
            total_duration_seconds=self.duration,
            billed_seconds=self.billed,
            billed_minutes=sum((m for _, m in by_class), ZERO),
            daily=daily,
            by_class=by_class,
        )


def rate_calls(calls: Iterable[CallRecord], tariff: Tariff, period: BillingPeriod) -> UsageSummary:
    """Rate an iterable of calls in one pass."""
    acc = UsageAccumulator(tariff, period)
    for call in calls:
        acc.add(call)
    return acc.summary()


class UnplacedCall(NamedTuple):
    """A call log no month can hold: its startedAt is missing or not a timestamp."""

    call_id: str
    reason: str


def unplaced_reason(value: object, present: bool = True) -> str:
    """Why a stored startedAt places a call in no month (the words the CSV and the invoice show)."""
    if not present:
        return "startedAt is missing"
    if value is None:
        return "startedAt is null"
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", dict: "a map",
             list: "an array", bytes: "bytes"}
    kind = kinds.get(type(value), "a value")
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return f"startedAt is {kind}, not a timestamp ({shown})"


@dataclass
class UnplacedCalls:
    """The company's unplaced call logs: counted, up to `limit` ids listed, billed nothing."""

    count: int = 0
    ids: list[str] = field(default_factory=list)
    limit: int = 100

    def add(self, call: UnplacedCall) -> None:
        self.count += 1
        if len(self.ids) < self.limit:
            self.ids.append(call.call_id)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "ids": list(self.ids)}
