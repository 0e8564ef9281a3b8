"""Benchmark: generate a 1,000,000-patient snapshot; prints wall time and peak memory.

The generation runs in a child process so that its peak resident memory (``ru_maxrss`` of
the children) is measured alone. Target (issue 2): under 3 minutes and under 8 GB.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

PATIENTS = 1_000_000
SEED = 20261031
TARGET_SECONDS = 180.0
TARGET_PEAK_GB = 8.0


def _generate(out: str, patients: int, seed: int) -> None:
    from queries.generator import generate_snapshot

    generate_snapshot(patients, seed, Path(out), progress=False)


def run(patients: int = PATIENTS, seed: int = SEED, out: Path | None = None) -> dict:
    """Generate ``patients`` patients in a child process; return time, memory and row counts."""
    folder = Path(out) if out else Path(tempfile.mkdtemp(prefix="iocohort-bench-"))
    ctx = mp.get_context("spawn")  # a fresh interpreter: its peak memory is the generator's
    began = time.perf_counter()
    child = ctx.Process(target=_generate, args=(str(folder), patients, seed))
    child.start()
    child.join()
    seconds = time.perf_counter() - began
    if child.exitcode != 0:
        raise RuntimeError(f"generator failed with exit code {child.exitcode}")
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2  # KiB on Linux
    manifest = json.loads((folder / "manifest.json").read_text())
    size_mb = sum(f.stat().st_size for f in folder.iterdir()) / 1024**2
    result = {
        "benchmark": "generate",
        "patients": patients,
        "seconds": round(seconds, 1),
        "peak_memory_gb": round(peak_gb, 2),
        "snapshot_mb": round(size_mb, 1),
        "rows": {t: spec["rows"] for t, spec in manifest["tables"].items()},
        "target_seconds": TARGET_SECONDS,
        "target_peak_memory_gb": TARGET_PEAK_GB,
        "ok": seconds < TARGET_SECONDS and peak_gb < TARGET_PEAK_GB,
    }
    if out is None:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def main() -> int:
    patients = int(sys.argv[1]) if len(sys.argv) > 1 else PATIENTS
    result = run(patients)
    rows = ", ".join(f"{t} {n:,}" for t, n in result["rows"].items())
    print(f"generate {patients:,} patients: {result['seconds']:.1f} s, "
          f"peak memory {result['peak_memory_gb']:.2f} GB, {result['snapshot_mb']:.0f} MB "
          f"({'ok' if result['ok'] else 'OVER TARGET'}: < {TARGET_SECONDS:.0f} s, "
          f"< {TARGET_PEAK_GB:.0f} GB)")
    print(f"  rows: {rows}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
