"""Finding finished spans in a history."""

from __future__ import annotations

import re

from loom.messages import Message
from loom_compress_common.facts import is_error_output
from loom_compress_common.history import Unit, is_kept_user, units
from loom_compress_common.stubs import is_compressed

DONE = re.compile(
    r"(?i)\b(?:done|completed?|finished|fixed|resolved|works now|that works|implemented|"
    r"(?:all |the )?tests? (?:now )?pass(?:es|ed|ing)?|passing now)\b"
)


def _outcomes(message: Message, following: Message | None) -> tuple[set[str], set[str]]:
    """Signatures of the calls in ``message`` that succeeded, and of those that failed."""
    ok: set[str] = set()
    failed: set[str] = set()
    if following is None or following.role != "tool":
        return ok, failed
    by_id = {c.id: c for c in message.tool_calls}
    for result in following.tool_results:
        call = by_id.get(result.call_id)
        if call is not None:
            signature = call.name + repr(sorted(call.arguments.items()))
            (failed if is_error_output(result.content, result.is_error) else ok).add(signature)
    return ok, failed


def finished_spans(history: list[Message], end: int, min_messages: int) -> list[tuple[int, int]]:
    """``(start, stop)`` index ranges of finished spans in ``history[:end]``."""
    spans: list[tuple[int, int]] = []
    parts = units(history, end)
    segment: list[Unit] = []
    for unit in [*parts, None]:
        if unit is None or is_kept_user(history[unit.start]):
            spans.extend(_in_segment(history, segment, min_messages))
            segment = []
        else:
            segment.append(unit)
    return spans


def _in_segment(history: list[Message], segment: list[Unit], min_messages: int) -> list[tuple[int, int]]:
    ends: list[int] = []
    failing: dict[str, int] = {}
    for position, unit in enumerate(segment):
        message = history[unit.start]
        if message.role != "assistant":
            continue
        following = history[unit.start + 1] if unit.end - unit.start > 1 else None
        text = message.text_content
        if text and not is_compressed(text) and DONE.search(text):
            ends.append(position)
        succeeded, failed = _outcomes(message, following)
        for signature in succeeded:
            if signature in failing:
                ends.append(position)
                del failing[signature]
        for signature in failed:
            failing.setdefault(signature, position)
    spans = []
    start = 0
    for position in sorted(set(ends)):
        first, last = segment[start], segment[position]
        if last.end - first.start >= min_messages and not _all_digests(history, first.start, last.end):
            spans.append((first.start, last.end))
        start = position + 1
    return spans


def _all_digests(history: list[Message], start: int, stop: int) -> bool:
    return all(
        m.role == "assistant" and is_compressed(m.text_content) and not m.tool_calls
        for m in history[start:stop]
    )
