"""DuckDB and Spark side by side: the same compiled definition, the same aggregates.

For the five-rule example definition on the 1M-patient snapshot, each engine runs, from a
fresh start of that engine (the DuckDB file already built; Spark's session already started,
its start-up reported apart):

- count: the attrition (index population, after each rule, each rule alone) and the cohort;
- analysis aggregates: the analysis base, then what the panels read: survival counts per
  stratum and day (OS, rwPFS, by PD-L1 TPS), best-response counts per stratum, AE frequencies
  by term and grade, Table 1.

Then the same again for an edit (one rule switched off), which reuses what each engine kept.

    python -m bench.engine_bench [--patients N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.analysis_bench import CACHE, ensure_snapshot, timed

ROOT = Path(__file__).resolve().parents[1]
DEFINITION = ROOT / "tests" / "cohorts" / "nsclc_stage4_pdl1_high_ecog01.json"
STRATUM = "pdl1_tps"


def _count(db: Any, definition: Any) -> tuple[int, list[int]]:
    from queries.cohort.attrition import compute_attrition
    from queries.cohort.materialize import materialize_definition

    attrition = compute_attrition(db, definition)
    cohort = materialize_definition(db, definition)
    return cohort.size, [step.remaining for step in attrition.steps]


def _aggregates(db: Any, definition: Any) -> dict[str, Any]:
    from queries.analyses import characteristics, response, safety, survival
    from queries.analyses.strata import base_table
    from queries.cohort.materialize import materialize_definition

    cohort = materialize_definition(db, definition)
    with db.hold():
        base_table(cohort)
        os_counts = survival.aggregate(cohort, "os", STRATUM)
        pfs_counts = survival.aggregate(cohort, "pfs", STRATUM)
        bor = response.bor_counts(cohort, STRATUM)
        ae = safety.adverse_events(cohort)
        table_one = characteristics.table_one(cohort)
    return {"os_events": int(os_counts["n_event"].sum()),
            "pfs_events": int(pfs_counts["n_event"].sum()), "bor_patients": int(bor["n"].sum()),
            "ae_terms": len(ae.by_term), "table1_rows": len(table_one.rows)}


def _cpu_ms(jvm_pid: int | None) -> float:
    """CPU time (all threads) of this process, and of Spark's JVM when there is one, in ms:
    unlike wall time it means the same when other processes compete for the cores."""
    total = time.process_time() * 1000
    if jvm_pid is not None:
        fields = Path(f"/proc/{jvm_pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    return total


def _measure(db: Any, definition: Any, edited: Any, jvm_pid: int | None = None
             ) -> dict[str, Any]:
    steps: dict[str, Callable[[], Any]] = {
        "count_ms": lambda: _count(db, definition),
        "aggregates_ms": lambda: _aggregates(db, definition),
        "edit_count_ms": lambda: _count(db, edited),
        "edit_aggregates_ms": lambda: _aggregates(db, edited),
    }
    out: dict[str, Any] = {}
    for name, step in steps.items():
        cpu = _cpu_ms(jvm_pid)
        value, ms = timed(step)
        out[name] = round(ms, 1)
        out[name.replace("_ms", "_cpu_ms")] = round(_cpu_ms(jvm_pid) - cpu, 1)
        out[name.replace("_ms", "_result")] = value
    return out


def _definitions() -> tuple[Any, Any]:
    from queries.cohort.importing import load_definition

    definition = load_definition(DEFINITION.read_text())
    edited = definition.model_copy(deep=True)
    edited.inclusion_rules[-1].enabled = False
    return definition, edited


def run(patients: int = 1_000_000) -> dict[str, Any]:
    """Both engines on the same snapshot and definitions; times in ms and their ratio."""
    from cli.engines import open_snapshot_dir
    from config import settings_from_env
    from queries.engine.spark import SparkSnapshot, spark_session

    snapshot = ensure_snapshot(patients)
    definition, edited = _definitions()
    duck = open_snapshot_dir(snapshot, CACHE / "db")
    try:
        duckdb_times = _measure(duck, definition, edited)
    finally:
        duck.close()
    # The driver's heap as `iocohort --engine spark` sets it (IOCOHORT_SPARK_DRIVER_MEMORY):
    # local mode runs all of Spark in the driver, and Spark's own 1 GB cannot broadcast the
    # 1M-patient join sides ("Not enough memory to build and broadcast the table").
    driver_memory = settings_from_env().spark_driver_memory
    start = time.perf_counter()
    session = spark_session("local[*]", "iocohort-bench", driver_memory=driver_memory)
    startup_ms = (time.perf_counter() - start) * 1000
    try:
        jvm_pid = int(session._jvm.java.lang.ProcessHandle.current().pid())  # noqa: SLF001
        spark_times = _measure(SparkSnapshot.open(session, snapshot), definition, edited,
                               jvm_pid)
    finally:
        session.stop()
    rows = {}
    for step in ("count", "aggregates", "edit_count", "edit_aggregates"):
        for key in (f"{step}_ms", f"{step}_cpu_ms"):
            rows[key] = {"duckdb": duckdb_times[key], "spark": spark_times[key],
                         "ratio": round(spark_times[key] / max(duckdb_times[key], 0.01), 1)}
    same = all(duckdb_times[k] == spark_times[k] for k in duckdb_times if k.endswith("_result"))
    _print(patients, rows, startup_ms, same, driver_memory)
    print(f"  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} "
          "cores (wall time: what a user waits; CPU: this process and Spark's JVM, all threads)",
          file=sys.stderr)
    return {"patients": patients, "times": rows, "spark_startup_ms": round(startup_ms, 1),
            "spark_driver_memory": driver_memory,
            "same_answers": same, "duckdb": duckdb_times, "spark": spark_times}


def _print(patients: int, rows: dict[str, dict[str, float]], startup_ms: float,
           same: bool, driver_memory: str) -> None:
    print(f"engines on {patients:,} patients ({DEFINITION.name}; Spark local[*], driver "
          f"memory {driver_memory}, its start-up {startup_ms / 1000:.1f} s not included; same "
          f"answers: {same})", file=sys.stderr)
    print(f"  {'':28} {'DuckDB ms':>10} {'Spark ms':>10} {'Spark/DuckDB':>13}", file=sys.stderr)
    for key, row in rows.items():
        label = key.removesuffix("_ms").replace("_", " ").replace(" cpu", " (CPU)")
        print(f"  {label:28} {row['duckdb']:>10.1f} {row['spark']:>10.1f} {row['ratio']:>12.1f}x",
              file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    print(json.dumps(run(patients=args.patients), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
