"""The domain imports only the standard library (and billing's own errors/domain)."""

import ast
import sys
from pathlib import Path

import billing.domain

DOMAIN = Path(billing.domain.__file__).parent
FORBIDDEN = {"socket", "urllib", "http", "requests", "subprocess", "sqlite3", "ftplib", "smtplib", "asyncio"}


def imported_modules(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_domain_imports_only_the_standard_library():
    modules = sorted(DOMAIN.glob("*.py"))
    assert len(modules) >= 6
    for path in modules:
        for name in imported_modules(path):
            top = name.split(".")[0]
            allowed = name.startswith("billing.domain") or name == "billing.errors" or (
                top in sys.stdlib_module_names and top not in FORBIDDEN
            )
            assert allowed, f"{path.name} imports {name}"
