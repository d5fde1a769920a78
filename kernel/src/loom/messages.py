"""Messages and their content blocks: the provider-neutral conversation.

A :class:`Message` has a role and a list of content blocks. Tool results live
in ``tool`` messages that directly follow the ``assistant`` message holding
the calls they answer; provider plugins map this to each wire protocol.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant", "tool"]


class _Block(BaseModel):
    model_config = ConfigDict(frozen=True)


class TextBlock(_Block):
    """Plain text."""

    type: Literal["text"] = "text"
    text: str


class ToolCallBlock(_Block):
    """A model's request to run one tool.

    ``arguments`` holds the parsed JSON object; when the model produced JSON
    that does not parse, ``arguments`` is empty and ``raw_arguments`` keeps the
    text so the error can be fed back to the model.
    """

    type: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None


class ToolResultBlock(_Block):
    """The result of one tool call, paired with it by ``call_id``."""

    type: Literal["tool_result"] = "tool_result"
    call_id: str
    name: str = ""
    content: str
    is_error: bool = False


class ImageBlock(_Block):
    """An image, inline (base64 ``data``) or by ``url``."""

    type: Literal["image"] = "image"
    media_type: str = "image/png"
    data: str | None = None
    url: str | None = None


class ThinkingBlock(_Block):
    """Model reasoning, kept verbatim (with its signature) across turns."""

    type: Literal["thinking"] = "thinking"
    text: str
    signature: str | None = None


ContentBlock = Annotated[
    TextBlock | ToolCallBlock | ToolResultBlock | ImageBlock | ThinkingBlock,
    Field(discriminator="type"),
]


class Message(BaseModel):
    """One conversation message.

    ``meta`` carries plugin annotations (e.g. a compression stub's restore
    reference); providers ignore it.
    """

    model_config = ConfigDict(frozen=True)

    role: Role
    content: list[ContentBlock]
    meta: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def text(cls, role: Role, text: str, **meta: Any) -> Message:
        """Build a message holding one text block."""
        return cls(role=role, content=[TextBlock(text=text)], meta=meta)

    @property
    def text_content(self) -> str:
        """The concatenated text blocks."""
        return "".join(b.text for b in self.content if isinstance(b, TextBlock))

    @property
    def tool_calls(self) -> list[ToolCallBlock]:
        """The tool call blocks, in order."""
        return [b for b in self.content if isinstance(b, ToolCallBlock)]

    @property
    def tool_results(self) -> list[ToolResultBlock]:
        """The tool result blocks, in order."""
        return [b for b in self.content if isinstance(b, ToolResultBlock)]
