"""Pending approvals: an ``ask`` verdict pauses the run until a person decides."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, Literal

from loom.verdicts import Verdict

ApprovalStatus = Literal["pending", "approved", "denied", "expired"]


class Approval:
    """One pending decision about one proposed tool call.

    ``approve()`` and ``deny()`` may be called from any thread (a CLI prompt,
    a web handler). ``always=True`` on approve asks permission plugins to save
    an "always allow" rule for this pattern (see ``loom_approval_resolved``).
    """

    def __init__(self, *, call_id: str, tool: str, arguments: dict[str, Any],
                 verdict: Verdict, run_id: str = "") -> None:
        self.id = uuid.uuid4().hex[:12]
        self.run_id = run_id
        self.call_id = call_id
        self.tool = tool
        self.arguments = arguments
        self.verdict = verdict
        self.reason = verdict.reason
        self.risk = verdict.risk
        self.status: ApprovalStatus = "pending"
        self.decided_by = ""
        self.decision_reason = ""
        self.always = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._decided = asyncio.Event()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Approval {self.id} {self.tool}({self.arguments}) {self.status}: {self.reason}>"

    @property
    def pending(self) -> bool:
        """Whether nobody has decided yet."""
        return self.status == "pending"

    def approve(self, *, always: bool = False, by: str = "api", reason: str = "") -> None:
        """Let the call run; ``always`` asks for a saved allow rule."""
        self._decide("approved", by, reason, always)

    def deny(self, reason: str = "denied by a person", *, by: str = "api") -> None:
        """Refuse the call; ``reason`` is what the model is told."""
        self._decide("denied", by, reason, False)

    def _decide(self, status: ApprovalStatus, by: str, reason: str, always: bool) -> None:
        with self._lock:
            if self.status != "pending":
                raise RuntimeError(f"approval {self.id} was already {self.status}")
            self.status, self.decided_by, self.decision_reason = status, by, reason
            self.always = always
        loop = self._loop
        if loop is not None and loop.is_running() and not _in_loop(loop):
            loop.call_soon_threadsafe(self._decided.set)
        else:
            self._decided.set()

    async def wait(self, timeout: float | None = None, on_timeout: str = "deny") -> bool:
        """Wait for a decision; returns True when approved.

        After ``timeout`` seconds the approval expires and ``on_timeout``
        (``"deny"`` or ``"allow"``) decides.
        """
        self._loop = asyncio.get_running_loop()
        if self.status == "pending":
            try:
                await asyncio.wait_for(self._decided.wait(), timeout)
            except TimeoutError:
                with self._lock:
                    if self.status == "pending":
                        self.status = "expired"
                        self.decided_by = "timeout"
                        self.decision_reason = f"no decision within {timeout}s"
                if self.status == "expired":
                    return on_timeout == "allow"
        return self.status == "approved"


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
