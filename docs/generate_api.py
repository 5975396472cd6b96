"""Write docs/api.md from the OpenAPI document the service serves (shared/billing/openapi.json).

    python docs/generate_api.py          # rewrite docs/api.md (`make docs`)
    python docs/generate_api.py --check  # exit 1 when docs/api.md is not what this would write

tests/unit/test_docs_api.py fails when docs/api.md and openapi.json disagree, so the route
reference can never drift from what the function serves. Standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OPENAPI = ROOT / "shared" / "billing" / "openapi.json"
TARGET = ROOT / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")

INTRO = """\
# HTTP API

Generated from `shared/billing/openapi.json` (the document the function serves at `GET /openapi.json`)
by `docs/generate_api.py`; do not edit by hand: change openapi.json, then run `make docs`.

- Base URL: the function itself (`http://127.0.0.1:8000` under `make up`), or behind nginx on the
  droplet the same paths under `/billing-api` (e.g. `https://example.com/billing-api/billing/...`).
- Authentication: header `X-API-Key`. Keys in `BILLING_READ_KEYS` may call every GET; keys in
  `BILLING_API_KEYS` may also generate for an active company; keys in `BILLING_ADMIN_KEYS` may do
  everything (run, void, send, and the reissue of a month voided without reissue). No key or an
  unknown key: 401; a valid key without the role: 403. `GET /` and `GET /openapi.json` need no key.
- Errors: always JSON `{"detail": "..."}`. 404 unknown company or invoice; 422 invalid parameters
  (nothing is written on any 4xx); 409 a real conflict; 429 rate limited (nginx, with `Retry-After`);
  503 a dependency is down (retry after `Retry-After`); 500 `An unexpected error occurred during
  invoice generation.` with the cause in the log only.
- Money: JSON numbers with at most two decimals (INR); `amountsPaise` has the same amounts as
  integer paise. Dates: ISO 8601 with an offset (docs/data-model.md, invoices).

Example (the demo data, `make up`):

    curl -s -X POST -H 'X-API-Key: local-dev-key' \\
      'http://127.0.0.1:8000/billing/generate/vysedeck?month=9&year=2025'
"""


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    target: Any = doc
    for part in ref.lstrip("#/").split("/"):
        target = target[part]
    return dict(target)


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _schema_text(doc: dict[str, Any], schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[1]}`"
    kind = schema.get("type", "object")
    extras = []
    if "enum" in schema:
        extras.append("one of " + ", ".join(f"`{v}`" for v in schema["enum"]))
    if "pattern" in schema:
        extras.append(f"pattern `{schema['pattern']}`")
    if "minimum" in schema or "maximum" in schema:
        extras.append(f"{schema.get('minimum', '')}..{schema.get('maximum', '')}")
    return f"{kind}" + (f" ({'; '.join(extras)})" if extras else "")


def routes(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation, in the document's order."""
    return [(method.upper(), path) for path, ops in doc["paths"].items() for method in METHODS if method in ops]


def render(doc: dict[str, Any]) -> str:
    lines = [INTRO, "## Routes", "", "Key (each operation's `x-required-role`): `read` = any key in BILLING_READ_KEYS, "
             "BILLING_API_KEYS or BILLING_ADMIN_KEYS; `api` = BILLING_API_KEYS or BILLING_ADMIN_KEYS; "
             "`admin` = BILLING_ADMIN_KEYS only.",
             "", "| method | path | summary | key |", "|---|---|---|---|"]
    for method, path in routes(doc):
        op = doc["paths"][path][method.lower()]
        role = op.get("x-required-role") or "none"
        lines.append(f"| {method} | `{path}` | {_one_line(op.get('summary'))} | {role} |")
    lines.append("")
    for method, path in routes(doc):
        op = doc["paths"][path][method.lower()]
        lines += [f"### {method} {path}", ""]
        lines.append(_one_line(op.get("summary")) + ".")
        if op.get("description"):
            lines += ["", _one_line(op["description"])]
        params = [_resolve(doc, p) for p in op.get("parameters", [])]
        if params:
            lines += ["", "| parameter | in | required | type | meaning |", "|---|---|---|---|---|"]
            for p in params:
                lines.append(f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | "
                             f"{_cell(_schema_text(doc, p.get('schema', {})))} | {_one_line(p.get('description'))} |")
        body = op.get("requestBody")
        if body:
            schema = _resolve(doc, body)["content"]["application/json"]["schema"]
            schema = _resolve(doc, schema) if "$ref" in schema else schema
            lines += ["", "Request body (JSON):", ""]
            required = set(schema.get("required", []))
            for name, prop in schema.get("properties", {}).items():
                need = "required" if name in required else "optional"
                lines.append(f"- `{name}` ({_schema_text(doc, prop)}, {need}): {_one_line(prop.get('description'))}"
                             .rstrip(": "))
        lines += ["", "Responses:", ""]
        for code, response in op.get("responses", {}).items():
            resolved = _resolve(doc, response)
            content = resolved.get("content", {})
            schema = next(iter(content.values()), {}).get("schema") if content else None
            shape = f" ({_schema_text(doc, schema)})" if schema else ""
            lines.append(f"- {code}{shape}: {_one_line(resolved.get('description'))}")
        lines.append("")
    lines += ["## Schemas", "",
              "The response bodies' schemas, in full, are in `shared/billing/openapi.json` "
              "(`components.schemas`): " + ", ".join(f"`{name}`" for name in doc["components"]["schemas"]) + ".",
              "Their fields are described in docs/data-model.md (the invoice document is what the API returns).", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = render(json.loads(OPENAPI.read_text()))
    if "--check" in argv:
        if TARGET.read_text() != text:
            print("docs/api.md is out of date: run `make docs`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
