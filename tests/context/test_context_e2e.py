"""A whole run under context pressure: every level, renewal, and the goal still met.

The tools return large outputs into a small window. An early config read
holds the deploy token; thirty steps later the scripted model must answer
with it, reading it only from what it is sent — the fact ledger in the
system prompt, or the ``context_restore`` tool.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType
from typing import Any

from loom.api import AgentRuntime
from loom.config import load_config
from loom.errors import ContextOverflowError
from loom.hookspecs import hookimpl
from loom.messages import Message, TextBlock, ToolCallBlock
from loom.profile import AgentProfile
from loom.records import Record
from loom.requests import ModelRequest, ModelResponse
from loom.testing import ScriptedModel, call
from loom.tools import tool
from loom_compress_common.dashboard import render_html, render_terminal

TOKEN = "TKN-7731-ZETA"


def module_source(n: int, functions: int) -> str:
    """A Python module of about 90 characters per function."""
    body = [f"import mod{n - 1}", ""]
    for i in range(functions):
        body += [
            f"def handler_{n}_{i}(request, limit=None):",
            f"    value = request.get('field_{i}', {i * 7})",
            f"    return value * {n + i}",
            "",
        ]
    return "\n".join(body)


CONFIG = "\n".join(
    ["[deploy]", f'deploy_token = "{TOKEN}"', 'region = "eu-west-3"']
    + [f"option_{i} = {i * 13}" for i in range(60)]
)

RUNBOOK_TOKEN = "TKN-5520-OMEGA"
README = "\n".join(
    ["# Deploying", "", "Deploys go through the release pipeline on merge."]
    + [f"Step {i}: check the dashboard panel {i} before continuing." for i in range(40)]
    + [f"The prod deploy token is {RUNBOOK_TOKEN}, rotated every quarter.", "", "## Rollback"]
    + [f"Rollback note {i}: revert the release tag and redeploy." for i in range(40)]
)


@tool(blocking=False)
def read_file(path: str) -> str:
    """Read a file.

    Args:
        path: the file.
    """
    if path.endswith(".toml"):
        return CONFIG
    if path.endswith(".md"):
        return README
    return module_source(int(re.sub(r"\D", "", path) or 0), 150 if "big" in path else 45)


@tool(blocking=False, effects={"execute"})
def run_shell(command: str) -> str:
    """Run a shell command.

    Args:
        command: the command.
    """
    if command.startswith("pip"):
        return (
            "\n".join(
                f"Downloading pkg{i}-1.0.whl (1.{i % 10} MB)\n   ━━━━━━━━━━━━━━━━━━━━ 100%"
                for i in range(120)
            )
            + "\nSuccessfully installed pkg0-1.0"
        )
    if "fail" in command:
        return (
            "collected 40 items\n"
            + "." * 39
            + "F\nFAILED tests/test_api.py::test_limit - KeyError: 'limit_window'\n1 failed"
        )
    return "collected 40 items\n" + "." * 40 + "\n40 passed in 1.2s"


@tool(blocking=False, effects={"mutate"})
def edit_file(path: str, old: str, new: str) -> str:
    """Edit a file.

    Args:
        path: the file.
        old: text to replace.
        new: replacement.
    """
    return f"Edited {path}: 1 replacement"


class Tools:
    """Registers the test's tools."""

    @hookimpl
    def loom_register_tools(self) -> list[Record]:
        return [read_file, run_shell, edit_file]


def plan(first: str) -> list[Any]:
    """The agent's moves before it answers: reads, noisy installs, re-reads, an error fixed."""
    steps: list[Any] = [call("read_file", path=first)]
    for n in range(1, 9):
        steps += [
            call("read_file", path=f"src/mod{n}.py"),
            call("run_shell", command="pip install -e ."),
            call("read_file", path=f"src/mod{n}.py"),
            (
                f"Done with module {n}; the tests pass.",
                call("run_shell", command="pytest -q fail" if n % 3 == 0 else "pytest -q"),
            ),
        ]
        if n % 3 == 0:
            steps += [
                call("edit_file", path=f"src/mod{n}.py", old="limit=None", new="limit=10"),
                call("run_shell", command="pytest -q fail-fixed"),
            ]
    for n in range(1, 16):
        text = f"Done with module {n}; next one." if n % 3 == 0 else f"Reading module {n}."
        steps.append((text, call("read_file", path=f"src/big{n}.py")))
    return steps


class Agent(ScriptedModel):
    """Plays :func:`plan`, writes summaries when asked, overflows once, then answers.

    The answer needs the deploy token read in the first step; the agent looks
    for it in the request it receives (system prompt with the fact ledger,
    and messages), and otherwise asks ``context_restore`` for it, with the
    reference of the stub that replaced the file, of the renewal hand-off
    note's checkpoint, or of the oldest digest (a grep follows the references
    nested in what it restores).
    """

    def __init__(self, first: str, pattern: str) -> None:
        super().__init__(self.reply, context_window=14_000)
        self.moves = plan(first)
        self.source = first
        self.pattern = re.compile(pattern)
        self.overflowed = False
        self.summaries = 0
        self.answered_from = ""

    async def complete(self, request: ModelRequest, **kwargs: Any) -> ModelResponse:
        if not self.overflowed and len(self.moves) == 30 and request.metadata.get("purpose") is None:
            self.overflowed = True
            raise ContextOverflowError(
                "prompt is too long: 14100 tokens > 14000 maximum", provider="scripted"
            )
        return await super().complete(request, **kwargs)

    def reply(self, request: ModelRequest) -> Any:
        if request.metadata.get("purpose") == "context.summary":
            self.summaries += 1
            return (
                "## Goal\nShip the limits.\n## User messages\n(as given)\n## Decisions\nnone\n"
                "## Files touched\nsrc/\n## Errors and fixes\nKeyError: 'limit_window' fixed\n"
                "## Open work\ncontinue"
            )
        if self.moves:
            move = self.moves.pop(0)
            if isinstance(move, tuple):
                return Message(role="assistant", content=[TextBlock(text=move[0]), move[1]])
            return move
        in_system = self.pattern.search(request.system)
        restored = [
            r.content for m in request.messages for r in m.tool_results if r.name == "context_restore"
        ]
        in_restored = self.pattern.search("\n".join(restored))
        found = in_system or in_restored
        if found:
            self.answered_from = "ledger" if in_system else "restore"
            return f"Deployed with token {found.group(1)}."
        stubs = [r.content for m in request.messages for r in m.tool_results if self.source in r.content]
        handoff = (
            request.system.split("# Hand-off note", 1)[-1] if "# Hand-off note" in request.system else ""
        )
        oldest = [m.text_content for m in request.messages if m.role == "assistant"][:1]
        places = "\n".join([*stubs, handoff, *oldest])
        restore = re.search(r'context_restore\(ref="([0-9a-f]{12}/[\w.\-]+)"', places)
        assert restore, "neither the fact nor a restore reference is in the prompt"
        return ToolCallBlock(
            id="call_restore",
            name="context_restore",
            arguments={"ref": restore.group(1), "grep": "deploy token"},
        )


def runtime(model: Agent, workspace: Path, plugins: list[ModuleType]) -> AgentRuntime:
    profile = AgentProfile(window_tokens=14_000, output_reserve=1_000, max_steps=80)
    return AgentRuntime(
        profile=profile,
        provider=model,
        plugins=[*plugins, Tools()],
        entry_points=False,
        config=load_config(data={}, environ={}),
        workspace=workspace,
    )


async def test_run_passes_every_level_and_renewal_and_answers_from_the_fact_ledger(
    tmp_path: Path, compression_plugins: list[ModuleType]
) -> None:
    model = Agent("config/deploy.toml", r'deploy_token = "([^"]+)"')
    run = (
        runtime(model, tmp_path, compression_plugins)
        .create_session()
        .create_task("Ship per-tenant limits, then tell me the deploy token from config/deploy.toml.")
        .start()
    )
    result = await run.wait()
    assert result.ok, result
    assert TOKEN in result.output and model.answered_from == "ledger"
    edited = [e for e in run.recorded if e.kind == "context.edited"]
    levels = {e.data["level"] for e in edited}
    assert levels >= {"snip", "micro", "collapse", "auto", "reactive", "renewal"}, levels
    assert not [e for e in run.recorded if e.kind == "context.edit_rejected"]
    assert model.summaries >= 1
    pressures = [e.data["pressure"] for e in run.recorded if e.kind == "observe.pressure"]
    assert max(pressures) >= 0.9
    assert (tmp_path / ".loom" / "context" / run.id).is_dir()

    chart = render_terminal(run.recorded)
    assert "renewal" in chart and "ρ" in chart
    html = render_html(run.recorded)
    assert html.startswith("<!doctype html>") and "<svg" in html and "renewal" in html


async def test_a_fact_no_ledger_keeps_comes_back_through_the_restore_tool(
    tmp_path: Path, compression_plugins: list[ModuleType]
) -> None:
    model = Agent("docs/DEPLOY.md", r"deploy token is (TKN-[\w-]+)")
    run = (
        runtime(model, tmp_path, compression_plugins)
        .create_session()
        .create_task("Ship per-tenant limits, then tell me the prod deploy token from docs/DEPLOY.md.")
        .start()
    )
    result = await run.wait()
    assert result.ok, result
    assert RUNBOOK_TOKEN in result.output and model.answered_from == "restore"
    assert RUNBOOK_TOKEN not in model.requests[-2].system
    restore_calls = [
        e for e in run.recorded if e.kind == "act.finished" and e.data["tool"] == "context_restore"
    ]
    assert len(restore_calls) == 1 and RUNBOOK_TOKEN in restore_calls[0].data["content"]
    assert {"micro", "collapse"} <= {e.data["level"] for e in run.recorded if e.kind == "context.edited"}
