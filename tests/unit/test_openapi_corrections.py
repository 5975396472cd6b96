"""The OpenAPI document covers the corrections routes and its references resolve."""

import json
import re
from pathlib import Path

from billing.entrypoints.http.routes import ROUTES

SHARED = Path(__file__).resolve().parents[2] / "shared" / "billing"


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def test_fragment_documents_every_corrections_route_and_its_refs_resolve():
    main = json.loads((SHARED / "openapi.json").read_text())
    fragment = main
    endpoints = {"void", "reconcile", "credit_note_pdf", "credit_note", "credit_notes", "preview"}
    for rule in ROUTES.iter_rules():
        if rule.endpoint in endpoints:
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule).replace("{credit_note_id}", "{creditNoteId}")
            methods = {m.lower() for m in rule.methods} - {"head", "options"}
            assert path in fragment["paths"], path
            assert methods <= set(fragment["paths"][path]), (path, methods)
    for ref in refs(fragment):
        section, name = ref.split("/")[-2:]
        assert name in fragment["components"].get(section, {}) or name in main["components"][section], ref
