"""Local HTTP servers that speak the Anthropic, OpenAI and Gemini wire protocols.

Drive a server with a provider-neutral script of :class:`Reply` and
:class:`Fault` items (or a function of the :class:`NeutralRequest`), point the
official SDK at ``server.base_url``, and assert on ``server.requests``::

    from loom_wire_servers import OpenAIServer, Reply, ToolCall

    script = [Reply(tool_calls=[ToolCall("read", {"path": "a"})]), Reply(text="done")]
    with OpenAIServer(script=script) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
"""

from .anthropic_server import AnthropicServer
from .gemini_server import GeminiServer
from .neutral import NeutralMessage, NeutralRequest, RecordedRequest, ToolResult, ToolSpec
from .openai_server import OpenAIServer
from .script import Fault, Reply, Script, ScriptItem, StopReason, ToolCall, Usage
from .scriptfile import load_script
from .server import WireServer

__all__ = [
    "AnthropicServer",
    "Fault",
    "GeminiServer",
    "NeutralMessage",
    "NeutralRequest",
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "Script",
    "ScriptItem",
    "StopReason",
    "ToolCall",
    "ToolResult",
    "ToolSpec",
    "Usage",
    "WireServer",
    "load_script",
]

__version__ = "0.1.0"
