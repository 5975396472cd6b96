"""GST: state codes, GSTIN validation, and the tax split (CGST+SGST within a state, IGST across)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from billing.domain.money import quantize
from billing.errors import ValidationError

STATE_NAMES: dict[str, str] = {
    "01": "Jammu and Kashmir", "02": "Himachal Pradesh", "03": "Punjab", "04": "Chandigarh",
    "05": "Uttarakhand", "06": "Haryana", "07": "Delhi", "08": "Rajasthan", "09": "Uttar Pradesh",
    "10": "Bihar", "11": "Sikkim", "12": "Arunachal Pradesh", "13": "Nagaland", "14": "Manipur",
    "15": "Mizoram", "16": "Tripura", "17": "Meghalaya", "18": "Assam", "19": "West Bengal",
    "20": "Jharkhand", "21": "Odisha", "22": "Chhattisgarh", "23": "Madhya Pradesh",
    "24": "Gujarat", "26": "Dadra and Nagar Haveli and Daman and Diu", "27": "Maharashtra",
    "29": "Karnataka", "30": "Goa", "31": "Lakshadweep", "32": "Kerala", "33": "Tamil Nadu",
    "34": "Puducherry", "35": "Andaman and Nicobar Islands", "36": "Telangana",
    "37": "Andhra Pradesh", "38": "Ladakh", "97": "Other Territory",
}

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_GSTIN = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z]Z[0-9A-Z]$")


def gstin_checksum(first14: str) -> str:
    """The 15th character of a GSTIN (mod-36 with alternating weights 1, 2)."""
    total = 0
    for i, ch in enumerate(first14.upper()):
        product = _ALPHABET.index(ch) * (1 if i % 2 == 0 else 2)
        total += product // 36 + product % 36
    return _ALPHABET[(36 - total % 36) % 36]


def validate_gstin(gstin: str) -> str:
    """The GSTIN upper-cased, or ValidationError saying what is wrong with it."""
    value = str(gstin or "").strip().upper()
    if len(value) != 15:
        raise ValidationError(f"GSTIN must be 15 characters, got {len(value)} ({value!r})")
    if not _GSTIN.match(value):
        raise ValidationError(
            f"GSTIN {value!r} does not match the format: 2-digit state, PAN (5 letters, 4 digits, "
            "1 letter), entity number, 'Z', check character"
        )
    if value[:2] not in STATE_NAMES:
        raise ValidationError(f"GSTIN {value!r} starts with unknown state code {value[:2]!r}")
    expected = gstin_checksum(value[:14])
    if value[14] != expected:
        raise ValidationError(f"GSTIN {value!r} has a wrong check character (expected {expected!r})")
    return value


def validate_state_code(code: object) -> str:
    text = str(code).strip().zfill(2) if code is not None else ""
    if text not in STATE_NAMES:
        raise ValidationError(f"unknown GST state code {code!r}")
    return text


def recipient_state_code(gstin: str | None, state_code: object, default: str) -> str:
    """stateCode if given, else the GSTIN's first two digits, else default (the supplier's state)."""
    if state_code not in (None, ""):
        code = validate_state_code(state_code)
        if gstin and validate_gstin(gstin)[:2] != code:
            raise ValidationError(
                f"stateCode {code!r} contradicts GSTIN {gstin!r}, whose state code is {gstin[:2]!r}; "
                "fix one of them (the GSTIN's state decides CGST/SGST vs IGST)"
            )
        return code
    if gstin:
        return validate_state_code(validate_gstin(gstin)[:2])
    return default


@dataclass(frozen=True)
class TaxComponent:
    name: str
    rate: Decimal
    amount: Decimal


@dataclass(frozen=True)
class TaxBreakdown:
    """The tax on one taxable value: two equal halves within a state, one IGST across states."""

    kind: str
    rate: Decimal
    taxable_value: Decimal
    components: tuple[TaxComponent, ...]

    @property
    def total(self) -> Decimal:
        return sum((c.amount for c in self.components), Decimal(0))

    def amount(self, name: str) -> Decimal:
        return sum((c.amount for c in self.components if c.name == name), Decimal(0))


def compute_gst(taxable: Decimal, rate_percent: Decimal, supplier_state: str, recipient_state: str) -> TaxBreakdown:
    """Same state: CGST = SGST = round(taxable x rate/2); otherwise IGST = round(taxable x rate)."""
    rate = Decimal(rate_percent)
    if supplier_state == recipient_state:
        half = rate / 2
        each = quantize(taxable * half / 100)
        components = (TaxComponent("CGST", half, each), TaxComponent("SGST", half, each))
        return TaxBreakdown("intra-state", rate, taxable, components)
    return TaxBreakdown("inter-state", rate, taxable, (TaxComponent("IGST", rate, quantize(taxable * rate / 100)),))
