"""The operator console (DESIGN 16): server-rendered HTML pages over the same services as the JSON API."""

from billing.entrypoints.http.console.views import PREFIX, handle

__all__ = ["PREFIX", "handle", "is_console"]


def is_console(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")
