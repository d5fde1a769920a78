"""The behaviour every Loom provider plugin must show, whatever its wire protocol.

Subclass :class:`ProviderConformance` in a ``test_*.py`` module, name the class
``Test...`` and set what differs: the local wire server that speaks the
provider's protocol, the class name ``loom.providers`` exports, the provider
record name and its extra settings. Every test then runs through the official
SDK against that local server; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import loom.providers
import pytest
from loom.errors import ContextOverflowError, ProviderError
from loom.messages import Message, TextBlock, ThinkingBlock, ToolCallBlock, ToolResultBlock
from loom.requests import ModelRequest, StreamDelta, ToolSpec
from loom_wire_servers import Fault, Reply, ToolCall, Usage, WireServer

from .support import Calculator, Recorder, Servers, run_goal, runtime

ADD = ToolSpec(name="add", description="Add two integers.", parameters={
    "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"]})
PRICES = {"test-model": {"input": 2.0, "output": 8.0, "cached_input": 0.5}}


def ask(text: str = "What is the capital of France?", **fields: Any) -> ModelRequest:
    """A one-message request with a system prompt."""
    return ModelRequest(system="You are terse.", messages=[Message.text("user", text)], **fields)


class ProviderConformance:
    """The conformance suite; subclasses set the class attributes below."""

    server_class: ClassVar[type[WireServer]]
    #: The name ``loom.providers`` exports (e.g. ``"OpenAIProvider"``).
    class_name: ClassVar[str]
    #: The provider record name (``[stages] provider``, ``[settings.<name>]``).
    record_name: ClassVar[str]
    #: Extra constructor arguments and settings (e.g. ``{"api": "responses"}``).
    options: ClassVar[dict[str, Any]] = {}
    #: The plugin's entry-point module (registers the provider record).
    plugin_module: ClassVar[str]
    #: A model that has a price in the provider's default table.
    priced_model: ClassVar[str]
    #: What the model is told after a tool call whose arguments did not parse.
    malformed_feedback: ClassVar[str] = "not valid JSON"

    # ----------------------------------------------------------------- fixtures

    @pytest.fixture
    async def servers(self) -> AsyncIterator[Servers]:
        """Servers and providers made by one test, closed after it."""
        servers = Servers()
        yield servers
        await servers.close()

    async def serve(self, servers: Servers, *items: Any, **options: Any
                    ) -> tuple[WireServer, Recorder]:
        """A running local server answering ``items``, and its recorder."""
        recorder = Recorder(*items)
        server = await servers.start(self.server_class(script=recorder, **options))
        return server, recorder

    def provider(self, servers: Servers, base_url: str, **options: Any) -> Any:
        """The provider class exported by ``loom.providers``, pointed at ``base_url``."""
        cls = getattr(loom.providers, self.class_name)
        return servers.track(cls(base_url=base_url, api_key="test", **{**self.options, **options}))

    # ------------------------------------------------------------------ answers

    async def test_plain_answer(self, servers: Servers) -> None:
        server, seen = await self.serve(servers, Reply(text="Paris."))
        provider = self.provider(servers, server.base_url)
        response = await provider.complete(ask())
        assert response.message.role == "assistant"
        assert response.message.text_content == "Paris."
        assert response.stop_reason == "end_turn"
        assert response.provider == provider.name == self.record_name
        assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
        request = seen.seen[0]
        assert request.system == "You are terse."
        assert request.last_user_text == "What is the capital of France?"
        assert not request.stream

    async def test_streaming_delivers_deltas_and_the_whole_answer(self, servers: Servers) -> None:
        text = "The capital of France is Paris, on the Seine."
        server, seen = await self.serve(servers, Reply(text=text))
        deltas: list[StreamDelta] = []

        async def on_delta(delta: StreamDelta) -> None:
            deltas.append(delta)

        response = await self.provider(servers, server.base_url).complete(
            ask(stream=True), on_delta=on_delta)
        assert seen.seen[0].stream
        assert len(deltas) > 3 and {d.kind for d in deltas} == {"text"}
        assert "".join(d.text for d in deltas) == text == response.message.text_content
        assert response.stop_reason == "end_turn"
        assert response.usage.output_tokens > 0

    async def test_streamed_tool_call_fragments_carry_id_and_name(self, servers: Servers) -> None:
        server, seen = await self.serve(servers, Reply(tool_calls=[
            ToolCall("add", {"a": 20, "b": 22}, id="call_s1")]))
        deltas: list[StreamDelta] = []

        async def on_delta(delta: StreamDelta) -> None:
            deltas.append(delta)

        response = await self.provider(servers, server.base_url).complete(
            ask("add", tools=[ADD], stream=True), on_delta=on_delta)
        [call] = response.message.tool_calls
        assert (call.id, call.name, call.arguments) == ("call_s1", "add", {"a": 20, "b": 22})
        fragments = [d for d in deltas if d.kind == "tool_call"]
        assert fragments and all(d.call_id == "call_s1" and d.name == "add" for d in fragments)
        assert json.loads("".join(d.text for d in fragments)) == {"a": 20, "b": 22}
        assert response.stop_reason == "tool_use"
        [offered] = seen.seen[0].tools
        assert (offered.name, offered.description, dict(offered.parameters)) == (
            ADD.name, ADD.description, ADD.parameters)

    # -------------------------------------------------------------------- tools

    async def test_tool_round_trip_through_a_run(self, servers: Servers) -> None:
        server, seen = await self.serve(
            servers, Reply(tool_calls=[ToolCall("add", {"a": 2, "b": 3}, id="call_rt1")]),
            Reply(text="2 + 3 = 5"))
        calc = Calculator()
        result = await run_goal(runtime(self.provider(servers, server.base_url), calc), "2+3?")
        assert result.ok, result.error
        assert result.output == "2 + 3 = 5"
        assert calc.calls == [("add", {"a": 2, "b": 3})]
        second = seen.seen[1]
        assert {t.name for t in second.tools} == {"add", "weather"}
        [answer] = second.tool_results
        assert answer.call_id in ("call_rt1", None) and "5" in answer.content
        assert result.usage.input_tokens > 0

    async def test_parallel_tool_calls_are_all_answered_in_order(self, servers: Servers) -> None:
        server, seen = await self.serve(servers, Reply(tool_calls=[
            ToolCall("weather", {"city": "Oslo"}, id="call_p1"),
            ToolCall("add", {"a": 1, "b": 1}, id="call_p2"),
        ]), Reply(text="Sunny, and 2."))
        calc = Calculator()
        result = await run_goal(runtime(self.provider(servers, server.base_url), calc), "both")
        assert result.ok, result.error
        assert sorted(name for name, _ in calc.calls) == ["add", "weather"]
        results = seen.seen[1].tool_results
        assert len(results) == 2
        assert "Oslo" in results[0].content and "2" in results[1].content
        assert [r.call_id for r in results if r.call_id] in ([], ["call_p1", "call_p2"])

    async def test_malformed_tool_json_is_fed_back_and_the_run_continues(
            self, servers: Servers) -> None:
        server, seen = await self.serve(
            servers, Reply(tool_calls=[ToolCall("add", '{"a": 2, "b": ')]),
            Reply(tool_calls=[ToolCall("add", {"a": 2, "b": 2})]), Reply(text="4"))
        calc = Calculator()
        result = await run_goal(runtime(self.provider(servers, server.base_url), calc), "2+2")
        assert result.ok, result.error
        assert result.output == "4"
        assert calc.calls == [("add", {"a": 2, "b": 2})]
        [feedback] = seen.seen[1].tool_results
        assert self.malformed_feedback in feedback.content

    async def test_history_from_another_provider_is_accepted(self, servers: Servers) -> None:
        server, seen = await self.serve(servers, Reply(text="Still 5."))
        foreign = Message(role="assistant", meta={"provider": "elsewhere"}, content=[
            ThinkingBlock(text="I should add.", signature="c2lnLWZyb20tZWxzZXdoZXJl"),
            TextBlock(text="Let me add."),
            ToolCallBlock(id="call.from/elsewhere:1", name="add", arguments={"a": 2, "b": 3})])
        request = ModelRequest(system="You are terse.", tools=[ADD], messages=[
            Message.text("user", "2+3?"), foreign,
            Message(role="tool", content=[ToolResultBlock(call_id="call.from/elsewhere:1",
                                                          content="5")]),
            Message.text("user", "Sure?")])
        response = await self.provider(servers, server.base_url).complete(request)
        assert response.message.text_content == "Still 5."
        sent = seen.seen[0]
        assert all(m.thinking is None for m in sent.messages)
        [call] = [c for m in sent.messages for c in m.tool_calls]
        [answer] = [r for m in sent.messages for r in m.tool_results]
        assert call.name == "add" and "5" in answer.content
        assert answer.call_id in (call.id, None)
        assert sent.last_user_text == "Sure?"

    # ------------------------------------------------------------ usage, cost

    @pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
    async def test_usage_and_cost_from_a_price_override(self, servers: Servers,
                                                         stream: bool) -> None:
        server, _ = await self.serve(servers, Reply(text="ok", usage=Usage(
            input_tokens=1000, output_tokens=500, cache_read_tokens=200)))
        provider = self.provider(servers, server.base_url, model="test-model", prices=PRICES)
        usage = (await provider.complete(ask(stream=stream))).usage
        assert (usage.input_tokens, usage.cached_tokens, usage.output_tokens) == (800, 200, 500)
        assert usage.cost_usd == pytest.approx((800 * 2.0 + 200 * 0.5 + 500 * 8.0) / 1e6)

    async def test_default_price_table_and_unknown_models(self, servers: Servers) -> None:
        server, _ = await self.serve(servers, Reply(text="a"), Reply(text="b"))
        priced = self.provider(servers, server.base_url, model=self.priced_model)
        assert (await priced.complete(ask())).usage.cost_usd > 0
        unknown = self.provider(servers, server.base_url, model="no-such-model")
        assert (await unknown.complete(ask())).usage.cost_usd == 0

    async def test_toml_settings_build_the_provider_with_price_overrides(
            self, servers: Servers, tmp_path: Any) -> None:
        server, _ = await self.serve(servers, Reply(text="ok", usage=Usage(
            input_tokens=1_000_000, output_tokens=0)))
        options = "".join(f'{k} = "{v}"\n' for k, v in self.options.items())
        (tmp_path / "loom.toml").write_text(
            f'[stages]\nprovider = "{self.record_name}"\n\n'
            f'[settings.{self.record_name}]\nbase_url = "{server.base_url}"\n'
            f'api_key = "test"\nmodel = "gpt-x"\n{options}\n'
            f'[settings.{self.record_name}.prices."gpt-x"]\ninput = 3.5\noutput = 1.0\n')
        from loom.api import AgentRuntime
        from loom.config import load_config

        plugin = importlib.import_module(self.plugin_module)
        rt = AgentRuntime(config=load_config(tmp_path / "loom.toml", environ={}),
                          plugins=[plugin], entry_points=False)
        servers.track(rt.provider)
        assert type(rt.provider).__name__ == self.class_name
        result = await run_goal(rt, "hi")
        assert result.ok, result.error
        assert result.usage.cost_usd == pytest.approx(3.5)

    # ------------------------------------------------------------------ errors

    async def test_context_overflow_is_typed(self, servers: Servers) -> None:
        server, _ = await self.serve(servers, Fault.context_overflow())
        with pytest.raises(ContextOverflowError) as caught:
            await self.provider(servers, server.base_url).complete(ask())
        assert not caught.value.retryable and caught.value.status == 400
        assert caught.value.provider == self.record_name

    async def test_rate_limit_is_retryable_with_retry_after(self, servers: Servers) -> None:
        server, _ = await self.serve(servers, Fault.status(429, retry_after=7))
        with pytest.raises(ProviderError) as caught:
            await self.provider(servers, server.base_url).complete(ask())
        error = caught.value
        assert (error.retryable, error.status, error.retry_after) == (True, 429, 7.0)
        assert not isinstance(error, ContextOverflowError)

    async def test_bad_request_is_not_retryable(self, servers: Servers) -> None:
        server, _ = await self.serve(servers, Fault.status(400, "Invalid 'tools[0]'."))
        with pytest.raises(ProviderError) as caught:
            await self.provider(servers, server.base_url).complete(ask())
        assert (caught.value.retryable, caught.value.status) == (False, 400)
        assert "Invalid 'tools[0]'." in str(caught.value)
        assert not isinstance(caught.value, ContextOverflowError)

    @pytest.mark.parametrize("status", [500, 503, 529])
    async def test_server_errors_are_retryable(self, servers: Servers, status: int) -> None:
        server, _ = await self.serve(servers, Fault.status(status))
        with pytest.raises(ProviderError) as caught:
            await self.provider(servers, server.base_url).complete(ask())
        assert (caught.value.retryable, caught.value.status) == (True, status)

    async def test_connection_reset_mid_stream_is_retryable(self, servers: Servers) -> None:
        server, _ = await self.serve(servers, Fault.reset_mid_stream(after_events=3))
        with pytest.raises(ProviderError) as caught:
            await self.provider(servers, server.base_url).complete(ask(stream=True))
        assert caught.value.retryable

    async def test_truncated_stream_is_retryable(self, servers: Servers) -> None:
        server, _ = await self.serve(servers, Fault.truncated_stream())
        with pytest.raises(ProviderError) as caught:
            await self.provider(servers, server.base_url).complete(ask(stream=True))
        assert caught.value.retryable and "truncated" in str(caught.value)

    async def test_refused_connection_is_retryable(self, servers: Servers) -> None:
        server, _ = await self.serve(servers)
        base_url = server.base_url
        await asyncio.to_thread(server.stop)
        with pytest.raises(ProviderError) as caught:
            await self.provider(servers, base_url).complete(ask())
        assert caught.value.retryable

    async def test_run_fails_with_the_typed_error(self, servers: Servers) -> None:
        server, _ = await self.serve(servers, Fault.status(401))
        result = await run_goal(runtime(self.provider(servers, server.base_url)), "hi")
        assert result.status == "failed"
        assert "ProviderError" in result.error and "401" in result.error

    # ---------------------------------------------------- timeouts, cancelling

    async def test_timeout_is_a_retryable_error(self, servers: Servers) -> None:
        server, _ = await self.serve(servers, Fault.slow_first_byte(3.0))
        started = time.monotonic()
        with pytest.raises(ProviderError) as caught:
            await self.provider(servers, server.base_url, timeout=0.3).complete(ask())
        assert caught.value.retryable
        assert time.monotonic() - started < 2.5

    async def test_cancelling_stops_the_call_at_once(self, servers: Servers) -> None:
        server, _ = await self.serve(servers, Fault.slow_first_byte(3.0))
        task = asyncio.ensure_future(
            self.provider(servers, server.base_url).complete(ask(stream=True)))
        await asyncio.sleep(0.3)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 0.5

    async def test_cancelling_a_run_stops_its_model_call(self, servers: Servers) -> None:
        server, _ = await self.serve(servers, Fault.slow_first_byte(3.0))
        rt = runtime(self.provider(servers, server.base_url))
        run = rt.create_session().create_task("slow").start()
        await asyncio.sleep(0.3)
        started = time.monotonic()
        run.cancel()
        result = await run.wait()
        assert result.status == "cancelled"
        assert time.monotonic() - started < 0.5
