"""Attrition: the index-event population, the patients left after each rule in order, and
the patients meeting each rule alone. Exact numbers; disclosure control is applied later.

Counts are computed by one query and kept (a one-row table in the process's in-memory
DuckDB catalog) per (definition, snapshot), so asking again is instant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from queries.cohort.catalog import Catalog
from queries.cohort.compiler import compile_attrition
from queries.cohort.describe import index_label
from queries.cohort.materialize import index_table, snapshot_hash
from queries.cohort.model import Definition
from queries.engine.base import Database

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

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot_id": self.snapshot_id, "definition_hash": self.definition_hash,
                "steps": [asdict(s) for s in self.steps]}


def _cached_counts(db: Database, table: str) -> dict[str, Any]:
    with db.hold():  # read before another thread's eviction could drop it
        frame = db.cursor().execute(f"SELECT * FROM {table}").df()  # noqa: S608 - from a hash
    return {str(col): (0 if pd.isna(v) else int(v)) for col, v in frame.iloc[0].items()}


def compute_attrition(db: Database, definition: Definition,
                      catalog: Catalog | None = None) -> Attrition:
    """Exact attrition counts for a definition over one snapshot."""
    table = f"attrition_{definition.attrition_hash()[:32]}_{snapshot_hash(db.snapshot_id)}"
    with db.hold():  # the index table must outlive the query that reads it
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


