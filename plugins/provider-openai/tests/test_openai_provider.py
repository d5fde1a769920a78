"""OpenAI-specific behaviour on both APIs: request shape, structured output,
streaming usage, OpenAI-compatible servers; through the SDK against the local server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from loom.errors import ProviderError
from loom.messages import ImageBlock, Message, TextBlock, ThinkingBlock, ToolCallBlock, ToolResultBlock
from loom.requests import ModelRequest, ToolSpec
from loom_provider_common.testing import local_connections_only, made_for_a_test, serve_locally
from loom_provider_openai.provider import OpenAIProvider
from loom_wire_servers import Fault, OpenAIServer, Reply, Usage

SCHEMA = {"title": "City answer", "type": "object", "additionalProperties": False,
          "properties": {"city": {"type": "string"}}, "required": ["city"]}


_local_only = pytest.fixture(local_connections_only, autouse=True, name="_local_only")
made = pytest.fixture(made_for_a_test, name="made")


async def serve(made: list[Any], *items: Any, **options: Any) -> tuple[OpenAIServer, OpenAIProvider]:
    return await serve_locally(made, OpenAIServer(script=list(items)), OpenAIProvider, **options)


def conversation() -> ModelRequest:
    call = ToolCallBlock(id="call_1", name="f", arguments={}, raw_arguments='{"x": ')
    return ModelRequest(system="Sys.", tools=[ToolSpec(name="f")], messages=[
        Message.text("user", "go"),
        Message(role="assistant", meta={"provider": "anthropic"}, content=[
            ThinkingBlock(text="hidden", signature="s"), TextBlock(text="Calling f."), call]),
        Message(role="tool", content=[ToolResultBlock(call_id="call_1", content="bad json",
                                                      is_error=True)]),
        Message(role="user", content=[TextBlock(text="look:"),
                                      ImageBlock(media_type="image/png", data="aGk=")])])


async def test_chat_request_shape(made: list[Any]) -> None:
    server, provider = await serve(made, Reply(text="ok"))
    await provider.complete(conversation())
    messages = server.requests[0].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "user"]
    assert messages[2]["content"] == "Calling f."  # no thinking
    assert messages[2]["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"x": '}
    assert messages[3] == {"role": "tool", "tool_call_id": "call_1", "content": "bad json"}
    assert messages[4]["content"][1] == {"type": "image_url",
                                         "image_url": {"url": "data:image/png;base64,aGk="}}


async def test_responses_request_shape(made: list[Any]) -> None:
    server, provider = await serve(made, Reply(text="ok"), api="responses")
    await provider.complete(conversation())
    body = server.requests[0].body
    assert body["instructions"] == "Sys." and body["store"] is False
    items = body["input"]
    assert items[1] == {"role": "assistant", "content": "Calling f."}
    assert items[2] == {"type": "function_call", "call_id": "call_1", "name": "f",
                        "arguments": '{"x": '}
    assert items[3] == {"type": "function_call_output", "call_id": "call_1", "output": "bad json"}
    assert items[4]["content"][1] == {"type": "input_image",
                                      "image_url": "data:image/png;base64,aGk="}
    assert body["tools"][0]["strict"] is False
    assert "hidden" not in json.dumps(body)


@pytest.mark.parametrize("api", ["chat", "responses"])
async def test_structured_output(made: list[Any], api: str) -> None:
    server, provider = await serve(made, Reply(text='{"city": "Paris"}'), api=api)
    response = await provider.complete(ModelRequest(
        messages=[Message.text("user", "capital of France?")], response_schema=SCHEMA))
    assert json.loads(response.message.text_content) == {"city": "Paris"}
    body = server.requests[0].body
    expected = {"type": "json_schema", "name": "City_answer", "schema": SCHEMA, "strict": True}
    if api == "chat":
        assert body["response_format"] == {"type": "json_schema", "json_schema": {
            k: v for k, v in expected.items() if k != "type"}}
    else:
        assert body["text"] == {"format": expected}


async def test_chat_streams_with_usage(made: list[Any]) -> None:
    server, provider = await serve(made, Reply(text="a b c", usage=Usage(
        input_tokens=40, output_tokens=3, cache_read_tokens=10)))
    response = await provider.complete(ModelRequest(messages=[Message.text("user", "x")],
                                                    stream=True))
    assert server.requests[0].body["stream_options"] == {"include_usage": True}
    assert (response.usage.input_tokens, response.usage.cached_tokens,
            response.usage.output_tokens) == (30, 10, 3)


async def test_output_limit_field_follows_the_server_kind(made: list[Any]) -> None:
    server, compatible = await serve(made, Reply(text="a"), Reply(text="b"))
    official = OpenAIProvider(api_key="test", base_url=server.base_url,
                              max_tokens_param="max_completion_tokens")
    made.append(official)
    await compatible.complete(ModelRequest(messages=[Message.text("user", "x")], max_tokens=77))
    await official.complete(ModelRequest(messages=[Message.text("user", "x")], max_tokens=77))
    assert server.requests[0].body["max_tokens"] == 77
    assert server.requests[1].body["max_completion_tokens"] == 77
    assert OpenAIProvider(api_key="k").max_tokens_param == "max_completion_tokens"


async def test_models_endpoint_answers_like_an_openai_compatible_server(made: list[Any]) -> None:
    _, provider = await serve(made)
    models = [m.id async for m in provider.client().models.list()]
    assert "gpt-4o-mini" in models


async def test_should_retry_header_overrides_the_status_rule(made: list[Any]) -> None:
    _, provider = await serve(made, Fault.status(503, should_retry=False),
                              Fault.status(400, should_retry=True))
    for expected in (False, True):
        with pytest.raises(ProviderError) as caught:
            await provider.complete(ModelRequest(messages=[Message.text("user", "x")]))
        assert caught.value.retryable is expected


def test_unknown_api_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="'chat' or 'responses'"):
        OpenAIProvider(api_key="k", api="completions")  # type: ignore[arg-type]


def test_a_price_override_for_the_requested_model_beats_the_default_row() -> None:
    from loom_provider_openai.pricing import ModelPrice, price_for

    mine = ModelPrice(input=9.0, output=9.0)
    # the server answered with a dated name that the default table knows
    assert price_for("gpt-4o-mini-2024-07-18", "my-deployment",
                     overrides={"my-deployment": mine}) == mine
    default = price_for("gpt-4o-mini-2024-07-18", "my-deployment")
    assert default is not None and default.input == 0.15
    assert price_for("llama3.2") is None
