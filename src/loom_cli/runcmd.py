"""``loom run``: run an agent on a goal, showing progress and asking for approvals."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from loom.api import AgentRuntime
from loom.errors import LoomError, StageError
from loom.events import Event
from loom.profile import AgentProfile
from loom.run import Run, RunResult

from loom_cli import exitcodes
from loom_cli.common import build_profile, check_stages, config_from, event_json, make_formatter
from loom_cli.prompt import ApprovalPrompter

Show = Callable[[Event], None]


def cmd_run(args: argparse.Namespace) -> int:
    """Run ``args.goal`` and return the exit code (see :mod:`loom_cli.exitcodes`)."""
    if args.demo and args.provider:
        print("loom: --demo and --provider cannot be used together", file=sys.stderr)
        return exitcodes.USAGE
    config = config_from(args)
    provider: Any = args.provider
    plugins: list[Any] = []
    if args.demo:
        from loom_cli.demo import PLUGIN_NAME, DemoTools, demo_model

        provider = demo_model(args.goal)
        plugins.append((PLUGIN_NAME, DemoTools()))
    try:
        # The real profile is built below from the plugins this runtime loaded.
        runtime = AgentRuntime(profile=AgentProfile(), provider=provider, config=config,
                               plugins=plugins)
    except StageError as exc:
        print(f"loom: no provider available: {exc}\n"
              "loom: install a provider plugin and set its API key, or try "
              "`loom run --demo \"...\"` (a scripted demo model)", file=sys.stderr)
        return exitcodes.NO_PROVIDER
    runtime.profile = build_profile(config, runtime.plugins, args.preset, model=args.model,
                                    mode=args.mode, max_steps=args.max_steps)
    check_stages(runtime.plugins, config)
    if args.demo:
        print("loom: using the scripted demo model (no real model is called)", file=sys.stderr)
    show = _display(args, runtime)
    prompter = ApprovalPrompter(auto_yes=args.yes)

    async def start() -> Run:
        return runtime.create_session().create_task(args.goal).start()

    result = asyncio.run(_drive(start, show, prompter))
    return _report(result, json_mode=args.json)


def cmd_resume(args: argparse.Namespace) -> int:
    """Resume a stored run from its last committed step."""
    config = config_from(args)
    try:
        runtime = AgentRuntime(provider=args.provider, config=config)
    except StageError as exc:
        print(f"loom: no provider available: {exc}", file=sys.stderr)
        return exitcodes.NO_PROVIDER
    if runtime.store is None:
        print("loom: resume needs a store plugin ([stages] store); none is selected",
              file=sys.stderr)
        return exitcodes.PLUGIN
    args.quiet = getattr(args, "quiet", False)
    show = _display(args, runtime)
    prompter = ApprovalPrompter(auto_yes=args.yes)

    async def start() -> Run:
        return await runtime.resume(args.run_id)

    try:
        result = asyncio.run(_drive(start, show, prompter))
    except LoomError as exc:
        print(f"loom: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    return _report(result, json_mode=args.json)


def _display(args: argparse.Namespace, runtime: AgentRuntime) -> Show:
    if args.json:
        def show_json(event: Event) -> None:
            print(event_json(event), flush=True)
        return show_json
    if "console" in (runtime.config.stages.event_sinks or []):
        return lambda event: None  # the console sink prints progress already
    verbosity = 0 if args.quiet else 1 + args.verbose
    format_event = make_formatter(runtime.plugins, verbosity)

    def show(event: Event) -> None:
        line = format_event(event)
        if line is not None:
            print(line, file=sys.stderr, flush=True)

    return show


async def _drive(start: Callable[[], Awaitable[Run]], show: Show,
                 prompter: ApprovalPrompter) -> RunResult:
    run = await start()
    prompts: set[asyncio.Task[None]] = set()
    shown = 0
    try:
        async for event in run.events():
            show(event)
            shown = event.seq + 1
            if event.kind == "approval.requested":
                # the run's own approvals and its sub-agents' (forwarded with ``subagent``)
                task = asyncio.create_task(prompter.decide(run.pending_approvals, event))
                prompts.add(task)
                task.add_done_callback(prompts.discard)
        return await run.wait()
    except asyncio.CancelledError:  # Ctrl-C: cancel the run, show how it ended
        run.cancel()
        result = await run.wait()
        for event in run.recorded[shown:]:
            show(event)
        return result
    finally:
        for task in list(prompts):
            task.cancel()


def _report(result: RunResult, *, json_mode: bool) -> int:
    if result.status == "succeeded":
        if not json_mode:
            print(result.output, flush=True)
        return exitcodes.OK
    if result.status == "cancelled":
        print(f"loom: run {result.run_id} cancelled", file=sys.stderr)
        return exitcodes.INTERRUPTED
    if not json_mode and result.output:
        print(result.output, flush=True)
    why = result.error or result.reason or "no reason given"
    print(f"loom: run {result.run_id} {result.status}: {why}", file=sys.stderr)
    return exitcodes.RUN_FAILED
