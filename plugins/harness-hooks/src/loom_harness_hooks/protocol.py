"""What a hook may answer, and how an answer is read (never leniently).

A command hook answers with its exit code and standard output:

| exit code | standard output | read as |
|---|---|---|
| 0 | empty | allow |
| 0 | a JSON object with ``decision`` allow, deny or ask | that decision |
| 0 | anything else (``deny``, garbage, a JSON list...) | deny: not a valid answer |
| 2 | anything | deny (standard error, or the JSON ``reason``, is the reason) |
| other | anything | an error: ``on_error`` decides |

The JSON object may also carry ``reason`` (a string), ``arguments`` (an
object: the tool call's new arguments, before the call) and ``result`` (a
string: the new tool output, after the call). Any other key, or a value of
the wrong type, makes the answer invalid (deny).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

Decision = Literal["allow", "ask", "deny"]
KEYS = frozenset({"decision", "reason", "arguments", "result"})


@dataclass(frozen=True, slots=True)
class Answer:
    """One hook's answer. ``error`` is set when the hook failed rather than answered."""

    decision: Decision
    reason: str = ""
    arguments: dict[str, Any] | None = None
    result: str | None = None
    error: bool = False


def invalid(what: str, text: str) -> Answer:
    """The deny answer for something that is not a valid answer."""
    shown = text.strip().replace("\n", " ")[:200]
    return Answer("deny", f"the hook's answer is not valid ({what}): {shown!r}; denied to stay safe")


def read_object(data: Any, text: str = "") -> Answer:
    """Read a decoded JSON object (or a callable's dict) strictly."""
    if not isinstance(data, dict):
        return invalid(f"expected a JSON object, got {type(data).__name__}", text or repr(data))
    unknown = set(data) - KEYS
    if unknown:
        return invalid(f"unknown keys {sorted(unknown)}", text or repr(data))
    decision = data.get("decision")
    if decision not in ("allow", "ask", "deny"):
        return invalid("decision must be \"allow\", \"deny\" or \"ask\"", text or repr(data))
    reason = data.get("reason", "")
    arguments = data.get("arguments")
    result = data.get("result")
    if not isinstance(reason, str):
        return invalid("reason must be a string", text or repr(data))
    if arguments is not None and not isinstance(arguments, dict):
        return invalid("arguments must be a JSON object", text or repr(data))
    if result is not None and not isinstance(result, str):
        return invalid("result must be a string", text or repr(data))
    return Answer(decision, reason, arguments, result)


def read_output(returncode: int, stdout: str, stderr: str, on_error: Decision) -> Answer:
    """Read a command hook's exit code and output."""
    if returncode == 2:
        reason = stderr.strip()
        try:
            data = json.loads(stdout)
            if isinstance(data, dict) and isinstance(data.get("reason"), str):
                reason = data["reason"] or reason
        except ValueError:
            pass
        return Answer("deny", reason[:500] or "the hook exited with code 2 (deny)")
    if returncode != 0:
        tail = (stderr.strip() or stdout.strip())[-300:]
        return Answer(on_error, f"the hook failed with exit code {returncode}"
                                f"{': ' + tail if tail else ''}", error=True)
    if not stdout.strip():
        return Answer("allow", "the hook exited 0 without objection")
    try:
        data = json.loads(stdout)
    except ValueError:
        return invalid("not JSON", stdout)
    return read_object(data, stdout)


def read_value(value: Any) -> Answer | None:
    """Read what a callable hook returned: None (no opinion), a dict, or a Verdict."""
    if value is None:
        return None
    decision = getattr(value, "decision", None)
    if decision is not None and not isinstance(value, dict):
        return read_object({"decision": decision, "reason": getattr(value, "reason", "") or "",
                            **({"arguments": value.arguments}
                               if getattr(value, "arguments", None) is not None else {})})
    return read_object(value)
