"""What the page benches (ageing, console) report: per-page medians and maxima of server time, the
machine, the time; written as JSON and printed."""

from __future__ import annotations

import json
import os
import platform
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


def timings_ms(timings: dict[str, list[float]]) -> dict[str, Any]:
    """{"median_ms": {...}, "max_ms": {...}} of each page's samples (milliseconds)."""
    return {"median_ms": {k: round(statistics.median(v), 1) for k, v in timings.items()},
            "max_ms": {k: round(max(v), 1) for k, v in timings.items()}}


def write(out: Path, report: dict[str, Any]) -> None:
    """The report with the machine and the time, to `out` (folders made) and to standard output."""
    report = {**report, "python": platform.python_version(), "cpus": os.cpu_count(),
              "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
