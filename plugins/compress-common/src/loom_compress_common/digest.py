"""Deterministic digests: what a span of history did, in a few lines.

:func:`span_digest` is what collapse leaves in place of a finished span (one
assistant message starting with a stub line). :func:`structured_summary`
is the no-model summary with the sections auto compaction asks a model for
(goal, user messages, decisions, files touched, errors and fixes, open
work); renewal uses it for its hand-off note.
"""

from __future__ import annotations

from loom.context import ContextWindow
from loom.messages import Message

from loom_compress_common.facts import decisions_in, is_error_output
from loom_compress_common.history import calls_by_id, is_kept_user, is_mutating, path_argument
from loom_compress_common.stubs import STUB_PREFIX, describe_call, is_compressed, is_stub, refs_in

SECTIONS = ("Goal", "User messages", "Decisions", "Files touched", "Errors and fixes", "Open work")


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _outcome(content: str, is_error: bool) -> str:
    if is_stub(content):
        refs = refs_in(content.split("\n", 1)[0])
        return f"(compressed earlier, ref {refs[0]})" if refs else "(compressed earlier)"
    lines = content.count("\n") + 1
    if is_error_output(content, is_error):
        last = [ln for ln in content.splitlines() if ln.strip()][-1:] or [""]
        return "error: " + _one_line(last[0], 120)
    return f"{lines} lines" if lines > 1 else _one_line(content, 80)


def span_lines(messages: list[Message], width: int = 160) -> list[str]:
    """One line per thing a span did: the agent's words, each call and its outcome, notes."""
    calls = calls_by_id(messages)
    results = {r.call_id: r for m in messages if m.role == "tool" for r in m.tool_results}
    lines: list[str] = []
    for message in messages:
        if message.role == "assistant":
            text = message.text_content
            if text:
                lines.append(("- " if is_compressed(text) else "- said: ") + _one_line(text, width))
            for call in message.tool_calls:
                result = results.get(call.id)
                outcome = _outcome(result.content, result.is_error) if result else "no result"
                lines.append(f"- {describe_call(call.name, call.arguments, 70)} → {outcome}")
        elif message.role == "user":
            lines.append(f"- note: {_one_line(message.text_content, 100)}")
        elif message.role == "tool":
            for result in message.tool_results:
                if result.call_id not in calls:
                    lines.append(f"- result of {result.name or 'a tool'}: {_one_line(result.content, 80)}")
    return lines


def fit(lines: list[str], max_chars: int) -> list[str]:
    """Keep the first and last lines that fit in ``max_chars``, noting how many were left out."""
    if sum(len(x) + 1 for x in lines) <= max_chars:
        return lines
    head: list[str] = []
    tail: list[str] = []
    used = 48
    i, j = 0, len(lines) - 1
    from_head = True
    while i <= j:
        take = lines[i] if from_head else lines[j]
        if used + len(take) + 1 > max_chars:
            break
        used += len(take) + 1
        if from_head:
            head.append(take)
            i += 1
        else:
            tail.insert(0, take)
            j -= 1
        from_head = not from_head
    return [*head, f"- … {j - i + 1} more lines in the restore reference", *tail]


def span_digest(messages: list[Message], restore_ref: str, max_chars: int = 1500) -> str:
    """The text of a collapsed span: a stub line, then what the span did."""
    calls = sum(len(m.tool_calls) for m in messages)
    head = (
        f"{STUB_PREFIX}collapsed: {len(messages)} messages, {calls} tool calls; "
        f'restore: context_restore(ref="{restore_ref}")]'
    )
    return "\n".join([head, *fit(span_lines(messages), max_chars)])


def structured_summary(
    window: ContextWindow, messages: list[Message], *, ledger_text: str = "", max_chars: int = 4000
) -> str:
    """A summary with the six sections, built without a model."""
    users = [m.text_content for m in messages if is_kept_user(m)]
    decisions = [f.text for m in messages if m.role == "assistant" for f in decisions_in(m.text_content)]
    files: list[str] = []
    for message in messages:
        for call in message.tool_calls:
            path = path_argument(call.arguments)
            if path and is_mutating(window, call.name) and path not in files:
                files.append(path)
    errors = [ln[len("- error: ") :] for ln in ledger_text.splitlines() if ln.startswith("- error: ")]
    if not errors:
        errors = [ln[2:] for ln in span_lines(messages) if " → error: " in ln]
    said = [
        m.text_content
        for m in messages
        if m.role == "assistant" and m.text_content and not is_compressed(m.text_content)
    ]
    share = max(200, max_chars // 6)
    body = {
        "Goal": [_one_line(window.goal, 400)] if window.goal else ["(see the first user message)"],
        "User messages": [f"> {_one_line(u, 300)}" for u in users] or ["(none in this part)"],
        "Decisions": [f"- {_one_line(d, 200)}" for d in dict.fromkeys(decisions)] or ["(none recorded)"],
        "Files touched": [", ".join(files)] if files else ["(none)"],
        "Errors and fixes": [f"- {_one_line(e, 240)}" for e in errors] or ["(none)"],
        "Open work": [_one_line(said[-1], 400)] if said else ["(continue from the latest turn)"],
    }
    parts = [f"## {name}\n" + "\n".join(fit(body[name], share)) for name in SECTIONS]
    return "\n\n".join(parts)


def transcript(messages: list[Message], max_chars: int) -> str:
    """A compact transcript for a summarising model: user messages in full, the
    rest one line per action, fitted to ``max_chars``."""
    lines: list[str] = []
    for i, message in enumerate(messages):
        if is_kept_user(message):
            lines.append(f"- user: {_one_line(message.text_content, 2000)}")
        elif message.role == "assistant" and is_compressed(message.text_content) and not message.tool_calls:
            lines.append(message.text_content[:6000])
        elif message.role == "assistant":
            answer = messages[i + 1 : i + 2] if message.tool_calls else []
            lines.extend(span_lines([message, *[m for m in answer if m.role == "tool"]], 300))
    return "\n".join(fit(lines, max_chars))
