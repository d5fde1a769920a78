"""Gemini-specific behaviour: thought signatures across turns, ids for calls that
come without one, function responses, structured output, retry delays."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from google.genai import types
from loom.errors import ProviderError
from loom.messages import Message, TextBlock, ThinkingBlock, ToolCallBlock, ToolResultBlock
from loom.requests import ModelRequest, ToolSpec
from loom_provider_common.testing import local_connections_only, made_for_a_test, serve_locally
from loom_provider_gemini.errors import _retry_delay
from loom_provider_gemini.mapping import PartsAssembler, convert_contents
from loom_provider_gemini.provider import GeminiProvider
from loom_wire_servers import Fault, GeminiServer, Reply, ToolCall

SIG = base64.b64encode(b"gemini-thought-signature").decode()


_local_only = pytest.fixture(local_connections_only, autouse=True, name="_local_only")
made = pytest.fixture(made_for_a_test, name="made")


async def serve(made: list[Any], *items: Any, **options: Any) -> tuple[GeminiServer, GeminiProvider]:
    return await serve_locally(made, GeminiServer(script=list(items)), GeminiProvider, **options)


def ask(*messages: Message, **fields: Any) -> ModelRequest:
    return ModelRequest(system="Be brief.", tools=[ToolSpec(name="lookup")],
                        messages=list(messages) or [Message.text("user", "hi")], **fields)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_thought_signature_goes_back_on_the_call_that_carried_it(
        made: list[Any], stream: bool) -> None:
    server, provider = await serve(
        made, Reply(thinking="check", thinking_signature=SIG,
                    tool_calls=[ToolCall("lookup", {"key": "a"}, id="fc1")]),
        Reply(text="done"))
    first = await provider.complete(ask(stream=stream))
    [call] = first.message.tool_calls
    assert any(isinstance(b, ThinkingBlock) and b.signature == SIG for b in first.message.content)
    results = Message(role="tool", content=[ToolResultBlock(call_id=call.id, content="A")])
    await provider.complete(ask(Message.text("user", "hi"), first.message, results))
    model_turn = server.requests[1].body["contents"][1]
    [part] = [p for p in model_turn["parts"] if "functionCall" in p]
    assert part["thoughtSignature"] == SIG
    assert part["functionCall"] == {"id": "fc1", "name": "lookup", "args": {"key": "a"}}
    answer = server.requests[1].body["contents"][2]["parts"][0]["functionResponse"]
    assert answer == {"id": "fc1", "name": "lookup", "response": {"output": "A"}}


def test_calls_without_an_id_get_a_stable_one() -> None:
    part = types.Part(function_call=types.FunctionCall(name="lookup", args={"key": "a"}))
    ids = []
    for _ in range(2):
        assembler = PartsAssembler()
        assembler.add(part, "resp-1")
        [call] = assembler.content()
        assert isinstance(call, ToolCallBlock)
        ids.append(call.id)
    assert ids[0] == ids[1] and ids[0].startswith("call_")
    other = PartsAssembler()
    other.add(part, "resp-2")
    assert other.content()[0].id != ids[0]  # type: ignore[union-attr]


def test_results_without_a_name_are_named_after_their_call() -> None:
    contents, _ = convert_contents([
        Message.text("user", "q"),
        Message(role="assistant", content=[ToolCallBlock(id="c1", name="lookup", arguments={})]),
        Message(role="tool", content=[ToolResultBlock(call_id="c1", content="no", is_error=True)]),
        Message.text("user", "then?")])
    user = contents[2]
    assert user.role == "user" and user.parts is not None
    response = user.parts[0].function_response
    assert response is not None
    assert (response.id, response.name, response.response) == ("c1", "lookup", {"error": "no"})
    assert user.parts[1].text == "then?"  # the note joins the same user turn


def test_thinking_from_another_provider_is_not_sent() -> None:
    contents, _ = convert_contents([
        Message.text("user", "q"),
        Message(role="assistant", meta={"provider": "anthropic"},
                content=[ThinkingBlock(text="secret", signature=SIG), TextBlock(text="a")])])
    parts = contents[1].parts or []
    assert [(p.text, p.thought, p.thought_signature) for p in parts] == [("a", None, None)]


async def test_structured_output_sends_the_json_schema(made: list[Any]) -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    server, provider = await serve(made, Reply(text='{"city": "Rome"}'))
    await provider.complete(ask(response_schema=schema))
    config = server.requests[0].body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"] == schema


async def test_thinking_settings_reach_the_request(made: list[Any]) -> None:
    server, provider = await serve(made, Reply(text="ok"), thinking_budget=512,
                                   include_thoughts=True)
    await provider.complete(ask())
    sent = server.requests[0].body["generationConfig"]["thinkingConfig"]
    # the SDK writes these keys in snake_case; the API's JSON parser takes either case
    assert {k.replace("_", "").lower(): v for k, v in sent.items()} == {
        "thinkingbudget": 512, "includethoughts": True}


def test_retry_delay_is_read_from_retry_info() -> None:
    body = {"error": {"code": 429, "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12.5s"}]}}
    assert _retry_delay(body) == 12.5
    assert _retry_delay({"error": {"code": 429}}) is None


async def test_missing_api_key_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ProviderError, match="GEMINI_API_KEY"):
        await GeminiProvider(base_url="http://127.0.0.1:9").complete(ask())


async def test_unavailable_503_is_retryable(made: list[Any]) -> None:
    _, provider = await serve(made, Fault.status(503))
    with pytest.raises(ProviderError) as caught:
        await provider.complete(ask())
    assert caught.value.retryable and "UNAVAILABLE" in str(caught.value)
