"""Request bodies built from cached message JSON: byte for byte what the SDK's
own ``create`` sends, through the SDK client (headers, auth, retries), with
answers read straight from JSON; against the local OpenAI server."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from typing import Any

import openai
import pytest
from loom.errors import ProviderError
from loom.messages import ImageBlock, Message, TextBlock, ThinkingBlock, ToolCallBlock, ToolResultBlock
from loom.requests import ModelRequest, ToolSpec
from loom.testing import no_real_providers
from loom_provider_openai import chat, responses
from loom_provider_openai.provider import OpenAIProvider
from loom_provider_openai.wire import FragmentCache, dumps
from loom_wire_servers import Fault, OpenAIServer, Reply, ToolCall, Usage

LOOKUP = ToolSpec(name="lookup", description="Look a topic up. «quoted» → ok", parameters={
    "type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]})
SCHEMA = {"title": "Answer", "type": "object", "additionalProperties": False,
          "properties": {"city": {"type": "string"}}, "required": ["city"]}


@pytest.fixture(autouse=True)
def _local_only() -> Iterator[None]:
    with no_real_providers():
        yield


@pytest.fixture
async def server() -> AsyncIterator[OpenAIServer]:
    """A local OpenAI server answering every request with a short text."""
    srv = OpenAIServer(script=lambda request: Reply(text="ok"), validate=False)
    await asyncio.to_thread(srv.start)
    yield srv
    await asyncio.to_thread(srv.stop)


@pytest.fixture
async def clients(server: OpenAIServer) -> AsyncIterator[tuple[OpenAIProvider, openai.AsyncOpenAI]]:
    """The provider and a plain SDK client, both pointed at ``server``."""
    provider = OpenAIProvider(api_key="test", base_url=server.base_url, model="gpt-4o-mini")
    client = openai.AsyncOpenAI(api_key="test", base_url=server.base_url, max_retries=0)
    yield provider, client
    await provider.aclose()
    await client.close()


def history() -> list[Message]:
    """A conversation with every kind of block, non-ASCII text and a malformed call."""
    bad = ToolCallBlock(id="call_1", name="lookup", arguments={}, raw_arguments='{"query": ')
    good = ToolCallBlock(id="call_2", name="lookup", arguments={"query": "café \"naïve\" ✓"})
    return [
        Message.text("user", "Find the notes — all of them.\n\tThanks"),
        Message(role="assistant", content=[ThinkingBlock(text="hidden", signature="s"),
                                           TextBlock(text="Looking."), bad, good]),
        Message(role="tool", content=[
            ToolResultBlock(call_id="call_1", content="not valid JSON", is_error=True),
            ToolResultBlock(call_id="call_2", content="line 1\nline 2 \u2028 «x»\x00end")]),
        Message(role="assistant", content=[]),  # sends nothing
        Message(role="user", content=[TextBlock(text="and this:"),
                                      ImageBlock(media_type="image/png", data="aGk=")]),
        Message.text("system", "Be brief."),
    ]


REQUESTS = {
    "plain": ModelRequest(system="You are terse.", messages=[Message.text("user", "hi")]),
    "everything": ModelRequest(system="Sys ✓", messages=history(), tools=[LOOKUP],
                               temperature=0.3, max_tokens=77),
    "schema": ModelRequest(messages=[Message.text("user", "capital?")], response_schema=SCHEMA),
    "stream": ModelRequest(system="S", messages=history(), tools=[LOOKUP], stream=True),
    "no system": ModelRequest(system="  ", messages=history()[:3], tools=[LOOKUP]),
}


async def _drain(result: Any) -> None:
    if isinstance(result, openai.AsyncStream):
        async with result:
            async for _ in result:
                pass


@pytest.mark.parametrize("api", ["chat", "responses"])
@pytest.mark.parametrize("name", list(REQUESTS))
async def test_body_is_byte_for_byte_what_the_sdk_sends(
        server: OpenAIServer, clients: tuple[OpenAIProvider, openai.AsyncOpenAI],
        api: str, name: str) -> None:
    provider, client = clients
    provider.api = api  # type: ignore[assignment]
    request = REQUESTS[name]
    await provider.complete(request)
    if api == "chat":
        await _drain(await client.chat.completions.create(**chat.build_params(
            request, model="gpt-4o-mini", max_tokens_param=provider.max_tokens_param)))
    else:
        await _drain(await client.responses.create(
            **responses.build_params(request, model="gpt-4o-mini")))
    ours, sdk = server.requests
    assert ours.path == sdk.path
    assert ours.raw_body == sdk.raw_body


async def test_a_growing_conversation_stays_identical_at_every_step(
        server: OpenAIServer, clients: tuple[OpenAIProvider, openai.AsyncOpenAI]) -> None:
    provider, client = clients
    messages = [Message.text("user", "go")]
    for step in range(4):
        request = ModelRequest(system="S", messages=list(messages), tools=[LOOKUP])
        answer = await provider.complete(request)
        await client.chat.completions.create(**chat.build_params(
            request, model="gpt-4o-mini", max_tokens_param="max_tokens"))
        ours, sdk = server.requests[-2:]
        assert ours.raw_body == sdk.raw_body, step
        messages += [answer.message, Message.text("user", f"more ({step}) ✓")]
    assert [m["content"] for m in server.requests[-2].body["messages"][-2:]] == [
        "ok", "more (2) ✓"]


async def test_requests_keep_the_sdk_headers_and_authentication(
        server: OpenAIServer, clients: tuple[OpenAIProvider, openai.AsyncOpenAI]) -> None:
    provider, _ = clients
    await provider.complete(REQUESTS["plain"])
    headers = server.requests[0].headers
    assert headers["authorization"] == "Bearer test"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("AsyncOpenAI/Python")
    assert headers["x-stainless-retry-count"] == "0"


async def test_the_sdk_retries_when_asked_to() -> None:
    server = OpenAIServer(script=[Fault.status(429, retry_after=0.01), Reply(text="late")])
    await asyncio.to_thread(server.start)
    provider = OpenAIProvider(api_key="test", base_url=server.base_url, max_retries=1)
    try:
        response = await provider.complete(REQUESTS["plain"])
    finally:
        await provider.aclose()
        await asyncio.to_thread(server.stop)
    assert response.message.text_content == "late"
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "1"]
    assert server.requests[0].raw_body == server.requests[1].raw_body


async def test_json_answers_become_neutral_blocks_usage_and_model() -> None:
    server = OpenAIServer(script=[Reply(
        text="Two calls.", tool_calls=[ToolCall("lookup", {"query": "a"}, id="call_a"),
                                       ToolCall("lookup", '{"query": ', id="call_b")],
        usage=Usage(input_tokens=100, output_tokens=9, cache_read_tokens=40))])
    await asyncio.to_thread(server.start)
    provider = OpenAIProvider(api_key="test", base_url=server.base_url, model="gpt-4o-mini")
    try:
        response = await provider.complete(REQUESTS["plain"])
    finally:
        await provider.aclose()
        await asyncio.to_thread(server.stop)
    message = response.message
    assert message.text_content == "Two calls."
    first, second = message.tool_calls
    assert (first.id, first.name, first.arguments) == ("call_a", "lookup", {"query": "a"})
    assert (second.arguments, second.raw_arguments) == ({}, '{"query": ')
    assert response.stop_reason == "tool_use"
    assert (response.usage.input_tokens, response.usage.cached_tokens,
            response.usage.output_tokens) == (60, 40, 9)
    assert response.usage.cost_usd > 0 and response.model.startswith("gpt-4o-mini")


async def test_a_cut_json_answer_is_a_retryable_error() -> None:
    server = OpenAIServer(script=[Fault.truncated_stream(reply=Reply(text="x" * 400))])
    await asyncio.to_thread(server.start)
    provider = OpenAIProvider(api_key="test", base_url=server.base_url)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.complete(REQUESTS["plain"])
    finally:
        await provider.aclose()
        await asyncio.to_thread(server.stop)
    assert caught.value.retryable and "not valid JSON" in str(caught.value)


def test_fragments_are_rendered_once_and_dropped_with_their_message() -> None:
    rendered: list[str] = []

    def render(message: Message) -> bytes:
        rendered.append(message.text_content)
        return dumps(message.text_content)

    cache: FragmentCache[Message] = FragmentCache(render)
    kept, dropped = Message.text("user", "kept"), Message.text("user", "dropped")
    assert cache.get(kept) == cache.get(kept) == b'"kept"'
    assert cache.get(dropped) == b'"dropped"'
    assert rendered == ["kept", "dropped"] and len(cache) == 2
    del dropped
    gc.collect()
    assert len(cache) == 1
    # a new message never gets another message's fragment, even at a reused address
    for n in range(200):
        assert cache.get(Message.text("user", f"n{n}")) == dumps(f"n{n}")
    assert cache.get(kept) == b'"kept"' and rendered.count("kept") == 1
