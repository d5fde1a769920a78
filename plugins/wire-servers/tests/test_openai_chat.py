"""OpenAI Chat Completions through the official ``openai`` SDK, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from loom_wire_servers import Fault, OpenAIServer, Reply, ToolCall, Usage

USER = [{"role": "user", "content": "hello"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "read",
            "description": "Read a file",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        },
    }
]

OPEN_CLIENTS: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


def client(server: OpenAIServer, retries: int = 0) -> openai.OpenAI:
    OPEN_CLIENTS.append(openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=retries))
    return OPEN_CLIENTS[-1]


def create(server: OpenAIServer, retries: int = 0, **kwargs: object) -> object:
    params: dict[str, object] = {"model": "gpt-4o-mini", "messages": USER, **kwargs}
    return client(server, retries).chat.completions.create(**params)  # type: ignore[call-overload]


def test_plain_answer_and_recorded_request() -> None:
    with OpenAIServer(script=[Reply(text="Hi there!")]) as server:
        completion = create(server)
        assert completion.choices[0].message.content == "Hi there!"
        assert completion.choices[0].finish_reason == "stop"
        [request] = server.requests
        assert (request.method, request.path) == ("POST", "/v1/chat/completions")
        assert request.body["messages"] == USER
        assert request.headers["authorization"] == "Bearer test-key"


def test_streaming_answer() -> None:
    with OpenAIServer(script=[Reply(text="one two three")]) as server:
        stream = create(server, stream=True)
        chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == "one two three"
        assert len([c for c in chunks if c.choices[0].delta.content]) == 3
        assert chunks[-1].choices[0].finish_reason == "stop"


def test_tool_round_trip() -> None:
    script = [
        Reply(tool_calls=[ToolCall("read", {"path": "a.txt"}, id="call_1")]),
        Reply(text="The file says hi."),
    ]
    with OpenAIServer(script=script) as server:
        first = create(server, tools=TOOLS)
        call = first.choices[0].message.tool_calls[0]
        assert first.choices[0].finish_reason == "tool_calls"
        assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
            "call_1",
            "read",
            {"path": "a.txt"},
        )
        messages = [
            *USER,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "hi"},
        ]
        second = create(server, messages=messages, tools=TOOLS)
        assert second.choices[0].message.content == "The file says hi."
        assert server.requests[1].body["messages"][2]["tool_call_id"] == "call_1"


def test_parallel_tool_calls_streamed() -> None:
    calls = [ToolCall("read", {"path": "a"}), ToolCall("read", {"path": "b"})]
    with OpenAIServer(script=[Reply(tool_calls=calls)]) as server:
        with client(server).chat.completions.stream(
            model="gpt-4o-mini", messages=USER, tools=TOOLS
        ) as stream:
            final = stream.get_final_completion()
        tool_calls = final.choices[0].message.tool_calls
        assert [json.loads(c.function.arguments) for c in tool_calls] == [{"path": "a"}, {"path": "b"}]
        assert len({c.id for c in tool_calls}) == 2
        assert final.choices[0].finish_reason == "tool_calls"


def test_usage_fields() -> None:
    usage = Usage(input_tokens=100, output_tokens=20, cache_read_tokens=60, reasoning_tokens=5)
    with OpenAIServer(script=[Reply(text="x", usage=usage), Reply(text="y", usage=usage)]) as server:
        parsed = create(server).usage
        assert (parsed.prompt_tokens, parsed.completion_tokens, parsed.total_tokens) == (100, 20, 120)
        assert parsed.prompt_tokens_details.cached_tokens == 60
        assert parsed.completion_tokens_details.reasoning_tokens == 5
        chunks = list(create(server, stream=True, stream_options={"include_usage": True}))
        assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 100


def test_estimated_usage_when_not_scripted() -> None:
    with OpenAIServer(script=[Reply(text="a fairly short answer")]) as server:
        usage = create(server).usage
        assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
        assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_429_with_retry_after_is_retried_by_the_sdk() -> None:
    with OpenAIServer(script=[Fault.status(429, retry_after=0.01), Reply(text="ok")]) as server:
        assert create(server, retries=2).choices[0].message.content == "ok"
        assert len(server.requests) == 2
        assert server.requests[1].headers["x-stainless-retry-count"] == "1"


def test_400_is_not_retried() -> None:
    with OpenAIServer(script=[Fault.status(400, "bad thing"), Reply(text="never")]) as server:
        with pytest.raises(openai.BadRequestError) as info:
            create(server, retries=3)
        assert info.value.message.endswith("bad thing") or "bad thing" in str(info.value)
        assert len(server.requests) == 1


def test_500_raises_internal_server_error() -> None:
    with OpenAIServer(script=[Fault.status(500)]) as server:
        with pytest.raises(openai.InternalServerError) as info:
            create(server)
        assert info.value.status_code == 500
        assert info.value.type == "server_error"
        assert info.value.request_id and info.value.request_id.startswith("req_")


def test_context_overflow() -> None:
    with OpenAIServer(script=[Fault.context_overflow(tokens=130_000, limit=128_000)]) as server:
        with pytest.raises(openai.BadRequestError) as info:
            create(server)
        assert info.value.code == "context_length_exceeded"
        assert "maximum context length is 128000 tokens" in info.value.message


def test_reset_mid_stream_raises_during_iteration() -> None:
    with OpenAIServer(script=[Fault.reset_mid_stream(after_events=3)]) as server:
        received = []
        with pytest.raises(openai.APIConnectionError):
            for chunk in create(server, stream=True):
                received.append(chunk)
        assert len(received) == 3


def test_truncated_stream_has_no_finish_reason() -> None:
    with OpenAIServer(script=[Fault.truncated_stream(reply=Reply(text="cut short"))]) as server:
        chunks = list(create(server, stream=True, stream_options={"include_usage": True}))
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == "cut short"
        assert all(c.choices and c.choices[0].finish_reason is None for c in chunks)


def test_malformed_tool_arguments_arrive_raw() -> None:
    raw = '{"path": "a.txt"'
    with OpenAIServer(script=[Reply(tool_calls=[ToolCall("read", raw)])] * 2) as server:
        assert create(server, tools=TOOLS).choices[0].message.tool_calls[0].function.arguments == raw
        fragments = [
            tc.function.arguments
            for chunk in create(server, tools=TOOLS, stream=True)
            for tc in chunk.choices[0].delta.tool_calls or []
        ]
        assert "".join(f or "" for f in fragments) == raw


def test_orphan_tool_result_is_rejected_without_consuming_the_script() -> None:
    messages = [*USER, {"role": "tool", "tool_call_id": "call_nope", "content": "x"}]
    with OpenAIServer(script=[Reply(text="kept")]) as server:
        with pytest.raises(openai.BadRequestError) as info:
            create(server, messages=messages)
        assert "must be a response to a preceeding message with 'tool_calls'" in info.value.message
        assert server.remaining == 1


def test_mismatched_tool_call_id_is_rejected() -> None:
    assistant = {
        "role": "assistant",
        "tool_calls": [{"id": "call_a", "type": "function", "function": {"name": "read", "arguments": "{}"}}],
    }
    messages = [*USER, assistant, {"role": "tool", "tool_call_id": "call_b", "content": "x"}]
    with OpenAIServer(script=[]) as server:
        with pytest.raises(openai.BadRequestError) as info:
            create(server, messages=messages)
        assert "'call_b' not found" in info.value.message


def test_structured_output_returns_scripted_text() -> None:
    payload = '{"city": "Paris"}'
    schema = {"type": "json_schema", "json_schema": {"name": "city", "schema": {"type": "object"}}}
    with OpenAIServer(script=[Reply(text=payload)]) as server:
        assert create(server, response_format=schema).choices[0].message.content == payload


def test_models_endpoint() -> None:
    with OpenAIServer(models=["gpt-test"]) as server:
        assert [m.id for m in client(server).models.list()] == ["gpt-test"]
        assert client(server).models.retrieve("gpt-test").id == "gpt-test"
        with pytest.raises(openai.NotFoundError):
            client(server).models.retrieve("nope")


def test_error_inside_the_stream() -> None:
    with OpenAIServer(script=[Fault.stream_error(500, "mid-stream failure", after_events=2)]) as server:
        with pytest.raises(openai.APIError, match="mid-stream failure"):
            for _ in create(server, stream=True):
                pass
