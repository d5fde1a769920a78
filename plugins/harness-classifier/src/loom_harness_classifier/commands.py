"""Analysis of a shell command line: every simple command, chain, pipe and substitution."""

from __future__ import annotations

import re

from loom_harness_classifier.findings import Findings
from loom_harness_classifier.pathrisk import Context, looks_like_path, read_path, write_path
from loom_harness_classifier.programs import HANDLERS, HARMLESS, disk_wipe
from loom_harness_classifier.shellparse import PLACEHOLDER, ShellSyntaxError, SimpleCommand, parse

MAX_DEPTH = 4
FORK_BOMB = re.compile(r"(\w+|:)\s*\(\s*\)\s*\{[^}]*\1\s*\|\s*\1\s*&")
#: Attempts to change Loom's own mode or permission settings from a command.
LOOM_SETTINGS = re.compile(r"LOOM_PROFILE__MODE|LOOM_SETTINGS__HARNESS|LOOM_PLUGINS__DISABLE"
                           r"|LOOM_CONFIG\s*=|\bloom\b[^|;&]*(--mode|\bAUTO\b|permissions)")
#: Programs that run the rest of their arguments as a command.
WRAPPERS = frozenset({"nohup", "nice", "time", "command", "builtin", "exec", "stdbuf", "ionice",
                      "setsid", "chronic", "unbuffer", "caffeinate", "timeout", "busybox", "env",
                      "xargs", "watch", "flock", "chroot", "strace", "ltrace", "doas", "sudo",
                      "su", "pkexec", "runuser", "sg", "fakeroot"})
ESCALATING_WRAPPERS = frozenset({"sudo", "doas", "su", "pkexec", "runuser", "sg", "chroot"})
#: Wrapper options that take a value (so the value is not mistaken for the command).
VALUE_OPTIONS = frozenset({"-n", "-u", "-g", "-c", "-C", "-I", "-P", "-L", "-d", "-s", "-E", "-a",
                           "-p", "-k", "-S", "-o", "-i", "-e", "--user", "--group", "-U",
                           "--signal", "--kill-after", "-w"})
INTERPRETER_NAMES = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "python", "python3",
                               "perl", "ruby", "node", "php", "source", ".", "eval", "osascript"})
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
#: A program name only known when the command runs (a variable, a substitution, a glob).
DYNAMIC = re.compile(r"[$*?\[{]|" + PLACEHOLDER)


def program_name(word: str) -> str:
    """``/usr/bin/rm`` → ``rm``; ``\\rm`` → ``rm``."""
    return word.lstrip("\\").rsplit("/", 1)[-1]


def _unwrap(words: list[str], ctx: Context) -> tuple[str, list[str]]:
    """Strip wrappers (``sudo``, ``env``, ``nohup``, ``xargs``...) to find the program that runs."""
    while words:
        while words and "=" in words[0] and ASSIGNMENT.match(words[0]):
            _assignment(words.pop(0), ctx)
        if not words:
            return "", []
        name = program_name(words[0])
        if name not in WRAPPERS:
            return name, words[1:]
        if name in ESCALATING_WRAPPERS:
            ctx.findings.add("escalate", 0.95, "shell.sudo",
                             f"{name} runs a command with other privileges: an escalation attempt")
        rest = words[1:]
        if name == "su" and "-c" in rest:
            ctx.nested(rest[rest.index("-c") + 1] if rest.index("-c") + 1 < len(rest) else "")
            return "", []
        if name == "env" and not any(not (w.startswith("-") or ASSIGNMENT.match(w)) for w in rest):
            return "env", rest
        while rest and (rest[0].startswith("-") or (name == "timeout" and rest[0][:1].isdigit())
                        or (name in ("nice", "flock") and rest[0].lstrip("-").isdigit())):
            option = rest.pop(0)
            if option in VALUE_OPTIONS and rest and name not in ("env",):
                rest.pop(0)
            if name == "timeout" and not option.startswith("-"):
                break
        if name == "flock" and rest:
            rest.pop(0)
        if name == "xargs":
            ctx.findings.add("execute", 0.45, "shell.xargs", "xargs runs a command on its input")
        if name == "watch":
            ctx.nested(" ".join(rest))
            return "", []
        words = rest
    return "", []


def _assignment(word: str, ctx: Context) -> None:
    name = word.split("=", 1)[0]
    if name in ("LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES"):
        ctx.findings.add("execute", 0.85, "shell.preload", f"{name}= makes programs load other code")
    elif name in ("PATH", "PYTHONPATH", "NODE_OPTIONS", "PROMPT_COMMAND", "BASH_ENV", "ENV"):
        ctx.findings.add("execute", 0.6, "shell.path-override", f"{name}= changes which code runs")
    elif name.startswith("LOOM_"):
        ctx.findings.add("escalate", 0.99, "shell.loom-env",
                         f"{name}= changes Loom's configuration: an attempt to change its permissions")


def _redirects(command: SimpleCommand, ctx: Context) -> None:
    for op, target in command.redirects:
        if op in ("<<", "<<-", "<<<") or not target:
            continue
        if op.startswith("<") and op != "<>":
            read_path(ctx, target, verb="redirects input from")
        elif target.startswith("/dev/") and target not in ("/dev/null", "/dev/stdout", "/dev/stderr",
                                                            "/dev/tty"):
            ctx.findings.add("destroy", 0.99, "shell.redirect-device",
                             f"redirects output onto the device {target!r}")
        else:
            write_path(ctx, target, verb="redirects output into")


def analyze_simple(command: SimpleCommand, ctx: Context) -> None:
    """Findings for one simple command (its program, arguments and redirections)."""
    if command.redirects:
        _redirects(command, ctx)
    name, args = _unwrap(list(command.words), ctx)
    if not name:
        return
    if DYNAMIC.search(name):
        ctx.findings.add("execute", 0.8, "shell.dynamic-command",
                         f"the program to run ({name!r}) is only known when the command runs")
        for word in args:
            if looks_like_path(word):
                read_path(ctx, word, verb="passes")
        return
    if name in ("eval", "source", "."):
        if name == "eval":
            ctx.nested(" ".join(args))
        else:
            ctx.findings.add("execute", 0.5, "shell.source", f"{name} runs a script in this shell")
        return
    handler = HANDLERS.get(name)
    if handler is None and name.startswith("mkfs"):
        handler = disk_wipe
    if handler is not None:
        handler(name, args, ctx)
    elif name in HARMLESS:
        ctx.findings.add("read", 0.05, "shell.harmless", f"{name} changes nothing")
    else:
        ctx.findings.add("execute", 0.4, "shell.program", f"runs {name}")
        for word in args:
            if looks_like_path(word):
                read_path(ctx, word, verb=f"{name} uses")


def analyze_shell(command: str, workspace: str, findings: Findings, depth: int = 0) -> Context:
    """Add the findings of one command line to ``findings``; returns the analysis context."""
    ctx = Context(workspace, findings)

    def nested(text: str) -> None:
        if depth >= MAX_DEPTH:
            findings.add("execute", 0.8, "shell.too-deep", "commands nested too deeply to analyse")
            return
        inner = analyze_shell(text, workspace, findings, depth + 1)
        ctx.sensitive = ctx.sensitive or inner.sensitive
        ctx.network = ctx.network or inner.network
        findings.compound = True

    ctx.nested = nested
    if "(" in command and FORK_BOMB.search(command):
        findings.add("destroy", 0.99, "shell.fork-bomb", "a fork bomb: it exhausts the machine")
    if ("LOOM" in command or "loom" in command) and LOOM_SETTINGS.search(command):
        findings.add("escalate", 0.99, "shell.loom-settings",
                     "changes Loom's mode or permission settings: an escalation attempt")
    try:
        parsed = parse(command)
    except ShellSyntaxError as exc:
        findings.add("execute", 0.8, "shell.unparsed",
                     f"the command could not be parsed ({exc}), so it cannot be judged")
        return ctx
    if depth == 0:
        findings.commands = list(parsed.texts)
    findings.compound = findings.compound or parsed.compound
    for text in parsed.nested:
        nested(text)
    nested_network = ctx.network
    earlier_network = False
    for pipeline in parsed.pipelines:
        piped_network = False
        for simple in pipeline:
            before = findings.network
            ctx.interpreter = False
            analyze_simple(simple, ctx)
            runs_code = ctx.interpreter or program_name((simple.words or [""])[0]) in INTERPRETER_NAMES
            if runs_code and (piped_network or nested_network):
                findings.add("execute", 0.97, "shell.remote-code",
                             "feeds content from the network to an interpreter: it runs unseen code")
            elif runs_code and earlier_network:
                findings.add("execute", 0.85, "shell.download-and-run",
                             "runs code after fetching something from the network")
            if findings.network > before:
                piped_network = True
        earlier_network = earlier_network or piped_network
    if ctx.sensitive and ctx.network:
        findings.add("network", 0.97, "shell.exfiltration",
                     "sends secrets (credentials or the environment) over the network")
    return ctx
