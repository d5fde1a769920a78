"""The durable-store contract the loop commits to.

A store plugin registers a :class:`~loom.records.StoreRecord` whose factory
returns an object implementing :class:`RunStore`. ``[stages] store`` selects
it (default: the only installed store; ``"none"`` turns persistence off).

The kernel commits every step before the next one begins: a
:class:`Checkpoint` (the context window, usage, step, phase) together with
the events recorded since the last commit, in one call. Tool calls are
bracketed by :meth:`RunStore.tool_call_started` and
:meth:`RunStore.tool_call_finished` under an idempotency key
(``"<run_id>:<call_id>"``), so a resumed run never executes a completed call
again and reports a call that started but never finished as interrupted.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from loom.events import Event

Phase = Literal["started", "acting", "ready", "finished"]


class RunInfo(BaseModel):
    """What identifies a run and how it was configured."""

    run_id: str
    session_id: str
    goal: str
    profile: dict[str, Any] = Field(default_factory=dict)
    status: str = "running"
    output: str = ""
    reason: str = ""
    error: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    parent_id: str | None = None


class Checkpoint(BaseModel):
    """The state of a run at a step boundary.

    ``phase`` is ``"acting"`` when the model's answer is recorded but its tool
    calls may not all have run; ``"ready"`` when the step finished.
    ``window`` is :meth:`loom.context.ContextWindow.snapshot`.
    """

    run_id: str
    step: int
    phase: Phase
    window: dict[str, Any]
    usage: dict[str, Any] = Field(default_factory=dict)
    output: str = ""
    event_seq: int = 0
    response: dict[str, Any] | None = None


class ToolCallState(BaseModel):
    """What the store knows about one tool call."""

    key: str
    status: Literal["started", "completed"]
    result: dict[str, Any] | None = None


class StoredRun(BaseModel):
    """Everything needed to resume or replay a run."""

    info: RunInfo
    checkpoint: Checkpoint | None = None
    events: list[Event] = Field(default_factory=list)
    responses: list[dict[str, Any]] = Field(default_factory=list)
    approvals: list[dict[str, Any]] = Field(default_factory=list)


@runtime_checkable
class RunStore(Protocol):
    """Durable storage for runs. Every method commits before it returns."""

    async def open(self) -> None:
        """Connect, migrate, and check the schema (newer or corrupt → a clear error)."""

    async def close(self) -> None:
        """Release connections."""

    async def create_run(self, info: RunInfo) -> None:
        """Record a new run (or a resumed one: an upsert)."""

    async def commit_step(self, checkpoint: Checkpoint, events: list[Event]) -> None:
        """Save a checkpoint and the events recorded since the last commit, atomically.

        ``checkpoint.response`` (when set) is the model response of that step,
        kept for replay.
        """

    async def finish_run(self, info: RunInfo, events: list[Event]) -> None:
        """Record how the run ended, with its last events."""

    async def tool_call_started(self, key: str, run_id: str, call: dict[str, Any]) -> None:
        """Mark a tool call as started (before it runs)."""

    async def tool_call_finished(self, key: str, result: dict[str, Any]) -> None:
        """Mark a tool call as completed with its result."""

    async def tool_call_state(self, key: str) -> ToolCallState | None:
        """What is known of a tool call, or None."""

    async def save_approval(self, run_id: str, approval: dict[str, Any]) -> None:
        """Save (or update) an approval: id, call_id, tool, arguments, reason, status."""

    async def save_artifact(self, run_id: str, name: str, media_type: str, digest: str,
                            data: bytes) -> None:
        """Save an artifact's bytes, content-addressed by ``digest``."""

    async def load_run(self, run_id: str) -> StoredRun | None:
        """Everything stored about a run, or None."""

    async def list_runs(self, limit: int = 50) -> list[RunInfo]:
        """The most recent runs first."""
