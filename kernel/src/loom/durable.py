"""Durable runs: commit each step to the selected store, resume after a crash.

:class:`Persistence` is the loop's link to a :class:`~loom.store.RunStore`.
Without a store every method is a no-op, so the loop pays nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from loom.messages import Message, ToolCallBlock, ToolResultBlock
from loom.plans import Plan
from loom.requests import ModelResponse, ToolSpec, Usage
from loom.store import Checkpoint, Phase, RunInfo, RunStore, StoredRun

if TYPE_CHECKING:
    from loom.approvals import Approval
    from loom.run import Artifact, Run, RunResult


class Persistence:
    """Commits a run's steps, tool calls, approvals and artifacts to a store."""

    def __init__(self, store: RunStore | None, run: Run) -> None:
        self.store = store
        self.run = run
        self.saved_events = 0
        self.resumed_from: StoredRun | None = None
        self._artifacts: list[Artifact] = []

    @property
    def enabled(self) -> bool:
        """Whether a store is selected."""
        return self.store is not None

    def info(self, result: RunResult | None = None) -> RunInfo:
        """The run's identity and outcome as stored."""
        run = self.run
        now = time.time()
        return RunInfo(
            run_id=run.id, session_id=run.session.id, goal=run.goal,
            profile=run.profile.model_dump(mode="json"),
            status=result.status if result else run.status,
            output=result.output if result else run.output,
            reason=result.reason if result else "", error=result.error if result else "",
            created_at=run.created_at, updated_at=now,
            parent_id=run.parent.id if run.parent is not None else None,
        )

    async def begin(self) -> None:
        """Record the run (an upsert on resume)."""
        if self.store is not None:
            await self.store.create_run(self.info())

    async def commit(self, phase: Phase, response: ModelResponse | None = None) -> None:
        """Save a checkpoint and the unsaved events in one commit."""
        if self.store is None:
            return
        run = self.run
        events = run.recorded[self.saved_events:]
        checkpoint = Checkpoint(
            run_id=run.id, step=run.step, phase=phase, window=run.window.snapshot(),
            usage=run.usage.model_dump(), output=run.output, event_seq=len(run.recorded),
            response=response.model_dump(mode="json") if response is not None else None,
        )
        await self.store.commit_step(checkpoint, events)
        self.saved_events = len(run.recorded)
        await self._flush_artifacts()

    async def finish(self, result: RunResult) -> None:
        """Record the outcome and the last events."""
        if self.store is None:
            return
        await self._flush_artifacts()
        await self.store.finish_run(self.info(result), self.run.recorded[self.saved_events:])
        self.saved_events = len(self.run.recorded)

    def artifact(self, artifact: Artifact) -> None:
        """Queue an artifact to be saved with the next commit."""
        if self.store is not None:
            self._artifacts.append(artifact)

    async def _flush_artifacts(self) -> None:
        assert self.store is not None
        while self._artifacts:
            a = self._artifacts.pop(0)
            await self.store.save_artifact(self.run.id, a.name, a.media_type, a.digest, a.data)

    # -------------------------------------------------------------- tool calls

    def key(self, call: ToolCallBlock) -> str:
        """The idempotency key of a tool call."""
        return f"{self.run.id}:{call.id}"

    async def before_tool(self, call: ToolCallBlock, spec: ToolSpec) -> ToolResultBlock | None:
        """On resume, the stored result of a completed call (never run twice), or
        an "interrupted" error for a call that started but did not finish (unless
        the tool is idempotent, then it runs again). Marks the call started."""
        if self.store is None:
            return None
        key = self.key(call)
        if self.resumed_from is not None:
            state = await self.store.tool_call_state(key)
            if state is not None and state.status == "completed" and state.result is not None:
                return ToolResultBlock.model_validate(state.result)
            if state is not None and state.status == "started" and not spec.idempotent:
                result = ToolResultBlock(
                    call_id=call.id, name=call.name, is_error=True,
                    content=(f"interrupted: {call.name!r} started but the process stopped before "
                             "it finished; it was not run again. Check its effects before retrying."))
                await self.store.tool_call_finished(key, result.model_dump(mode="json"))
                return result
        await self.store.tool_call_started(key, self.run.id, call.model_dump(mode="json"))
        return None

    async def after_tool(self, call: ToolCallBlock, result: ToolResultBlock) -> None:
        """Mark a tool call completed with its result."""
        if self.store is not None:
            await self.store.tool_call_finished(self.key(call), result.model_dump(mode="json"))

    async def approval(self, approval: Approval) -> None:
        """Save an approval's current state."""
        if self.store is not None:
            await self.store.save_approval(self.run.id, approval_record(approval))

    def stored_approval(self, call_id: str) -> dict[str, Any] | None:
        """An approval saved before a restart for this call, if any."""
        if self.resumed_from is None:
            return None
        for record in reversed(self.resumed_from.approvals):
            if record.get("call_id") == call_id:
                return dict(record)
        return None

    # ------------------------------------------------------------------ resume

    def restore(self, stored: StoredRun) -> str:
        """Put a stored run's state back into the run; returns the phase."""
        run = self.run
        self.resumed_from = stored
        run.recorded = list(stored.events)
        self.saved_events = len(run.recorded)
        checkpoint = stored.checkpoint
        if checkpoint is None:
            return "started"
        snap = checkpoint.window
        window = run.window
        window.history = [Message.model_validate(m) for m in snap.get("history", [])]
        window.pinned = dict(snap.get("pinned", {}))
        window.memory = list(snap.get("memory", []))
        window.skills = list(snap.get("skills", []))
        window.plan = Plan.model_validate(snap["plan"]) if snap.get("plan") else None
        run.step = checkpoint.step
        run.usage = Usage.model_validate(checkpoint.usage)
        run.output = checkpoint.output
        return checkpoint.phase


def approval_record(approval: Approval) -> dict[str, Any]:
    """An approval as a JSON-able dict for the store."""
    return {
        "id": approval.id, "call_id": approval.call_id, "tool": approval.tool,
        "arguments": approval.arguments, "reason": approval.reason, "risk": approval.risk,
        "status": approval.status, "decided_by": approval.decided_by,
        "decision_reason": approval.decision_reason, "always": approval.always,
    }
