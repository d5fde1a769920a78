"""Turn run events into short, readable lines.

:class:`EventFormatter` knows every event kind the kernel emits
(:data:`loom.events.EVENT_KINDS`); kinds added by plugins are shown from
verbosity 2 as ``kind key=value …``. Lines are plain ASCII; colour (ANSI) is
optional.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from loom.events import Event

_COLORS = {"dim": "2", "bold": "1", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with ``...``."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: max(0, limit - 3)] + "..."


def short_args(arguments: Mapping[str, Any] | None, limit: int = 60) -> str:
    """Tool arguments as ``key=value, …``, each value and the whole cut to ``limit``."""
    if not arguments:
        return ""
    parts = []
    for key, value in arguments.items():
        shown = json.dumps(value, ensure_ascii=False, default=str)
        parts.append(f"{key}={shorten(shown, max(10, limit // 2))}")
    return shorten(", ".join(parts), limit)


def _int(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


class EventFormatter:
    """Formats one event as a line (or None when hidden at this verbosity).

    ``verbosity`` is 0–3 (see :class:`~loom_events_console.settings.ConsoleSettings`);
    ``show_output`` adds the final answer to the ``run.finished`` line (a
    command line that prints the answer itself turns it off).
    """

    def __init__(self, verbosity: int = 1, *, color: bool = False, arg_chars: int = 60,
                 show_output: bool = True) -> None:
        self.verbosity = verbosity
        self.color = color
        self.arg_chars = arg_chars
        self.show_output = show_output
        self._kinds: dict[str, tuple[int, Callable[[dict[str, Any]], str | None]]] = {
            "run.started": (0, self._run_started),
            "run.finished": (0, self._run_finished),
            "run.resumed": (0, lambda d: self._paint(
                "bold", f"run resumed after step {d.get('step')} (phase {d.get('phase')})")),
            "run.stopping": (0, lambda d: self._paint(
                "yellow", f"stopping: {d.get('reason', '')}")),
            "step.started": (1, lambda d: self._paint("bold", f"step {d.get('step')}")),
            "step.finished": (2, lambda d: self._paint(
                "dim", f"  step {d.get('step')} done, {d.get('tool_calls', 0)} tool call(s)")),
            "reason.started": (3, lambda d: self._paint(
                "dim", f"  reasoning over {d.get('messages')} messages, {d.get('tools')} tools")),
            "reason.finished": (2, self._reason_finished),
            "reason.delta": (3, lambda d: self._paint("dim", f"  ~ {d.get('text', '')}")),
            "act.proposed": (1, lambda d: self._paint(
                "cyan", f"  -> {d.get('tool')}({short_args(d.get('arguments'), self.arg_chars)})")),
            "act.verdict": (1, self._verdict),
            "act.finished": (1, self._act_finished),
            "approval.requested": (0, self._approval_requested),
            "approval.resolved": (0, self._approval_resolved),
            "subagent.started": (0, lambda d: self._paint(
                "bold", f"  >> sub-agent {d.get('child')} started ({d.get('mode')} mode, "
                        f"at most {d.get('max_steps')} steps): {shorten(str(d.get('goal', '')), 120)}")),
            "subagent.finished": (0, self._subagent_finished),
            "observe.pressure": (1, self._pressure),
            "context.edited": (1, self._context_edited),
            "context.edit_rejected": (0, lambda d: self._paint(
                "red", f"  !! compression {d.get('level')} rejected: {d.get('violation')}")),
            "delta.injected": (1, lambda d: self._paint(
                "yellow", f"  delta [{d.get('source')}]: {shorten(d.get('text', ''), 160)}")),
            "artifact.attached": (1, lambda d: (
                f"  + artifact {d.get('name')} ({d.get('media_type')}, "
                f"{_int(d.get('size'))} bytes)")),
            "plugin.error": (0, lambda d: self._paint(
                "red",
                f"  !! plugin {d.get('plugin')!r} failed in {d.get('hook')}: {d.get('error')}")),
            "provider.error": (0, lambda d: self._paint(
                "red", f"  !! provider {d.get('provider') or '?'}: {d.get('error')}"
                       f"{' (will retry)' if d.get('retryable') else ''}")),
        }

    @property
    def known_kinds(self) -> frozenset[str]:
        """Event kinds with a dedicated format."""
        return frozenset(self._kinds)

    def format(self, event: Event) -> str | None:
        """The line for ``event``, or None when hidden at this verbosity."""
        level, render = self._kinds.get(event.kind, (2, None))
        if event.kind == "act.verdict" and event.data.get("decision") == "allow":
            level = 2
        if self.verbosity < level:
            return None
        if render is None:
            return self._generic(event)
        return render(event.data)

    # --------------------------------------------------------------- helpers

    def _paint(self, style: str, text: str) -> str:
        if not self.color:
            return text
        return f"\x1b[{_COLORS[style]}m{text}\x1b[0m"

    def _generic(self, event: Event) -> str:
        fields = ", ".join(f"{k}={shorten(json.dumps(v, default=str), 40)}"
                           for k, v in event.data.items())
        return self._paint("dim", f"  {event.kind} {fields}".rstrip())

    def _run_started(self, d: dict[str, Any]) -> str:
        return self._paint("bold", f"run started: {shorten(d.get('goal', ''), 200)} "
                                   f"(profile {d.get('profile')}, mode {d.get('mode')})")

    def _run_finished(self, d: dict[str, Any]) -> str:
        status = str(d.get("status"))
        why = d.get("error") or d.get("reason") or ""
        line = f"run {status} after {d.get('steps', 0)} step(s)" + (f": {why}" if why else "")
        if self.show_output and d.get("output"):
            line += f"\n{d['output']}"
        return self._paint("green" if status == "succeeded" else "red", line)

    def _reason_finished(self, d: dict[str, Any]) -> str:
        usage = d.get("usage") or {}
        line = (f"  model ({d.get('stop_reason')}): {_int(usage.get('input_tokens', 0))} in, "
                f"{_int(usage.get('output_tokens', 0))} out")
        if d.get("text"):
            line += f" | {shorten(d['text'], 160)}"
        return self._paint("dim", line)

    def _verdict(self, d: dict[str, Any]) -> str:
        decision = str(d.get("decision"))
        who = d.get("plugin") or d.get("tier") or "harness"
        rule = f" rule {d['rule']}" if d.get("rule") else ""
        reason = f": {d['reason']}" if d.get("reason") else ""
        style = {"allow": "dim", "ask": "yellow"}.get(decision, "red")
        return self._paint(style, f"     {decision} by {who}{rule}{reason}")

    def _act_finished(self, d: dict[str, Any]) -> str:
        status = "error" if d.get("is_error") else "ok"
        content = shorten(d.get("content", ""), self.arg_chars + 40)
        return self._paint("red" if d.get("is_error") else "dim",
                           f"  <- {d.get('tool')} {status}: {content}")

    def _approval_requested(self, d: dict[str, Any]) -> str:
        risk = d.get("risk") or 0
        risk_text = f", risk {float(risk):.2f}" if risk else ""
        asker = f" (sub-agent {d['subagent']})" if d.get("subagent") else ""
        return self._paint("yellow", f"  ?? approval needed{asker}: {d.get('tool')}("
                                     f"{short_args(d.get('arguments'), self.arg_chars)}) - "
                                     f"{d.get('reason')}{risk_text}")

    def _approval_resolved(self, d: dict[str, Any]) -> str:
        by = d.get("by") or "someone"
        if d.get("approved"):
            always = " (always)" if d.get("always") else ""
            return self._paint("green", f"  approved by {by}{always}")
        reason = f": {d['reason']}" if d.get("reason") else ""
        return self._paint("red", f"  denied by {by}{reason}")

    def _subagent_finished(self, d: dict[str, Any]) -> str:
        why = d.get("error") or d.get("reason")
        return self._paint("green" if d.get("status") == "succeeded" else "yellow",
                           f"  << sub-agent {d.get('child')} {d.get('status')} after "
                           f"{d.get('steps')} step(s){': ' + str(why) if why else ''}")

    def _pressure(self, d: dict[str, Any]) -> str:
        pressure = float(d.get("pressure") or 0.0)
        style = "red" if pressure >= 0.8 else "yellow" if pressure >= 0.5 else "dim"
        return self._paint(style, f"  context pressure {pressure:.2f} "
                                  f"({_int(d.get('tokens'))}/{_int(d.get('budget'))} tokens)")

    def _context_edited(self, d: dict[str, Any]) -> str:
        reason = f": {d['reason']}" if d.get("reason") else ""
        return self._paint("cyan", f"  compressed by {d.get('level')}: "
                                   f"{_int(d.get('tokens_before'))} -> "
                                   f"{_int(d.get('tokens_after'))} tokens{reason}")


def event_to_json(event: Event) -> str:
    """One event as a single JSON line (values JSON cannot hold become strings)."""
    return json.dumps(event.model_dump(), ensure_ascii=False, default=str)
