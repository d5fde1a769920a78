"""Run a benchmark from bench/: ``python3 scripts/bench.py NAME`` (see bench/README.md)."""

from __future__ import annotations

import sys

from bootstrap import ROOT, run, sync

BENCHMARKS = {
    "kernel": "bench/kernel_overhead.py",
    "context": "bench/context_retention.py",
    "harness": "bench/harness_overhead.py",
    "memory": "bench/semantic_memory.py",
    "providers": "bench/provider_loop.py",
}


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in BENCHMARKS:
        print(f"usage: python3 scripts/bench.py {{{'|'.join(BENCHMARKS)}}}", file=sys.stderr)
        return 2
    sync()
    return run(["python", str(ROOT / BENCHMARKS[name]), *sys.argv[2:]])


if __name__ == "__main__":
    raise SystemExit(main())
