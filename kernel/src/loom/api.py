"""The public API: ``AgentRuntime → Session → Task → Run``.

Quick start::

    from loom.api import AgentRuntime, AgentProfile
    from loom.providers import AnthropicProvider

    runtime = AgentRuntime(profile=AgentProfile.from_preset("default"),
                           provider=AnthropicProvider(api_key="..."))
    session = runtime.create_session()
    task = session.create_task("Summarise README.md")
    run = task.start()
    result = await run.wait()
    print(result.output)
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from loom.config import LoomConfig, load_config
from loom.errors import LoomError, StageError, did_you_mean
from loom.messages import Message
from loom.plugins import PluginManager
from loom.profile import AgentProfile, narrow
from loom.records import CompressorRecord, Record
from loom.run import Run, RunResult
from loom.store import RunStore

_T = TypeVar("_T")

#: Environment variables that select a provider when none is configured.
PROVIDER_KEYS: tuple[tuple[str, str], ...] = (
    ("ANTHROPIC_API_KEY", "anthropic"),
    ("OPENAI_API_KEY", "openai"),
    ("GEMINI_API_KEY", "gemini"),
)


class AgentRuntime:
    """Loads configuration and plugins once and runs agents with them.

    ``provider`` is a provider object (e.g. ``AnthropicProvider(...)``) or the
    name of a provider record; without it ``[stages] provider`` decides, then
    the first of ANTHROPIC_API_KEY / OPENAI_API_KEY / GEMINI_API_KEY that is
    set. ``plugins`` adds plugin objects (modules or instances) in code.
    """

    def __init__(
        self,
        profile: AgentProfile | None = None,
        provider: Any = None,
        *,
        config: LoomConfig | str | Path | None = None,
        plugins: Iterable[Any] = (),
        entry_points: bool = True,
        workspace: str | Path | None = None,
    ) -> None:
        if not isinstance(config, LoomConfig):
            config = load_config(config)
        self.config = config
        self.plugins = PluginManager(config, plugins=plugins, entry_points=entry_points).load()
        self.profile = profile or self._profile_from_config()
        self.workspace = Path(workspace or Path.cwd()).resolve()
        self._providers: dict[str, Any] = {}
        #: The provider record name of the default provider ("" when an object
        #: was passed that no record built; then its ``name`` attribute, if any).
        self.provider_name = ""
        self.provider = self._resolve_provider(provider)
        self.sessions: dict[str, Session] = {}
        self.store: RunStore | None = self._build_store()
        self._check_stage_names()
        self._store_open = False
        self._store_lock: asyncio.Lock | None = None

    def _profile_from_config(self) -> AgentProfile:
        values = dict(self.config.data.profile)
        preset = values.pop("preset", "default")
        known = set(AgentProfile.model_fields) | {"preset"}
        for key in values:
            if key not in known:
                raise self.config.error(
                    f"unknown profile field{did_you_mean(key, known)}; allowed: "
                    f"{', '.join(sorted(known))}", f"profile.{key}")
        try:
            return AgentProfile.from_preset(preset, **values)
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise self.config.error(f"{err['msg']} (got {err.get('input')!r})",
                                    f"profile.{key}") from None
        except LoomError as exc:
            raise self.config.error(str(exc), "profile.preset") from None

    # --------------------------------------------------------------- providers

    def _resolve_provider(self, provider: Any) -> Any:
        if provider is not None and not isinstance(provider, str):
            self.provider_name = str(getattr(provider, "name", "") or "")
            return provider
        name = provider or self.config.stages.provider
        if not name:
            for env, candidate in PROVIDER_KEYS:
                if os.environ.get(env) and candidate in self.plugins.records("provider"):
                    name = candidate
                    break
        if not name:
            records = self.plugins.records("provider")
            if len(records) == 1:
                name = next(iter(records))
        if not name:
            raise StageError(
                "no provider selected: pass provider=..., set [stages] provider in loom.toml, "
                "or set an API key; installed providers: "
                f"{', '.join(sorted(self.plugins.records('provider'))) or 'none'}")
        self.provider_name = name
        return self.provider_named(name)

    def provider_named(self, name: str) -> Any:
        """The provider object for a provider record name (built once)."""
        if name not in self._providers:
            record = self.plugins.record("provider", name)
            self._providers[name] = self._build(record)
        return self._providers[name]

    def window_tokens(self) -> int:
        """The provider's context window (200k when it does not say)."""
        return int(getattr(self.provider, "context_window", 0) or 200_000)

    # ----------------------------------------------------------------- records

    def _build(self, record: Record) -> Any:
        factory = record.load_factory()
        settings = self.plugins.settings_for(record.name)
        return factory(settings) if record.settings is not None else factory()

    def _selected(self, stage: str, names: list[str] | None, default_all: bool) -> list[Record]:
        records = self.plugins.records(stage)
        if names is None:
            return list(records.values()) if default_all else []
        chosen = []
        for name in names:
            if name not in records:
                raise self.config.error(
                    f"no {stage} record named {name!r}{did_you_mean(name, records)}; "
                    f"installed: {', '.join(sorted(records)) or 'none'}", f"stages.{stage}")
            chosen.append(records[name])
        return chosen

    def _check_stage_names(self) -> None:
        """Fail at start-up (not at the first run) on a misspelt ``[stages]`` name."""
        stages = self.config.stages
        for stage, names in (("compression", stages.compression), ("sensors", stages.sensors),
                             ("event_sinks", stages.event_sinks),
                             ("tool_sources", stages.tool_sources)):
            self._selected(stage, names, False)

    def build_compressors(self) -> list[tuple[CompressorRecord, Any]]:
        """Compression levels for one run, in ``[stages] compression`` order
        (default: every installed level, lowest threshold first)."""
        records = self._selected("compression", self.config.stages.compression, True)
        if self.config.stages.compression is None:
            records.sort(key=lambda r: getattr(r, "threshold", 1.0))
        return [(r, self._build(r)) for r in records if isinstance(r, CompressorRecord)]

    def build_sensors(self) -> list[tuple[str, Any]]:
        """Sensors for one run (default: every installed sensor)."""
        return [(r.name, self._build(r))
                for r in self._selected("sensors", self.config.stages.sensors, True)]

    def build_event_sinks(self) -> list[tuple[str, Any]]:
        """Event sinks for one run (default: none; ``[stages] event_sinks`` lists them)."""
        return [(r.name, self._build(r))
                for r in self._selected("event_sinks", self.config.stages.event_sinks, False)]

    def build_tool_sources(self) -> list[tuple[str, Any]]:
        """Tool sources for one run (default: every installed source)."""
        return [(r.name, self._build(r))
                for r in self._selected("tool_sources", self.config.stages.tool_sources, True)]

    # ------------------------------------------------------------------- store

    def _build_store(self) -> RunStore | None:
        name = self.config.stages.store
        records = self.plugins.records("store")
        if name == "none" or (name is None and not records):
            return None
        if name is None and len(records) > 1:
            raise self.config.error(
                f"several stores are installed ({', '.join(sorted(records))}); choose one, "
                'or "none" to turn persistence off', "stages.store")
        record = next(iter(records.values())) if name is None else self.plugins.record("store", name)
        store: RunStore = self._build(record)
        return store

    async def open_store(self) -> RunStore | None:
        """Open the selected store once (connect, migrate, check the schema)."""
        if self.store is None or self._store_open:
            return self.store
        if self._store_lock is None:
            self._store_lock = asyncio.Lock()
        async with self._store_lock:
            if not self._store_open:
                await self.store.open()
                self._store_open = True
        return self.store

    async def aclose(self) -> None:
        """Close the store (connections) and the providers that hold clients."""
        if self.store is not None and self._store_open:
            await self.store.close()
            self._store_open = False
        for provider in {id(p): p for p in [self.provider, *self._providers.values()]}.values():
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()

    async def __aenter__(self) -> AgentRuntime:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def resume(self, run_id: str) -> Run:
        """Continue a run from its last committed step (after a crash or restart).

        Runs that failed, were cancelled or stopped continue; a run that
        succeeded returns its stored result without calling anything.
        Completed tool calls are not executed again; a call that started but did
        not finish is reported to the model as interrupted (or re-run when the
        tool is idempotent). Returns the started run.
        """
        store = await self.open_store()
        if store is None:
            raise StageError("resume needs a store plugin ([stages] store); none is selected")
        stored = await store.load_run(run_id)
        if stored is None:
            raise LoomError(f"no stored run {run_id!r}")
        session = self.sessions.get(stored.info.session_id) or Session(self, stored.info.session_id)
        self.sessions[session.id] = session
        profile = None
        if stored.info.parent_id and stored.info.profile:
            # A sub-agent resumed on its own keeps its narrowed profile, capped by this runtime's.
            profile = narrow(self.profile, AgentProfile.model_validate(stored.info.profile))
        run = Run(session, stored.info.goal, run_id=run_id, profile=profile).restore(stored)
        session.runs.append(run)
        return run.start()

    # ---------------------------------------------------------------- sessions

    def create_session(self, session_id: str | None = None) -> Session:
        """A new session: a conversation across tasks."""
        session = Session(self, session_id)
        self.sessions[session.id] = session
        return session

    def run_sync(self, goal: str) -> RunResult:
        """Run one goal to the end from synchronous code (scripts, notebooks)."""
        async def go() -> RunResult:
            return await self.create_session().create_task(goal).start().wait()

        return run_sync(go())


class Session:
    """A conversation: tasks in a session see the messages of earlier tasks."""

    def __init__(self, runtime: AgentRuntime, session_id: str | None = None) -> None:
        self.runtime = runtime
        self.id = session_id or uuid.uuid4().hex[:16]
        self.history: list[Message] = []
        self.runs: list[Run] = []
        self._history_lock = asyncio.Lock()
        self._history_loaded = session_id is None  # a new id has no earlier conversation

    async def load_history(self, run: Run) -> None:
        """Once per session object created with an id: when it has no history, ask
        ``loom_load_session`` for the conversation of its earlier tasks."""
        async with self._history_lock:
            if self._history_loaded:
                return
            self._history_loaded = True
            if self.history:
                return
            found = await self.runtime.plugins.dispatcher.first(
                "loom_load_session", session_id=self.id, run=run)
            if found:
                self.history = list(found)

    def create_task(self, goal: str) -> Task:
        """A task with a goal; :meth:`Task.start` runs it."""
        return Task(self, goal)

    def _finished(self, run: Run) -> None:
        self.history = [m for m in run.window.history if not m.meta.get("delta")]


class Task:
    """A goal within a session."""

    def __init__(self, session: Session, goal: str) -> None:
        self.session = session
        self.goal = goal

    def start(self) -> Run:
        """Start a run of this task (on the running loop, or at its first wait)."""
        run = Run(self.session, self.goal)
        self.session.runs.append(run)
        return run.start()


def run_sync(awaitable: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion from sync code, even inside a running loop
    (e.g. a notebook), by using a worker thread when needed."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(awaitable)
    box: dict[str, Any] = {}

    def worker() -> None:
        try:
            box["value"] = asyncio.run(awaitable)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=worker, name="loom-run-sync")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


__all__ = ["AgentProfile", "AgentRuntime", "Run", "RunResult", "Session", "Task", "run_sync"]
