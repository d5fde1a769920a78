"""Print the total of one numeric column of a CSV file: ``column_total.py FILE COLUMN``."""

from __future__ import annotations

import csv
import sys


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: column_total.py FILE COLUMN", file=sys.stderr)
        return 2
    path, column = argv
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if column not in (reader.fieldnames or []):
            print(f"no column {column!r}; columns: {', '.join(reader.fieldnames or [])}", file=sys.stderr)
            return 1
        total = sum(float(row[column]) for row in reader if (row[column] or "").strip())
    print(f"{column}: {total:g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
