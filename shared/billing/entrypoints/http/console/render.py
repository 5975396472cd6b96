"""The console's pages: templates/console/, autoescaped (entrypoints/http/pages.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from billing.entrypoints.http.pages import environment


def render(templates_dir: Path, template: str, **context: Any) -> str:
    return environment(templates_dir, "console", trim_blocks=True, lstrip_blocks=True).get_template(
        template).render(**context)
