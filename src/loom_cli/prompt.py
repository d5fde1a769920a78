"""Asking a person on the terminal to approve a tool call.

Answers are read from standard input by a daemon thread, so the event loop
never blocks on the keyboard. When stdin is not a terminal, answers are read
line by line from it all the same (scripts can pipe them in); once it is
closed or at its end, every further approval is denied with a reason that
says so, unless ``--yes`` approves them all.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import IO

from loom.approvals import Approval
from loom.events import Event

APPROVE = {"y", "yes", "o", "once"}
ALWAYS = {"a", "always"}
DENY = {"n", "no", "d", "deny"}
NO_INPUT_REASON = ("no answer: standard input is closed or at its end, so nobody could approve "
                   "this call (run with --yes to approve automatically)")


class StdinLines:
    """Lines of a text stream, delivered to the event loop by a daemon thread.

    The thread starts on the first request and reads ahead until the end of
    the stream; ``None`` marks that end.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        self.stream = stream
        self._queue: asyncio.Queue[str | None] | None = None
        self._ended = False

    def _start(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        stream = self.stream

        def deliver(item: str | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone: the command has finished
                pass

        def reader() -> None:
            while True:
                try:
                    line = stream.readline() if stream is not None else ""
                except (OSError, ValueError):
                    line = ""
                if not line:
                    deliver(None)
                    return
                deliver(line.rstrip("\r\n"))

        threading.Thread(target=reader, name="loom-stdin", daemon=True).start()
        return queue

    async def next_line(self) -> str | None:
        """The next line, or None when the stream is closed or at its end."""
        if self._ended or self.stream is None:
            return None
        if self._queue is None:
            self._queue = self._start()
        line = await self._queue.get()
        if line is None:
            self._ended = True
        return line


class ApprovalPrompter:
    """Decides approval requests: ``--yes``, or a question on the terminal."""

    def __init__(self, *, auto_yes: bool, stdin: IO[str] | None = None,
                 out: IO[str] | None = None) -> None:
        self.auto_yes = auto_yes
        self.lines = StdinLines(stdin if stdin is not None else sys.stdin)
        self.out = out if out is not None else sys.stderr
        self.interactive = bool(getattr(self.lines.stream, "isatty", lambda: False)())
        self._lock = asyncio.Lock()

    def _say(self, text: str, end: str = "\n") -> None:
        print(text, end=end, file=self.out, flush=True)

    async def _ask(self, question: str) -> str | None:
        self._say(question, end="")
        answer = await self.lines.next_line()
        if not self.interactive:
            self._say(answer if answer is not None else "(no input)")
        return answer

    async def decide(self, approvals: list[Approval], event: Event) -> None:
        """Answer the approval named by an ``approval.requested`` event."""
        approval = next((a for a in approvals if a.id == event.data.get("approval_id")), None)
        if approval is None:
            return
        async with self._lock:
            if not approval.pending:
                return
            if self.auto_yes:
                self._say(f"  approving {approval.tool} automatically (--yes)")
                _settle(approval, "approve", by="cli --yes")
                return
            for _ in range(3):
                answer = await self._ask("  Allow this call? [y] yes once, [a] always, "
                                         "[n] no: ")
                if answer is None:
                    _settle(approval, "deny", reason=NO_INPUT_REASON)
                    return
                choice = answer.strip().lower()
                if choice in APPROVE or choice in ALWAYS:
                    _settle(approval, "approve", always=choice in ALWAYS)
                    return
                if choice in DENY:
                    reason = await self._ask("  Reason, told to the agent (Enter for none): ")
                    _settle(approval, "deny", reason=(reason or "").strip()
                            or "denied at the terminal")
                    return
                self._say("  Please answer y (yes once), a (always) or n (no).")
            _settle(approval, "deny", reason="no valid answer at the terminal")


def _settle(approval: Approval, action: str, *, by: str = "terminal", always: bool = False,
            reason: str = "") -> None:
    try:
        if action == "approve":
            approval.approve(always=always, by=by)
        else:
            approval.deny(reason, by=by)
    except RuntimeError:  # decided meanwhile (e.g. the approval timed out)
        pass
