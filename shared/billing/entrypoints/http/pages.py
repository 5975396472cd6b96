"""The Jinja2 environments of the HTML pages (the console's, the portal's): autoescaped, one per
templates folder, built on first use and shared by every request of the instance."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import jinja2

_envs: dict[tuple[str, str], jinja2.Environment] = {}
_lock = threading.Lock()


def environment(templates_dir: Path, folder: str, **options: Any) -> jinja2.Environment:
    """templates_dir/folder's environment (`options` apply when it is first built: one set per folder)."""
    key = (str(Path(templates_dir).resolve()), folder)
    with _lock:
        env = _envs.get(key)
        if env is None:
            env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(templates_dir) / folder)),
                                     autoescape=True, **options)
            _envs[key] = env
        return env
