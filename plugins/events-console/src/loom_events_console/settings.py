"""Settings models of the two event sinks (``[settings.console]``, ``[settings.jsonl]``)."""

from __future__ import annotations

from string import Formatter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Placeholders the JSONL ``path`` may contain.
PATH_PLACEHOLDERS = ("run_id",)


class ConsoleSettings(BaseModel):
    """``[settings.console]``: readable progress lines on standard error.

    ``verbosity``: 0 shows only the start and end of a run, approvals,
    stops and errors; 1 (default) adds steps, tool calls, non-allow
    verdicts, context pressure, compression and Δ injections; 2 adds every
    verdict, the model's text and step summaries; 3 shows every event,
    streamed fragments included.
    """

    model_config = ConfigDict(extra="forbid")

    verbosity: int = Field(default=1, ge=0, le=3)
    color: Literal["auto", "always", "never"] = "auto"
    arg_chars: int = Field(default=60, ge=10, le=10_000)
    show_output: bool = True


class JsonlSettings(BaseModel):
    """``[settings.jsonl]``: append every event as one JSON line to a file.

    ``path`` may contain ``{run_id}``; a relative path is resolved against
    the working directory of the process. Folders are created as needed.
    ``exclude_kinds`` lists event kinds not to write (e.g. ``reason.delta``).
    """

    model_config = ConfigDict(extra="forbid")

    path: str = ".loom/events/{run_id}.jsonl"
    exclude_kinds: list[str] = Field(default_factory=list)

    @field_validator("path")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("path must not be empty")
        try:
            fields = [name for _, name, _, _ in Formatter().parse(value) if name is not None]
        except ValueError as exc:
            raise ValueError(f"path {value!r} is not a valid template: {exc}") from None
        for name in fields:
            if name not in PATH_PLACEHOLDERS:
                raise ValueError(
                    f"path {value!r} uses unknown placeholder {{{name}}}; "
                    f"allowed: {', '.join('{' + p + '}' for p in PATH_PLACEHOLDERS)}"
                )
        return value
