"""Attrition: the index-event population, the patients left after each rule in order, and
the patients meeting each rule alone. Exact numbers; disclosure control is applied later.

Counts are computed by one query and kept (a one-row table in the process's in-memory
DuckDB catalog) per (definition, snapshot), so asking again is instant.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from queries.catalog import Catalog
from queries.cohorts import index_table, snapshot_hash
from queries.compiler import compile_attrition
from queries.database import SnapshotDatabase
from queries.definition import Definition
from queries.describe import index_label

ATTRITION_COLUMNS = ("step", "rule_name", "enabled", "remaining", "excluded", "alone")


@dataclass(frozen=True)
class AttritionStep:
    """Step 0 is the index-event population; step k is rule k (in definition order)."""

    step: int
    rule_name: str
    enabled: bool
    remaining: int
    excluded: int
    alone: int


@dataclass(frozen=True)
class Attrition:
    snapshot_id: str
    definition_hash: str
    steps: list[AttritionStep]

    @property
    def index_population(self) -> int:
        return self.steps[0].remaining

    @property
    def final(self) -> int:
        return self.steps[-1].remaining

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(s) for s in self.steps], columns=list(ATTRITION_COLUMNS))

    def to_dict(self) -> dict:
        return {"snapshot_id": self.snapshot_id, "definition_hash": self.definition_hash,
                "steps": [asdict(s) for s in self.steps]}


def _cached_counts(db: SnapshotDatabase, table: str) -> dict:
    with db.lock:  # read before another thread's eviction could drop it
        frame = db.cursor().execute(f"SELECT * FROM {table}").df()  # noqa: S608 - from a hash
    return {col: (0 if pd.isna(v) else int(v)) for col, v in frame.iloc[0].items()}


def compute_attrition(db: SnapshotDatabase, definition: Definition,
                      catalog: Catalog | None = None) -> Attrition:
    """Exact attrition counts for a definition over one snapshot."""
    table = f"attrition_{definition.attrition_hash()[:32]}_{snapshot_hash(db.snapshot_id)}"
    with db.lock:  # the index table must outlive the query that reads it
        if db.cached_rows(table) is None:
            query = compile_attrition(definition, catalog, index_table(db, definition))
            db.cached_table(table, query.sql, query.params)
        counts = _cached_counts(db, table)
    total = counts["index_population"]
    steps = [AttritionStep(0, index_label(definition.index_event), True, total, 0, total)]
    previous = total
    for k, rule in enumerate(definition.inclusion_rules, start=1):
        remaining = counts[f"after_{k}"]
        steps.append(AttritionStep(k, rule.name, rule.enabled, remaining, previous - remaining,
                                   counts[f"alone_{k}"]))
        previous = remaining
    return Attrition(db.snapshot_id, definition.content_hash(), steps)


# ----------------------------------------------------------------------------- CLI


def open_snapshot_dir(snapshot_dir: Path, cache_dir: Path | None = None) -> SnapshotDatabase:
    """Validate a snapshot folder, then build (once, into the cache) and open its database.

    Raises ``SnapshotUnavailable`` listing every problem of a broken snapshot.
    """
    from queries.snapshot import open_snapshot_folder

    if cache_dir is None:
        from config import settings_from_env

        cache_dir = settings_from_env().cache_dir
    return open_snapshot_folder(Path(snapshot_dir), Path(cache_dir))


def read_definition_file(path: Path, catalog: Catalog | None = None) -> Definition | None:
    """Import a definition file, printing every problem to stderr; None when it has errors."""
    from queries.definition import import_definition

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {path}: {exc}", file=sys.stderr)
        return None
    result = import_definition(text, catalog)
    if result.migrated_from is not None:
        print(f"note: {path} migrated from schema version {result.migrated_from}",
              file=sys.stderr)
    for problem in result.problems:
        print(f"{problem.severity}: {problem}", file=sys.stderr)
    return result.definition


def format_table(attrition: Attrition) -> str:
    """The attrition table as aligned text."""
    rows = [("step", "rule", "remaining", "excluded", "alone")]
    for s in attrition.steps:
        name = s.rule_name if s.enabled else f"{s.rule_name} (off)"
        name = name if len(name) <= 60 else name[:57] + "..."
        rows.append((str(s.step), name, str(s.remaining),
                     "" if s.step == 0 else str(s.excluded), str(s.alone)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for row in rows:
        cells = [row[0].rjust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def cli_count(args) -> int:
    """``iocohort count --snapshot DIR COHORT.json [--json]``: print the attrition table."""
    from queries.catalog import build_catalog

    db = open_snapshot_dir(args.snapshot, getattr(args, "cache_dir", None))
    try:
        catalog = build_catalog(db)
        definition = read_definition_file(args.cohort, catalog)
        if definition is None:
            return 2
        attrition = compute_attrition(db, definition, catalog)
        if getattr(args, "json", False):
            print(json.dumps(attrition.to_dict(), indent=2, ensure_ascii=False))
        else:
            print(f"{definition.metadata.name} on snapshot {db.snapshot_id}")
            print(format_table(attrition))
    finally:
        db.close()
    return 0
