"""Print a conversion table: ``table.py FROM TO VALUE [VALUE...]``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "unit_converter_conversions", Path(__file__).resolve().parent.parent / "conversions.py")
assert _spec is not None and _spec.loader is not None
conversions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conversions)


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        print("usage: table.py FROM TO VALUE [VALUE...]", file=sys.stderr)
        return 2
    source, target, *values = argv
    print(f"| {source} | {target} |")
    print("|---|---|")
    for raw in values:
        try:
            value = float(raw)
            print(f"| {value:g} | {conversions.convert(value, source, target):.6g} |")
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
