"""Server behaviour shared by all protocols: lifecycle, scripts, recording, concurrency."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import anthropic
import openai
import pytest
from google import genai
from google.genai import types
from loom_wire_servers import (
    AnthropicServer,
    Fault,
    GeminiServer,
    NeutralRequest,
    OpenAIServer,
    Reply,
    ToolCall,
)

USER = [{"role": "user", "content": "hello"}]


def chat(server: OpenAIServer, retries: int = 0, **kwargs: object) -> str | None:
    params: dict[str, object] = {"model": "gpt-4o-mini", "messages": USER, **kwargs}
    with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=retries) as client:
        return client.chat.completions.create(**params).choices[0].message.content  # type: ignore[call-overload]


def test_explicit_start_stop_and_port() -> None:
    server = OpenAIServer(script=[Reply(text="ok")])
    with pytest.raises(RuntimeError):
        _ = server.port
    server.start()
    try:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        assert chat(server) == "ok"
    finally:
        server.stop()
        server.stop()  # idempotent
    assert "stopped" in repr(server)


def test_exhausted_script_explains_itself_and_is_not_retried() -> None:
    with OpenAIServer(script=[Reply(text="only one")]) as server:
        assert chat(server) == "only one"
        with pytest.raises(openai.InternalServerError, match="script is exhausted"):
            chat(server, retries=3)
        assert len(server.requests) == 2  # x-should-retry: false stops the SDK's retries


def test_script_function_sees_the_neutral_request() -> None:
    seen: list[NeutralRequest] = []

    def script(request: NeutralRequest) -> Reply:
        seen.append(request)
        if request.tool_results:
            return Reply(text=f"result was {request.tool_results[0].content}")
        return Reply(tool_calls=[ToolCall("read", {"path": request.last_user_text}, id="call_9")])

    tools = [{"type": "function", "function": {"name": "read", "parameters": {"type": "object"}}}]
    with (
        OpenAIServer(script=script) as server,
        openai.OpenAI(base_url=server.base_url, api_key="k") as client,
    ):
        first = client.chat.completions.create(
            model="m", messages=[{"role": "system", "content": "sys"}, *USER], tools=tools
        )
        call = first.choices[0].message.tool_calls[0]
        messages = [
            *USER,
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "42"},
        ]
        second = client.chat.completions.create(model="m", messages=messages, tools=tools)
        assert second.choices[0].message.content == "result was 42"
    assert seen[0].system == "sys" and seen[0].tool_names == ("read",) and seen[0].model == "m"
    assert seen[1].messages[1].tool_calls[0].arguments == {"path": "hello"}
    assert seen[1].protocol == "openai-chat" and not seen[1].stream


def test_async_script_function_and_push() -> None:
    async def script(request: NeutralRequest) -> Reply:
        await asyncio.sleep(0)
        return Reply(text=request.last_user_text.upper())

    with (
        AnthropicServer(script=script) as server,
        anthropic.Anthropic(base_url=server.base_url, api_key="k") as client,
    ):
        message = client.messages.create(model="m", max_tokens=10, messages=USER)
        assert message.content[0].text == "HELLO"
        assert server.remaining is None
        server.set_script([])
        server.push(Reply(text="pushed"))
        assert server.remaining == 1
        assert client.messages.create(model="m", max_tokens=10, messages=USER).content[0].text == "pushed"


def test_script_function_errors_become_500() -> None:
    def broken(request: NeutralRequest) -> Reply:
        raise ValueError("boom")

    with OpenAIServer(script=broken) as server:
        with pytest.raises(openai.InternalServerError, match="ValueError: boom"):
            chat(server, retries=2)
        assert len(server.requests) == 1


def test_disconnect_is_retried_as_a_connection_error() -> None:
    with OpenAIServer(script=[Fault.disconnect(), Reply(text="second try")]) as server:
        assert chat(server, retries=1) == "second try"
        assert len(server.requests) == 2


def test_reset_in_a_json_body() -> None:
    with OpenAIServer(script=[Fault.reset_mid_stream()]) as server:
        with pytest.raises(openai.APIConnectionError):
            chat(server)


def test_slow_first_byte_triggers_client_timeout() -> None:
    with OpenAIServer(
        script=[Fault.slow_first_byte(0.5), Fault.slow_first_byte(0.05, reply=Reply(text="late"))]
    ) as server:
        with openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=0.1) as client:
            started = time.monotonic()
            with pytest.raises(openai.APITimeoutError):
                client.chat.completions.create(model="m", messages=USER)
            assert time.monotonic() - started < 0.45
            assert (
                client.chat.completions.create(model="m", messages=USER).choices[0].message.content == "late"
            )


def test_should_retry_header_and_extra_headers() -> None:
    fault = Fault.status(503, should_retry=False, headers={"x-custom": "1"})
    with OpenAIServer(script=[fault]) as server:
        with pytest.raises(openai.InternalServerError) as info:
            chat(server, retries=3)
        assert info.value.response.headers["x-custom"] == "1"
        assert len(server.requests) == 1


def test_context_window_option() -> None:
    with OpenAIServer(script=[Reply(text="small")], context_window=50) as server:
        assert chat(server) == "small"
        with pytest.raises(openai.BadRequestError) as info:
            chat(server, messages=[{"role": "user", "content": "x" * 1000}])
        assert info.value.code == "context_length_exceeded"


def test_api_key_enforcement() -> None:
    with OpenAIServer(script=[Reply(text="ok")], api_key="right") as server:
        with pytest.raises(openai.AuthenticationError):
            chat(server)
        with openai.OpenAI(base_url=server.base_url, api_key="right", max_retries=0) as client:
            assert client.chat.completions.create(model="m", messages=USER).choices[0].message.content == "ok"


def test_validation_can_be_disabled() -> None:
    orphan = [*USER, {"role": "tool", "tool_call_id": "nope", "content": "x"}]
    with OpenAIServer(script=[Reply(text="accepted")], validate=False) as server:
        assert chat(server, messages=orphan) == "accepted"


def test_invalid_json_body() -> None:
    import urllib.error
    import urllib.request

    with OpenAIServer() as server:
        request = urllib.request.Request(server.base_url + "/chat/completions", data=b"{not json")
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request)
        with info.value:
            assert info.value.code == 400
        assert server.requests[0].raw_body == b"{not json" and server.requests[0].body is None


def test_100_concurrent_async_clients() -> None:
    """100 clients with their own connections, all in flight at once, each answered correctly."""
    count = 100
    state: dict[str, object] = {"arrived": 0}

    async def script(request: NeutralRequest) -> Reply:
        if "all_here" not in state:
            state["all_here"] = asyncio.Event()
        all_here = state["all_here"]
        assert isinstance(all_here, asyncio.Event)
        state["arrived"] = int(state["arrived"]) + 1  # type: ignore[call-overload]
        if state["arrived"] == count:
            all_here.set()
        await asyncio.wait_for(all_here.wait(), timeout=10)  # proves the requests overlap
        return Reply(text=f"echo {request.last_user_text}")

    async def one(server: OpenAIServer, http: openai.DefaultAsyncHttpxClient, number: int) -> str:
        # Separate SDK clients over one connection pool (building 100 TLS-ready pools would
        # dominate the runtime); each request still needs its own connection, as all 100 are
        # in flight together.
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0, http_client=http)
        messages = [{"role": "user", "content": str(number)}]
        if number % 2:
            stream = await client.chat.completions.create(model="m", messages=messages, stream=True)
            return "".join([c.choices[0].delta.content or "" async for c in stream])
        completion = await client.chat.completions.create(model="m", messages=messages)
        return completion.choices[0].message.content or ""

    async def main() -> list[str]:
        async with OpenAIServer(script=script) as server, openai.DefaultAsyncHttpxClient() as http:
            results = await asyncio.gather(*(one(server, http, n) for n in range(count)))
            assert len(server.requests) == count
            return results

    assert asyncio.run(main()) == [f"echo {n}" for n in range(count)]


def test_async_anthropic_and_gemini_streams() -> None:
    async def main() -> None:
        async with AnthropicServer(script=[Reply(text="a b c")]) as anthropic_server:
            async with anthropic.AsyncAnthropic(
                base_url=anthropic_server.base_url, api_key="k", max_retries=0
            ) as client:
                async with client.messages.stream(model="m", max_tokens=10, messages=USER) as stream:
                    assert [t async for t in stream.text_stream] == ["a ", "b ", "c"]
        async with GeminiServer(
            script=[Reply(text="x y"), Fault.reset_mid_stream(after_events=1)]
        ) as gemini_server:
            gemini = genai.Client(
                api_key="k", http_options=types.HttpOptions(base_url=gemini_server.base_url)
            )
            chunks = [
                c.text
                async for c in await gemini.aio.models.generate_content_stream(model="g", contents="hi")
            ]
            assert "".join(t or "" for t in chunks) == "x y"
            with pytest.raises(aiohttp.ClientError):  # the SDK's async transport is aiohttp
                async for _ in await gemini.aio.models.generate_content_stream(model="g", contents="hi"):
                    pass
            await gemini.aio.aclose()

    asyncio.run(main())


def test_truncated_json_body() -> None:
    with OpenAIServer(script=[Fault.truncated_stream(reply=Reply(text="x" * 200))]) as server:
        with pytest.raises(json.JSONDecodeError):  # the SDK reads a body that stops half-way
            chat(server)
