"""Gemini API through the official ``google-genai`` SDK, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google import genai
from google.genai import errors, types
from loom_wire_servers import Fault, GeminiServer, Reply, ToolCall, Usage

MODEL = "gemini-2.5-flash"
TOOLS = [
    types.Tool(function_declarations=[types.FunctionDeclaration(name="read", description="Read a file")])
]

OPEN_CLIENTS: list[genai.Client] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


def client(server: GeminiServer, attempts: int | None = None, api_version: str | None = None) -> genai.Client:
    retry = (
        types.HttpRetryOptions(attempts=attempts, initial_delay=0.01, max_delay=0.02, jitter=0)
        if attempts
        else None
    )
    options = types.HttpOptions(base_url=server.base_url, retry_options=retry, api_version=api_version)
    OPEN_CLIENTS.append(genai.Client(api_key="test-key", http_options=options))
    return OPEN_CLIENTS[-1]


def generate(
    server: GeminiServer,
    contents: object = "hello",
    config: types.GenerateContentConfig | None = None,
    **kwargs: object,
) -> types.GenerateContentResponse:
    gemini = client(server, **kwargs)  # type: ignore[arg-type]
    return gemini.models.generate_content(model=MODEL, contents=contents, config=config)  # type: ignore[arg-type]


def stream(server: GeminiServer) -> Iterator[types.GenerateContentResponse]:
    return client(server).models.generate_content_stream(model=MODEL, contents="hello")


def test_plain_answer_and_request_shape() -> None:
    with GeminiServer(script=[Reply(text="Hi there!")]) as server:
        config = types.GenerateContentConfig(system_instruction="be brief", tools=TOOLS)
        response = generate(server, config=config)
        assert response.text == "Hi there!"
        assert response.candidates[0].finish_reason == types.FinishReason.STOP
        request = server.requests[0]
        assert request.path == f"/v1/models/{MODEL}:generateContent"
        assert request.headers["x-goog-api-key"] == "test-key"
        assert request.body["systemInstruction"]["parts"][0]["text"] == "be brief"
        assert request.body["tools"][0]["functionDeclarations"][0]["name"] == "read"


def test_v1beta_path_is_served() -> None:
    with GeminiServer(script=[Reply(text="beta")]) as server:
        assert generate(server, api_version="v1beta").text == "beta"
        assert server.requests[0].path.startswith("/v1beta/models/")


def test_streaming_answer_with_thoughts() -> None:
    with GeminiServer(script=[Reply(text="one two", thinking="hmm")]) as server:
        chunks = list(stream(server))
        parts = [p for c in chunks if c.candidates[0].content for p in c.candidates[0].content.parts]
        assert "".join(p.text for p in parts if not p.thought) == "one two"
        assert [p.text for p in parts if p.thought] == ["hmm"]
        assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
        assert server.requests[0].query == {"alt": "sse"}


def test_tool_round_trip() -> None:
    script = [Reply(tool_calls=[ToolCall("read", {"path": "a"}, id="fc-1")]), Reply(text="done")]
    with GeminiServer(script=script) as server:
        config = types.GenerateContentConfig(tools=TOOLS)
        gemini = client(server)
        first = gemini.models.generate_content(model=MODEL, contents="hello", config=config)
        [call] = first.function_calls
        assert (call.id, call.name, call.args) == ("fc-1", "read", {"path": "a"})
        contents = [
            types.Content(role="user", parts=[types.Part(text="hello")]),
            first.candidates[0].content,
            types.Content(
                role="user", parts=[types.Part.from_function_response(name="read", response={"text": "x"})]
            ),
        ]
        assert gemini.models.generate_content(model=MODEL, contents=contents, config=config).text == "done"
        assert server.requests[1].body["contents"][2]["parts"][0]["functionResponse"]["name"] == "read"


def test_parallel_tool_calls() -> None:
    calls = [ToolCall("read", {"path": "a"}), ToolCall("read", {"path": "b"})]
    with GeminiServer(script=[Reply(tool_calls=calls)] * 2) as server:
        assert [c.args for c in generate(server).function_calls] == [{"path": "a"}, {"path": "b"}]
        streamed = list(stream(server))
        assert [c.args for chunk in streamed for c in chunk.function_calls or []] == [
            {"path": "a"},
            {"path": "b"},
        ]


def test_usage_metadata() -> None:
    usage = Usage(input_tokens=100, output_tokens=30, cache_read_tokens=40, reasoning_tokens=10)
    with GeminiServer(script=[Reply(text="x", thinking="t", usage=usage)]) as server:
        meta = generate(server).usage_metadata
        assert (meta.prompt_token_count, meta.candidates_token_count, meta.thoughts_token_count) == (
            100,
            20,
            10,
        )
        assert (meta.cached_content_token_count, meta.total_token_count) == (40, 130)


def test_count_tokens() -> None:
    with GeminiServer() as server:
        gemini = client(server)
        assert gemini.models.count_tokens(model=MODEL, contents="hello there").total_tokens > 0


def test_429_is_retried_by_sdk_retry_options() -> None:
    with GeminiServer(script=[Fault.status(429, retry_after=0.01), Reply(text="ok")]) as server:
        assert generate(server, attempts=3).text == "ok"
        assert len(server.requests) == 2


def test_400_is_not_retried() -> None:
    with GeminiServer(script=[Fault.status(400, "bad arg")]) as server:
        with pytest.raises(errors.ClientError) as info:
            generate(server, attempts=3)
        assert (info.value.code, info.value.status, info.value.message) == (
            400,
            "INVALID_ARGUMENT",
            "bad arg",
        )
        assert len(server.requests) == 1


def test_429_and_500_error_shapes() -> None:
    with GeminiServer(script=[Fault.status(429, retry_after=2), Fault.status(500)]) as server:
        with pytest.raises(errors.ClientError) as limited:
            generate(server)
        assert limited.value.status == "RESOURCE_EXHAUSTED"
        assert limited.value.details["error"]["details"][0]["retryDelay"] == "2s"
        with pytest.raises(errors.ServerError) as internal:
            generate(server)
        assert (internal.value.code, internal.value.status) == (500, "INTERNAL")


def test_context_overflow() -> None:
    with GeminiServer(script=[Fault.context_overflow(tokens=2_000_000, limit=1_048_576)]) as server:
        with pytest.raises(errors.ClientError) as info:
            generate(server)
        assert info.value.status == "INVALID_ARGUMENT"
        assert (
            "input token count (2000000) exceeds the maximum number of tokens allowed (1048576)"
            in info.value.message
        )


def test_reset_mid_stream() -> None:
    with GeminiServer(script=[Fault.reset_mid_stream(after_events=2)]) as server:
        received = []
        with pytest.raises(Exception, match="(?i)reset|closed|disconnect"):
            for chunk in stream(server):
                received.append(chunk)
        assert len(received) == 2


def test_truncated_stream_has_no_finish_reason() -> None:
    with GeminiServer(script=[Fault.truncated_stream(reply=Reply(text="cut off"))]) as server:
        chunks = list(stream(server))
        assert "".join(c.text or "" for c in chunks) == "cut off"
        assert all(c.candidates[0].finish_reason is None for c in chunks)


def test_malformed_function_call() -> None:
    raw = '{"path": '
    with GeminiServer(script=[Reply(tool_calls=[ToolCall("read", raw)])]) as server:
        response = generate(server)
        assert response.candidates[0].finish_reason == types.FinishReason.MALFORMED_FUNCTION_CALL
        assert response.function_calls is None


def test_orphan_function_response_is_rejected() -> None:
    contents = [
        types.Content(role="user", parts=[types.Part(text="hello")]),
        types.Content(role="model", parts=[types.Part(text="no calls here")]),
        types.Content(role="user", parts=[types.Part.from_function_response(name="read", response={})]),
    ]
    with GeminiServer(script=[Reply(text="unused")]) as server:
        with pytest.raises(
            errors.ClientError, match="function response turn comes immediately after a function call turn"
        ):
            generate(server, contents=contents)
        assert server.remaining == 1


def test_api_key_is_enforced_when_configured() -> None:
    with GeminiServer(script=[Reply(text="ok")], api_key="right") as server:
        with pytest.raises(errors.ClientError, match="API key not valid"):
            generate(server)
        with genai.Client(api_key="right", http_options=types.HttpOptions(base_url=server.base_url)) as good:
            assert good.models.generate_content(model=MODEL, contents="hi").text == "ok"


def test_error_inside_the_stream() -> None:
    with GeminiServer(script=[Fault.stream_error(503, after_events=1)]) as server:
        with pytest.raises(errors.ServerError) as info:
            list(stream(server))
        assert info.value.status == "UNAVAILABLE"
