"""OpenAI Responses API through the official ``openai`` SDK, over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import openai
import pytest
from loom_wire_servers import Fault, OpenAIServer, Reply, ToolCall, Usage

TOOLS = [
    {
        "type": "function",
        "name": "read",
        "description": "Read a file",
        "parameters": {"type": "object", "properties": {}},
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
    params: dict[str, object] = {"model": "gpt-4o-mini", "input": "hello", **kwargs}
    return client(server, retries).responses.create(**params)  # type: ignore[call-overload]


def test_plain_answer() -> None:
    with OpenAIServer(script=[Reply(text="Hi there!")]) as server:
        response = create(server, instructions="be nice")
        assert response.output_text == "Hi there!"
        assert response.status == "completed"
        assert server.requests[0].path == "/v1/responses"


def test_streaming_answer_with_reasoning() -> None:
    with OpenAIServer(script=[Reply(text="one two", thinking="let me think")]) as server:
        with client(server).responses.stream(model="gpt-4o-mini", input="hello") as stream:
            types = [event.type for event in stream]
            final = stream.get_final_response()
        assert final.output_text == "one two"
        assert final.output[0].type == "reasoning" and final.output[0].summary[0].text == "let me think"
        assert types[0] == "response.created" and types[-1] == "response.completed"
        assert types.count("response.output_text.delta") == 2


def test_tool_round_trip() -> None:
    script = [Reply(tool_calls=[ToolCall("read", {"path": "a"}, id="call_1")]), Reply(text="done")]
    with OpenAIServer(script=script) as server:
        first = create(server, tools=TOOLS)
        [call] = [item for item in first.output if item.type == "function_call"]
        assert (call.call_id, call.name, json.loads(call.arguments)) == ("call_1", "read", {"path": "a"})
        items = [
            {"role": "user", "content": "hello"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "file contents"},
        ]
        assert create(server, input=items, tools=TOOLS).output_text == "done"


def test_tool_result_via_previous_response_id() -> None:
    with OpenAIServer(script=[Reply(tool_calls=[ToolCall("read", {})]), Reply(text="done")]) as server:
        first = create(server, tools=TOOLS)
        output = [{"type": "function_call_output", "call_id": first.output[0].call_id, "output": "x"}]
        assert create(server, input=output, previous_response_id=first.id).output_text == "done"


def test_parallel_tool_calls_streamed() -> None:
    calls = [ToolCall("read", {"path": "a"}), ToolCall("read", {"path": "b"})]
    with OpenAIServer(script=[Reply(tool_calls=calls)]) as server:
        events = list(create(server, tools=TOOLS, stream=True))
        done = [e.item for e in events if e.type == "response.output_item.done"]
        assert [json.loads(item.arguments) for item in done] == [{"path": "a"}, {"path": "b"}]
        deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
        assert deltas == '{"path": "a"}{"path": "b"}'


def test_usage_fields() -> None:
    usage = Usage(input_tokens=50, output_tokens=10, cache_read_tokens=30, reasoning_tokens=4)
    with OpenAIServer(script=[Reply(text="x", usage=usage)]) as server:
        parsed = create(server).usage
        assert (parsed.input_tokens, parsed.output_tokens, parsed.total_tokens) == (50, 10, 60)
        assert parsed.input_tokens_details.cached_tokens == 30
        assert parsed.output_tokens_details.reasoning_tokens == 4


def test_429_is_retried() -> None:
    with OpenAIServer(script=[Fault.status(429, retry_after=0.01), Reply(text="ok")]) as server:
        assert create(server, retries=1).output_text == "ok"
        assert len(server.requests) == 2


def test_context_overflow() -> None:
    with OpenAIServer(script=[Fault.context_overflow()]) as server:
        with pytest.raises(openai.BadRequestError) as info:
            create(server)
        assert info.value.code == "context_length_exceeded"
        assert info.value.param == "input"


def test_reset_mid_stream() -> None:
    with OpenAIServer(script=[Fault.reset_mid_stream(after_events=4)]) as server:
        seen = []
        with pytest.raises(openai.APIConnectionError):
            for event in create(server, stream=True):
                seen.append(event.type)
        assert seen[:2] == ["response.created", "response.in_progress"] and len(seen) == 4


def test_truncated_stream_is_detected_by_the_helper() -> None:
    with OpenAIServer(script=[Fault.truncated_stream()]) as server:
        with client(server).responses.stream(model="gpt-4o-mini", input="hello") as stream:
            with pytest.raises(RuntimeError, match="response.completed"):
                stream.get_final_response()


def test_malformed_tool_arguments_arrive_raw() -> None:
    raw = '{"path": '
    with OpenAIServer(script=[Reply(tool_calls=[ToolCall("read", raw)])]) as server:
        assert create(server, tools=TOOLS).output[0].arguments == raw


def test_orphan_function_call_output_is_rejected() -> None:
    items = [{"type": "function_call_output", "call_id": "call_missing", "output": "x"}]
    with OpenAIServer(script=[]) as server:
        with pytest.raises(openai.BadRequestError) as info:
            create(server, input=items)
        assert "No tool call found for function call output with call_id call_missing" in info.value.message


def test_max_tokens_gives_incomplete_response() -> None:
    with OpenAIServer(script=[Reply(text="trunc", stop_reason="max_tokens")]) as server:
        response = create(server)
        assert response.status == "incomplete"
        assert response.incomplete_details.reason == "max_output_tokens"


def test_error_event_inside_the_stream() -> None:
    with OpenAIServer(script=[Fault.stream_error(429, "slow down", after_events=2)]) as server:
        events = list(create(server, stream=True))
        assert [e.type for e in events] == ["response.created", "response.in_progress", "error"]
        assert (events[-1].message, events[-1].code) == ("slow down", "rate_limit_exceeded")


def test_400_not_retried_and_500_typed() -> None:
    with OpenAIServer(script=[Fault.status(400, "bad input"), Fault.status(500)]) as server:
        with pytest.raises(openai.BadRequestError, match="bad input"):
            create(server, retries=2)
        assert len(server.requests) == 1
        with pytest.raises(openai.InternalServerError):
            create(server)
