"""Run every test: installs what is needed, then runs pytest.

Usage: ``python3 scripts/test.py [pytest arguments]``
"""

from __future__ import annotations

import sys

from bootstrap import run, sync


def main() -> int:
    sync()
    return run(["pytest", *sys.argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main())
