"""Benchmark: generate a 1,000,000-patient snapshot; prints wall time and peak memory.

The generation runs in a child process so that its peak resident memory (``ru_maxrss`` of
the children) is measured alone. Target (issue 2): under 3 minutes and under 8 GB. The result
replaces ``bench/cache/snapshot-<patients>-<seed>`` unless that holds the same data already, so
the count and analysis benchmarks that follow reuse a snapshot of the current generator.
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

from bench.analysis_bench import CACHE, SEED, snapshot_path

PATIENTS = 1_000_000
TARGET_SECONDS = 180.0
TARGET_PEAK_GB = 8.0


def _generate(out: str, patients: int, seed: int) -> None:
    from synthetic.generator import generate_snapshot

    generate_snapshot(patients, seed, Path(out), progress=False)


def run(patients: int = PATIENTS, seed: int = SEED, out: Path | None = None) -> dict:
    """Generate ``patients`` patients in a child process; print and return time and memory."""
    CACHE.mkdir(parents=True, exist_ok=True)
    folder = Path(out) if out else Path(tempfile.mkdtemp(prefix="generate-", dir=CACHE))
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
        _keep_or_remove(folder, snapshot_path(patients, seed))
    _print(result)
    return result


def _keep_or_remove(folder: Path, target: Path) -> None:
    """Keep the fresh snapshot as the shared cache unless an identical one is there already."""
    manifest = target / "manifest.json"
    if manifest.exists() and manifest.read_text() == (folder / "manifest.json").read_text():
        shutil.rmtree(folder, ignore_errors=True)
    else:
        shutil.rmtree(target, ignore_errors=True)
        folder.rename(target)


def _print(result: dict) -> None:
    rows = ", ".join(f"{t} {n:,}" for t, n in result["rows"].items())
    print(f"generate {result['patients']:,} patients: {result['seconds']:.1f} s, "
          f"peak memory {result['peak_memory_gb']:.2f} GB, {result['snapshot_mb']:.0f} MB "
          f"({'ok' if result['ok'] else 'OVER TARGET'}: < {TARGET_SECONDS:.0f} s, "
          f"< {TARGET_PEAK_GB:.0f} GB)", flush=True)
    print(f"  rows: {rows}", flush=True)


def main() -> int:
    patients = int(sys.argv[1]) if len(sys.argv) > 1 else PATIENTS
    return 0 if run(patients)["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
