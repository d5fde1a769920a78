"""The three resilience plugins together: layer order and how they cooperate."""

from __future__ import annotations

from typing import Any

from loom.errors import ProviderError
from loom.hookspecs import hookimpl
from loom.records import ProviderRecord
from loom.testing import LoomHarness, ScriptedModel
from loom_resilience_breaker import BreakerPlugin
from loom_resilience_fallback import FallbackPlugin
from loom_resilience_retry import RetryPlugin

RESILIENCE = ("retry.", "breaker.", "fallback.")


class Backups:
    """Registers provider records for test providers."""

    def __init__(self, **models: ScriptedModel) -> None:
        self.models = models

    @hookimpl
    def loom_register_providers(self) -> list[ProviderRecord]:
        return [ProviderRecord(name=n, factory=(lambda m=m: m)) for n, m in self.models.items()]


def http(status: int, who: str, *, retry_after: float | None = None) -> ProviderError:
    return ProviderError(f"HTTP {status} from {who}", provider=who, status=status,
                         retryable=status == 429 or status >= 500, retry_after=retry_after)


class World:
    """A fake clock and a sleep that advances it, so backoffs and cool-downs cost nothing."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def stack(primary: ScriptedModel, world: World, *, settings: dict[str, Any] | None = None,
          chain: list[str] | None = None, **backups: ScriptedModel) -> LoomHarness:
    # registered innermost-first on purpose: the markers, not the order, decide the layers
    plugins: list[Any] = [
        ("backups", Backups(**backups)),
        ("resilience-breaker", BreakerPlugin(clock=world.clock)),
        ("resilience-retry", RetryPlugin(sleep=world.sleep, random=lambda: 0.5)),
        ("resilience-fallback", FallbackPlugin()),
    ]
    config: dict[str, Any] = {"stages": {"fallback": chain if chain is not None else list(backups)},
                              "settings": settings or {}}
    return LoomHarness(primary, plugins=plugins, config=config)


def resilience_events(h: LoomHarness) -> list[tuple[str, dict[str, Any]]]:
    return [(e.kind, e.data) for e in h.last_run.recorded if e.kind.startswith(RESILIENCE)]


def test_fallback_is_outermost_then_retry_then_the_breaker() -> None:
    h = stack(ScriptedModel([], name="primary", model="primary-1"), World())
    plan = h.runtime.plugins.dispatcher.plan("loom_wrap_model_call")
    assert [impl.plugin for impl in plan] == [
        "resilience-fallback", "resilience-retry", "resilience-breaker"]


def test_the_installed_plugins_stack_in_the_same_order() -> None:
    names = ["resilience-breaker", "resilience-fallback", "resilience-retry"]
    h = LoomHarness(["unused"], entry_points=True, config={"plugins": {"enable": names}})
    plan = h.runtime.plugins.dispatcher.plan("loom_wrap_model_call")
    assert [impl.plugin for impl in plan] == [
        "resilience-fallback", "resilience-retry", "resilience-breaker"]


async def test_a_rate_limit_is_waited_out_on_the_same_provider() -> None:
    world = World()
    primary = ScriptedModel([http(429, "primary", retry_after=7.0), "primary answered"],
                         name="primary")
    backup = ScriptedModel(["unreached"], name="backup", model="backup-1")
    h = stack(primary, world, backup=backup)
    result = await h.run("go")
    assert result.ok and result.output == "primary answered"
    assert world.slept == [7.0] and backup.calls == 0
    assert [k for k, _ in resilience_events(h)] == ["retry.scheduled"]


async def test_a_dead_primary_trips_its_breaker_and_the_backup_takes_over() -> None:
    world = World()
    primary = ScriptedModel([http(500, "primary")] * 3 + ["primary is back"], name="primary",
                            model="primary-1")
    backup = ScriptedModel(["backup answered", "backup again"], name="backup", model="backup-1")
    h = stack(primary, world, backup=backup, settings={
        "retry": {"max_attempts": 5, "base_delay": 1, "max_delay": 8},
        "breaker": {"failure_threshold": 3, "cooldown": 60}})

    result = await h.run("first")
    assert result.ok and result.output == "backup answered"
    # the third failure opened the circuit: no backoff is wasted on a 4th attempt
    assert primary.calls == 3 and world.slept == [0.5, 1.0]
    assert [k for k, _ in resilience_events(h)] == [
        "retry.scheduled", "retry.scheduled", "breaker.opened", "fallback.taken"]
    events = dict(resilience_events(h))
    assert events["breaker.opened"]["provider"] == "primary"
    assert events["fallback.taken"]["from"] == "primary"
    assert events["fallback.taken"]["to"] == "backup"
    why = events["fallback.taken"]["why"]
    assert why.startswith("CircuitOpenError: circuit open for provider 'primary'")
    assert "HTTP 500 from primary" in why

    result = await h.run("second, circuit still open")
    assert result.output == "backup again" and primary.calls == 3
    assert [k for k, _ in resilience_events(h)] == ["fallback.taken"]

    world.now += 60
    result = await h.run("third, after the cool-down")
    assert result.output == "primary is back"
    assert [k for k, _ in resilience_events(h)] == ["breaker.half_open", "breaker.closed"]


async def test_each_provider_gets_its_own_retries_and_the_last_error_fails_the_run() -> None:
    world = World()
    primary = ScriptedModel([http(503, "primary")] * 2, name="primary", model="primary-1")
    backup = ScriptedModel([http(502, "backup")] * 2, name="backup", model="backup-1")
    h = stack(primary, world, backup=backup, settings={"retry": {"max_attempts": 2}})
    result = await h.run("go")
    assert result.status == "failed"
    assert result.error == "ProviderError: HTTP 502 from backup"
    retried = [d["provider"] for k, d in resilience_events(h) if k == "retry.scheduled"]
    assert retried == ["primary", "backup"]
    kinds = [k for k, _ in resilience_events(h)]
    assert kinds.count("fallback.taken") == 1 and kinds[-1] == "fallback.exhausted"
    assert h.last_run.recorded[-1].data["status"] == "failed"


async def test_a_bad_request_is_neither_retried_nor_counted_nor_rerouted() -> None:
    world = World()
    primary = ScriptedModel([http(400, "primary")] * 3, name="primary", model="primary-1")
    backup = ScriptedModel(["unreached"], name="backup", model="backup-1")
    h = stack(primary, world, backup=backup, settings={"breaker": {"failure_threshold": 1}})
    for _ in range(3):
        result = await h.run("malformed")
        assert result.status == "failed" and "HTTP 400" in result.error
        assert resilience_events(h) == []
    assert primary.calls == 3 and backup.calls == 0 and world.slept == []
