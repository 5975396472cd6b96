"""The UPI QR code on the invoice PDF (DESIGN 14): decoded from the rendered page with zbar, it is
the expected upi://pay link; without settings/billing.upiId the PDF is what it always was.

zbarimg (Debian's zbar-tools) and pdftoppm (poppler-utils) are installed with apt-get when missing
and running as root, as the nginx test does."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from billing.adapters.pdf import render_invoice_pdf
from billing.domain.receivables import upi_uri

import importlib.util

_spec = importlib.util.spec_from_file_location("invoice_pdf_fixture", Path(__file__).with_name("test_pdf.py"))
assert _spec is not None and _spec.loader is not None
_fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixture)
INVOICE, TEMPLATES, text_of = _fixture.INVOICE, _fixture.TEMPLATES, _fixture.text_of  # the invoice PDF tests' document

TOOLS = {"zbarimg": "zbar-tools", "pdftoppm": "poppler-utils"}
EXPECTED = ("upi://pay?pa=voxa@examplebank&pn=Voxa%20AI%20Private%20Limited&am=1798.32&cu=INR"
            "&tn=VX%2F25-26%2F00001")


def tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{name} is not installed (apt-get install -y {TOOLS[name]}); the test installs it only as root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", "--no-install-recommends",
               TOOLS[name]]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-q"], env=env, capture_output=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"could not install {TOOLS[name]} with apt-get: {done.stderr[-500:]}")
    found = shutil.which(name)
    if not found:
        pytest.skip(f"apt-get installed {TOOLS[name]} but no {name} was found")
    return found


def with_upi() -> dict:
    invoice = copy.deepcopy(INVOICE)
    invoice["supplier"]["upiId"] = "voxa@examplebank"
    return invoice


def test_the_link_is_percent_encoded():
    assert upi_uri("voxa@examplebank", "Voxa AI Private Limited", 179832, "VX/25-26/00001") == EXPECTED
    assert upi_uri("a@b", "Café & Co", 100, "X") == "upi://pay?pa=a@b&pn=Caf%C3%A9%20%26%20Co&am=1.00&cu=INR&tn=X"


def test_the_qr_decodes_to_the_upi_link(tmp_path: Path):
    pdf = render_invoice_pdf(with_upi(), templates_dir=TEMPLATES)
    assert "Pay by UPI" in text_of(pdf)
    (tmp_path / "invoice.pdf").write_bytes(pdf)
    subprocess.run([tool("pdftoppm"), "-png", "-r", "150", str(tmp_path / "invoice.pdf"), str(tmp_path / "page")],
                   check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    done = subprocess.run([tool("zbarimg"), "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", *map(str, pages)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines() == [EXPECTED]
    if os.environ.get("BILLING_KEEP_PDF"):
        (Path(os.environ["BILLING_KEEP_PDF"]) / "invoice_upi.pdf").write_bytes(pdf)


def test_without_upi_id_nothing_changes():
    plain = render_invoice_pdf(INVOICE, templates_dir=TEMPLATES)
    assert "Pay by UPI" not in text_of(plain)
    assert render_invoice_pdf(with_upi(), templates_dir=TEMPLATES) != plain
