"""Hook dispatch: ordering, kinds, deny-wins, errors naming plugins."""

from __future__ import annotations

import asyncio
import itertools

import pluggy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loom.errors import PluginError, PluginValidationError
from loom.hookspecs import HOOK_KINDS, hookimpl
from loom.plugins import PluginManager
from loom.testing import LoomHarness, call
from loom.tools import tool
from loom.verdicts import ProposedAction, Verdict, fold_verdicts


def manager(*plugins: object) -> PluginManager:
    return PluginManager(plugins=[(f"p{i}", p) for i, p in enumerate(plugins)],
                         entry_points=False).load()


class Recorder:
    def __init__(self) -> None:
        self.order: list[str] = []


def make(tag: str, log: list[str], *, first: object = None, **marks: bool) -> object:
    class Plugin:
        @hookimpl(**marks)
        async def loom_plan(self, goal: str) -> object:
            log.append(tag)
            return first

        @hookimpl(**marks)
        def loom_collect_injections(self) -> str:
            log.append(tag)
            return tag

        @hookimpl(**marks)
        async def loom_wrap_step(self, step: int, call_next: object) -> object:
            log.append(f"{tag}>")
            result = await call_next(step)  # type: ignore[operator]
            log.append(f"<{tag}")
            return result

        @hookimpl(**marks)
        async def loom_step_finished(self) -> None:
            log.append(tag)

        @hookimpl(**marks)
        async def loom_veto(self, action: ProposedAction) -> Verdict:
            log.append(tag)
            return Verdict.allow(tag)

    return Plugin()


@pytest.mark.parametrize("hook", ["first", "collect", "notify", "fold", "wrap"])
async def test_tryfirst_and_trylast_order_every_kind(hook: str) -> None:
    log: list[str] = []
    plugins = [make("last", log, trylast=True), make("plain1", log), make("first", log, tryfirst=True),
               make("plain2", log)]
    pm = manager(*plugins)
    d = pm.dispatcher
    if hook == "first":
        await d.first("loom_plan", goal="g", run=None)
    elif hook == "collect":
        assert await d.collect("loom_collect_injections", run=None) == [
            "first", "plain2", "plain1", "last"]
    elif hook == "notify":
        await d.notify("loom_step_finished", outcome=None, run=None)
    elif hook == "fold":
        await d.veto("loom_veto", action=ProposedAction(call_id="1", tool="t"), run=None)
    else:
        async def inner(step: int) -> str:
            log.append("core")
            return "done"

        assert await d.wrap("loom_wrap_step", inner, 1, "step", run=None) == "done"
        assert log == ["first>", "plain2>", "plain1>", "last>", "core",
                       "<last", "<plain1", "<plain2", "<first"]
        return
    # pluggy order: tryfirst, then later-registered first, then trylast
    assert log == ["first", "plain2", "plain1", "last"]


async def test_async_first_result_none_lets_the_next_run() -> None:
    log: list[str] = []
    none_first = make("a", log, first=None, tryfirst=True)
    answer = make("b", log, first="plan-b")
    never = make("c", log, first="plan-c", trylast=True)
    pm = manager(never, answer, none_first)
    assert await pm.dispatcher.first("loom_plan", goal="g", run=None) == "plan-b"
    assert log == ["a", "b"]  # c is never called: first result wins


def veto_plugin(decision: str | None, tag: str) -> object:
    class V:
        @hookimpl
        def loom_veto(self, action: ProposedAction) -> Verdict | None:
            if decision is None:
                return None
            return Verdict(decision=decision, reason=tag)  # type: ignore[arg-type]

    return V()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["allow", "ask", "deny", None]), min_size=1, max_size=5))
def test_deny_anywhere_wins_in_any_order(decisions: list[str | None]) -> None:
    for perm in set(itertools.permutations(decisions)):
        pm = manager(*[veto_plugin(d, f"v{i}") for i, d in enumerate(perm)])
        verdict, _ = asyncio.run(pm.dispatcher.veto(
            "loom_veto", action=ProposedAction(call_id="1", tool="t"), run=None))
        expected = "deny" if "deny" in perm else "ask" if "ask" in perm else "allow"
        assert verdict.decision == expected


def test_fold_verdicts_never_lets_allow_override_deny() -> None:
    verdicts = [Verdict.deny("no"), Verdict.allow("yes"), Verdict.ask("hmm")]
    assert fold_verdicts(verdicts).reason == "no"
    assert fold_verdicts(list(reversed(verdicts))).decision == "deny"


async def test_raising_veto_plugin_denies_and_is_named() -> None:
    class Broken:
        @hookimpl
        def loom_veto(self, action: ProposedAction) -> Verdict:
            raise RuntimeError("boom")

    errors: list[tuple[str, str, BaseException]] = []
    pm = manager(veto_plugin("allow", "ok"), Broken())
    verdict, _ = await pm.dispatcher.veto(
        "loom_veto", lambda p, h, e: errors.append((p, h, e)),
        action=ProposedAction(call_id="1", tool="t"), run=None)
    assert verdict.decision == "deny"
    assert "p1" in verdict.reason and "boom" in verdict.reason
    assert errors and errors[0][0] == "p1"


async def test_error_in_first_hook_names_the_plugin() -> None:
    class Bad:
        @hookimpl
        async def loom_plan(self, goal: str) -> None:
            raise ValueError("bad plan")

    pm = manager(Bad())
    with pytest.raises(PluginError, match="plugin 'p0' raised in loom_plan: ValueError: bad plan"):
        await pm.dispatcher.first("loom_plan", goal="g", run=None)


@tool
def echo(text: str) -> str:
    """Echo text back."""
    return text


class EchoTools:
    @hookimpl
    def loom_register_tools(self) -> list[object]:
        return [echo]


def test_notify_hook_that_raises_does_not_stop_the_run() -> None:
    class Flaky:
        @hookimpl
        async def loom_step_finished(self) -> None:
            raise RuntimeError("observer broke")

    harness = LoomHarness([call("echo", text="hi"), "finished"], plugins=[EchoTools(), ("flaky", Flaky())])
    result = harness.run_sync("echo something")
    assert result.status == "succeeded" and result.output == "finished"
    errors = [e for e in harness.last_run.recorded if e.kind == "plugin.error"]
    assert errors, "the failing observer must be reported as an event"
    assert errors[0].data["plugin"] == "flaky"
    assert errors[0].data["hook"] == "loom_step_finished"
    assert "observer broke" in errors[0].data["error"]


def test_pluggy_wrappers_are_rejected_with_a_pointer_to_wrap_hooks() -> None:
    class Wrapper:
        @hookimpl(wrapper=True)
        def loom_step_finished(self) -> object:
            yield

    with pytest.raises(PluginValidationError, match="loom_wrap_model_call"):
        manager(Wrapper())


def test_wrap_layer_error_is_named_but_inner_loom_errors_pass_through() -> None:
    from loom.errors import ProviderError

    class BadLayer:
        @hookimpl
        async def loom_wrap_step(self, step: int, call_next: object) -> object:
            raise KeyError("oops")

    pm = manager(BadLayer())

    async def inner(step: int) -> None:
        raise AssertionError("not reached")

    with pytest.raises(PluginError, match="p0"):
        asyncio.run(pm.dispatcher.wrap("loom_wrap_step", inner, 1, "step", run=None))

    class PassThrough:
        @hookimpl
        async def loom_wrap_step(self, step: int, call_next: object) -> object:
            return await call_next(step)  # type: ignore[operator]

    pm2 = manager(PassThrough())

    async def failing(step: int) -> None:
        raise ProviderError("down", provider="x")

    with pytest.raises(ProviderError, match="down"):
        asyncio.run(pm2.dispatcher.wrap("loom_wrap_step", failing, 1, "step", run=None))


def test_every_hook_has_a_kind_and_a_docstring() -> None:
    from loom import hookspecs

    for name, kind in HOOK_KINDS.items():
        doc = getattr(hookspecs, name).__doc__ or ""
        assert f"Kind: {kind}" in doc, name
        assert "Return" in doc, name
    assert isinstance(pluggy.HookspecMarker, type)
