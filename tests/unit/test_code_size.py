"""The size rules of issue 18: no function over 40 lines in services/ and entrypoints/, no module over
300 lines in services/ (one known exception, listed until it is split)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "shared" / "billing"
MAX_FUNCTION_LINES = 40
MAX_SERVICE_MODULE_LINES = 300
# services/receivables.py is being split on another branch; remove it here once it is.
KNOWN_LONG_MODULES = {"services/receivables.py"}


def _functions(folder: str):
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node.end_lineno - node.lineno + 1


def test_no_function_over_40_lines_in_services_and_entrypoints():
    long = {name: n for folder in ("services", "entrypoints") for name, n in _functions(folder)
            if n > MAX_FUNCTION_LINES}
    assert long == {}, f"split these (lines): {long}"


def test_no_service_module_over_300_lines():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for p in (ROOT / "services").rglob("*.py")}
    long = {name for name, n in sizes.items() if n > MAX_SERVICE_MODULE_LINES}
    assert long <= KNOWN_LONG_MODULES, f"split these: {sorted(long - KNOWN_LONG_MODULES)}"


def test_the_checker_sees_functions():
    assert any(name.endswith(" _parser") for name, _ in _functions("entrypoints"))
