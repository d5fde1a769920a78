"""Building small, exact histories for tests of compression levels.

::

    h = History("fix the build")
    h.tool("read_file", "x = 1", path="a.py")
    h.text("Done with a.py.")
    h.user("also keep Python 3.9 support")
    window.history = h.messages
"""

from __future__ import annotations

import itertools
from typing import Any

from loom.messages import Message, TextBlock, ToolCallBlock, ToolResultBlock

_IDS = itertools.count(1)


class History:
    """Appends well-formed turns: every call is answered by the next message (call ids
    are unique across every history built in the process)."""

    def __init__(self, goal: str = "the goal") -> None:
        self.messages: list[Message] = [Message.text("user", goal)]

    def _call(self, name: str, arguments: dict[str, Any]) -> ToolCallBlock:
        return ToolCallBlock(id=f"call_{next(_IDS)}", name=name, arguments=arguments)

    def tool(
        self, name: str, output: str, *, text: str = "", is_error: bool = False, **arguments: Any
    ) -> History:
        """One assistant turn calling ``name`` and its result."""
        return self.calls([(name, output, is_error, arguments)], text=text)

    def calls(self, calls: list[tuple[str, str, bool, dict[str, Any]]], *, text: str = "") -> History:
        """One assistant turn with several calls (``(name, output, is_error, arguments)``)."""
        blocks = [self._call(name, arguments) for name, _, _, arguments in calls]
        head: list[TextBlock | ToolCallBlock] = [TextBlock(text=text)] if text else []
        self.messages.append(Message(role="assistant", content=[*head, *blocks]))
        self.messages.append(
            Message(
                role="tool",
                content=[
                    ToolResultBlock(call_id=b.id, name=b.name, content=output, is_error=is_error)
                    for b, (_, output, is_error, _) in zip(blocks, calls, strict=True)
                ],
            )
        )
        return self

    def text(self, text: str) -> History:
        """An assistant message with text only."""
        self.messages.append(Message.text("assistant", text))
        return self

    def user(self, text: str, *, delta: bool = False) -> History:
        """A user message (``delta``: a Δ note the invariants let compression drop)."""
        self.messages.append(Message.text("user", text, **({"delta": True} if delta else {})))
        return self
