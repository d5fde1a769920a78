"""The ``context_restore`` tool: the agent reads back what compression moved out.

Every stub and ledger line carries a restore reference (``"ab12cd34ef56/3"``);
renewal's hand-off note carries the reference of the whole checkpoint. The
tool renders the stored item as text, optionally filtered by ``grep`` and
paged by ``offset``/``limit``.
"""

from __future__ import annotations

from typing import Any

from loom.messages import Message
from loom.tools import tool

from loom_compress_common.store import RestoreError, RestoreStore
from loom_compress_common.stubs import describe_call, refs_in

_MAX_FOLLOWED = 500


def render_messages(messages: list[dict[str, Any]]) -> str:
    """Dumped messages as readable text, one block per message."""
    out = []
    for raw in messages:
        message = Message.model_validate(raw)
        if message.role == "tool":
            for result in message.tool_results:
                flag = " (error)" if result.is_error else ""
                out.append(f"[result of {result.name or result.call_id}{flag}]\n{result.content}")
            continue
        text = message.text_content
        if text:
            out.append(f"[{message.role}]\n{text}")
        for call in message.tool_calls:
            out.append(f"[call] {describe_call(call.name, call.arguments, 400)}")
    return "\n\n".join(out)


def render_item(item: dict[str, Any]) -> str:
    """A stored item (tool result, messages, checkpoint) as text."""
    kind = item.get("kind")
    if kind == "tool_result":
        head = describe_call(str(item.get("tool", "tool")), dict(item.get("arguments") or {}), 400)
        return f"[result of {head}]\n{item.get('content', '')}"
    if kind == "messages":
        return render_messages(list(item.get("messages", [])))
    if kind == "checkpoint":
        window = dict(item.get("window", {}))
        pinned = "\n\n".join(f"# {k}\n{v}" for k, v in dict(window.get("pinned", {})).items())
        return "\n\n".join(x for x in (pinned, render_messages(list(window.get("history", [])))) if x)
    return str(item.get("content", item))


def restore_text(
    store: RestoreStore, ref: str, *, grep: str = "", offset: int = 0, limit: int = 12_000
) -> str:
    """What ``context_restore`` answers for one reference.

    With ``grep``, the lines containing it are searched for in the item and in
    every item its own restore references lead to (a checkpoint holds stubs of
    content compressed before it), each line marked with the reference it came
    from when that is not ``ref`` itself.
    """
    text = render_item(store.get(ref))
    if grep:
        needle = grep.lower()
        found: list[str] = []
        seen = {ref}
        pending = [(ref, text)]
        while pending and len(seen) <= _MAX_FOLLOWED:
            current, body = pending.pop(0)
            for line in body.splitlines():
                if needle in line.lower():
                    found.append(line if current == ref else f"[{current}] {line}")
            for nested in refs_in(body):
                if nested not in seen:
                    seen.add(nested)
                    try:
                        pending.append((nested, render_item(store.get(nested))))
                    except RestoreError:
                        continue
        text = "\n".join(found) if found else f"(no line of {ref} or what it refers to contains {grep!r})"
    page = text[offset : offset + limit]
    rest = len(text) - offset - len(page)
    if rest > 0:
        page += f"\n[{rest} more characters: call again with offset={offset + len(page)}]"
    return page


@tool(name="context_restore", effects={"read"}, idempotent=True, output_cap=None)  # type: ignore[untyped-decorator]
def context_restore(ref: str, run: Any, grep: str = "", offset: int = 0, limit: int = 12_000) -> str:
    """Bring back content that context compression moved out of your context window.

    Args:
        ref: the restore reference shown in a stub, the fact ledger or the hand-off note,
            e.g. "ab12cd34ef56/3".
        grep: return only the lines containing this text (case-insensitive), searching
            everything the reference leads to as well.
        offset: the character to start from, for long content.
        limit: the most characters to return.
    """
    try:
        return restore_text(
            RestoreStore.for_run(run),
            ref,
            grep=grep,
            offset=max(0, offset),
            limit=max(200, min(limit, 50_000)),
        )
    except RestoreError as exc:
        return f"context_restore: {exc}"
