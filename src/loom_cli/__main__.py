"""``python -m loom_cli``: the ``loom`` command."""

from __future__ import annotations

from loom_cli.main import main

raise SystemExit(main())
