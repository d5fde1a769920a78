"""Synthetic agent trajectories with planted facts, for tests and benchmarks.

:func:`generate` builds a seeded, realistic-looking coding-agent history of
about ``tokens`` tokens: file reads (source and config), shell output
(tests, installs with progress bars, git), search results, edits, errors
and their fixes, the agent's own narration, and the odd user message. About
``facts_per_200k`` facts that a later step needs are planted along the way
(:class:`PlantedFact`): settings in config files, constants in code,
identifiers in command output, user constraints, decisions, superseded
values, error/fix pairs and files touched.

:func:`fact_present` checks a fact against text: some line must contain
every one of its needles (a setting's name and value), and the text each of
its ``also`` strings (the file an error's fix changed).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from loom.messages import Message, TextBlock, ToolCallBlock, ToolResultBlock
from loom.requests import Effect, ToolSpec

WORDS = (
    "cache",
    "session",
    "token",
    "upload",
    "billing",
    "report",
    "index",
    "queue",
    "worker",
    "schema",
    "invoice",
    "tenant",
    "audit",
    "export",
    "search",
    "retry",
    "webhook",
    "ledger",
    "quota",
    "shard",
)
MODULES = ("api", "core", "db", "auth", "jobs", "utils", "models", "views", "storage", "metrics")
LIBS = (
    ("orjson", "json"),
    ("httpx", "requests"),
    ("sqlite", "postgres"),
    ("ruff", "flake8"),
    ("pydantic", "marshmallow"),
    ("redis", "memcached"),
    ("uvicorn", "gunicorn"),
    ("polars", "pandas"),
)
ERRORS = (
    "KeyError: '{w}_id'",
    "TypeError: {w}() missing 1 required positional argument: 'tenant'",
    "AttributeError: 'NoneType' object has no attribute '{w}_at'",
    "ModuleNotFoundError: No module named '{w}_client'",
    "ValueError: invalid {w} window: -1",
)
TOOLS = [
    ToolSpec(name="read_file", effects=frozenset({Effect.READ})),
    ToolSpec(name="grep", effects=frozenset({Effect.READ})),
    ToolSpec(name="run_shell", effects=frozenset({Effect.EXECUTE})),
    ToolSpec(name="edit_file", effects=frozenset({Effect.MUTATE})),
    ToolSpec(name="write_file", effects=frozenset({Effect.MUTATE})),
]


@dataclass
class PlantedFact:
    """A fact a later step needs: ``needles`` must all appear on one line, and each
    of ``also`` somewhere (an error and the file its fix changed)."""

    kind: str
    needles: list[str]
    step: int
    also: list[str] = field(default_factory=list)


@dataclass
class Trajectory:
    """A generated history, step by step, with its planted facts."""

    goal: str
    steps: list[list[Message]] = field(default_factory=list)
    facts: list[PlantedFact] = field(default_factory=list)
    tools: list[ToolSpec] = field(default_factory=lambda: list(TOOLS))

    @property
    def messages(self) -> list[Message]:
        """Every message, in order (the goal first)."""
        return [m for step in self.steps for m in step]


def fact_present(fact: PlantedFact, text: str) -> bool:
    """Whether one line of ``text`` holds every needle of ``fact`` (and ``text`` each of ``also``)."""
    if not all(a in text for a in fact.also):
        return False
    first = fact.needles[0]
    start = text.find(first)
    while start >= 0:
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        line = text[line_start : line_end if line_end >= 0 else len(text)]
        if all(n in line for n in fact.needles[1:]):
            return True
        start = text.find(first, start + 1)
    return False


class _Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.n = 0
        self.files: dict[str, str] = {}

    def file(self, path: str, make: Callable[[], str]) -> str:
        """The content of ``path``: made once, the same on every later read."""
        if path not in self.files:
            self.files[path] = make()
        return self.files[path]

    def ident(self) -> str:
        return f"{self.r.choice(WORDS)}_{self.r.choice(WORDS)}"

    def path(self, suffix: str = ".py") -> str:
        return f"src/{self.r.choice(MODULES)}/{self.r.choice(WORDS)}{suffix}"

    def call(self, name: str, **arguments: object) -> ToolCallBlock:
        self.n += 1
        return ToolCallBlock(id=f"call_{self.n:05d}", name=name, arguments=dict(arguments))

    def code(self, lines: int, planted: str = "") -> str:
        r = self.r
        out = [f"import {r.choice(MODULES)}", f"from .{r.choice(MODULES)} import {self.ident()}", ""]
        if r.random() < 0.5:
            out.append(f"{self.ident().upper()} = {r.randint(1, 500)}")
        while len(out) < lines:
            name = self.ident()
            out += [
                f"def {name}({r.choice(WORDS)}, {r.choice(WORDS)}=None):",
                f'    """Return the {r.choice(WORDS)} for a {r.choice(WORDS)}."""',
                f"    value = {r.choice(WORDS)}.get({r.choice(WORDS)!r}, {r.randint(0, 99)})",
                f"    if value > {r.randint(1, 9999)}:",
                "        raise ValueError(f'bad {value}')",
                f"    return {self.ident()}(value, {r.choice(WORDS)})",
                "",
            ]
        if planted:
            out.insert(r.randint(3, len(out) - 1), planted)
        return "\n".join(out)

    def config(self, planted: dict[str, str]) -> str:
        r = self.r
        lines = [f"[{r.choice(WORDS)}]"]
        keys = [self.ident() for _ in range(r.randint(15, 35))]
        for key in keys:
            lines.append(f"{key} = {r.choice([str(r.randint(1, 5000)), repr(r.choice(WORDS)), 'true'])}")
        for key, value in planted.items():
            lines.insert(r.randint(1, len(lines)), f"{key} = {value}")
        return "\n".join(lines)

    def grep(self, pattern: str) -> str:
        r = self.r
        return "\n".join(
            f"{self.path()}:{r.randint(1, 900)}:    {self.ident()} = {pattern}({r.choice(WORDS)})"
            for _ in range(r.randint(20, 80))
        )

    def tests(self, failing: str = "") -> str:
        r = self.r
        n = r.randint(80, 400)
        lines = [
            "============================= test session starts ==============================",
            f"collected {n} items",
            "",
        ]
        for _ in range(r.randint(5, 15)):
            lines.append(f"tests/test_{r.choice(WORDS)}.py " + "." * r.randint(10, 60))
        if failing:
            lines += [
                "",
                "=================================== FAILURES ===================================",
                "    def test_it():",
                f">       assert {self.ident()}()",
                f"E       {failing}",
                "",
                f"FAILED tests/test_{r.choice(WORDS)}.py::test_{self.ident()} - {failing}",
                f"========================= 1 failed, {n - 1} passed in {r.uniform(1, 30):.2f}s ======",
            ]
        else:
            lines.append(
                f"============================== {n} passed in {r.uniform(1, 30):.2f}s ==============="
            )
        return "\n".join(lines)

    def install(self) -> str:
        r = self.r
        lines = []
        for _ in range(r.randint(10, 30)):
            pkg = f"{r.choice(WORDS)}-{r.choice(MODULES)}"
            lines.append(f"Collecting {pkg}=={r.randint(0, 9)}.{r.randint(0, 30)}")
            lines.append(
                f"  Downloading {pkg}-{r.randint(0, 9)}.{r.randint(0, 9)}-py3-none-any.whl "
                f"(1.{r.randint(0, 9)} MB)"
            )
            lines.append(
                f"     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 1.{r.randint(0, 9)}/1.{r.randint(0, 9)} MB "
                f"{r.randint(1, 9)}.{r.randint(0, 9)} MB/s eta 0:00:00"
            )
        lines.append(
            "Successfully installed "
            + " ".join(f"{r.choice(WORDS)}-{r.randint(0, 9)}.{r.randint(0, 9)}" for _ in range(8))
        )
        return "\n".join(lines)

    def gitlog(self) -> str:
        r = self.r
        out = []
        for _ in range(r.randint(8, 25)):
            out += [
                f"commit {r.getrandbits(160):040x}",
                f"Author: dev{r.randint(1, 9)} <dev@example.org>",
                f"Date:   Mon Mar {r.randint(1, 28)} 10:{r.randint(10, 59)}:00 2025",
                "",
                f"    {r.choice(['Fix', 'Add', 'Refactor', 'Update'])} {r.choice(WORDS)} {r.choice(WORDS)}",
                "",
            ]
        return "\n".join(out)


FACT_KINDS = (
    "setting",
    "constant",
    "identifier",
    "constraint",
    "decision",
    "superseded",
    "error_fix",
    "touched",
)
_SUFFIXES = ("retention_days", "max_conns", "timeout_ms", "batch_limit", "port", "region", "replicas")


class _Builder:
    """Appends steps to a trajectory and keeps its token count."""

    def __init__(self, gen: _Gen, trajectory: Trajectory) -> None:
        self.g = gen
        self.t = trajectory
        self.tokens = 0.0
        self.reads: list[tuple[str, str]] = []
        self.shell: list[tuple[str, str]] = []
        self.followups: list[tuple[int, str, dict[str, str]]] = []

    def step(
        self,
        call: ToolCallBlock,
        output: str,
        *,
        text: str = "",
        is_error: bool = False,
        user: str = "",
        delta: str = "",
    ) -> None:
        content: list[TextBlock | ToolCallBlock] = [TextBlock(text=text)] if text else []
        messages = [
            Message(role="assistant", content=[*content, call]),
            Message(
                role="tool",
                content=[ToolResultBlock(call_id=call.id, name=call.name, content=output, is_error=is_error)],
            ),
        ]
        if delta:
            messages.append(Message.text("user", delta, delta=True))
        if user:
            messages.append(Message.text("user", user))
        self.t.steps.append(messages)
        self.tokens += (
            (len(output) + len(text) + len(user) + len(delta)) / 3.6
            + len(json.dumps(call.arguments)) / 3
            + 20
        )

    def narration(self) -> str:
        r = self.g.r
        roll = r.random()
        if roll < 0.15:
            return f"Done with the {r.choice(WORDS)} {r.choice(WORDS)} changes; moving on to the next part."
        if roll < 0.45:
            return f"Next I'll look at how {self.g.ident()} handles the {r.choice(WORDS)} case."
        return ""

    def noise(self) -> None:
        g, r = self.g, self.g.r
        roll = r.random()
        text = self.narration()
        delta = (
            f"[sensor] {r.randint(1, 9)} files changed in src/{r.choice(MODULES)}"
            if r.random() < 0.04
            else ""
        )
        if roll < 0.38:
            path = g.path()
            output = g.file(path, lambda: g.code(r.randint(80, 380)))
            self.reads.append((path, output))
            self.step(g.call("read_file", path=path), output, text=text, delta=delta)
        elif roll < 0.52:
            pattern = g.ident()
            self.step(g.call("grep", pattern=pattern, path="src"), g.grep(pattern), text=text, delta=delta)
        elif roll < 0.62:
            output = g.tests()
            self.shell.append(("pytest -q -x", output))
            self.step(g.call("run_shell", command="pytest -q -x"), output, text=text, delta=delta)
        elif roll < 0.67:
            self.step(
                g.call("run_shell", command="pip install -e .[dev]"), g.install(), text=text, delta=delta
            )
        elif roll < 0.72:
            output = g.gitlog()
            self.shell.append(("git log -n 20", output))
            self.step(g.call("run_shell", command="git log -n 20"), output, text=text, delta=delta)
        elif roll < 0.76:
            path = f"config/{r.choice(WORDS)}.toml"
            output = g.file(path, lambda: g.config({}))
            self.reads.append((path, output))
            self.step(g.call("read_file", path=path), output, text=text, delta=delta)
        elif roll < 0.86:
            path = g.path()
            self.step(
                g.call("edit_file", path=path, old=f"{g.ident()}(", new=f"{g.ident()}("),
                f"Edited {path}: 1 replacement",
                text=text,
                delta=delta,
            )
        elif roll < 0.93 and self.reads:
            path, output = r.choice(self.reads[-30:])
            self.step(g.call("read_file", path=path), output, text=text, delta=delta)
        elif self.shell:
            command, output = r.choice(self.shell[-10:])
            self.step(g.call("run_shell", command=command), output, text=text, delta=delta)
        else:
            self.step(g.call("run_shell", command="ls src"), "\n".join(MODULES), text=text)

    def plant(self, kind: str) -> None:
        g, r = self.g, self.g.r
        step = len(self.t.steps)
        unique = f"{r.choice(WORDS)}_{r.choice(WORDS)}_{r.choice(_SUFFIXES)}"
        number = str(r.randint(1000, 99999))
        add = self.t.facts.append
        if kind == "setting":
            path = f"config/{r.choice(WORDS)}_{number}.toml"
            self.step(g.call("read_file", path=path), g.file(path, lambda: g.config({unique: number})))
            add(PlantedFact(kind, [unique, number], step))
        elif kind == "constant":
            name = unique.upper()
            path = f"src/{r.choice(MODULES)}/{unique}.py"
            self.step(
                g.call("read_file", path=path),
                g.file(path, lambda: g.code(r.randint(80, 300), f"{name} = {number}")),
            )
            add(PlantedFact(kind, [name, number], step))
        elif kind == "identifier":
            ident = f"{r.choice(['dep', 'snap', 'ro', 'img'])}-{r.getrandbits(32):08x}"
            line = r.choice(
                [
                    f"Created database snapshot {ident} in {r.uniform(1, 9):.1f}s",
                    f"deployment id: {ident}",
                    f"Successfully built {ident}",
                    f"Deployed revision {ident} to region eu-west-{r.randint(1, 3)}",
                ]
            )
            logs = [
                f"2025-03-0{r.randint(1, 9)}T10:{r.randint(10, 59)}:{r.randint(10, 59)}Z INFO "
                f"{g.ident()} step {i} ok"
                for i in range(r.randint(30, 120))
            ]
            logs.insert(r.randint(0, len(logs)), line)
            self.step(g.call("run_shell", command=f"make deploy-{r.choice(WORDS)}"), "\n".join(logs))
            add(PlantedFact(kind, [ident], step))
        elif kind == "constraint":
            ticket = f"OPS-{number}"
            user = (
                f"One more thing ({ticket}): do not change anything under src/{r.choice(MODULES)}/legacy, "
                "another team owns it."
            )
            self.noise_with_user(user)
            add(PlantedFact(kind, [ticket], step))
        elif kind == "decision":
            fast, slow = r.choice(LIBS)
            area = f"{r.choice(WORDS)} {r.choice(WORDS)} {number}"
            text = f"I'll use {fast} instead of {slow} for the {area} path, since it is simpler."
            path = g.path()
            self.step(
                g.call("read_file", path=path), g.file(path, lambda: g.code(r.randint(60, 200))), text=text
            )
            add(PlantedFact(kind, [fast, area], step))
        elif kind == "superseded":
            path = f"config/{r.choice(WORDS)}_{number}.toml"
            old, new = str(r.randint(1, 99)), str(r.randint(100, 999))
            self.step(g.call("read_file", path=path), g.file(path, lambda: g.config({unique: old})))
            self.followups.append(
                (step + r.randint(2, 6), "supersede", {"path": path, "key": unique, "old": old, "new": new})
            )
            add(PlantedFact(kind, [unique, new], step))
        elif kind == "error_fix":
            error = r.choice(ERRORS).format(w=unique)
            command = f"pytest -q tests/test_{unique}.py"
            fix = f"src/{r.choice(MODULES)}/{unique}.py"
            self.step(g.call("run_shell", command=command), g.tests(error), is_error=True)
            self.followups.append((step + r.randint(1, 3), "fix", {"command": command, "path": fix}))
            add(PlantedFact(kind, [error.split(": ", 1)[1][:40]], step, also=[fix]))
        elif kind == "touched":
            path = f"src/{r.choice(MODULES)}/{unique}.py"
            self.step(g.call("write_file", path=path, content=g.code(12)), f"Wrote {path} (14 lines)")
            add(PlantedFact(kind, [path], step))

    def noise_with_user(self, user: str) -> None:
        g = self.g
        path = g.path()
        self.step(
            g.call("read_file", path=path), g.file(path, lambda: g.code(g.r.randint(60, 200))), user=user
        )

    def follow(self, action: str, data: dict[str, str]) -> None:
        g = self.g
        if action == "supersede":
            self.step(
                g.call(
                    "edit_file",
                    path=data["path"],
                    old=f"{data['key']} = {data['old']}",
                    new=f"{data['key']} = {data['new']}",
                ),
                f"Edited {data['path']}: 1 replacement",
                text=f"Raising {data['key']} as agreed.",
            )
            old = f"{data['key']} = {data['old']}"
            g.files[data["path"]] = g.files[data["path"]].replace(old, f"{data['key']} = {data['new']}")
            self.step(g.call("read_file", path=data["path"]), g.files[data["path"]])
        else:
            self.step(
                g.call("edit_file", path=data["path"], old="return None", new="return {}"),
                f"Edited {data['path']}: 1 replacement",
                text="That failure comes from a missing default.",
            )
            self.step(
                g.call("run_shell", command=data["command"]), g.tests(), text="Fixed: the tests pass now."
            )


def generate(tokens: int, *, seed: int = 0, facts_per_200k: int = 40) -> Trajectory:
    """A trajectory of about ``tokens`` tokens with planted facts (see the module docstring)."""
    gen = _Gen(seed)
    goal = "Add tenant-aware rate limiting to the billing API and get the whole test suite passing."
    trajectory = Trajectory(goal)
    trajectory.steps.append([Message.text("user", goal)])
    builder = _Builder(gen, trajectory)
    wanted = max(len(FACT_KINDS), round(tokens / 200_000 * facts_per_200k))
    kinds = [FACT_KINDS[i % len(FACT_KINDS)] for i in range(wanted)]
    gen.r.shuffle(kinds)
    spacing = tokens * 0.9 / wanted
    next_at = spacing * gen.r.uniform(0.2, 0.8)
    while builder.tokens < tokens:
        due = [f for f in builder.followups if f[0] <= len(trajectory.steps)]
        if due:
            builder.followups.remove(due[0])
            builder.follow(due[0][1], due[0][2])
        elif kinds and builder.tokens >= next_at:
            builder.plant(kinds.pop())
            next_at += spacing * gen.r.uniform(0.6, 1.4)
        else:
            builder.noise()
    for _, action, data in builder.followups:
        builder.follow(action, data)
    return trajectory
