"""A run: one execution of a task through Reason → Act → Observe → Δ.

The loop skeleton only calls hooks and records: the provider call goes
through ``loom_wrap_model_call``, tools through ``loom_veto`` and
``loom_wrap_tool_call``, compression through the compressor records, and
injections through ``loom_collect_injections``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from loom.approvals import Approval
from loom.context import ContextWindow
from loom.durable import Persistence
from loom.errors import (
    ContextOverflowError,
    LoomError,
    PluginError,
    ProviderError,
    RunCancelled,
    did_you_mean,
)
from loom.events import Event
from loom.invariants import ContextEdit, check_edit
from loom.messages import ContentBlock, Message, ToolCallBlock, ToolResultBlock
from loom.profile import narrow
from loom.records import CompressorRecord, ToolRecord
from loom.requests import Effect, ModelRequest, ModelResponse, StreamDelta, ToolSpec, Usage
from loom.tools import CURRENT_CALL
from loom.verdicts import ProposedAction, Verdict

if TYPE_CHECKING:
    from loom.api import AgentRuntime, Session
    from loom.profile import AgentProfile

_READ_ONLY = frozenset({Effect.READ})
RunStatus = Literal["pending", "running", "paused", "succeeded", "failed", "cancelled", "stopped"]
_FINAL = ("succeeded", "failed", "cancelled", "stopped")


@dataclass
class StepOutcome:
    """What one step did; a ``loom_wrap_step`` layer may set ``stop``."""

    step: int
    final: bool = False
    stop: str | None = None
    tool_calls: int = 0
    output: str = ""


@dataclass
class Artifact:
    """A file-like result attached to a run, content-addressed by ``digest``."""

    name: str
    data: bytes
    media_type: str = "application/octet-stream"
    digest: str = ""


@dataclass
class RunResult:
    """How a run ended. ``status`` is never ``succeeded`` after a failure."""

    run_id: str
    status: RunStatus
    output: str = ""
    reason: str = ""
    error: str = ""
    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    artifacts: list[Artifact] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the run succeeded."""
        return self.status == "succeeded"

    def raise_for_status(self) -> RunResult:
        """Raise unless the run succeeded (RunCancelled when it was cancelled,
        LoomError otherwise); returns self when it succeeded."""
        if self.status == "cancelled":
            raise RunCancelled(f"run {self.run_id} cancelled: {self.reason}")
        if not self.ok:
            raise LoomError(f"run {self.run_id} {self.status}: {self.error or self.reason}")
        return self


class Run:
    """One execution of a task; see :meth:`wait`, :meth:`events`, :meth:`cancel`.

    A run started with a ``parent`` is a sub-agent: its profile is
    :func:`loom.profile.narrow`-ed by the parent's (mode, tools and budgets
    can only be tighter), the parent's :attr:`pending_approvals`,
    :meth:`approve` and :meth:`deny` reach it, and cancelling the parent
    cancels it. ``profile`` defaults to the runtime's (or the parent's).
    """

    def __init__(self, session: Session, goal: str, *, run_id: str | None = None,
                 parent: Run | None = None, profile: AgentProfile | None = None) -> None:
        self.session = session
        self.runtime: AgentRuntime = session.runtime
        #: The run that started this one (a sub-agent's parent), or None.
        self.parent = parent
        #: Sub-agent runs started under this one, in order.
        self.children: list[Run] = []
        if parent is not None:
            self.profile: AgentProfile = narrow(parent.profile, profile)
            parent.children.append(self)
        else:
            self.profile = profile or self.runtime.profile
        self.goal = goal
        self.id = run_id or uuid.uuid4().hex[:16]
        self.status: RunStatus = "pending"
        self.step = 0
        self.usage = Usage()
        self.output = ""
        self.started_at = 0.0
        self.created_at = time.time()
        self.approvals: list[Approval] = []
        self.artifacts: list[Artifact] = []
        self.recorded: list[Event] = []
        self.state: dict[str, Any] = {}
        self.window = ContextWindow(
            system=self.profile.system_prompt,
            goal=goal,
            window_tokens=self.profile.window_tokens or self.runtime.window_tokens(),
            output_reserve=self.profile.output_reserve,
            cap=self.profile.context_cap,
        )
        self.window.protected_turns = self.profile.protected_turns
        self.tools: dict[str, ToolRecord] = {}
        self._dispatch = self.runtime.plugins.dispatcher
        self._subscribers: list[asyncio.Queue[Event | None]] = []
        self._task: asyncio.Task[RunResult] | None = None
        self._result: RunResult | None = None
        self._pending_errors: list[tuple[str, str, BaseException]] = []
        self._compressors: list[tuple[CompressorRecord, Any]] = []
        self._sensors: list[Any] = []
        self._sinks: list[tuple[str, Any]] = []
        self._sources: list[Any] = []
        self._resume_phase: str | None = None
        self._cancel_requested = False
        self.persistence = Persistence(self.runtime.store, self)

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.status} step={self.step} goal={self.goal[:40]!r}>"

    # -------------------------------------------------------------- public API

    def start(self) -> Run:
        """Start the run on the running event loop (or on the first :meth:`wait`)."""
        if self._task is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return self
            self._task = loop.create_task(self._main(), name=f"loom-run-{self.id}")
        return self

    async def wait(self) -> RunResult:
        """Wait for the run to end and return its :class:`RunResult`."""
        self.start()
        assert self._task is not None
        return await asyncio.shield(self._task)

    def result_sync(self) -> RunResult:
        """Run to the end from synchronous code (see :func:`loom.api.run_sync`)."""
        from loom.api import run_sync

        return run_sync(self.wait())

    async def events(self) -> AsyncIterator[Event]:
        """Every event so far, then live ones until the run ends."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        backlog = list(self.recorded)
        if self.status not in _FINAL:
            self._subscribers.append(queue)
        else:
            queue.put_nowait(None)
        self.start()
        for event in backlog:
            yield event
        while True:
            item = await queue.get()
            if item is None:
                return
            if item.seq < len(backlog):
                continue
            yield item

    def cancel(self) -> None:
        """Cancel the run and its sub-agents; it ends ``cancelled`` (also before it starts)."""
        self._cancel_requested = True
        for child in self.children:
            child.cancel()
        if self._task is not None and not self._task.done() and self.status != "pending":
            self._task.cancel()

    @property
    def pending_approvals(self) -> list[Approval]:
        """Approvals waiting for a person, this run's and then its sub-agents'."""
        pending = [a for a in self.approvals if a.pending]
        for child in self.children:
            pending.extend(child.pending_approvals)
        return pending

    def approve(self, approval_id: str, *, always: bool = False, by: str = "api") -> None:
        """Approve a pending approval by id."""
        self._approval(approval_id).approve(always=always, by=by)

    def deny(self, approval_id: str, reason: str = "denied by a person", *, by: str = "api") -> None:
        """Deny a pending approval by id; the model is told ``reason``."""
        self._approval(approval_id).deny(reason, by=by)

    def _approval(self, approval_id: str) -> Approval:
        for approval in self.approvals:
            if approval.id == approval_id:
                return approval
        for child in self.children:
            try:
                return child._approval(approval_id)
            except KeyError:
                continue
        raise KeyError(f"no approval {approval_id!r} on run {self.id}")

    def attach_artifact(self, name: str, data: bytes | str,
                        media_type: str = "application/octet-stream") -> Artifact:
        """Attach an artifact (content-addressed) and record an event."""
        raw = data.encode() if isinstance(data, str) else data
        artifact = Artifact(name, raw, media_type, hashlib.sha256(raw).hexdigest())
        self.artifacts.append(artifact)
        self.persistence.artifact(artifact)
        self._record("artifact.attached", name=name, media_type=media_type,
                     size=len(raw), digest=artifact.digest)
        return artifact

    def settings(self, name: str) -> Any:
        """The validated ``[settings.<name>]`` object of a plugin, or None."""
        return self.runtime.plugins.settings_for(name)

    # ------------------------------------------------------------------ events

    def _record(self, kind: str, /, **data: Any) -> Event:
        event = Event(kind=kind, run_id=self.id, seq=len(self.recorded), time=time.time(), data=data)
        self.recorded.append(event)
        for queue in self._subscribers:
            queue.put_nowait(event)
        return event

    async def emit(self, kind: str, /, **data: Any) -> Event:
        """Record an event and show it to sinks and ``loom_event`` observers."""
        event = self._record(kind, **data)
        await self._publish(event)
        while self._pending_errors:
            plugin, hook, exc = self._pending_errors.pop(0)
            err = self._record("plugin.error", plugin=plugin, hook=hook,
                               error=f"{type(exc).__name__}: {exc}")
            if hook != "loom_event":
                await self._publish(err)
        return event

    async def _publish(self, event: Event) -> None:
        for name, sink in self._sinks:
            try:
                result = sink.handle(event)
                if asyncio.iscoroutine(result):
                    await result
            except Exception as exc:
                self._on_plugin_error(name, "event_sink.handle", exc)
        await self._dispatch.notify("loom_event", self._on_plugin_error, event=event, run=self)

    def _on_plugin_error(self, plugin: str, hook: str, exc: BaseException) -> None:
        self._pending_errors.append((plugin, hook, exc))

    async def _notify(self, hook: str, **kwargs: Any) -> None:
        await self._dispatch.notify(hook, self._on_plugin_error, run=self, **kwargs)
        while self._pending_errors:
            plugin, bad_hook, exc = self._pending_errors.pop(0)
            await self.emit("plugin.error", plugin=plugin, hook=bad_hook,
                            error=f"{type(exc).__name__}: {exc}")

    # -------------------------------------------------------------------- loop

    async def _main(self) -> RunResult:
        if self._result is not None:  # resumed a run that had already ended
            for queue in self._subscribers:
                queue.put_nowait(None)
            self._subscribers.clear()
            return self._result
        self.status = "running"
        self.started_at = time.monotonic()
        CURRENT_CALL.set(None)  # a run started from a tool (a sub-agent) is not inside that call
        status: RunStatus = "failed"
        reason = error = ""
        try:
            if self._cancel_requested:
                raise asyncio.CancelledError
            await self.runtime.open_store()
            await self._setup()
            await self.persistence.begin()
            if self._resume_phase == "acting":
                await self._finish_interrupted_step()
            status, reason = await self._loop()
        except asyncio.CancelledError:
            status, reason = "cancelled", "cancelled by its owner"
        except Exception as exc:
            status, error = "failed", _describe(exc)
        finally:
            await self._teardown()
        self.status = status
        result = RunResult(self.id, status, self.output, reason, error, self.step, self.usage,
                           list(self.artifacts))
        self._result = result
        try:
            await self._notify("loom_run_finished", result=result)
            await self._notify("loom_learn_from_run", result=result)
            await self.emit("run.finished", status=status, output=self.output,
                            reason=reason, error=error, steps=self.step)
            await self.persistence.finish(result)
        finally:
            for queue in self._subscribers:
                queue.put_nowait(None)
            self._subscribers.clear()
        self.session._finished(self)
        return result

    async def _setup(self) -> None:
        runtime = self.runtime
        self._sinks = runtime.build_event_sinks()
        self.tools = await self._gather_tools()
        self.window.tools = [r.spec for r in self.tools.values() if r.spec is not None]
        self._compressors = runtime.build_compressors()
        for name, sensor in runtime.build_sensors():
            await sensor.start(self)
            self._sensors.append((name, sensor))
        if self._resume_phase is not None:
            await self.emit("run.resumed", step=self.step, phase=self._resume_phase)
            await self._notify("loom_run_started")
            return
        await self.emit("run.started", goal=self.goal, profile=self.profile.name,
                        mode=self.profile.mode, parent=self.parent.id if self.parent else None)
        self.window.memory.extend(
            str(x) for x in await self._dispatch.collect("loom_recall", goal=self.goal, run=self))
        constraints = await self._dispatch.collect("loom_learned_constraints", run=self)
        if constraints:
            self.window.pinned["Learned constraints"] = "\n".join(f"- {c}" for c in constraints)
        self.window.plan = await self._dispatch.first("loom_plan", goal=self.goal, run=self)
        await self.session.load_history(self)
        self.window.history.extend(self.session.history)
        self.window.history.append(Message.text("user", self.goal))
        await self._notify("loom_run_started")

    def restore(self, stored: Any) -> Run:
        """Load a stored run's state (see :meth:`loom.api.AgentRuntime.resume`)."""
        self._resume_phase = self.persistence.restore(stored)
        info = stored.info
        if info.status == "succeeded":  # failed, cancelled and stopped runs continue
            self.status = info.status
            self._result = RunResult(self.id, info.status, info.output, info.reason, info.error,
                                     self.step, self.usage)
        return self

    async def _finish_interrupted_step(self) -> None:
        """Resume inside a step: run the recorded answer's tool calls (completed
        ones are not executed again), then finish the step as usual."""
        message = self.window.history[-1]
        await self._after_reason(self.step, message)
        outcome = StepOutcome(self.step, tool_calls=len(message.tool_calls))
        await self._notify("loom_step_finished", outcome=outcome)

    async def _gather_tools(self) -> dict[str, ToolRecord]:
        tools: dict[str, ToolRecord] = {}
        allowed = self.profile.tools

        def add(record: ToolRecord, origin: str) -> None:
            if allowed is not None and record.name not in allowed:
                return
            if record.name in tools:
                other = tools[record.name]
                raise LoomError(
                    f"two tools are named {record.name!r}: from {other.plugin or 'unknown'!r} and "
                    f"from {origin!r}; disable one, or namespace the source's tools in its settings")
            tools[record.name] = record

        for record in self.runtime.plugins.records("tools").values():
            assert isinstance(record, ToolRecord)
            add(record, record.plugin)
        for name, source in self.runtime.build_tool_sources():
            self._sources.append(source)
            for record in await source.list_tools():
                add(record if record.plugin else record.owned_by(name, ""), name)
        return tools

    async def _teardown(self) -> None:
        for name, sensor in self._sensors:
            try:
                await sensor.stop()
            except Exception as exc:
                self._on_plugin_error(name, "sensor.stop", exc)
        for source in self._sources:
            close = getattr(source, "close", None)
            if close is not None:
                try:
                    await close()
                except Exception as exc:
                    self._on_plugin_error(type(source).__name__, "tool_source.close", exc)

    async def _loop(self) -> tuple[RunStatus, str]:
        while True:
            reason = await self._dispatch.first("loom_should_stop", run=self)
            if reason:
                await self.emit("run.stopping", reason=str(reason))
                return "stopped", str(reason)
            if self.step >= self.profile.max_steps:
                return "stopped", f"step limit reached ({self.profile.max_steps} steps)"
            self.step += 1
            outcome: StepOutcome = await self._dispatch.wrap(
                "loom_wrap_step", self._run_step, self.step, "step", run=self)
            await self._notify("loom_step_finished", outcome=outcome)
            if outcome.stop:
                await self.emit("run.stopping", reason=outcome.stop)
                return "stopped", outcome.stop
            if outcome.final:
                return "succeeded", ""

    async def _run_step(self, step: int) -> StepOutcome:
        await self.emit("step.started", step=step)
        response = await self._reason(step)
        message = response.message
        self.window.history.append(message)
        if not message.tool_calls:
            self.output = message.text_content
            await self.emit("step.finished", step=step, tool_calls=0)
            await self.persistence.commit("ready", response)
            return StepOutcome(step, final=True, output=self.output)
        await self.persistence.commit("acting", response)
        return await self._after_reason(step, message)

    async def _after_reason(self, step: int, message: Message) -> StepOutcome:
        calls = message.tool_calls
        results = await self._act(calls)
        blocks: list[ContentBlock] = [*results]
        self.window.history.append(Message(role="tool", content=blocks))
        await self._observe(step)
        await self._delta(step)
        await self.emit("step.finished", step=step, tool_calls=len(calls))
        await self.persistence.commit("ready")
        return StepOutcome(step, tool_calls=len(calls))

    # ------------------------------------------------------------------ reason

    def _request(self) -> ModelRequest:
        return ModelRequest(
            model=self.profile.model or self.runtime.config.stages.model or "",
            system=self.window.system_prompt(),
            messages=list(self.window.history),
            tools=self.window.tools,
            max_tokens=self.profile.max_tokens_per_call,
            temperature=self.profile.temperature,
            stream=self.profile.stream,
        )

    async def _reason(self, step: int) -> ModelResponse:
        request = self._request()
        await self.emit("reason.started", step=step, messages=len(request.messages),
                        tools=len(request.tools))
        raw_estimate = self.window.raw_request_estimate()
        try:
            response = await self._model_call(request)
        except ContextOverflowError as exc:
            await self.emit("provider.error", provider=exc.provider, error=str(exc),
                            retryable=False)
            if not await self._compress("overflow"):
                raise
            request = self._request()
            raw_estimate = self.window.raw_request_estimate()
            response = await self._model_call(request)
        self.window.estimator.calibrate(
            raw_estimate, response.usage.input_tokens + response.usage.cached_tokens)
        self.usage = self.usage + response.usage
        await self.emit("reason.finished", step=step, stop_reason=response.stop_reason,
                        usage=response.usage.model_dump(), provider=response.provider,
                        text=response.message.text_content[:2000])
        return response

    async def _model_call(self, request: ModelRequest) -> ModelResponse:
        result: ModelResponse = await self._dispatch.wrap(
            "loom_wrap_model_call", self._call_provider, request, "request", run=self)
        return result

    async def _call_provider(self, request: ModelRequest) -> ModelResponse:
        name = request.metadata.get("provider")
        provider = self.runtime.provider_named(name) if name else self.runtime.provider
        on_delta = self._on_delta if request.stream else None
        try:
            response: ModelResponse = await provider.complete(request, on_delta=on_delta)
        except ProviderError:
            raise
        except Exception as exc:
            pname = getattr(provider, "name", type(provider).__name__)
            typed = await self._dispatch.first("loom_classify_error", error=exc, provider=pname)
            raise (typed or ProviderError(f"{pname}: {_describe(exc)}", provider=pname)) from exc
        return response

    async def _on_delta(self, delta: StreamDelta) -> None:
        if delta.kind == "tool_call":  # argument JSON of one call: say which, so it can be judged early
            await self.emit("reason.delta", step=self.step, kind=delta.kind, text=delta.text,
                            call_id=delta.call_id, name=delta.name)
        else:
            await self.emit("reason.delta", step=self.step, kind=delta.kind, text=delta.text)

    # --------------------------------------------------------------------- act

    async def _act(self, calls: list[ToolCallBlock]) -> list[ToolResultBlock]:
        results: dict[str, ToolResultBlock] = {}
        runnable: list[tuple[ToolCallBlock, ToolSpec]] = []
        for call in calls:
            await self.emit("act.proposed", call_id=call.id, tool=call.name,
                            arguments=call.arguments)
            refusal = self._precheck(call)
            if refusal is not None:
                results[call.id] = refusal
                continue
            record = self.tools[call.name]
            assert record.spec is not None
            if await self._judge(call, record.spec):
                runnable.append((call, record.spec))
            else:
                results[call.id] = self._denied[call.id]
        if len(runnable) == 1:  # the common case needs no extra tasks
            executed = [await self._execute(*runnable[0])]
        else:
            executed = await asyncio.gather(*(self._execute(c, s) for c, s in runnable))
        for (call, _), result in zip(runnable, executed, strict=True):
            results[call.id] = result
        ordered = [results[c.id] for c in calls]
        for call, result in zip(calls, ordered, strict=True):
            await self.emit("act.finished", call_id=call.id, tool=call.name,
                            is_error=result.is_error, content=result.content[:500])
            await self._notify("loom_tool_finished", call=call, result=result)
        return ordered

    def _precheck(self, call: ToolCallBlock) -> ToolResultBlock | None:
        if call.name not in self.tools:
            return _error(call, f"unknown tool {call.name!r}{did_you_mean(call.name, self.tools)}; "
                                f"available: {', '.join(sorted(self.tools)) or 'none'}")
        if call.raw_arguments is not None and not call.arguments:
            try:
                parsed = json.loads(call.raw_arguments or "{}")
                if not isinstance(parsed, dict):
                    raise ValueError("arguments must be a JSON object")
            except (ValueError, TypeError) as exc:
                return _error(call, f"your arguments for {call.name!r} are not valid JSON ({exc}); "
                                    f"received: {call.raw_arguments[:300]!r}. Send a JSON object.")
        return None

    async def _judge(self, call: ToolCallBlock, spec: ToolSpec) -> bool:
        if self.profile.mode == "PLAN" and not spec.effects <= _READ_ONLY:
            # Invariant, whatever plugins are installed: PLAN mode runs no mutating tool.
            effects = ", ".join(sorted(e.value for e in spec.effects))
            verdict = Verdict.deny(f"PLAN mode runs only read-only tools; {call.name!r} may {effects}",
                                   tier="kernel", plugin="kernel", rule="plan-mode")
            await self.emit("act.verdict", call_id=call.id, tool=call.name, decision="deny",
                            reason=verdict.reason, tier="kernel", plugin="kernel", rule="plan-mode",
                            risk=1.0, arguments=call.arguments)
            self._denied[call.id] = _error(
                call, f"Not run: denied by kernel rule plan-mode: {verdict.reason}")
            return False
        action = ProposedAction(call_id=call.id, tool=call.name, arguments=call.arguments,
                                spec=spec, mode=self.profile.mode)
        verdict, verdicts = await self._dispatch.veto(
            "loom_veto", self._on_plugin_error, action=action, run=self)
        for v in verdicts or [verdict]:
            await self.emit("act.verdict", call_id=call.id, tool=call.name, decision=v.decision,
                            reason=v.reason, tier=v.tier, plugin=v.plugin, rule=v.rule,
                            risk=v.risk, arguments=call.arguments)
        if verdict.decision == "allow":
            return True
        if verdict.decision == "ask":
            stored = self.persistence.stored_approval(call.id)
            if stored is not None and stored["status"] == "approved":
                return True
            if stored is not None and stored["status"] in ("denied", "expired"):
                reason = stored.get("decision_reason") or "denied by a person"
                self._denied[call.id] = _error(call, f"Not run: a person denied this call ({reason}).")
                return False
            approval = Approval(call_id=call.id, tool=call.name, arguments=call.arguments,
                                verdict=verdict, run_id=self.id)
            if stored is not None:
                approval.id = stored["id"]
            self.approvals.append(approval)
            await self.persistence.approval(approval)
            self.status = "paused"
            await self.emit("approval.requested", approval_id=approval.id, call_id=call.id,
                            tool=call.name, arguments=call.arguments, reason=verdict.reason,
                            risk=verdict.risk)
            await self._notify("loom_approval_requested", approval=approval)
            approved = await approval.wait(self.profile.approval_timeout,
                                           self.profile.approval_timeout_decision)
            self.status = "running"
            await self.emit("approval.resolved", approval_id=approval.id, approved=approved,
                            by=approval.decided_by, reason=approval.decision_reason,
                            always=approval.always)
            await self.persistence.approval(approval)
            await self._notify("loom_approval_resolved", approval=approval)
            if approved:
                return True
            reason = approval.decision_reason or "denied by a person"
            self._denied[call.id] = _error(call, f"Not run: a person denied this call ({reason}).")
            return False
        self._denied[call.id] = _error(
            call, f"Not run: denied by {verdict.plugin or verdict.tier or 'the harness'}"
                  f"{' rule ' + verdict.rule if verdict.rule else ''}: {verdict.reason}")
        return False

    @property
    def _denied(self) -> dict[str, ToolResultBlock]:
        return self.state.setdefault("_denied", {})  # type: ignore[no-any-return]

    async def _execute(self, call: ToolCallBlock, spec: ToolSpec) -> ToolResultBlock:
        known = await self.persistence.before_tool(call, spec)
        if known is not None:
            return known
        try:
            result: ToolResultBlock = await self._dispatch.wrap(
                "loom_wrap_tool_call", self._invoke_tool, call, "call", spec=spec, run=self)
        except PluginError as exc:
            await self.emit("plugin.error", plugin=exc.plugin, hook=exc.hook or "", error=str(exc))
            result = _error(call, f"tool call failed in plugin {exc.plugin!r}: {exc}")
        await self.persistence.after_tool(call, result)
        return result

    async def _invoke_tool(self, call: ToolCallBlock) -> ToolResultBlock:
        record = self.tools[call.name]
        spec = record.spec
        assert spec is not None
        token = CURRENT_CALL.set(call)
        try:
            outcome = record.handler(call.arguments, self)
            if asyncio.iscoroutine(outcome):
                async with asyncio.timeout(spec.timeout):
                    outcome = await outcome
        except TimeoutError:
            return _error(call, f"tool {call.name!r} timed out after {spec.timeout}s")
        except Exception as exc:
            return _error(call, f"{type(exc).__name__}: {exc}")
        finally:
            CURRENT_CALL.reset(token)
        if isinstance(outcome, ToolResultBlock):
            return outcome
        text = outcome if isinstance(outcome, str) else json.dumps(outcome, default=str)
        if spec.output_cap is not None and len(text) > spec.output_cap:
            text = (text[: spec.output_cap]
                    + f"\n[output truncated: {len(text) - spec.output_cap} more characters]")
        return ToolResultBlock(call_id=call.id, name=call.name, content=text)

    # ----------------------------------------------------------------- observe

    async def _observe(self, step: int) -> None:
        tokens = self.window.partition_tokens()
        total = sum(tokens.values())
        await self.emit("observe.pressure", step=step, tokens=total, budget=self.window.budget,
                        pressure=round(total / self.window.budget, 4), partitions=tokens)
        if self._compressors:
            await self._compress("pressure")
            if self.window.pressure() >= 1.0:
                await self._compress("renewal")

    async def _compress(self, trigger: str) -> bool:
        """Run the compressors of one trigger in order; True if any edit applied."""
        applied = False
        for record, compressor in self._compressors:
            if record.trigger != trigger:
                continue
            settings = self.settings(record.name)
            threshold = getattr(settings, "threshold", record.threshold)
            if trigger == "pressure" and self.window.pressure() < threshold:
                continue
            edit = await compressor.compress(self.window, self)
            if edit is not None and await self.apply_edit(edit):
                applied = True
        return applied

    async def apply_edit(self, edit: ContextEdit) -> bool:
        """Apply a context edit if it keeps every invariant; report either way."""
        if edit.history == self.window.history and all(
                self.window.pinned.get(k) == v for k, v in edit.pinned.items()):
            return False
        violations = check_edit(self.window, edit)
        if violations:
            await self.emit("context.edit_rejected", level=edit.level, violation="; ".join(violations))
            return False
        before = self.window.tokens()
        self.window.history = list(edit.history)
        self.window.pinned.update(edit.pinned)
        after = self.window.tokens()
        await self.emit("context.edited", level=edit.level, tokens_before=before,
                        tokens_after=after, reason=edit.reason, restore_refs=edit.restore_refs)
        await self._notify("loom_context_edited", edit=edit, tokens_before=before,
                           tokens_after=after)
        return True

    # ------------------------------------------------------------------- delta

    async def _delta(self, step: int) -> None:
        notes: list[tuple[str, str]] = [
            ("plugin", str(x))
            for x in await self._dispatch.collect("loom_collect_injections", run=self)
        ]
        for name, sensor in self._sensors:
            try:
                notes.extend((name, str(r)) for r in sensor.poll() or ())
            except Exception as exc:
                self._on_plugin_error(name, "sensor.poll", exc)
        if not notes:
            return
        for source, text in notes:
            await self.emit("delta.injected", step=step, source=source, text=text)
        self.window.history.append(
            Message.text("user", "\n".join(t for _, t in notes), delta=True))


def _error(call: ToolCallBlock, text: str) -> ToolResultBlock:
    return ToolResultBlock(call_id=call.id, name=call.name, content=text, is_error=True)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


__all__ = ["Approval", "Artifact", "Run", "RunResult", "RunStatus", "StepOutcome"]
