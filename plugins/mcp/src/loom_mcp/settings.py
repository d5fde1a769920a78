"""``[settings.mcp]``: the MCP servers a run connects to.

::

    [settings.mcp.servers.files]
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-filesystem", "."]
    timeout = 30

    [settings.mcp.servers.search]
    url = "http://127.0.0.1:8931/mcp"
    headers = { Authorization = "Bearer ${SEARCH_TOKEN}" }
    namespace = true
"""

from __future__ import annotations

import re

from loom.requests import Effect
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: The ``[settings.<name>]`` table (and the tool source record) of this plugin.
SETTINGS_NAME = "mcp"
SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


class ServerSettings(BaseModel):
    """One MCP server: a command to run (stdio) or a URL (streamable HTTP).

    ``env`` and ``headers`` values may use ``${VAR}`` to take a value from
    the environment. ``timeout`` bounds each call (seconds) and
    ``startup_timeout`` the start and handshake. ``namespace`` prefixes tool
    names with ``<server>_``. ``tools`` keeps only the named server tools.
    A crashed server is restarted up to ``max_restarts`` times in a row,
    waiting ``restart_backoff`` seconds, doubled each time (at most 30 s).
    ``effects`` overrides the effects of tools by server tool name (``"*"``
    for all); otherwise they come from the tools' annotations, or, with
    ``trust_annotations = false`` or no annotations, the most cautious set
    (``mutate``, ``destroy``, ``network``). A server that is not
    ``required`` may fail to start without failing the run.
    """

    model_config = ConfigDict(extra="forbid")

    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(default=60.0, gt=0)
    startup_timeout: float = Field(default=30.0, gt=0)
    namespace: bool = False
    tools: list[str] | None = None
    effects: dict[str, list[Effect]] = Field(default_factory=dict)
    trust_annotations: bool = True
    required: bool = True
    enabled: bool = True
    max_restarts: int = Field(default=5, ge=0)
    restart_backoff: float = Field(default=0.5, ge=0)

    @model_validator(mode="after")
    def _one_transport(self) -> ServerSettings:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (a stdio server) or url (a streamable HTTP "
                             "server), not both and not neither")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {self.url!r}")
        if self.url is not None and (self.args or self.env or self.cwd):
            raise ValueError("args, env and cwd only apply to command (stdio) servers")
        if self.command is not None and self.headers:
            raise ValueError("headers only apply to url (streamable HTTP) servers")
        return self

    @property
    def transport(self) -> str:
        """``"stdio"`` or ``"http"``."""
        return "stdio" if self.command is not None else "http"


class McpSettings(BaseModel):
    """Settings of the MCP bridge: ``servers`` by name, and the extra tools.

    ``resources`` adds ``mcp_list_resources``/``mcp_read_resource`` and
    ``prompts`` adds ``mcp_list_prompts``/``mcp_get_prompt`` when a server
    offers them.
    """

    model_config = ConfigDict(extra="forbid")

    servers: dict[str, ServerSettings] = Field(default_factory=dict)
    resources: bool = True
    prompts: bool = True

    @field_validator("servers")
    @classmethod
    def _names(cls, servers: dict[str, ServerSettings]) -> dict[str, ServerSettings]:
        for name in servers:
            if not SERVER_NAME.match(name):
                raise ValueError(f"server name {name!r} must be letters, digits, '-' or '_' "
                                 "(at most 40, starting with a letter or digit)")
        return servers
