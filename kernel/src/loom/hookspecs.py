"""The hook contract: one hook family per stage.

This module *is* the contract between the kernel and every plugin. Each hook
says when it is called, its arguments, its **kind** and what it may return:

``register``
    sync, called once at start-up; returns a list of named records
    (:mod:`loom.records`). Duplicate names within a stage are an error
    naming both plugins.
``first``
    implementations are awaited in order; the first non-``None`` result wins
    and the rest are not called.
``collect``
    every non-``None`` result, in order (a list result is flattened).
``fold``
    combined by a kernel rule; ``loom_veto`` folds deny-wins.
``wrap``
    middleware: receives ``call_next``; ``tryfirst`` is the outermost layer.
``notify``
    observers; an exception becomes a ``plugin.error`` event and never
    breaks the run.

Implementations may be plain functions or ``async def``; the kernel's
dispatcher (:mod:`loom.dispatch`) awaits them in pluggy's order
(``tryfirst``/``trylast``, then last-registered first). pluggy wrappers
(``wrapper=True``/``hookwrapper=True``) are rejected: use the ``loom_wrap_*``
hooks instead.

Common arguments: ``run`` is the :class:`loom.run.Run` being executed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pluggy

if TYPE_CHECKING:
    from loom.errors import ProviderError
    from loom.events import Event
    from loom.invariants import ContextEdit
    from loom.messages import Message, ToolCallBlock, ToolResultBlock
    from loom.plans import Plan
    from loom.profile import AgentProfile
    from loom.records import Record
    from loom.requests import ModelRequest, ModelResponse, ToolSpec
    from loom.run import Approval, Run, RunResult, StepOutcome
    from loom.verdicts import ProposedAction, Verdict

PROJECT = "loom"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

HookKind = Literal["register", "first", "collect", "fold", "wrap", "notify"]
#: hook name → kind; filled by the :func:`_kind` decorator below.
HOOK_KINDS: dict[str, HookKind] = {}
#: hook name → stage (for documentation and ``loom plugins``).
HOOK_STAGES: dict[str, str] = {}

_F = TypeVar("_F", bound=Callable[..., Any])


def _kind(kind: HookKind, stage: str) -> Callable[[_F], _F]:
    def mark(fn: _F) -> _F:
        HOOK_KINDS[fn.__name__] = kind
        HOOK_STAGES[fn.__name__] = stage
        return hookspec(firstresult=kind == "first")(fn)

    return mark


# --------------------------------------------------------------------- provider


@_kind("register", "provider")
def loom_register_providers() -> list[Record]:
    """Register model providers.

    Kind: register. Called once at start-up.
    Returns: a list of :class:`~loom.records.ProviderRecord`; ``[stages] provider``
    selects one by name. ``class_name`` is exported by :mod:`loom.providers`.
    """


@_kind("wrap", "provider")
async def loom_wrap_model_call(
    request: ModelRequest, run: Run, call_next: Callable[[ModelRequest], Awaitable[ModelResponse]]
) -> ModelResponse:
    """Wrap every model call (retry, circuit breaking, fallback, budgets, tracing).

    Kind: wrap. Called in the Reason phase of every step. ``call_next(request)``
    continues inward; the innermost layer is the selected provider.
    Returns: the :class:`~loom.requests.ModelResponse` (or raises a
    :class:`~loom.errors.ProviderError`).
    """


@_kind("first", "provider")
async def loom_classify_error(error: BaseException, provider: str) -> ProviderError | None:
    """Turn a provider SDK's exception into a typed :class:`~loom.errors.ProviderError`.

    Kind: first. Called when a model call raised something that is not yet a
    ``ProviderError``. ``provider`` names the provider record.
    Returns: a ``ProviderError`` (with ``retryable``/``retry_after``/``status``;
    a :class:`~loom.errors.ContextOverflowError` for "prompt too long"), or None.
    """


@_kind("first", "provider")
async def loom_count_tokens(messages: list[Message], model: str) -> int | None:
    """Count tokens exactly, when a provider can.

    Kind: first. Called when an exact count is wanted (e.g. before renewal).
    Returns: the token count for ``messages`` on ``model``, or None to fall back
    to the kernel's calibrated estimate.
    """


# ---------------------------------------------------------- context compression


@_kind("register", "compression")
def loom_register_compressors() -> list[Record]:
    """Register context compression levels (snip, micro, collapse, auto, reactive, renewal).

    Kind: register. ``[stages] compression`` lists the active levels in order.
    Returns: a list of :class:`~loom.records.CompressorRecord`. The factory
    builds an object with ``async compress(window, run) -> ContextEdit | None``.
    """


@_kind("notify", "compression")
async def loom_context_edited(
    edit: ContextEdit, tokens_before: int, tokens_after: int, run: Run
) -> None:
    """Observe an applied context edit.

    Kind: notify. Called after an edit passed the invariant checks and was
    applied (a ``context.edited`` event is emitted as well).
    Returns: nothing.
    """


# -------------------------------------------------------------------- loop step


@_kind("wrap", "loop")
async def loom_wrap_step(
    step: int, run: Run, call_next: Callable[[int], Awaitable[StepOutcome]]
) -> StepOutcome:
    """Wrap one whole Reason → Act → Observe → Δ step (loop detection, timing).

    Kind: wrap. ``call_next(step)`` runs the step.
    Returns: the :class:`~loom.run.StepOutcome`; a wrapper may set ``stop`` on it.
    """


@_kind("collect", "loop")
async def loom_collect_injections(run: Run) -> list[str] | str | None:
    """Contribute Δ injections: text the agent should see before it next reasons.

    Kind: collect. Called in the Δ phase of every step (heartbeat, sensor
    readings, budget warnings).
    Returns: a string, a list of strings, or None. They are added to the
    history as one user-role note, and each is a ``delta.injected`` event.
    """


@_kind("first", "loop")
async def loom_should_stop(run: Run) -> str | None:
    """Decide whether the run must stop (budgets, loop detection).

    Kind: first. Called at the start of every step.
    Returns: a reason string to stop the run (it ends with status
    ``stopped``), or None to continue.
    """


@_kind("notify", "loop")
async def loom_step_finished(outcome: StepOutcome, run: Run) -> None:
    """Observe a finished step.

    Kind: notify. Called after the Δ phase of each step.
    Returns: nothing.
    """


@_kind("notify", "loop")
async def loom_run_started(run: Run) -> None:
    """Observe the start of a run, before the first step.

    Kind: notify. Returns: nothing.
    """


@_kind("notify", "loop")
async def loom_run_finished(run: Run, result: RunResult) -> None:
    """Observe the end of a run (succeeded, failed, cancelled or stopped).

    Kind: notify. Returns: nothing.
    """


# --------------------------------------------------------------- tool execution


@_kind("register", "tools")
def loom_register_tools() -> list[Record]:
    """Register tools.

    Kind: register. Returns: a list of :class:`~loom.records.ToolRecord`
    (see :func:`loom.tools.tool` to build one from a typed function).
    """


@_kind("register", "tools")
def loom_register_tool_sources() -> list[Record]:
    """Register sources that discover tools when a run starts (MCP servers, skills).

    Kind: register. Returns: a list of :class:`~loom.records.ToolSourceRecord`.
    """


@_kind("wrap", "tools")
async def loom_wrap_tool_call(
    call: ToolCallBlock,
    spec: ToolSpec,
    run: Run,
    call_next: Callable[[ToolCallBlock], Awaitable[ToolResultBlock]],
) -> ToolResultBlock:
    """Wrap the execution of one allowed tool call (sandbox, idempotency, caching).

    Kind: wrap. Called in the Act phase after the veto fold allowed the call.
    ``call_next(call)`` runs it; the innermost layer is the tool's handler.
    Returns: the :class:`~loom.messages.ToolResultBlock`.
    """


@_kind("notify", "tools")
async def loom_tool_finished(call: ToolCallBlock, result: ToolResultBlock, run: Run) -> None:
    """Observe a finished tool call (also denied ones, as error results).

    Kind: notify. Returns: nothing.
    """


# ------------------------------------------------------------------------- veto


@_kind("fold", "veto")
async def loom_veto(action: ProposedAction, run: Run) -> Verdict | None:
    """Judge a proposed action before it runs.

    Kind: fold, deny-wins: a deny stops the fold and is final, an ask beats an
    allow, an allow never overrides a deny whatever the order.
    Returns: a :class:`~loom.verdicts.Verdict` or None (no opinion).
    """


@_kind("notify", "veto")
async def loom_approval_requested(approval: Approval, run: Run) -> None:
    """Observe a pending approval (e.g. to prompt a person, or notify a channel).

    Kind: notify. The run is paused until ``approval`` is resolved.
    Returns: nothing.
    """


@_kind("notify", "veto")
async def loom_approval_resolved(approval: Approval, run: Run) -> None:
    """Observe an approval being granted or denied (e.g. to save an "always allow" rule).

    Kind: notify. Returns: nothing.
    """


# -------------------------------------------------------------------- evolution


@_kind("register", "evolution")
def loom_register_evolution_strategies() -> list[Record]:
    """Register learning strategies (E1 tool learning … E4 amoeba split).

    Kind: register. Returns: a list of :class:`~loom.records.EvolutionRecord`.
    """


@_kind("collect", "evolution")
async def loom_learned_constraints(run: Run) -> list[str] | str | None:
    """Contribute learned constraints to the working partition at run start.

    Kind: collect. Returns: constraint text(s) or None.
    """


@_kind("notify", "evolution")
async def loom_learn_from_run(run: Run, result: RunResult) -> None:
    """Learn from a finished run.

    Kind: notify. Returns: nothing.
    """


# ---------------------------------------------------------------------- sensing


@_kind("register", "sensing")
def loom_register_sensors() -> list[Record]:
    """Register background sensors (filesystem, process, resources).

    Kind: register. ``[stages] sensors`` lists the active ones. The kernel
    starts them with the run, polls them in the Δ phase and stops them at the end.
    Returns: a list of :class:`~loom.records.SensorRecord`.
    """


# ----------------------------------------------------------------------- memory


@_kind("register", "memory")
def loom_register_stores() -> list[Record]:
    """Register durable stores (sessions, runs, events, approvals, artifacts).

    Kind: register. ``[stages] store`` selects one.
    Returns: a list of :class:`~loom.records.StoreRecord`.
    """


@_kind("register", "memory")
def loom_register_memories() -> list[Record]:
    """Register memory kinds (session, working, semantic, persistent).

    Kind: register. Returns: a list of :class:`~loom.records.MemoryRecord`.
    """


@_kind("first", "memory")
async def loom_load_session(session_id: str, run: Run) -> list[Message] | None:
    """Bring back the earlier conversation of a session this process has not run yet.

    Kind: first. Called once per :class:`~loom.api.Session` created with an
    id (``create_session(session_id)``, say with the id of a session from an
    earlier process), when its first run starts and it has no history in memory.
    Returns: the messages of its earlier tasks (what ``Session.history`` held
    when the last of them ended), or None.
    """


@_kind("collect", "memory")
async def loom_recall(goal: str, run: Run) -> list[str] | str | None:
    """Recall memory for the memory partition when a run starts.

    Kind: collect. Returns: text item(s) or None.
    """


# ---------------------------------------------------------------- orchestration


@_kind("first", "orchestration")
async def loom_plan(goal: str, run: Run) -> Plan | None:
    """Plan a task graph for a goal, pinned in the working partition.

    Kind: first. Called once when a run starts.
    Returns: a :class:`~loom.plans.Plan`, or None to run without a plan.
    """


@_kind("first", "orchestration")
async def loom_spawn_subagent(goal: str, run: Run, profile: AgentProfile | None,
                              run_id: str | None) -> Run | None:
    """Start a sub-agent for ``goal`` under the parent ``run``.

    Kind: first. Called by whatever delegates (the ``delegate`` tool of
    loom-subagents, or code). ``profile`` is the profile asked for the
    child (None: the parent's); build the child as
    ``Run(session, goal, parent=run, profile=profile)`` so the kernel narrows
    it (mode, tools and budgets never wider than the parent's) and the
    harness applies the parent's rules. ``run_id`` is the id to give the
    child (None: a new one); when the store already holds a run with that
    id — the parent is being resumed — continue it instead of starting over.
    Returns: the started child :class:`~loom.run.Run`, or None.
    """


# ----------------------------------------------------------------------- events


@_kind("register", "events")
def loom_register_event_sinks() -> list[Record]:
    """Register event sinks (console, JSONL log, tracing).

    Kind: register. ``[stages] event_sinks`` lists the active ones.
    Returns: a list of :class:`~loom.records.EventSinkRecord`.
    """


@_kind("notify", "events")
async def loom_event(event: Event, run: Run) -> None:
    """See every event of every run, in order.

    Kind: notify. Returns: nothing.
    """


# -------------------------------------------------------------- configuration


@_kind("register", "config")
def loom_register_settings() -> list[Record]:
    """Declare settings models for ``[settings.<name>]`` tables.

    Kind: register. Returns: a list of :class:`~loom.records.SettingsRecord`
    whose ``settings`` is a pydantic model (unknown keys are rejected).
    """


@_kind("register", "config")
def loom_register_presets() -> list[Record]:
    """Register named agent profile presets for ``AgentProfile.from_preset``.

    Kind: register. Returns: a list of :class:`~loom.records.PresetRecord`.
    """
