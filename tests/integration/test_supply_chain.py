"""Supply chain: the deployed functions install from a hashed lock of every transitive dependency,
the tests run with exactly those versions, and pip-audit checks the lock where it can reach its
vulnerability database (skipped, saying why, where it cannot)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra"))

from stage import LOCK, PIN, locked_requirements, normalized, runtime_requirements  # noqa: E402


def test_the_lock_pins_and_hashes_every_dependency():
    text = locked_requirements()  # pyproject's pins are in it, at the same versions
    pins = dict(PIN.findall(text))
    entries = re.split(r"^(?=[A-Za-z0-9])", text, flags=re.M)[1:]
    assert len(entries) == len(pins) > len(runtime_requirements())
    for entry in entries:
        assert "--hash=sha256:" in entry, entry.splitlines()[0]


def test_the_tests_run_with_the_locked_versions():
    """The virtualenv has every locked package at its locked version (what is tested is what ships)."""
    wrong = {}
    for name, locked in PIN.findall(LOCK.read_text()):
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        if installed != locked:
            wrong[normalized(name)] = (locked, installed)
    assert not wrong, f"installed versions differ from {LOCK.name} (run `make lock` or reinstall): {wrong}"


def test_pip_audit_finds_no_known_vulnerability():
    argv = [str(Path(sys.executable).parent / "pip-audit"), "--requirement", str(LOCK), "--require-hashes",
            "--disable-pip", "--vulnerability-service", "pypi", "--progress-spinner", "off", "--format", "json"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip("pip-audit: its vulnerability database did not answer within 300 s")
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        pytest.skip(f"pip-audit could not reach its vulnerability database: {proc.stderr.strip()[-300:]}")
    deps = report["dependencies"]
    vulnerable = {d["name"]: [v["id"] for v in d["vulns"]] for d in deps if d.get("vulns")}
    assert not vulnerable, f"known vulnerabilities in {LOCK.name}: {vulnerable}"
    unaudited = [d["name"] for d in deps if d.get("skip_reason")]
    if unaudited:
        pytest.skip(f"pip-audit could not audit {len(unaudited)} of {len(deps)} locked packages (its database, "
                    f"PyPI's JSON API, does not know them here: a mirror?): {', '.join(unaudited[:5])}...")
