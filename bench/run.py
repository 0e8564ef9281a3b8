"""`make bench`: generation, count, analysis, DuckDB vs Spark, and load benchmarks (1M patients).

Prints figures; asserts nothing (tests check correctness, this measures speed).
"""

from __future__ import annotations

import importlib
import json
import sys

BENCHMARKS = (
    ("generate", "bench.generate_bench"),
    ("count", "bench.count_bench"),
    ("analysis", "bench.analysis_bench"),
    ("compare", "bench.compare_bench"),
    ("engines", "bench.engine_bench"),
    ("load", "bench.load_bench"),
)


def main(argv: list[str] | None = None) -> int:
    wanted = set(argv or sys.argv[1:]) or {name for name, _ in BENCHMARKS}
    results = {}
    for name, module in BENCHMARKS:
        if name not in wanted:
            continue
        print(f"== {name} ==", flush=True)
        results[name] = importlib.import_module(module).run()
    print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
