"""Run an agent on the embedded default: installs what is needed, then runs it.

Usage: ``python3 scripts/demo.py ["GOAL"]``
"""

from __future__ import annotations

import sys

from bootstrap import run, sync

DEFAULT_GOAL = "How many words are in the sentence 'the quick brown fox jumps'?"


def main() -> int:
    sync()
    goal = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_GOAL
    return run(["loom", "run", "--demo", goal])


if __name__ == "__main__":
    raise SystemExit(main())
