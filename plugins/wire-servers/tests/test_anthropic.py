"""Anthropic Messages API through the official ``anthropic`` SDK, over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import anthropic
import pytest
from loom_wire_servers import AnthropicServer, Fault, Reply, ToolCall, Usage

USER = [{"role": "user", "content": "hello"}]
TOOLS = [{"name": "read", "description": "Read a file", "input_schema": {"type": "object", "properties": {}}}]

OPEN_CLIENTS: list[anthropic.Anthropic] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


def client(server: AnthropicServer, retries: int = 0) -> anthropic.Anthropic:
    OPEN_CLIENTS.append(
        anthropic.Anthropic(base_url=server.base_url, api_key="test-key", max_retries=retries)
    )
    return OPEN_CLIENTS[-1]


def create(server: AnthropicServer, retries: int = 0, **kwargs: object) -> object:
    params: dict[str, object] = {"model": "claude-test", "max_tokens": 256, "messages": USER, **kwargs}
    return client(server, retries).messages.create(**params)  # type: ignore[call-overload]


def test_plain_answer_and_headers() -> None:
    with AnthropicServer(script=[Reply(text="Hi there!")]) as server:
        message = create(server, system="be brief")
        assert [b.text for b in message.content] == ["Hi there!"]
        assert message.stop_reason == "end_turn"
        request = server.last_request
        assert request is not None and request.path == "/v1/messages"
        credentials = (request.header("x-api-key"), request.header("authorization"))
        assert "test-key" in credentials or "Bearer test-key" in credentials
        assert request.header("anthropic-version")


def test_streaming_answer_with_thinking() -> None:
    with AnthropicServer(script=[Reply(text="one two", thinking="pondering")]) as server:
        with client(server).messages.stream(model="claude-test", max_tokens=256, messages=USER) as stream:
            texts = list(stream.text_stream)
            final = stream.get_final_message()
        assert texts == ["one ", "two"]
        thinking, text = final.content
        assert (thinking.type, thinking.thinking, text.text) == ("thinking", "pondering", "one two")
        assert thinking.signature


def test_raw_stream_events() -> None:
    with AnthropicServer(script=[Reply(thinking="t", tool_calls=[ToolCall("read", {"a": 1})])]) as server:
        events = list(create(server, stream=True))
        assert events[0].type == "message_start" and events[-1].type == "message_stop"
        delta_types = [e.delta.type for e in events if e.type == "content_block_delta"]
        assert {"thinking_delta", "signature_delta", "input_json_delta"} <= set(delta_types)
        assert next(e for e in events if e.type == "message_delta").delta.stop_reason == "tool_use"


def test_tool_round_trip() -> None:
    script = [
        Reply(text="Let me look.", tool_calls=[ToolCall("read", {"path": "a"}, id="toolu_1")]),
        Reply(text="done"),
    ]
    with AnthropicServer(script=script) as server:
        first = create(server, tools=TOOLS)
        tool_use = first.content[-1]
        assert (first.stop_reason, tool_use.id, tool_use.input) == ("tool_use", "toolu_1", {"path": "a"})
        messages = [
            *USER,
            {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "data"}],
            },
        ]
        assert create(server, messages=messages, tools=TOOLS).content[0].text == "done"


def test_parallel_tool_calls_streamed() -> None:
    calls = [ToolCall("read", {"path": "a"}), ToolCall("read", {"path": "b"})]
    with AnthropicServer(script=[Reply(tool_calls=calls)]) as server:
        with client(server).messages.stream(
            model="claude-test", max_tokens=256, messages=USER, tools=TOOLS
        ) as stream:
            final = stream.get_final_message()
        assert [b.input for b in final.content] == [{"path": "a"}, {"path": "b"}]


def test_usage_fields() -> None:
    usage = Usage(input_tokens=100, output_tokens=7, cache_read_tokens=60, cache_write_tokens=30)
    with AnthropicServer(script=[Reply(text="x", usage=usage)] * 2) as server:
        with client(server).messages.stream(model="m", max_tokens=9, messages=USER) as stream:
            streamed = stream.get_final_message().usage
        for parsed in (create(server).usage, streamed):
            assert (parsed.input_tokens, parsed.output_tokens) == (10, 7)
            assert (parsed.cache_read_input_tokens, parsed.cache_creation_input_tokens) == (60, 30)


def test_count_tokens() -> None:
    with AnthropicServer() as server:
        assert client(server).messages.count_tokens(model="claude-test", messages=USER).input_tokens > 0


def test_429_is_retried() -> None:
    with AnthropicServer(script=[Fault.status(429, retry_after=0.01), Reply(text="ok")]) as server:
        assert create(server, retries=2).content[0].text == "ok"
        assert len(server.requests) == 2
        assert server.requests[1].headers["x-stainless-retry-count"] == "1"


def test_400_is_not_retried() -> None:
    with AnthropicServer(script=[Fault.status(400, "nope")]) as server:
        with pytest.raises(anthropic.BadRequestError) as info:
            create(server, retries=3)
        assert info.value.type == "invalid_request_error" and info.value.api_message == "nope"
        assert len(server.requests) == 1


def test_529_and_500_are_typed() -> None:
    with AnthropicServer(script=[Fault.status(529), Fault.status(500)]) as server:
        with pytest.raises(anthropic.OverloadedError) as overloaded:
            create(server)
        assert overloaded.value.type == "overloaded_error"
        assert overloaded.value.request_id and overloaded.value.request_id.startswith("req_")
        with pytest.raises(anthropic.InternalServerError) as internal:
            create(server)
        assert internal.value.type == "api_error"


def test_context_overflow() -> None:
    with AnthropicServer(script=[Fault.context_overflow(tokens=210_000, limit=200_000)]) as server:
        with pytest.raises(anthropic.BadRequestError) as info:
            create(server)
        assert info.value.api_message == "prompt is too long: 210000 tokens > 200000 maximum"


def test_reset_mid_stream() -> None:
    with AnthropicServer(script=[Fault.reset_mid_stream(after_events=3)]) as server:
        seen = []
        with pytest.raises(Exception) as info:
            for event in create(server, stream=True):
                seen.append(event.type)
        assert "reset" in str(info.value).lower() or isinstance(info.value, anthropic.APIConnectionError)
        assert seen == ["message_start", "content_block_start"]  # the ping is consumed by the SDK


def test_truncated_stream_has_no_stop_reason() -> None:
    with AnthropicServer(script=[Fault.truncated_stream(reply=Reply(text="partial"))]) as server:
        with client(server).messages.stream(model="claude-test", max_tokens=256, messages=USER) as stream:
            events = [event.type for event in stream]
            final = stream.get_final_message()
        assert "message_stop" not in events
        assert final.stop_reason is None and final.content[0].text == "partial"


def test_malformed_tool_json() -> None:
    raw = '{"path": "a'
    with AnthropicServer(script=[Reply(tool_calls=[ToolCall("read", raw)])] * 2) as server:
        fragments = [
            e.delta.partial_json for e in create(server, stream=True) if e.type == "content_block_delta"
        ]
        assert "".join(fragments) == raw
        assert create(server).content[0].input == raw


def test_orphan_tool_result_is_rejected() -> None:
    messages = [
        *USER,
        {"role": "assistant", "content": "I will not call a tool."},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_b", "content": "x"}]},
    ]
    with AnthropicServer(script=[Reply(text="unused")]) as server:
        with pytest.raises(anthropic.BadRequestError) as info:
            create(server, messages=messages)
        assert "unexpected `tool_use_id` found in `tool_result` blocks: toolu_b" in (
            info.value.api_message or ""
        )
        assert server.remaining == 1


def test_unanswered_tool_use_is_rejected() -> None:
    messages = [
        *USER,
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_a", "name": "read", "input": {}}],
        },
        {"role": "user", "content": "no result here"},
    ]
    with AnthropicServer() as server:
        with pytest.raises(
            anthropic.BadRequestError, match="`tool_use` ids were found without `tool_result`"
        ):
            create(server, messages=messages)


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([{"role": "assistant", "content": "hi"}], 'first message must use the "user" role'),
        ([*USER, {"role": "user", "content": "again"}], "roles must alternate"),
    ],
)
def test_role_validation(messages: list[dict[str, str]], fragment: str) -> None:
    with AnthropicServer() as server:
        with pytest.raises(anthropic.BadRequestError, match=fragment):
            create(server, messages=messages)


def test_max_tokens_is_required() -> None:
    body = b'{"model": "m", "messages": [{"role": "user", "content": "x"}]}'
    with AnthropicServer() as server:
        request = urllib.request.Request(server.base_url + "/v1/messages", data=body)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request)
        with info.value as error:
            assert error.code == 400
            expected = {"type": "invalid_request_error", "message": "max_tokens: Field required"}
            assert json.loads(error.read())["error"] == expected


def test_error_event_inside_the_stream() -> None:
    with AnthropicServer(script=[Fault.stream_error(529, after_events=2)]) as server:
        # The HTTP status was 200, so the SDK raises its generic status error carrying the type.
        with pytest.raises(anthropic.APIStatusError) as info:
            for _ in create(server, stream=True):
                pass
        assert info.value.type == "overloaded_error"
