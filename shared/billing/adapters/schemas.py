"""Strict schemas of the documents people write: `companies/{id}` and `settings/billing` (DESIGN 3, 11).

Checked where a document enters the service (read from Firestore, or sent to PUT /billing/companies,
PUT /billing/settings, `billing companies set`, `billing settings set`), with pydantic in strict mode:
a string "false", "2" or "2025-09-01" where a boolean, a number or a Firestore value of another type
belongs is an error naming the field, the value and the expected type; nothing is coerced. Unknown
fields are kept (never rejected), and the document goes on unchanged: these schemas check types only;
the domain checks the rules (GSTIN checksums, rate ranges, time zones, prefixes).

Dates (`billingStartDate`, `billingEndDate`) are ISO date strings, `YYYY-MM-DD` (DESIGN 3), not
Firestore timestamps: a date has no time of day or zone, and the company's month boundaries come from
its `billing.timezone`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Mapping

from pydantic import model_validator, AfterValidator, BaseModel, ConfigDict, Field, StrictStr
from pydantic import ValidationError as PydanticValidationError

# Finite numbers (int or float; a bool is not a number here), never a string; at most 10^12 in size
# (amounts print with 13 digits; larger ones are a unit mistake, not a tariff).
MAX_NUMBER = 10 ** 12
Number = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-MAX_NUMBER, le=MAX_NUMBER)]
Integer = Annotated[int, Field(strict=True)]


def _iso_date(value: str) -> str:
    if len(value) != 10:
        raise ValueError("an ISO date string YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("an ISO date string YYYY-MM-DD") from None
    return value


IsoDate = Annotated[StrictStr, AfterValidator(_iso_date)]


class _Doc(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class Tier(_Doc):
    upToMinutes: Number | None = None
    ratePerMinute: Number


class Tiers(_Doc):
    mode: Literal["graduated", "volume"]
    tiers: list[Tier]


class Discount(_Doc):
    percent: Number | None = None
    amount: Number | None = None


class BillingMap(_Doc):
    """A company's `billing` map (its tariff): `ratePerMinute`, or `tiers` in its place."""

    ratePerMinute: Number | None = None
    maintenanceFee: Number | None = None
    policy: StrictStr | None = None
    pulseSeconds: Integer | None = None
    includedMinutes: Number | None = None
    minimumUsageCharge: Number | None = None
    gstRate: Number | None = None
    paymentTermsDays: Integer | None = None
    timezone: StrictStr | None = None
    maxCallSeconds: Number | None = None
    tiers: Tiers | None = None
    directionRates: dict[str, Number] | None = None
    discount: Discount | None = None

    @model_validator(mode="after")
    def _a_rate(self) -> "BillingMap":
        if self.ratePerMinute is None and self.tiers is None:
            raise ValueError("billing.ratePerMinute is required (or billing.tiers in its place)")
        return self


class CompanyDoc(_Doc):
    """companies/{companyId}."""

    name: StrictStr | None = None
    legalName: StrictStr | None = None
    active: bool | None = None
    billingEmail: StrictStr | None = None
    address: StrictStr | None = None
    gstin: StrictStr | None = None
    stateCode: StrictStr | None = None
    billing: BillingMap | None = None  # required to bill: the tariff says so (Tariff.from_mapping)
    billingStartDate: IsoDate | None = None
    billingEndDate: IsoDate | None = None


class Bank(_Doc):
    accountName: StrictStr | None = None
    bankName: StrictStr | None = None
    accountNumber: StrictStr | None = None
    ifsc: StrictStr | None = None
    branch: StrictStr | None = None
    upiId: StrictStr | None = None


class SettingsDoc(_Doc):
    """settings/billing: the supplier."""

    legalName: StrictStr
    address: StrictStr | None = None
    gstin: StrictStr | None = None
    stateCode: StrictStr | None = None
    sacCode: StrictStr | None = None
    invoicePrefix: StrictStr
    creditNotePrefix: StrictStr | None = None
    debitNotePrefix: StrictStr | None = None
    timezone: StrictStr | None = None
    supportEmail: StrictStr | None = None
    phone: StrictStr | None = None
    website: StrictStr | None = None
    pan: StrictStr | None = None
    cin: StrictStr | None = None
    logoPath: StrictStr | None = None
    upiId: StrictStr | None = None
    bank: Bank | None = None


_EXPECTED = {
    "float_type": "a number", "finite_number": "a finite number", "int_type": "an integer",
    "bool_type": "a boolean (true or false)", "string_type": "a string", "dict_type": "a map",
    "model_type": "a map", "list_type": "an array", "missing": "a value (the field is required)",
    "literal_error": None, "value_error": None,
}


def _type_name(value: Any) -> str:
    """The value's Firestore-ish type, as a person writing the document would call it."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "array"
    if value is None:
        return "null"
    return type(value).__name__  # e.g. DatetimeWithNanoseconds (a timestamp), GeoPoint


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(exc: PydanticValidationError) -> list[str]:
    """One sentence per problem: field, value (and its type), what was expected."""
    problems = []
    for err in exc.errors(include_url=False):
        field = _field(err["loc"])
        kind = err["type"]
        expected = _EXPECTED.get(kind, "")
        if kind == "missing":
            problems.append(f"{field} is required")
            continue
        if expected is None or not expected:
            expected = err["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
        value = err.get("input")
        shown = repr(value) if not isinstance(value, (Mapping, list)) else _type_name(value)
        problems.append(f"{field} = {shown} ({_type_name(value)}): expected {expected}")
    return problems


MAX_DEPTH = 20  # Firestore: maps and arrays nest at most 20 levels
INT64 = 2 ** 63


def storable_problems(value: Any, path: str = "", depth: int = 0) -> list[str]:
    """What Firestore would refuse to store (in a document sent to be written): reserved or empty
    field names, arrays directly inside arrays, integers beyond 64 bits, text that is not UTF-8."""
    where = path or "the document"
    if depth > MAX_DEPTH:
        return [f"{where}: nested deeper than {MAX_DEPTH} levels"]
    if isinstance(value, Mapping):
        problems = []
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str) or not key or (key.startswith("__") and key.endswith("__")):
                problems.append(f"{name!r}: not a field name Firestore accepts (empty or __reserved__)")
                continue
            problems += storable_problems(item, name, depth + 1)
        return problems
    if isinstance(value, list):
        problems = []
        for i, item in enumerate(value):
            if isinstance(item, list):
                problems.append(f"{where}[{i}]: an array inside an array (Firestore cannot store it)")
            else:
                problems += storable_problems(item, f"{where}[{i}]", depth + 1)
        return problems
    if isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64:
        return [f"{where} = {value}: beyond a 64-bit integer"]
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return [f"{where}: text that is not valid UTF-8"]
    return []


def checked_company(doc: Mapping[str, Any]) -> CompanyDoc | list[str]:
    """The company document's typed fields, or what is wrong with its types (one sentence each)."""
    try:
        return CompanyDoc.model_validate(dict(doc))
    except PydanticValidationError as exc:
        return describe(exc)


def settings_problems(doc: Mapping[str, Any], writing: bool = False) -> list[str]:
    """What is wrong with the supplier document's types (empty: it passes)."""
    problems = storable_problems(doc) if writing else []
    try:
        SettingsDoc.model_validate(dict(doc))
    except PydanticValidationError as exc:
        problems += describe(exc)
    return problems
