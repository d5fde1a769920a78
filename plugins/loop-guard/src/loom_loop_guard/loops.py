"""Loop detection over the sequence of tool calls of a run."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def signature(name: str, arguments: Mapping[str, Any]) -> str:
    """A call's identity: its tool name and canonical JSON arguments."""
    return f"{name}({json.dumps(arguments, sort_keys=True, default=str, ensure_ascii=False)})"


def _label(sig: str, limit: int = 80) -> str:
    return sig if len(sig) <= limit else sig[: limit - 3] + "..."


def find_loop(calls: Sequence[str], *, repeat_limit: int, max_cycle_length: int,
              cycle_repeats: int) -> str | None:
    """A reason when the tail of ``calls`` is a loop, else None.

    A loop is one call repeated ``repeat_limit`` times in a row, or a cycle
    of 2…``max_cycle_length`` calls (not all the same) repeated
    ``cycle_repeats`` times in a row.
    """
    if len(calls) >= repeat_limit and len(set(calls[-repeat_limit:])) == 1:
        return (f"loop detected: the same tool call {_label(calls[-1])} was made "
                f"{repeat_limit} times in a row")
    for period in range(2, max_cycle_length + 1):
        size = period * cycle_repeats
        if len(calls) < size:
            break
        tail = calls[-size:]
        cycle = tail[:period]
        if len(set(cycle)) == 1:
            continue
        if all(tail[i] == cycle[i % period] for i in range(size)):
            steps = " -> ".join(_label(c, 60) for c in cycle)
            return (f"loop detected: the cycle {steps} was repeated {cycle_repeats} times "
                    "in a row")
    return None
