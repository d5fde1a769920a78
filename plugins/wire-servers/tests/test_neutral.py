"""The neutral request view is the same whichever protocol the SDK speaks."""

from __future__ import annotations

from collections.abc import Callable

import anthropic
import openai
import pytest
from google import genai
from google.genai import types
from loom_wire_servers import (
    AnthropicServer,
    GeminiServer,
    NeutralRequest,
    OpenAIServer,
    Reply,
    ToolCall,
    WireServer,
)

CALLS = [ToolCall("read", {"path": "a"}, id="c1"), ToolCall("read", {"path": "b"}, id="c2")]
SCHEMA = {"type": "object", "properties": {"path": {"type": "string"}}}


def anthropic_round_trip(server: WireServer) -> None:
    tools = [{"name": "read", "description": "Read", "input_schema": SCHEMA}]
    with anthropic.Anthropic(base_url=server.base_url, api_key="k") as client:
        user = {"role": "user", "content": "go"}
        first = client.messages.create(model="m", max_tokens=99, system="sys", tools=tools, messages=[user])
        results = [
            {"type": "tool_result", "tool_use_id": b.id, "content": f"out-{b.id}"} for b in first.content
        ]
        assistant = {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]}
        client.messages.create(
            model="m",
            max_tokens=99,
            system="sys",
            tools=tools,
            messages=[user, assistant, {"role": "user", "content": results}],
        )


def chat_round_trip(server: WireServer) -> None:
    tools = [{"type": "function", "function": {"name": "read", "description": "Read", "parameters": SCHEMA}}]
    with openai.OpenAI(base_url=server.base_url, api_key="k") as client:
        messages: list[dict[str, object]] = [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "go"},
        ]
        first = client.chat.completions.create(model="m", messages=messages, tools=tools)  # type: ignore[arg-type]
        message = first.choices[0].message
        messages.append(message.model_dump(exclude_none=True))
        messages.extend(
            {"role": "tool", "tool_call_id": c.id, "content": f"out-{c.id}"} for c in message.tool_calls or []
        )
        client.chat.completions.create(model="m", messages=messages, tools=tools)  # type: ignore[arg-type]


def responses_round_trip(server: WireServer) -> None:
    tools = [{"type": "function", "name": "read", "description": "Read", "parameters": SCHEMA}]
    with openai.OpenAI(base_url=server.base_url, api_key="k") as client:
        items: list[dict[str, object]] = [{"role": "user", "content": "go"}]
        first = client.responses.create(model="m", instructions="sys", input=items, tools=tools)  # type: ignore[arg-type]
        for item in first.output:
            if item.type == "function_call":
                items.append(
                    {
                        "type": "function_call",
                        "call_id": item.call_id,
                        "name": item.name,
                        "arguments": item.arguments,
                    }
                )
        for item in first.output:
            if item.type == "function_call":
                items.append(
                    {"type": "function_call_output", "call_id": item.call_id, "output": f"out-{item.call_id}"}
                )
        client.responses.create(model="m", instructions="sys", input=items, tools=tools)  # type: ignore[arg-type]


def gemini_round_trip(server: WireServer) -> None:
    declaration = types.FunctionDeclaration(name="read", description="Read", parameters_json_schema=SCHEMA)
    config = types.GenerateContentConfig(
        system_instruction="sys", tools=[types.Tool(function_declarations=[declaration])]
    )
    with genai.Client(api_key="k", http_options=types.HttpOptions(base_url=server.base_url)) as client:
        user = types.Content(role="user", parts=[types.Part(text="go")])
        first = client.models.generate_content(model="m", contents=[user], config=config)
        responses = [
            types.Part(
                function_response=types.FunctionResponse(
                    id=c.id, name=c.name, response={"out": f"out-{c.id}"}
                )
            )
            for c in first.function_calls or []
        ]
        model_turn = first.candidates[0].content  # type: ignore[index]
        contents = [user, model_turn, types.Content(role="user", parts=responses)]
        client.models.generate_content(model="m", contents=contents, config=config)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("server_class", "round_trip", "protocol"),
    [
        (AnthropicServer, anthropic_round_trip, "anthropic"),
        (OpenAIServer, chat_round_trip, "openai-chat"),
        (OpenAIServer, responses_round_trip, "openai-responses"),
        (GeminiServer, gemini_round_trip, "gemini"),
    ],
)
def test_parallel_tool_round_trip_looks_the_same(
    server_class: type[WireServer], round_trip: Callable[[WireServer], None], protocol: str
) -> None:
    seen: list[NeutralRequest] = []

    def script(request: NeutralRequest) -> Reply:
        seen.append(request)
        return Reply(text="done") if request.tool_results else Reply(tool_calls=CALLS)

    with server_class(script=script) as server:
        round_trip(server)

    first, second = seen
    assert {first.protocol, second.protocol} == {protocol}
    assert first.system == "sys" and first.tool_names == ("read",)
    assert first.tools[0].parameters["properties"] == SCHEMA["properties"]
    assert [m.role for m in first.messages] == ["user"] and first.last_user_text == "go"
    assert [m.role for m in second.messages] == ["user", "assistant", "tool"]
    assistant = second.messages[1]
    assert [(c.id, c.name, c.arguments) for c in assistant.tool_calls] == [
        ("c1", "read", {"path": "a"}),
        ("c2", "read", {"path": "b"}),
    ]
    assert [r.call_id for r in second.tool_results] == ["c1", "c2"]
    assert all(f"out-{r.call_id}" in r.content for r in second.tool_results)
    assert second.estimated_input_tokens() > first.estimated_input_tokens()
