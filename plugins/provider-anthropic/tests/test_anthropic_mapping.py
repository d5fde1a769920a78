"""The neutral ⇄ Anthropic mapping, message by message."""

from __future__ import annotations

from anthropic.types import RedactedThinkingBlock, ToolUseBlock
from loom.messages import Message, TextBlock, ThinkingBlock, ToolCallBlock, ToolResultBlock
from loom_provider_anthropic.mapping import content_from, convert_messages, wire_id


def test_thinking_is_resent_only_to_the_provider_that_signed_it() -> None:
    thought = ThinkingBlock(text="plan", signature="sig")
    own = Message(role="assistant", content=[thought, TextBlock(text="a")],
                  meta={"provider": "anthropic"})
    other = Message(role="assistant", content=[thought, TextBlock(text="b")],
                    meta={"provider": "gemini"})
    wire, _ = convert_messages([Message.text("user", "q"), own, Message.text("user", "q2"), other])
    assert wire[1]["content"][0] == {"type": "thinking", "thinking": "plan", "signature": "sig"}
    assert wire[3]["content"] == [{"type": "text", "text": "b"}]


def test_redacted_thinking_survives_a_round_trip() -> None:
    block = RedactedThinkingBlock(type="redacted_thinking", data="opaque==")
    [neutral] = content_from([block])
    assert isinstance(neutral, ThinkingBlock)
    message = Message(role="assistant", content=[neutral, TextBlock(text="x")],
                      meta={"provider": "anthropic"})
    wire, _ = convert_messages([Message.text("user", "q"), message])
    assert wire[1]["content"][0] == {"type": "redacted_thinking", "data": "opaque=="}


def test_foreign_call_ids_are_made_valid_the_same_way_for_call_and_result() -> None:
    call = ToolCallBlock(id="fn.call/7:x", name="f", arguments={})
    wire, _ = convert_messages([
        Message.text("user", "q"), Message(role="assistant", content=[call]),
        Message(role="tool", content=[ToolResultBlock(call_id="fn.call/7:x", content="r")])])
    assert wire[1]["content"][0]["id"] == wire[2]["content"][0]["tool_use_id"] == "fn_call_7_x"
    assert wire_id("toolu_01AbC-d_e") == "toolu_01AbC-d_e"


def test_a_history_starting_with_the_assistant_gets_a_user_turn_first() -> None:
    wire, _ = convert_messages([Message.text("assistant", "Hello, how can I help?"),
                                Message.text("user", "Tell me more.")])
    assert [m["role"] for m in wire] == ["user", "assistant", "user"]


def test_system_messages_in_the_history_join_the_system_prompt() -> None:
    wire, extra = convert_messages([Message.text("user", "q"), Message.text("system", "Be kind."),
                                    Message.text("user", "q2")])
    assert extra == ["Be kind."]
    assert wire == [{"role": "user", "content": [{"type": "text", "text": "q"},
                                                 {"type": "text", "text": "q2"}]}]


def test_tool_input_that_is_not_an_object_keeps_its_raw_text() -> None:
    # the SDK builds responses without validation, so a string input arrives as is
    block = ToolUseBlock.model_construct(type="tool_use", id="t1", name="f", input='{"a": ')
    [call] = content_from([block])
    assert isinstance(call, ToolCallBlock)
    assert call.arguments == {} and call.raw_arguments == '{"a": '
