"""ECharts options built on the server (plain JSON; app.js draws them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

PALETTE = ["#b71c1c", "#1565c0", "#2e7d32", "#f9a825", "#6a1b9a", "#00838f", "#5d4037"]


def _num(value: Any) -> float:
    return float(Decimal(str(value or 0)))


def bar(title: str, labels: Sequence[str], values: Sequence[Any], unit: str = "万元") -> str:
    option = {
        "color": PALETTE,
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 60, "right": 16, "bottom": 70, "top": 40},
        "xAxis": {"type": "category", "data": list(labels), "axisLabel": {"rotate": 30}},
        "yAxis": {"type": "value", "name": unit},
        "series": [{"type": "bar", "data": [_num(v) for v in values], "name": unit}],
    }
    return json.dumps(option, ensure_ascii=False)


def pie(title: str, items: Sequence[tuple[str, Any]]) -> str:
    option = {
        "color": PALETTE,
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "series": [
            {
                "type": "pie",
                "radius": ["35%", "65%"],
                "data": [{"name": k, "value": _num(v)} for k, v in items],
            }
        ],
    }
    return json.dumps(option, ensure_ascii=False)


def line(
    title: str, labels: Sequence[str], series: dict[str, Sequence[Any]], unit: str = "万元"
) -> str:
    option = {
        "color": PALETTE,
        "title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 60, "right": 16, "bottom": 50, "top": 40},
        "xAxis": {"type": "category", "data": list(labels)},
        "yAxis": {"type": "value", "name": unit},
        "series": [
            {"type": "line", "name": name, "data": [_num(v) for v in values], "smooth": False}
            for name, values in series.items()
        ],
    }
    return json.dumps(option, ensure_ascii=False)
