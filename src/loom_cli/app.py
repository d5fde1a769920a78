"""The ``loom`` command line: argument parsing and error handling.

Commands::

    loom run "GOAL" [--provider NAME] [--model M] [--preset P] [--mode MODE]
                    [--max-steps N] [--json] [--yes] [--demo] [-v] [-q]
    loom plugins [--json]
    loom config check
    loom runs [--json] [--limit N]
    loom show RUN [--json]
    loom resume RUN [--provider NAME] [--json] [--yes]
    loom replay RUN
    loom context RUN [--html FILE]
    loom skills [--json] | loom skills new NAME [--dir DIR] [--tools]
    loom mcp serve [--http PORT] [--host H] [--agent] [--tool NAME]... [--yes]
    loom memory list [--kind K] [--tag T] [--limit N] | add TEXT [--tag T]... | search QUERY [-k N]
                | forget ID

Every command takes ``--config PATH`` (default: the nearest ``loom.toml``, or
``[tool.loom]`` in ``pyproject.toml``, or ``$LOOM_CONFIG``). The exit codes
are listed in :mod:`loom_cli.exitcodes`. This module imports nothing heavy:
``loom --help`` loads no plugin and no kernel module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from loom_cli import exitcodes

Handler = Callable[[argparse.Namespace], int]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _handler(module: str, name: str) -> Handler:
    def call(args: argparse.Namespace) -> int:
        import importlib

        function: Handler = getattr(importlib.import_module(f"loom_cli.{module}"), name)
        return function(args)

    return call


def _plugin_handler(module: str, name: str, distribution: str) -> Handler:
    """A handler that lives in a plugin distribution, imported only when the command runs."""
    def call(args: argparse.Namespace) -> int:
        import importlib

        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError:
            print(f"loom: this command needs the {distribution} distribution "
                  f"(pip install {distribution})", file=sys.stderr)
            return exitcodes.PLUGIN
        function: Handler = getattr(loaded, name)
        return function(args)

    return call


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``loom`` command."""
    parser = argparse.ArgumentParser(
        prog="loom",
        description="Run autonomous LLM agents and inspect the plugins that shape them.",
        epilog=exitcodes.EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="%(prog)s 0.1.0")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", metavar="PATH",
                        help="configuration file (default: the nearest loom.toml or "
                             "pyproject.toml with [tool.loom], or $LOOM_CONFIG)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run", parents=[common], help="run an agent on a goal",
        description="Run an agent on GOAL, showing its progress on stderr and the final "
                    "answer on stdout. Approvals are asked on the terminal.",
        epilog=exitcodes.EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("goal", metavar="GOAL", help="what the agent should do")
    run.add_argument("--provider", metavar="NAME",
                     help="provider record to use (default: [stages] provider, then the "
                          "provider whose API key is set)")
    run.add_argument("--model", metavar="M", help="model name passed to the provider")
    run.add_argument("--preset", metavar="P",
                     help="agent profile preset (default, readonly, autonomous, quick, or one "
                          "registered by a plugin); [profile] values in loom.toml still apply")
    run.add_argument("--mode", type=str.upper, choices=["DEFAULT", "PLAN", "AUTO"],
                     help="DEFAULT, PLAN (no mutating tool runs) or AUTO")
    run.add_argument("--max-steps", type=_positive_int, metavar="N", help="step limit")
    run.add_argument("--json", action="store_true",
                     help="print every event as one JSON line on stdout")
    run.add_argument("--yes", action="store_true",
                     help="approve every approval request without asking")
    run.add_argument("--demo", action="store_true",
                     help="use a scripted demo model (no real model is called) that calls one "
                          "read-only tool and answers")
    run.add_argument("-v", "--verbose", action="count", default=0,
                     help="show more events (repeat for more)")
    run.add_argument("-q", "--quiet", action="store_true",
                     help="show only the start and end of the run, approvals and errors")
    run.set_defaults(handler=_handler("runcmd", "cmd_run"))

    plugins = commands.add_parser(
        "plugins", parents=[common], help="list installed plugins",
        description="List every plugin: distribution, version, status (loaded, blocked, not "
                    "enabled), the stages and hooks it implements, its records and where its "
                    "code lives. Blocked plugins are listed but never imported.")
    plugins.add_argument("--json", action="store_true", help="print JSON instead of a table")
    plugins.set_defaults(handler=_handler("plugincmd", "cmd_plugins"))

    config = commands.add_parser("config", help="check the configuration")
    config_commands = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    check = config_commands.add_parser(
        "check", parents=[common], help="validate configuration and plugins",
        description="Validate loom.toml and every plugin's settings, and print the effective "
                    "configuration.")
    check.set_defaults(handler=_handler("configcmd", "cmd_config_check"))
    config.set_defaults(handler=lambda _args: _missing(config))

    runs = commands.add_parser("runs", parents=[common], help="list past runs (needs a store)")
    runs.add_argument("--json", action="store_true", help="print JSON instead of a table")
    runs.add_argument("--limit", type=_positive_int, default=20, metavar="N",
                      help="show the N most recent runs (default 20)")
    runs.set_defaults(handler=_handler("storecmd", "cmd_runs"))

    show = commands.add_parser("show", parents=[common],
                               help="show the events of one run (needs a store)")
    show.add_argument("run_id", metavar="RUN", help="the run id")
    show.add_argument("--json", action="store_true", help="print events as JSON lines")
    show.add_argument("-v", "--verbose", action="count", default=0, help="show more events")
    show.set_defaults(handler=_handler("storecmd", "cmd_show"))

    resume = commands.add_parser(
        "resume", parents=[common], help="continue a stored run from its last committed step",
        description="Resume RUN after a crash or restart: completed tool calls are not run "
                    "again; a call that started but did not finish is reported to the model as "
                    "interrupted. Needs a store plugin.")
    resume.add_argument("run_id", metavar="RUN", help="the run id (see `loom runs`)")
    resume.add_argument("--provider", metavar="NAME", help="provider record to continue with")
    resume.add_argument("--json", action="store_true", help="print events as JSON lines")
    resume.add_argument("--yes", action="store_true", help="approve every approval request")
    resume.add_argument("-v", "--verbose", action="count", default=0, help="show more events")
    resume.set_defaults(handler=_handler("runcmd", "cmd_resume"))

    replay = commands.add_parser(
        "replay", parents=[common], help="re-run a stored run offline from its recorded answers",
        description="Replay RUN with the model's answers and the tool results served from the "
                    "store (no provider, no network) and compare the events with the recording.")
    replay.add_argument("run_id", metavar="RUN", help="the run id (see `loom runs`)")
    replay.set_defaults(handler=_handler("storecmd", "cmd_replay"))

    context = commands.add_parser(
        "context", parents=[common], help="show context pressure and compression of a stored run",
        description="Chart the partitions and pressure of RUN over its steps, with each "
                    "compression event; --html writes the same as an HTML page.")
    context.add_argument("run_id", metavar="RUN", help="the run id (see `loom runs`)")
    context.add_argument("--html", metavar="FILE", help="also write an HTML export to FILE")
    context.set_defaults(handler=_handler("storecmd", "cmd_context"))

    skills = commands.add_parser(
        "skills", parents=[common], help="list skills, or scaffold a new one",
        description="List the skills a run would see (configured folders and installed "
                    "distributions); invalid skills are reported with their file and field.")
    skills.add_argument("--json", action="store_true", help="print JSON instead of a table")
    skills_commands = skills.add_subparsers(dest="skills_command", metavar="SUBCOMMAND")
    new_skill = skills_commands.add_parser(
        "new", parents=[common], help="create a skill folder with a SKILL.md to fill in")
    new_skill.add_argument("name", metavar="NAME", help="lowercase letters, digits and hyphens")
    new_skill.add_argument("--dir", metavar="DIR", help="parent folder (default .loom/skills)")
    new_skill.add_argument("--description", metavar="TEXT", help="the skill's description")
    new_skill.add_argument("--tools", action="store_true", help="also create a tools.py")
    skills.set_defaults(handler=_plugin_handler("loom_skills.cli", "cmd_skills", "loom-skills"))

    mcp = commands.add_parser("mcp", help="Model Context Protocol: serve Loom to MCP clients")
    mcp_commands = mcp.add_subparsers(dest="mcp_command", metavar="SUBCOMMAND")
    serve = mcp_commands.add_parser(
        "serve", parents=[common], help="serve the profile's tools (or the agent) as an MCP server",
        description="Serve the configured profile's tools as an MCP server over stdio (default) "
                    "or streamable HTTP. With --agent, serve one tool run_agent(goal) that runs "
                    "a whole agent. Every call goes through the harness.")
    serve.add_argument("--http", type=_positive_int, metavar="PORT",
                       help="serve streamable HTTP on PORT (path /mcp) instead of stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1)")
    serve.add_argument("--agent", action="store_true",
                       help="serve one tool, run_agent(goal), instead of the profile's tools")
    serve.add_argument("--tool", action="append", metavar="NAME",
                       help="serve only this tool (repeatable; default: every tool of the profile)")
    serve.add_argument("--yes", action="store_true",
                       help="approve calls the harness would ask a person about (default: deny)")
    serve.set_defaults(handler=_plugin_handler("loom_mcp.cli", "cmd_mcp_serve", "loom-mcp"))
    mcp.set_defaults(handler=lambda _args: _missing(mcp))

    memory = commands.add_parser(
        "memory", parents=[common], help="list, add, search or forget the memories agents recall",
        description="The memories agents recall ([settings.memory] names the database).")
    memory_commands = memory.add_subparsers(dest="memory_command", metavar="SUBCOMMAND")
    listing = memory_commands.add_parser("list", parents=[common], help="the newest memories")
    listing.add_argument("--kind", choices=["fact", "note"], help="only facts, or only notes")
    listing.add_argument("--tag", metavar="T", help="only memories with this tag")
    listing.add_argument("--limit", type=_positive_int, default=50, metavar="N",
                         help="at most N memories (default 50)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    adding = memory_commands.add_parser("add", parents=[common], help="keep a fact")
    adding.add_argument("text", metavar="TEXT", help="the fact, self-contained")
    adding.add_argument("--tag", action="append", metavar="T", help="a tag (repeatable)")
    adding.add_argument("--source", metavar="TEXT", help="where the fact comes from")
    adding.add_argument("--json", action="store_true", help="print the kept memory as JSON")
    finding = memory_commands.add_parser("search", parents=[common], help="search by meaning")
    finding.add_argument("query", metavar="QUERY", help="what to look for")
    finding.add_argument("-k", type=_positive_int, default=5, metavar="N",
                         help="how many results (default 5)")
    finding.add_argument("--json", action="store_true", help="print JSON")
    forgetting = memory_commands.add_parser("forget", parents=[common], help="delete a memory")
    forgetting.add_argument("memory_id", type=int, metavar="ID", help="the memory's id")
    memory.set_defaults(handler=_plugin_handler("loom_memory_recall.cli", "cmd_memory",
                                                "loom-memory-recall"))
    return parser


def _missing(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return exitcodes.USAGE


def run_cli(argv: Sequence[str]) -> int:
    """Run the ``loom`` command with ``argv``; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else exitcodes.USAGE
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        return _missing(parser)
    try:
        return _guarded(handler, args)
    except KeyboardInterrupt:
        print("\nloom: interrupted", file=sys.stderr)
        return exitcodes.INTERRUPTED
    except BrokenPipeError:  # the reader went away (``loom plugins | head``)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exitcodes.OK


def _guarded(handler: Handler, args: argparse.Namespace) -> int:
    from loom.errors import ConfigError, PluginError, StageError

    try:
        return handler(args)
    except ConfigError as exc:
        print(f"loom: configuration error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except PluginError as exc:
        print(f"loom: plugin error: {exc}", file=sys.stderr)
        return exitcodes.PLUGIN
    except StageError as exc:
        print(f"loom: {exc}", file=sys.stderr)
        return exitcodes.USAGE
