"""The circuit breaker: its state machine, and the layer in real runs."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from loom.errors import CircuitOpenError, ConfigError, ProviderError
from loom.profile import AgentProfile
from loom.testing import LoomHarness, ScriptedModel
from loom_resilience_breaker import (
    BreakerBoard,
    BreakerPlugin,
    BreakerSettings,
    CircuitBreaker,
    classify,
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def flaky(script: list[Any], *, name: str = "flaky") -> ScriptedModel:
    """A provider named ``name`` that raises the errors of its script and answers the rest."""
    return ScriptedModel(script, name=name, model="flaky-1")


def http(status: int) -> ProviderError:
    return ProviderError(f"HTTP {status} from flaky", provider="flaky", status=status,
                         retryable=status == 429 or status >= 500)


def kinds(h: LoomHarness) -> list[str]:
    return [k for k in h.event_kinds() if k.startswith("breaker.")]


# ------------------------------------------------------------ state machine


def test_consecutive_failures_open_the_circuit_and_it_fails_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", "m", BreakerSettings(failure_threshold=3, cooldown=30), clock)
    for _ in range(2):
        permit, _ = breaker.acquire()
        assert breaker.record_failure(permit) is None
    permit, _ = breaker.acquire()
    opened = breaker.record_failure(permit)
    assert opened is not None and opened.event_kind == "breaker.opened"
    assert opened.previous == "closed" and opened.consecutive_failures == 3
    assert "3 consecutive failures" in opened.reason
    clock.now += 10
    with pytest.raises(CircuitOpenError) as caught:
        breaker.acquire()
    error = caught.value
    assert error.retryable is False and error.provider == "p"
    assert error.retry_after == pytest.approx(20.0)
    assert "'p'" in str(error) and "'m'" in str(error) and "retry in 20s" in str(error)


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker("p", "m", BreakerSettings(failure_threshold=2, min_calls=100),
                             Clock())
    for outcome in ["fail", "ok", "fail", "ok", "fail"]:
        permit, _ = breaker.acquire()
        if outcome == "ok":
            breaker.record_success(permit)
        else:
            assert breaker.record_failure(permit) is None
    assert breaker.state == "closed"


def test_a_failure_rate_over_the_window_opens_the_circuit() -> None:
    settings = BreakerSettings(failure_threshold=100, failure_rate=0.5, min_calls=4)
    breaker = CircuitBreaker("p", "m", settings, Clock())
    transitions = []
    for outcome in ["fail", "ok", "fail", "ok", "fail"]:
        permit, _ = breaker.acquire()
        record = breaker.record_failure if outcome == "fail" else breaker.record_success
        transitions.append(record(permit))
    # the third failure is the first with >= 4 calls in the window: 3 of 5 failed
    assert transitions[:4] == [None] * 4
    opened = transitions[4]
    assert opened is not None and opened.window_calls == 5 and opened.window_failures == 3
    assert "3 of 5 calls failed" in opened.reason


def test_old_calls_leave_the_sliding_window() -> None:
    clock = Clock()
    settings = BreakerSettings(failure_threshold=100, failure_rate=0.5, min_calls=4,
                               window_seconds=60)
    breaker = CircuitBreaker("p", "m", settings, clock)
    for _ in range(3):
        permit, _ = breaker.acquire()
        breaker.record_failure(permit)
    clock.now += 61  # those three failures are now outside the window
    for outcome in ["ok", "ok", "ok", "fail"]:
        permit, _ = breaker.acquire()
        (breaker.record_failure if outcome == "fail" else breaker.record_success)(permit)
    snap = breaker.snapshot()
    assert snap.state == "closed" and snap.window_calls == 4 and snap.window_failures == 1


def opened_breaker(clock: Clock, cooldown: float = 30) -> CircuitBreaker:
    breaker = CircuitBreaker("p", "m", BreakerSettings(failure_threshold=1, cooldown=cooldown),
                             clock)
    permit, _ = breaker.acquire()
    breaker.record_failure(permit)
    assert breaker.state == "open"
    return breaker


def test_after_the_cool_down_one_probe_goes_through_and_others_fail_fast() -> None:
    clock = Clock()
    breaker = opened_breaker(clock)
    clock.now += 30
    probe, half_open = breaker.acquire()
    assert probe.probe and half_open is not None and half_open.event_kind == "breaker.half_open"
    with pytest.raises(CircuitOpenError, match="probe call is in flight") as caught:
        breaker.acquire()
    assert caught.value.retry_after == 0.0
    closed = breaker.record_success(probe)
    assert closed is not None and closed.event_kind == "breaker.closed"
    assert "probe call succeeded" in closed.reason
    permit, transition = breaker.acquire()
    assert not permit.probe and transition is None


def test_a_failed_probe_reopens_and_restarts_the_cool_down() -> None:
    clock = Clock()
    breaker = opened_breaker(clock)
    clock.now += 30
    probe, _ = breaker.acquire()
    clock.now += 5
    reopened = breaker.record_failure(probe)
    assert reopened is not None and reopened.event_kind == "breaker.opened"
    assert reopened.previous == "half_open" and reopened.times_opened == 2
    clock.now += 29
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.now += 1
    assert breaker.acquire()[0].probe


def test_a_probe_that_ends_without_an_outcome_frees_the_slot() -> None:
    clock = Clock()
    breaker = opened_breaker(clock)
    clock.now += 30
    probe, _ = breaker.acquire()
    breaker.release(probe)
    assert breaker.state == "half_open"
    again, transition = breaker.acquire()
    assert again.probe and transition is None


def test_a_straggler_from_before_the_opening_changes_nothing() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", "m", BreakerSettings(failure_threshold=1, cooldown=30), clock)
    slow, _ = breaker.acquire()
    fast, _ = breaker.acquire()
    breaker.record_failure(fast)
    assert breaker.state == "open"
    assert breaker.record_success(slow) is None
    assert breaker.state == "open"
    clock.now += 30
    probe, _ = breaker.acquire()
    assert probe.probe
    assert breaker.record_failure(slow) is None  # a stale failure does not reopen
    snap = breaker.snapshot()
    assert snap.state == "half_open" and snap.probe_in_flight


def test_exactly_one_thread_gets_the_probe() -> None:
    clock = Clock()
    breaker = opened_breaker(clock)
    clock.now += 30
    start = threading.Barrier(32)
    granted: list[bool] = []
    refused: list[CircuitOpenError] = []
    lock = threading.Lock()

    def caller() -> None:
        start.wait()
        try:
            permit, _ = breaker.acquire()
        except CircuitOpenError as exc:
            with lock:
                refused.append(exc)
        else:
            with lock:
                granted.append(permit.probe)

    threads = [threading.Thread(target=caller) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert granted == [True] and len(refused) == 31


def test_outcomes_from_many_threads_are_all_counted() -> None:
    breaker = CircuitBreaker("p", "m", BreakerSettings(failure_threshold=10_000, min_calls=10_000,
                                                       window_seconds=1e9), Clock())

    def caller() -> None:
        for i in range(500):
            permit, _ = breaker.acquire()
            (breaker.record_failure if i % 2 else breaker.record_success)(permit)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = breaker.snapshot()
    assert snap.window_calls == 4000 and snap.window_failures == 2000


def test_the_board_keeps_one_breaker_per_provider_and_model() -> None:
    board = BreakerBoard(Clock())
    a = board.breaker("openai", "gpt-a")
    assert board.breaker("openai", "gpt-a") is a
    assert board.breaker("openai", "gpt-b") is not a
    assert board.breaker("local", "gpt-a") is not a
    board.breaker("openai", "gpt-a", BreakerSettings(cooldown=5))
    assert a.settings.cooldown == 5
    assert [(s.provider, s.model) for s in board.snapshots()] == [
        ("local", "gpt-a"), ("openai", "gpt-a"), ("openai", "gpt-b")]


@pytest.mark.parametrize(("error", "outcome"), [
    (None, "success"), (http(500), "failure"), (http(429), "failure"),
    (http(400), "success"), (CircuitOpenError("open"), "neutral"),
    (RuntimeError("other"), "neutral"),
])
def test_what_an_outcome_says_about_the_provider(error: BaseException | None,
                                                  outcome: str) -> None:
    assert classify(error) == outcome


# ------------------------------------------------------------------ in runs


def runtime_with(model: ScriptedModel, clock: Clock,
                 settings: dict[str, Any] | None = None) -> LoomHarness:
    config = {"settings": {"breaker": settings or {"failure_threshold": 5, "cooldown": 30}}}
    return LoomHarness(model, plugins=[("resilience-breaker", BreakerPlugin(clock=clock))],
                       config=config)


async def test_failing_runs_open_the_circuit_shared_by_later_runs() -> None:
    clock = Clock()
    model = flaky([http(500)] * 5 + ["back again"])
    h = runtime_with(model, clock)
    for n in range(4):
        result = await h.run(f"attempt {n}")
        assert result.status == "failed" and result.error.startswith("ProviderError: HTTP 500")
    result = await h.run("the fifth failure")
    assert result.status == "failed" and result.error.startswith("CircuitOpenError")
    assert "opened by this call's failure (ProviderError: HTTP 500" in result.error
    assert kinds(h) == ["breaker.opened"]
    opened = next(e.data for e in h.last_run.recorded if e.kind == "breaker.opened")
    assert opened["provider"] == "flaky" and opened["model"] == "flaky-1"
    assert opened["consecutive_failures"] == 5 and "5 consecutive failures" in opened["reason"]

    result = await h.run("while open")
    assert result.status == "failed" and "CircuitOpenError" in result.error
    assert model.calls == 5  # failed fast: the provider was not called

    clock.now += 30
    result = await h.run("after the cool-down")
    assert result.ok and result.output == "back again"
    assert kinds(h) == ["breaker.half_open", "breaker.closed"]
    assert model.calls == 6


async def test_request_errors_do_not_open_the_circuit() -> None:
    model = flaky([http(400)] * 3 + ["fine"])
    h = runtime_with(model, Clock(), {"failure_threshold": 2})
    for _ in range(3):
        assert (await h.run("bad request")).status == "failed"
    assert (await h.run("good request")).ok
    assert kinds(h) == []


async def test_concurrent_callers_fail_fast_while_the_probe_runs() -> None:
    clock = Clock()
    release = asyncio.Event()
    model = flaky([http(503), release, "probe answered"])
    h = runtime_with(model, clock, {"failure_threshold": 1, "cooldown": 10})
    assert (await h.run("trip it")).status == "failed"
    clock.now += 10
    session = h.runtime.create_session()
    probe_run = session.create_task("probe").start()
    while model.calls < 2:  # the probe is now waiting inside the provider
        await asyncio.sleep(0)
    other = await h.runtime.create_session().create_task("impatient").start().wait()
    assert other.status == "failed" and "probe call is in flight" in other.error
    release.set()
    probe = await probe_run.wait()
    assert probe.ok and probe.output == "probe answered"
    assert [e.kind for e in probe_run.recorded if e.kind.startswith("breaker.")] == [
        "breaker.half_open", "breaker.closed"]


async def test_a_cancelled_probe_lets_the_next_caller_probe() -> None:
    clock = Clock()
    never = asyncio.Event()
    model = flaky([http(503), never, "second probe answered"])
    h = runtime_with(model, clock, {"failure_threshold": 1, "cooldown": 10})
    await h.run("trip it")
    clock.now += 10
    probe_run = h.runtime.create_session().create_task("probe").start()
    while model.calls < 2:
        await asyncio.sleep(0)
    probe_run.cancel()
    assert (await probe_run.wait()).status == "cancelled"
    result = await h.run("next")
    assert result.ok and result.output == "second probe answered"


async def test_each_model_has_its_own_circuit() -> None:
    clock = Clock()
    plugin = BreakerPlugin(clock=clock)
    config = {"settings": {"breaker": {"failure_threshold": 1}}}
    broken = LoomHarness(flaky([http(500)]), plugins=[("resilience-breaker", plugin)],
                         config=config, profile=AgentProfile(model="big"))
    assert (await broken.run("x")).status == "failed"
    assert plugin.board.breaker("flaky", "big").state == "open"
    fine = LoomHarness(flaky(["small answers"]), plugins=[("resilience-breaker", plugin)],
                       config=config, profile=AgentProfile(model="small"))
    assert (await fine.run("y")).ok


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"settings\.breaker\.failure_rate"):
        runtime_with(flaky([]), Clock(), {"failure_rate": 1.5})
    with pytest.raises(ConfigError, match=r"did you mean 'cooldown'"):
        runtime_with(flaky([]), Clock(), {"cooldwn": 3})


def test_a_board_and_a_clock_together_are_refused() -> None:
    with pytest.raises(ValueError, match="either board= or clock="):
        BreakerPlugin(board=BreakerBoard(), clock=Clock())


def test_the_call_that_trips_the_circuit_gets_a_circuit_open_error() -> None:
    clock = Clock()
    breaker = CircuitBreaker("p", "m", BreakerSettings(failure_threshold=1, cooldown=30), clock)
    permit, _ = breaker.acquire()
    breaker.record_failure(permit)
    cause = http(503)
    error = breaker.tripped_error(cause)
    assert isinstance(error, CircuitOpenError) and error.retryable is False
    assert error.retry_after == 30.0
    assert "opened by this call's failure (ProviderError: HTTP 503 from flaky)" in str(error)


async def test_the_installed_plugin_shares_its_circuits_across_runtimes() -> None:
    from loom_resilience_breaker import installed_board

    config = {"plugins": {"enable": ["resilience-breaker"]},
              "settings": {"breaker": {"failure_threshold": 1, "cooldown": 3600}}}
    first = flaky([http(500)], name="shared-across-runtimes")
    h1 = LoomHarness(first, entry_points=True, config=config)
    assert (await h1.run("trip it")).status == "failed"
    second = flaky(["unreached"], name="shared-across-runtimes")
    h2 = LoomHarness(second, entry_points=True, config=config)
    result = await h2.run("another runtime, same provider and model")
    assert result.status == "failed" and "CircuitOpenError" in result.error
    assert second.calls == 0
    breaker = installed_board().get("shared-across-runtimes", "flaky-1")
    assert breaker is not None and breaker.state == "open"
