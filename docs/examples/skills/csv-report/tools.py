"""The ``csv-report`` skill's tool: numbers about a CSV file of the workspace."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from loom.errors import ToolError
from loom.tools import tool


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


@tool(effects={"read"}, idempotent=True)
def csv_summary(path: str, run: Any = None) -> str:
    """Summarise a CSV file: rows, and per column the filled count and numeric statistics.

    Args:
        path: the CSV file, relative to the workspace.
    """
    root = Path(run.runtime.workspace if run is not None else ".").resolve()
    file = (root / path).resolve()
    if root not in file.parents:
        raise ToolError(f"{path!r} is outside the workspace")
    if not file.is_file():
        raise ToolError(f"no file {path!r} in the workspace")
    with file.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    columns: dict[str, dict[str, Any]] = {}
    for name in rows[0].keys() if rows else []:
        values = [(row.get(name) or "").strip() for row in rows]
        filled = [v for v in values if v]
        numbers = [n for n in map(_number, filled) if n is not None]
        column: dict[str, Any] = {"filled": len(filled)}
        if filled and len(numbers) == len(filled):
            column.update(total=round(sum(numbers), 6), mean=round(sum(numbers) / len(numbers), 6),
                          min=min(numbers), max=max(numbers))
        columns[name] = column
    return json.dumps({"file": path, "rows": len(rows), "columns": columns})
