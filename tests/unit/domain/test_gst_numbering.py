from datetime import date
from decimal import Decimal

import pytest

from billing.domain.gst import compute_gst, gstin_checksum, recipient_state_code, validate_gstin
from billing.domain.numbering import counter_id, financial_year, format_invoice_number, validate_prefix
from billing.errors import ConfigurationError, ValidationError


def test_published_gstin_example_is_valid():
    assert validate_gstin("27aapfu0939f1zv") == "27AAPFU0939F1ZV"
    assert gstin_checksum("27AAPFU0939F1Z") == "V"


@pytest.mark.parametrize("gstin, fragment", [
    ("27AAPFU0939F1ZX", "wrong check character"),
    ("27AAPFU0939F1Z", "15 characters"),
    ("99AAPFU0939F1ZV", "unknown state code"),
    ("27AAPF00939F1ZV", "does not match the format"),
])
def test_bad_gstins_are_refused(gstin, fragment):
    with pytest.raises(ValidationError) as err:
        validate_gstin(gstin)
    assert fragment in err.value.detail


def test_recipient_state_from_state_code_then_gstin_then_supplier():
    assert recipient_state_code("27AAPFU0939F1ZV", "27", "07") == "27"
    assert recipient_state_code("27AAPFU0939F1ZV", None, "07") == "27"
    assert recipient_state_code(None, "29", "07") == "29"
    assert recipient_state_code(None, None, "07") == "07"
    with pytest.raises(ValidationError):
        recipient_state_code(None, "00", "07")


def test_seed_example_intra_state():
    tax = compute_gst(Decimal("1524.00"), Decimal(18), "29", "29")
    assert [(c.name, c.amount) for c in tax.components] == [("CGST", Decimal("137.16")), ("SGST", Decimal("137.16"))]
    assert tax.total == Decimal("274.32")


def test_halves_rounded_separately_differ_from_flat_rate_by_a_paisa():
    intra = compute_gst(Decimal("1000.50"), Decimal(18), "29", "29")
    inter = compute_gst(Decimal("1000.50"), Decimal(18), "29", "27")
    assert intra.amount("CGST") == intra.amount("SGST") == Decimal("90.05")  # 90.045 half up
    assert intra.total == Decimal("180.10")
    assert inter.amount("IGST") == Decimal("180.09")
    assert inter.kind == "inter-state" and intra.kind == "intra-state"


@pytest.mark.parametrize("day, fy", [
    (date(2025, 3, 31), "24-25"), (date(2025, 4, 1), "25-26"), (date(2026, 3, 31), "25-26"),
    (date(2099, 4, 1), "99-00"),
])
def test_financial_year_boundaries(day, fy):
    assert financial_year(day) == fy


def test_invoice_number_format_and_limits():
    assert format_invoice_number("VD", "25-26", 42) == "VD/25-26/00042"
    assert len(format_invoice_number("ABCD", "25-26", 99999)) == 16
    with pytest.raises(ConfigurationError):
        format_invoice_number("ABCD", "25-26", 100000)  # 17 characters
    assert format_invoice_number("VD", "25-26", 123456) == "VD/25-26/123456"
    for bad in ("", "ABCDE", "V/D", "VD ", None):
        with pytest.raises(ConfigurationError):
            validate_prefix(bad)
    with pytest.raises(ConfigurationError):
        format_invoice_number("VD", "25-26", 0)
    assert counter_id("VD", "25-26") == "VD_25-26"


def test_a_state_code_contradicting_the_gstin_names_both():
    gstin = "29AAGCV4821K1ZX"
    assert recipient_state_code(gstin, "29", "27") == "29"
    with pytest.raises(ValidationError) as err:
        recipient_state_code(gstin, "27", "29")
    assert "'27'" in err.value.detail and gstin in err.value.detail and "'29'" in err.value.detail
