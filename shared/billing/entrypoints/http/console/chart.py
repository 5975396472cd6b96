"""The overview's bar chart of the last months, as numbers an inline SVG template draws (server-side,
no script): two bars per month (invoiced, collected), scaled to the largest, in a fixed viewBox."""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping, Sequence

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 720, 260, 16, 48, 8


def month_label(period: str) -> str:
    """'2025-09' -> 'Sep 2025'."""
    return date(int(period[:4]), int(period[5:7]), 1).strftime("%b %Y")


def bars(months: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """{width, height, baseline, slots: [{x, label, invoiced: {y, h}, collected: {y, h}}]}."""
    peak = max([int(m["invoicedPaise"]) for m in months] + [int(m["collectedPaise"]) for m in months] + [1])
    span = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - 2 * LEFT) / max(len(months), 1)
    bar = slot * 0.36
    slots = []
    for i, m in enumerate(months):
        x = LEFT + i * slot + slot * 0.12
        heights = {k: round(max(int(m[f"{k}Paise"]), 0) * span / peak, 1) for k in ("invoiced", "collected")}
        slots.append({
            "x": round(x, 1), "bar": round(bar, 1), "label": month_label(str(m["period"]))[:3],
            "year": str(m["period"])[:4] if i == 0 or str(m["period"]).endswith("-01") else "", "center": round(x + bar, 1),
            "invoiced": {"x": round(x, 1), "y": round(HEIGHT - BOTTOM - heights["invoiced"], 1),
                         "h": heights["invoiced"]},
            "collected": {"x": round(x + bar, 1), "y": round(HEIGHT - BOTTOM - heights["collected"], 1),
                          "h": heights["collected"]},
        })
    return {"width": WIDTH, "height": HEIGHT, "baseline": HEIGHT - BOTTOM, "slots": slots}
