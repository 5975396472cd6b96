"""The import-linter contracts (pyproject.toml) hold, and would catch a break of the dependency rule."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"], cwd=tree,
                          env={"PYTHONPATH": str(tree / "shared"), "PATH": str(LINT.parent)},
                          capture_output=True, text=True, timeout=120)


def copy_package(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "shared" / "billing", tmp_path / "shared" / "billing",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_contracts_hold(tmp_path):
    result = lint(copy_package(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("module, line, contract", [
    ("domain/money.py", "import google.cloud.firestore", "The domain is pure"),
    ("domain/period.py", "import os", "The domain is pure"),
    ("domain/rating.py", "import billing.config", "The domain is pure"),
    ("services/issuance/rating.py", "import billing.adapters.csv_export", "Services use ports"),
    ("services/runs/fanout.py", "import billing.bootstrap", "Services use ports"),
    ("services/delivery.py", "import os", "Services use ports"),
    ("adapters/gcs_blobs.py", "import billing.services.issuance.issue", "Adapters never call services"),
    ("adapters/pdf.py", "import billing.entrypoints.http.presenters", "Adapters never call services"),
    ("entrypoints/http/routes.py", "import google.api_core.exceptions", "The HTTP edge imports no SDK"),
    ("entrypoints/events.py", "import billing.adapters.pubsub_publisher", "The HTTP edge imports no SDK"),
    ("services/queries.py", "import billing.entrypoints.http.app", "Layers"),
])
def test_a_forbidden_import_breaks_its_contract(tmp_path, module, line, contract):
    tree = copy_package(tmp_path)
    target = tree / "shared" / "billing" / module
    target.write_text(target.read_text() + f"\n{line}\n")
    result = lint(tree)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout
