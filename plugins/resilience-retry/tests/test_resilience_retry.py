"""The retry layer: what is retried, how long it waits, what the run reports."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from loom.errors import CircuitOpenError, ConfigError, ContextOverflowError, ProviderError
from loom.requests import ModelRequest, ModelResponse
from loom.testing import LoomHarness, ScriptedModel
from loom_resilience_retry import RetryPlugin, RetrySettings, backoff_cap, decide, is_retryable


def flaky(script: list[Any], *, name: str = "flaky") -> ScriptedModel:
    """A provider named ``name`` that raises the errors of its script and answers the rest."""
    return ScriptedModel(script, name=name, model="flaky-1")


def http(status: int, *, retry_after: float | None = None) -> ProviderError:
    """The error a provider raises for an HTTP status, classified the usual way."""
    return ProviderError(f"HTTP {status} from flaky", provider="flaky", status=status,
                         retryable=status in (408, 409, 429) or status >= 500,
                         retry_after=retry_after)


class Sleeps:
    """An injected sleep that records delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def harness(model: ScriptedModel, sleeps: Sleeps, *, jitter: float = 0.5,
            settings: dict[str, Any] | None = None) -> LoomHarness:
    plugin = RetryPlugin(sleep=sleeps, random=lambda: jitter)
    config = {"settings": {"retry": settings}} if settings else None
    return LoomHarness(model, plugins=[("resilience-retry", plugin)], config=config)


def events(h: LoomHarness, kind: str) -> list[dict[str, Any]]:
    return [e.data for e in h.last_run.recorded if e.kind == kind]


# ------------------------------------------------------------------ in a run


async def test_rate_limit_and_server_error_are_retried_until_an_answer() -> None:
    model = flaky([http(429), http(503), "recovered"])
    sleeps = Sleeps()
    h = harness(model, sleeps)
    result = await h.run("say something")
    assert result.status == "succeeded" and result.output == "recovered"
    assert model.calls == 3
    scheduled = events(h, "retry.scheduled")
    assert [(e["attempt"], e["status"]) for e in scheduled] == [(1, 429), (2, 503)]
    # full jitter with random() = 0.5: half of 0.5 * 2**0, then half of 0.5 * 2**1
    assert sleeps.delays == [0.25, 0.5]
    assert [e["delay"] for e in scheduled] == sleeps.delays
    assert scheduled[0]["provider"] == "flaky" and scheduled[0]["model"] == "flaky-1"


async def test_retry_after_is_waited_exactly() -> None:
    model = flaky([http(429, retry_after=2.5), "ok"])
    sleeps = Sleeps()
    h = harness(model, sleeps, jitter=0.99)
    assert (await h.run("go")).ok
    assert sleeps.delays == [2.5]
    [event] = events(h, "retry.scheduled")
    assert event["retry_after"] == 2.5 and "Retry-After" in event["reason"]


async def test_a_retry_after_longer_than_allowed_gives_up_at_once() -> None:
    model = flaky([http(429, retry_after=120.0), "never"])
    sleeps = Sleeps()
    h = harness(model, sleeps)
    result = await h.run("go")
    assert result.status == "failed"
    assert model.calls == 1 and sleeps.delays == []
    [gave_up] = events(h, "retry.gave_up")
    assert "max_retry_after" in gave_up["reason"]


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_a_request_error_is_never_retried(status: int) -> None:
    error = http(status)
    error.retryable = True  # even when a provider marks it retryable by mistake
    model = flaky([error, "never"])
    sleeps = Sleeps()
    h = harness(model, sleeps)
    result = await h.run("go")
    assert result.status == "failed"
    assert f"HTTP {status}" in result.error and "ProviderError" in result.error
    assert model.calls == 1 and sleeps.delays == []
    assert events(h, "retry.scheduled") == [] and events(h, "retry.gave_up") == []


async def test_a_context_overflow_is_never_retried() -> None:
    overflow = ContextOverflowError("prompt is too long", provider="flaky", status=400,
                                    retryable=True)
    model = flaky([overflow, "never"])
    h = harness(model, Sleeps())
    result = await h.run("go")
    assert result.status == "failed" and "ContextOverflowError" in result.error
    assert model.calls == 1


async def test_exhausted_attempts_fail_the_run_with_the_last_error() -> None:
    model = flaky([http(500), http(502), http(503), http(504), "too late"])
    sleeps = Sleeps()
    h = harness(model, sleeps)
    result = await h.run("go")
    assert result.status == "failed"
    assert "HTTP 504" in result.error
    assert model.calls == 4 and len(sleeps.delays) == 3
    [gave_up] = events(h, "retry.gave_up")
    assert gave_up["attempts"] == 4 and gave_up["status"] == 504
    assert h.event_kinds()[-1] == "run.finished"
    assert h.last_run.recorded[-1].data["status"] == "failed"


async def test_settings_come_from_the_settings_table() -> None:
    model = flaky([http(500), http(500), "unreached"])
    sleeps = Sleeps()
    h = harness(model, sleeps, settings={"max_attempts": 2, "base_delay": 4, "max_delay": 5})
    result = await h.run("go")
    assert result.status == "failed" and model.calls == 2
    assert sleeps.delays == [2.0]


def test_bad_settings_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"settings\.retry\.max_delay.*at least base_delay"):
        harness(flaky([]), Sleeps(), settings={"base_delay": 5, "max_delay": 1})
    with pytest.raises(ConfigError, match=r"settings\.retry\.max_attempt.*did you mean 'max_attempts'"):
        harness(flaky([]), Sleeps(), settings={"max_attempt": 3})
    with pytest.raises(ConfigError, match=r"settings\.retry\.max_attempts"):
        harness(flaky([]), Sleeps(), settings={"max_attempts": 0})


async def test_an_error_that_is_not_a_provider_error_passes_through() -> None:
    class Boom:
        async def loom_wrap_model_call(self, request: ModelRequest, run: Any,
                                       call_next: Any) -> ModelResponse:
            raise RuntimeError("inner layer broke")

    model = flaky(["unreached"])
    sleeps = Sleeps()
    h = LoomHarness(model, plugins=[("resilience-retry", RetryPlugin(sleep=sleeps)),
                                    ("boom", Boom())])
    result = await h.run("go")
    assert result.status == "failed" and "inner layer broke" in result.error
    assert sleeps.delays == []


async def test_the_installed_plugin_retries_from_its_entry_point() -> None:
    model = flaky([http(503), "fine"])
    h = LoomHarness(model, entry_points=True, config={
        "plugins": {"enable": ["resilience-retry"]},
        "settings": {"retry": {"base_delay": 0, "max_delay": 0}}})
    result = await h.run("go")
    assert result.ok and model.calls == 2
    assert h.event_kinds().count("retry.scheduled") == 1


# ---------------------------------------------------------------- the policy


@pytest.mark.parametrize(("error", "expected"), [
    (http(429), True), (http(500), True), (http(529), True), (http(408), True),
    (ProviderError("connection reset", retryable=True), True),
    (ProviderError("stream ended early", retryable=True), True),
    (http(400), False), (ProviderError("auth", status=401, retryable=True), False),
    (ContextOverflowError("too long", retryable=True), False),
    (CircuitOpenError("open", retryable=True), False),
    (ProviderError("unclassified"), False), (RuntimeError("not a provider error"), False),
])
def test_which_errors_are_retryable(error: BaseException, expected: bool) -> None:
    assert is_retryable(error) is expected


def test_backoff_doubles_up_to_the_cap() -> None:
    settings = RetrySettings(base_delay=1.0, max_delay=10.0)
    assert [backoff_cap(n, settings) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert backoff_cap(10_000, settings) == 10.0


@given(attempt=st.integers(1, 200), jitter=st.floats(0, 1, exclude_max=True),
       base=st.floats(0, 5), extra=st.floats(0, 60))
def test_a_jittered_delay_stays_within_zero_and_the_cap(
        attempt: int, jitter: float, base: float, extra: float) -> None:
    settings = RetrySettings(max_attempts=1000, base_delay=base, max_delay=base + extra)
    decision = decide(http(503), attempt, settings, lambda: jitter)
    assert decision.retry and decision.delay is not None
    assert 0 <= decision.delay <= backoff_cap(attempt, settings) <= settings.max_delay


def test_the_last_attempt_is_not_retried() -> None:
    settings = RetrySettings(max_attempts=3)
    assert decide(http(500), 2, settings, lambda: 0.0).retry
    last = decide(http(500), 3, settings, lambda: 0.0)
    assert not last.retry and "3 attempt(s)" in last.reason


def test_one_attempt_means_no_retry() -> None:
    assert not decide(http(503), 1, RetrySettings(max_attempts=1), lambda: 0.0).retry

