"""Run an agent on the embedded default: installs what is needed, then runs it.

Usage: ``python3 scripts/demo.py ["GOAL"]``

The agent works in a small demo folder (``.cache/demo-workspace``) with one
read-only tool, ``list``. The model is the embedded local one (Gemma 3 270M
through llama.cpp, no key, no network) unless ANTHROPIC_API_KEY,
OPENAI_API_KEY or GEMINI_API_KEY is set, in which case that provider is used.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bootstrap import ROOT, run, sync

DEFAULT_GOAL = "Which files are in the project folder?"
KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY")
FILES = {
    "README.md": "# Demo project\nA tiny folder for the Loom demo.\n",
    "notes.txt": "Remember to water the plants.\n",
    "hello.py": 'print("hello")\n',
}
# A local plugin (loaded by path from loom.toml): one read-only tool without
# arguments, which even a 270M-parameter model calls correctly.
DEMO_PLUGIN = '''"""Demo tools for scripts/demo.py."""

from pathlib import Path

from loom.hookspecs import hookimpl
from loom.tools import tool


@tool(effects={"read"})
def list_project_files(run) -> str:
    """List the files in the project folder."""
    root = Path(run.runtime.workspace)
    return "\\n".join(sorted(p.name for p in root.iterdir() if p.is_file() and p.suffix != ".toml"))


@hookimpl
def loom_register_tools():
    return [list_project_files]
'''


def workspace() -> Path:
    """Create the demo folder with a few files and its loom.toml."""
    folder = ROOT / ".cache" / "demo-workspace"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_text(text)
    provider = "" if any(os.environ.get(k) for k in KEYS) else 'provider = "local"\n'
    (folder / "demo_tools.py").write_text(DEMO_PLUGIN)
    (folder / "loom.toml").write_text(
        "# Written by scripts/demo.py\n"
        '[plugins]\npaths = ["demo_tools.py"]\n\n'
        f'[stages]\n{provider}store = "none"\n\n'
        '[profile]\ntools = ["list_project_files"]\nmax_steps = 4\n')
    return folder


def main() -> int:
    sync()
    goal = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_GOAL
    folder = workspace()
    return run(["loom", "run", goal], cwd=folder)


if __name__ == "__main__":
    raise SystemExit(main())
