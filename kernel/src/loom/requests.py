"""Tool specs and provider-neutral model requests and responses."""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loom.messages import Message


class Effect(str, Enum):
    """What running a tool may do; the harness classifies actions from these."""

    READ = "read"
    MUTATE = "mutate"
    DESTROY = "destroy"
    NETWORK = "network"
    EXECUTE = "execute"
    ESCALATE = "escalate"


class ToolSpec(BaseModel):
    """A tool as the model sees it, plus what the harness needs to judge it.

    ``parameters`` is a JSON schema object. ``timeout`` is in seconds and
    ``output_cap`` in characters; ``idempotent`` tools may be re-run on resume.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    effects: frozenset[Effect] = frozenset({Effect.READ})
    timeout: float | None = 60.0
    output_cap: int | None = 50_000
    idempotent: bool = False
    source: str = ""


class Usage(BaseModel):
    """Token usage of one model call (and its cost when a price is known)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
        )


StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence", "refusal", "other"]


class ModelRequest(BaseModel):
    """A provider-neutral model call: system prompt, messages, tools, options."""

    model: str = ""
    system: str = ""
    messages: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list)
    max_tokens: int = 4096
    temperature: float | None = None
    stream: bool = False
    response_schema: dict[str, Any] | None = None
    stable_prefix_blocks: int = 0
    metadata: dict[str, Any] = Field(default_factory=dict)


class ModelResponse(BaseModel):
    """A provider-neutral model answer: one assistant message plus usage."""

    message: Message
    stop_reason: StopReason = "end_turn"
    usage: Usage = Field(default_factory=Usage)
    model: str = ""
    provider: str = ""
    raw: dict[str, Any] | None = None


class StreamDelta(BaseModel):
    """One streamed fragment: text, thinking or tool-call argument JSON."""

    kind: Literal["text", "thinking", "tool_call"]
    text: str = ""
    call_id: str | None = None
    name: str | None = None
