"""Entry point of the ``loom`` command (filled in by the CLI module)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Run the ``loom`` command line."""
    from loom_cli.app import run_cli

    return run_cli(sys.argv[1:] if argv is None else argv)
