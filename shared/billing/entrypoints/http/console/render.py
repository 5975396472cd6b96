"""The console's Jinja2 environment: templates/console/, autoescaped, built once per templates folder."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import jinja2

_envs: dict[Path, jinja2.Environment] = {}
_lock = threading.Lock()


def environment(templates_dir: Path) -> jinja2.Environment:
    folder = Path(templates_dir) / "console"
    with _lock:
        env = _envs.get(folder)
        if env is None:
            env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True, trim_blocks=True,
                                     lstrip_blocks=True)
            _envs[folder] = env
        return env


def render(templates_dir: Path, template: str, **context: Any) -> str:
    return environment(templates_dir).get_template(template).render(**context)
