"""Anthropic-specific behaviour: thinking across turns, prompt caching, cache usage,
structured output, settings; through the SDK against the local server."""

from __future__ import annotations

from typing import Any

import pytest
from loom.api import AgentRuntime
from loom.config import load_config
from loom.errors import ConfigError, ProviderError
from loom.hookspecs import hookimpl
from loom.messages import Message, TextBlock, ThinkingBlock, ToolCallBlock, ToolResultBlock
from loom.profile import AgentProfile
from loom.records import ToolRecord
from loom.requests import ModelRequest, StreamDelta
from loom.tools import tool
from loom_provider_anthropic.provider import AnthropicProvider
from loom_provider_common.testing import local_connections_only, made_for_a_test, serve_locally
from loom_wire_servers import AnthropicServer, Fault, Reply, ToolCall, Usage

SIG = "c2lnbmF0dXJlLW9uZQ=="


_local_only = pytest.fixture(local_connections_only, autouse=True, name="_local_only")
made = pytest.fixture(made_for_a_test, name="made")


async def serve(made: list[Any], *items: Any, **options: Any) -> tuple[AnthropicServer, AnthropicProvider]:
    return await serve_locally(made, AnthropicServer(script=list(items)), AnthropicProvider, **options)


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: what to look up.
    """
    return f"value of {key}"


class Tools:
    @hookimpl
    def loom_register_tools(self) -> list[ToolRecord]:
        return [lookup]


def ask(*messages: Message, **fields: Any) -> ModelRequest:
    return ModelRequest(system="Be brief.", messages=list(messages) or [Message.text("user", "hi")],
                        **fields)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_thinking_is_kept_with_its_signature_across_turns(made: list[Any],
                                                                stream: bool) -> None:
    server, provider = await serve(
        made, Reply(thinking="I need the key.", thinking_signature=SIG,
                    tool_calls=[ToolCall("lookup", {"key": "k1"})]),
        Reply(text="It is the value of k1."))
    runtime = AgentRuntime(profile=AgentProfile.from_preset("default", stream=stream),
                           provider=provider, config=load_config(data={}, environ={}),
                           plugins=[Tools()], entry_points=False)
    result = await runtime.create_session().create_task("find k1").start().wait()
    assert result.ok, result.error
    assistant = server.requests[1].body["messages"][1]
    assert assistant["role"] == "assistant"
    assert assistant["content"][0] == {"type": "thinking", "thinking": "I need the key.",
                                       "signature": SIG}
    assert assistant["content"][1]["type"] == "tool_use"
    tool_result = server.requests[1].body["messages"][2]["content"][0]
    assert tool_result["type"] == "tool_result" and "value of k1" in tool_result["content"]


async def test_thinking_deltas_are_streamed(made: list[Any]) -> None:
    _, provider = await serve(made, Reply(thinking="first this, then that", text="Done."))
    kinds: list[str] = []

    async def on_delta(delta: StreamDelta) -> None:
        kinds.append(delta.kind)

    response = await provider.complete(ask(stream=True), on_delta=on_delta)
    assert kinds[0] == "thinking" and kinds[-1] == "text"
    thinking = response.message.content[0]
    assert isinstance(thinking, ThinkingBlock) and thinking.text == "first this, then that"
    assert thinking.signature  # the signature_delta was kept


async def test_system_prompt_and_stable_prefix_carry_cache_markers(made: list[Any]) -> None:
    server, provider = await serve(made, Reply(text="ok"))
    history = [Message.text("user", "Here is the long document."),
               Message.text("assistant", "Read it."), Message.text("user", "Summarise it.")]
    await provider.complete(ask(*history, stable_prefix_blocks=2))
    body = server.requests[0].body
    assert body["system"] == [{"type": "text", "text": "Be brief.",
                               "cache_control": {"type": "ephemeral"}}]
    marked = [i for i, m in enumerate(body["messages"])
              if any("cache_control" in b for b in m["content"])]
    assert marked == [1, 2]  # the end of the stable prefix, and the end of the conversation


async def test_prompt_caching_can_be_turned_off(made: list[Any]) -> None:
    server, provider = await serve(made, Reply(text="ok"), prompt_caching=False)
    await provider.complete(ask(stable_prefix_blocks=1))
    assert "cache_control" not in str(server.requests[0].body)


async def test_cache_reads_and_writes_are_counted_and_priced(made: list[Any]) -> None:
    _, provider = await serve(
        made, Reply(text="ok", usage=Usage(input_tokens=1000, output_tokens=10,
                                           cache_read_tokens=600, cache_write_tokens=300)),
        model="claude-sonnet-4-6")
    usage = (await provider.complete(ask())).usage
    assert (usage.input_tokens, usage.cached_tokens, usage.cache_write_tokens) == (400, 600, 300)
    assert usage.input_tokens + usage.cached_tokens == 1000
    # sonnet: $3 input, $3.75 cache write, $0.30 cache read, $15 output per million
    assert usage.cost_usd == pytest.approx((100 * 3 + 300 * 3.75 + 600 * 0.3 + 10 * 15) / 1e6)


async def test_structured_output_sends_the_schema(made: list[Any]) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    server, provider = await serve(made, Reply(text='{"city": "Paris"}'))
    response = await provider.complete(ask(response_schema=schema))
    assert server.requests[0].body["output_config"] == {
        "format": {"type": "json_schema", "schema": schema}}
    assert response.message.text_content == '{"city": "Paris"}'


async def test_extended_thinking_settings(made: list[Any]) -> None:
    server, provider = await serve(made, Reply(text="ok"), thinking=2048)
    await provider.complete(ask(max_tokens=4096))
    assert server.requests[0].body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    with pytest.raises(ProviderError, match="must be below max_tokens"):
        await provider.complete(ask(max_tokens=1024))


async def test_overloaded_529_is_retryable(made: list[Any]) -> None:
    _, provider = await serve(made, Fault.status(529))
    with pytest.raises(ProviderError) as caught:
        await provider.complete(ask())
    assert caught.value.retryable and caught.value.status == 529
    assert "overloaded" in str(caught.value)


async def test_base_url_comes_from_the_environment_when_not_given(
        made: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    server, _ = await serve(made, Reply(text="via the environment"))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    provider = AnthropicProvider(api_key=...)
    made.append(provider)
    assert (await provider.complete(ask())).message.text_content == "via the environment"


async def test_parallel_results_and_a_delta_note_share_one_user_message(made: list[Any]) -> None:
    server, provider = await serve(made, Reply(text="ok"))
    calls = [ToolCallBlock(id="toolu_a", name="lookup", arguments={"key": "a"}),
             ToolCallBlock(id="toolu_b", name="lookup", arguments={"key": "b"})]
    await provider.complete(ask(
        Message.text("user", "look both up"),
        Message(role="assistant", content=calls, meta={"provider": "anthropic"}),
        Message(role="tool", content=[ToolResultBlock(call_id="toolu_a", content="A"),
                                      ToolResultBlock(call_id="toolu_b", content="B",
                                                      is_error=True)]),
        Message.text("user", "[note] a file changed", delta=True)))
    messages = server.requests[0].body["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert [b["type"] for b in messages[2]["content"]] == ["tool_result", "tool_result", "text"]
    assert messages[2]["content"][1]["is_error"] is True


async def test_settings_model_validates_prices_and_thinking() -> None:
    base = {"stages": {"provider": "anthropic"}}
    import loom_provider_anthropic

    with pytest.raises(ConfigError, match="prices"):
        AgentRuntime(config=load_config(data={**base, "settings": {"anthropic": {
            "prices": {"claude-x": {"input": -1, "output": 1}}}}}, environ={}),
            plugins=[loom_provider_anthropic], entry_points=False)
    with pytest.raises(ConfigError, match="thinking"):
        AgentRuntime(config=load_config(data={**base, "settings": {"anthropic": {
            "thinking": 10}}}, environ={}), plugins=[loom_provider_anthropic],
            entry_points=False)


def test_a_text_block_from_the_model_maps_back_unchanged() -> None:
    from loom_provider_anthropic.mapping import convert_messages

    text = Message(role="assistant", content=[TextBlock(text="hello")])
    wire, _ = convert_messages([Message.text("user", "hi"), text])
    assert wire[1] == {"role": "assistant", "content": [{"type": "text", "text": "hello"}]}
