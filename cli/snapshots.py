"""Snapshot commands: ``iocohort generate``, ``iocohort validate`` and ``iocohort build``."""

from __future__ import annotations

import sys
import time

from queries.snapshot.registry import FAILED, SnapshotRegistry
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


def build(args) -> int:
    """``iocohort build DIR [--cache-dir C]``: build or verify the database of every snapshot
    in DIR (a snapshot folder or a folder of them) as the server does at start, with
    progress lines; a server started afterwards finds them built. Exit 1 if any failed."""
    from config import settings_from_env

    cache_dir = args.cache_dir or settings_from_env().cache_dir
    registry = SnapshotRegistry(args.snapshots, cache_dir)
    statuses = registry.refresh()
    for status in statuses:
        if not status.usable:
            print(f"skipping {status.path}: not usable")
            for problem in status.problems:
                print(f"  {problem}")
    outcomes = registry.prepare_all(report=lambda line: print(line, flush=True))
    if not outcomes:
        print(f"iocohort build: no usable snapshot in {args.snapshots}", file=sys.stderr)
        return 1
    for outcome in outcomes:
        if outcome.state == FAILED:
            print(f"iocohort build: {outcome.snapshot_id}: {outcome.message}", file=sys.stderr)
    print(f"databases in {cache_dir}")
    return 1 if any(o.state == FAILED for o in outcomes) else 0


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
