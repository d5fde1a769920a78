"""Command line: ``python -m loom_wire_servers {anthropic,openai,gemini} [--port N] [--script FILE]``.

Without ``--script`` the server echoes the last user message back. The base URL
to give the SDK is printed on the first line of standard output.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from .anthropic_server import AnthropicServer
from .gemini_server import GeminiServer
from .neutral import NeutralRequest
from .openai_server import OpenAIServer
from .script import Reply, Script
from .scriptfile import load_script
from .server import WireServer

SERVERS: dict[str, type[WireServer]] = {
    "anthropic": AnthropicServer,
    "openai": OpenAIServer,
    "gemini": GeminiServer,
}


def echo(request: NeutralRequest) -> Reply:
    """The default script: repeat the last user message (or report tool results)."""
    if request.tool_results:
        return Reply(text="Tool results: " + "; ".join(r.content for r in request.tool_results))
    return Reply(text=f"You said: {request.last_user_text}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loom-wire-servers", description=__doc__)
    parser.add_argument("protocol", choices=sorted(SERVERS), help="which provider's API to serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    parser.add_argument("--script", help="JSON script file (default: echo the last user message)")
    parser.add_argument("--api-key", help="reject requests that do not carry this key")
    parser.add_argument(
        "--context-window", type=int, help="answer larger prompts with a context overflow error"
    )
    parser.add_argument(
        "--no-validate", action="store_true", help="accept requests the real API would reject"
    )
    args = parser.parse_args(argv)

    script: Script = load_script(args.script) if args.script else echo
    server = SERVERS[args.protocol](
        script,
        host=args.host,
        port=args.port,
        validate=not args.no_validate,
        api_key=args.api_key,
        context_window=args.context_window,
    )
    with server:
        print(server.base_url, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
