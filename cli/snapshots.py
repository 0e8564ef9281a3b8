"""Snapshot commands: ``iocohort generate`` and ``iocohort validate``."""

from __future__ import annotations

import sys
import time

from queries.snapshot.validation import validate_snapshot
from synthetic.generator import generate_snapshot


def validate(args) -> int:
    """``iocohort validate DIR``: print every problem; exit 1 when the snapshot is not usable."""
    started = time.perf_counter()
    report = validate_snapshot(args.snapshot)
    print(f"checking {report.path}")
    for problem in report.problems:
        print(f"  {problem}")
    print(f"{report.summary()} — checked in {time.perf_counter() - started:.1f} s")
    return 0 if report.usable else 1


def generate(args) -> int:
    """``iocohort generate --patients N --seed S --out DIR [--id ID] [--no-progress]``."""
    try:
        manifest = generate_snapshot(args.patients, args.seed, args.out, args.snapshot_id,
                                     progress=not args.no_progress)
    except (ValueError, OSError) as exc:
        print(f"iocohort generate: {exc}", file=sys.stderr)
        return 2
    rows = ", ".join(f"{t} {spec['rows']:,}" for t, spec in manifest["tables"].items())
    print(f"wrote snapshot {manifest['id']} to {args.out}: {rows}")
    return 0
