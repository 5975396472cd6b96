"""docs/api.md documents exactly the routes shared/billing/openapi.json declares (and is what
docs/generate_api.py writes from it: `make docs` after changing the OpenAPI document)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
METHODS = ("get", "post", "put", "patch", "delete")


def test_every_route_in_openapi_is_in_docs_api_md_and_nothing_else():
    doc = json.loads((ROOT / "shared" / "billing" / "openapi.json").read_text())
    declared = {(m.upper(), path) for path, ops in doc["paths"].items() for m in METHODS if m in ops}
    text = (ROOT / "docs" / "api.md").read_text()
    documented = set(re.findall(r"^### (GET|POST|PUT|PATCH|DELETE) (/\S*)$", text, re.M))
    assert declared - documented == set(), f"routes missing from docs/api.md (run `make docs`): {declared - documented}"
    assert documented - declared == set(), f"docs/api.md documents routes openapi.json lacks: {documented - declared}"
    tabled = set(re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `(/[^`]*)` \|", text, re.M))
    assert tabled == declared


def test_docs_api_md_is_what_the_generator_writes():
    result = subprocess.run([sys.executable, str(ROOT / "docs" / "generate_api.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
