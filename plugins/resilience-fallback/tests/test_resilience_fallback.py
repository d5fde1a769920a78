"""The fallback layer: when it switches providers, to which, and what it reports."""

from __future__ import annotations

from typing import Any

import pytest
from loom.errors import CircuitOpenError, ContextOverflowError, ProviderError
from loom.hookspecs import hookimpl
from loom.profile import AgentProfile
from loom.records import ProviderRecord
from loom.testing import LoomHarness, ScriptedModel
from loom_resilience_fallback import ChainEntry, FallbackPlugin, is_request_fault


class Providers:
    """A plugin registering provider records for given test providers."""

    def __init__(self, **models: ScriptedModel) -> None:
        self.models = models

    @hookimpl
    def loom_register_providers(self) -> list[ProviderRecord]:
        return [ProviderRecord(name=name, factory=(lambda m=model: m))
                for name, model in self.models.items()]


def http(status: int, who: str = "primary") -> ProviderError:
    return ProviderError(f"HTTP {status} from {who}", provider=who, status=status,
                         retryable=status == 429 or status >= 500)


def harness(primary: ScriptedModel, *, chain: list[str], profile: AgentProfile | None = None,
            **others: ScriptedModel) -> LoomHarness:
    return LoomHarness(primary, plugins=[("providers", Providers(**others)),
                                         ("resilience-fallback", FallbackPlugin())],
                       config={"stages": {"fallback": chain}}, profile=profile)


def events(h: LoomHarness, kind: str) -> list[dict[str, Any]]:
    return [e.data for e in h.last_run.recorded if e.kind == kind]


async def test_a_server_error_falls_back_to_the_next_provider() -> None:
    primary = ScriptedModel([http(503)], name="primary", model="primary-default")
    backup = ScriptedModel(["backup answered"], name="backup", model="backup-default")
    h = harness(primary, chain=["backup"], backup=backup)
    result = await h.run("go")
    assert result.ok and result.output == "backup answered"
    [taken] = events(h, "fallback.taken")
    assert taken["from"] == "primary" and taken["to"] == "backup"
    assert taken["why"] == "ProviderError 503: HTTP 503 from primary"
    assert taken["status"] == 503
    assert backup.requests[0].metadata["provider"] == "backup"


async def test_an_open_circuit_falls_back() -> None:
    primary = ScriptedModel([CircuitOpenError("circuit open for provider 'primary'")],
                         name="primary")
    backup = ScriptedModel(["fine"], name="backup", model="backup-default")
    h = harness(primary, chain=["backup"], backup=backup)
    assert (await h.run("go")).ok
    assert events(h, "fallback.taken")[0]["error_type"] == "CircuitOpenError"


@pytest.mark.parametrize("status", [400, 413, 422])
async def test_a_request_error_never_falls_back(status: int) -> None:
    primary = ScriptedModel([http(status)], name="primary", model="primary-default")
    backup = ScriptedModel(["unreached"], name="backup", model="backup-default")
    h = harness(primary, chain=["backup"], backup=backup)
    result = await h.run("go")
    assert result.status == "failed" and f"HTTP {status}" in result.error
    assert backup.calls == 0 and events(h, "fallback.taken") == []


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_a_provider_specific_client_error_falls_back(status: int) -> None:
    primary = ScriptedModel([http(status)], name="primary", model="primary-default")
    backup = ScriptedModel(["fine"], name="backup", model="backup-default")
    h = harness(primary, chain=["backup"], backup=backup)
    assert (await h.run("go")).ok


async def test_when_every_provider_fails_the_run_fails_with_the_last_error() -> None:
    primary = ScriptedModel([http(503)], name="primary", model="primary-default")
    second = ScriptedModel([http(502, "second")], name="second", model="second-default")
    third = ScriptedModel([CircuitOpenError("circuit open for provider 'third'")], name="third",
                          model="third-default")
    h = harness(primary, chain=["second", "third"], second=second, third=third)
    result = await h.run("go")
    assert result.status == "failed"
    assert result.error == "CircuitOpenError: circuit open for provider 'third'"
    assert [(e["from"], e["to"]) for e in events(h, "fallback.taken")] == [
        ("primary", "second"), ("second", "third")]
    [exhausted] = events(h, "fallback.exhausted")
    assert exhausted["tried"] == ["primary", "second", "third"]
    finished = h.last_run.recorded[-1]
    assert finished.kind == "run.finished" and finished.data["status"] == "failed"


async def test_a_context_overflow_only_goes_to_a_larger_window() -> None:
    overflow = ContextOverflowError("prompt is too long", provider="primary", status=400)
    primary = ScriptedModel([overflow], name="primary", model="primary-default",
                            context_window=100_000)
    small = ScriptedModel(["unreached"], name="small", model="small-default", context_window=32_000)
    big = ScriptedModel(["big answered"], name="big", model="big-default",
                        context_window=1_000_000)
    h = harness(primary, chain=["small", "big"], small=small, big=big)
    result = await h.run("go")
    assert result.ok and result.output == "big answered"
    assert small.calls == 0
    [skipped] = events(h, "fallback.skipped")
    assert skipped["provider"] == "small" and "32000 is not larger than 100000" in skipped["why"]
    assert events(h, "fallback.taken")[0]["to"] == "big"


async def test_a_context_overflow_with_no_larger_window_fails() -> None:
    overflow = ContextOverflowError("prompt is too long", provider="primary", status=400)
    primary = ScriptedModel([overflow], name="primary", model="primary-default",
                            context_window=100_000)
    same = ScriptedModel(["unreached"], name="same", model="same-default", context_window=100_000)
    h = harness(primary, chain=["same"], same=same)
    result = await h.run("go")
    assert result.status == "failed" and "ContextOverflowError" in result.error
    assert same.calls == 0


async def test_the_profile_chain_comes_first_and_models_are_per_entry() -> None:
    primary = ScriptedModel([http(500)], name="primary", model="primary-default")
    a = ScriptedModel([http(500, "a")], name="a", model="a-default")
    b = ScriptedModel(["b answered"], name="b", model="b-default")
    profile = AgentProfile(model="primary-large", fallback=["a:tiny"])
    h = harness(primary, chain=["a:tiny", "b"], profile=profile, a=a, b=b)
    assert (await h.run("go")).output == "b answered"
    assert primary.requests[0].model == "primary-large"
    assert a.requests[0].model == "tiny"
    assert b.requests[0].model == ""  # b's own default model
    assert a.calls == 1  # "a:tiny" listed twice, tried once


async def test_the_primary_listed_in_the_chain_is_not_tried_twice() -> None:
    primary = ScriptedModel([http(503)], name="primary", model="primary-default")
    backup = ScriptedModel(["fine"], name="backup", model="backup-default")
    h = harness(primary, chain=["main", "backup"], main=primary, backup=backup)
    assert (await h.run("go")).ok
    assert primary.calls == 1
    assert [e["to"] for e in events(h, "fallback.taken")] == ["backup"]


async def test_without_a_chain_the_error_propagates_unchanged() -> None:
    primary = ScriptedModel([http(503)], name="primary", model="primary-default")
    h = harness(primary, chain=[])
    result = await h.run("go")
    assert result.status == "failed" and result.error == "ProviderError: HTTP 503 from primary"
    assert events(h, "fallback.exhausted") == []


async def test_an_unknown_provider_in_the_chain_is_a_config_error() -> None:
    primary = ScriptedModel(["unreached"], name="primary", model="primary-default")
    h = harness(primary, chain=["bakcup"],
                backup=ScriptedModel([], name="backup", model="backup-default"))
    result = await h.run("go")
    assert result.status == "failed"
    assert "ConfigError" in result.error and "stages.fallback" in result.error
    assert "did you mean 'backup'" in result.error
    assert primary.calls == 0


def test_chain_entries_parse_name_and_model() -> None:
    assert ChainEntry.parse("openai") == ChainEntry("openai", "")
    assert ChainEntry.parse("local:llama3.1:8b") == ChainEntry("local", "llama3.1:8b")
    assert str(ChainEntry("local", "llama3.1:8b")) == "local:llama3.1:8b"


def test_which_errors_are_the_callers_fault() -> None:
    assert is_request_fault(http(400)) and is_request_fault(http(422))
    assert not is_request_fault(http(401)) and not is_request_fault(http(503))
    assert not is_request_fault(ContextOverflowError("too long", status=400))


async def test_a_provider_that_cannot_be_built_is_skipped() -> None:
    class Broken:
        @hookimpl
        def loom_register_providers(self) -> list[ProviderRecord]:
            def build() -> ScriptedModel:
                raise RuntimeError("BROKEN_API_KEY is not set")
            return [ProviderRecord(name="broken", factory=build)]

    primary = ScriptedModel([http(503)], name="primary", model="primary-default")
    backup = ScriptedModel(["backup answered"], name="backup", model="backup-default")
    h = LoomHarness(primary, plugins=[("providers", Providers(backup=backup)), ("broken", Broken()),
                                      ("resilience-fallback", FallbackPlugin())],
                    config={"stages": {"fallback": ["broken", "backup"]}})
    assert (await h.run("go")).output == "backup answered"
    [skipped] = events(h, "fallback.skipped")
    assert skipped["provider"] == "broken" and "BROKEN_API_KEY is not set" in skipped["why"]
