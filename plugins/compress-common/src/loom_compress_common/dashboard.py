"""Context pressure over a run, from its events: a terminal chart and an HTML page.

Input is a run's events (``run.recorded``, or events read back from a
store or a JSONL log, as :class:`~loom.events.Event` objects or plain
dicts): ``observe.pressure`` gives each step's partitions and ρ,
``context.edited`` each compression (level, tokens before and after,
reason), ``context.edit_rejected`` each refused one.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PARTITIONS = ("system", "skill", "memory", "working", "history")
_GLYPHS = {"system": "S", "skill": "K", "memory": "M", "working": "W", "history": "H"}
_COLOURS = {
    "system": "#6b7280",
    "skill": "#a78bfa",
    "memory": "#60a5fa",
    "working": "#f59e0b",
    "history": "#10b981",
}


@dataclass
class StepPoint:
    """Pressure as observed at the end of one step."""

    step: int
    tokens: int
    budget: int
    pressure: float
    partitions: dict[str, int]


@dataclass
class EditMark:
    """One compression event (``rejected`` when the kernel refused it)."""

    step: int
    level: str
    before: int = 0
    after: int = 0
    reason: str = ""
    rejected: bool = False


@dataclass
class Timeline:
    """Steps and compression events of one run."""

    steps: list[StepPoint] = field(default_factory=list)
    edits: list[EditMark] = field(default_factory=list)


def _fields(event: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(event, dict):
        return str(event.get("kind", "")), dict(event.get("data", {}))
    return str(event.kind), dict(event.data)


def timeline(events: Iterable[Any]) -> Timeline:
    """Collect the pressure points and compression events from a run's events."""
    out = Timeline()
    step = 0
    for event in events:
        kind, data = _fields(event)
        if kind == "step.started":
            step = int(data.get("step", step))
        elif kind == "observe.pressure":
            out.steps.append(
                StepPoint(
                    int(data.get("step", step)),
                    int(data.get("tokens", 0)),
                    int(data.get("budget", 1)) or 1,
                    float(data.get("pressure", 0.0)),
                    {k: int(v) for k, v in dict(data.get("partitions", {})).items()},
                )
            )
        elif kind == "context.edited":
            out.edits.append(
                EditMark(
                    step,
                    str(data.get("level", "")),
                    int(data.get("tokens_before", 0)),
                    int(data.get("tokens_after", 0)),
                    str(data.get("reason", "")),
                )
            )
        elif kind == "context.edit_rejected":
            out.edits.append(
                EditMark(
                    step, str(data.get("level", "")), reason=str(data.get("violation", "")), rejected=True
                )
            )
    return out


def _k(tokens: int) -> str:
    return f"{tokens / 1000:.1f}k" if abs(tokens) >= 1000 else str(tokens)


def render_terminal(events: Iterable[Any], width: int = 50) -> str:
    """A text chart: one row per step (partitions as a bar against the budget, ρ, edits)."""
    data = timeline(events)
    legend = " ".join(f"{g}={p}" for p, g in _GLYPHS.items())
    lines = [f"context pressure ρ per step ({legend}; | = budget)", ""]
    marks: dict[int, list[EditMark]] = {}
    for mark in data.edits:
        marks.setdefault(mark.step, []).append(mark)
    for point in data.steps:
        bar = ""
        for name in PARTITIONS:
            share = point.partitions.get(name, 0) / point.budget
            bar += _GLYPHS[name] * round(share * width)
        bar = (bar[:width] + "|" + bar[width:]) if len(bar) > width else bar.ljust(width) + "|"
        notes = ", ".join(
            f"{m.level} {'rejected' if m.rejected else '−' + _k(m.before - m.after)}"
            for m in marks.get(point.step, [])
        )
        lines.append(f"{point.step:>4} ρ={point.pressure:4.2f} {bar} {notes}".rstrip())
    if data.edits:
        lines += ["", "compressions:"]
        for mark in data.edits:
            if mark.rejected:
                lines.append(f"  step {mark.step:>3} {mark.level:<9} rejected: {mark.reason}")
            else:
                lines.append(
                    f"  step {mark.step:>3} {mark.level:<9} {_k(mark.before)} → {_k(mark.after)} "
                    f"tokens: {mark.reason}"
                )
    return "\n".join(lines)


def render_html(events: Iterable[Any], title: str = "Context pressure") -> str:
    """A self-contained HTML page: stacked partitions per step, the ρ line, and every compression."""
    data = timeline(events)
    bar_w, height, pad = 14, 240, 40
    width = pad * 2 + bar_w * max(1, len(data.steps))
    top = max([1.0, *(p.pressure for p in data.steps)]) * 1.1
    shapes: list[str] = []

    def y(rho: float) -> float:
        return pad + height * (1 - rho / top)

    for i, point in enumerate(data.steps):
        x = pad + i * bar_w
        base = 0.0
        for name in PARTITIONS:
            share = point.partitions.get(name, 0) / point.budget
            if share <= 0:
                continue
            shapes.append(
                f'<rect x="{x}" y="{y(base + share):.1f}" width="{bar_w - 2}" '
                f'height="{y(base) - y(base + share):.1f}" fill="{_COLOURS[name]}">'
                f"<title>step {point.step} {name}: {point.partitions.get(name, 0)} tokens</title></rect>"
            )
            base += share
    line = " ".join(
        f"{pad + i * bar_w + bar_w / 2:.1f},{y(p.pressure):.1f}" for i, p in enumerate(data.steps)
    )
    if line:
        shapes.append(f'<polyline points="{line}" fill="none" stroke="#111827" stroke-width="1.5"/>')
    shapes.append(
        f'<line x1="{pad}" x2="{width - pad}" y1="{y(1.0):.1f}" y2="{y(1.0):.1f}" '
        'stroke="#dc2626" stroke-dasharray="4 3"><title>budget (ρ = 1)</title></line>'
    )
    index = {p.step: i for i, p in enumerate(data.steps)}
    for mark in data.edits:
        position = index.get(mark.step)
        if position is not None:
            cx = pad + position * bar_w + bar_w / 2
            colour = "#dc2626" if mark.rejected else "#1d4ed8"
            shapes.append(
                f'<circle cx="{cx:.1f}" cy="{pad - 10}" r="4" fill="{colour}"><title>'
                f"{html.escape(mark.level)}: {html.escape(mark.reason)}</title></circle>"
            )
    rows = "".join(
        f"<tr><td>{m.step}</td><td>{html.escape(m.level)}</td>"
        f"<td>{'rejected' if m.rejected else f'{m.before} → {m.after}'}</td>"
        f"<td>{html.escape(m.reason)}</td></tr>"
        for m in data.edits
    )
    legend = " ".join(f'<span style="color:{_COLOURS[p]}">■</span> {p}' for p in PARTITIONS)
    return (
        f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{legend} — line: ρ; dashed: budget; dots: compressions</p>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + pad * 2}">'
        f"{''.join(shapes)}</svg>"
        "<h2>Compressions</h2><table><tr><th>step</th><th>level</th><th>tokens</th><th>reason</th></tr>"
        f"{rows}</table></body></html>\n"
    )
