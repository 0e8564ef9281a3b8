"""A materialized cohort: the one table every analysis reads.

Columns: ``patient_id`` VARCHAR, ``index_date`` DATE (time zero), ``index_line`` INTEGER (the
treatment line of the index event, null when the index is not a treatment start), and ``rid``
INTEGER (0, 1, ... in patient_id order: the key every per-patient analysis table joins on; a
column rather than DuckDB's ``rowid`` so that the same SQL runs on Spark). It is built once
per (definition hash, snapshot) and lives in the engine (DuckDB's in-memory catalog, or a cached
Spark view).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from queries.engine.base import Database
from queries.snapshot.database import SnapshotDatabase

COHORT_COLUMNS = ("patient_id", "index_date", "index_line")
_KEY = re.compile(r"^[0-9a-zA-Z_]{1,64}$")
# The row key of a kept table: dense, from 0, in patient_id order (what DuckDB's rowid was).
RID = "CAST(row_number() OVER (ORDER BY patient_id) - 1 AS INTEGER) AS rid"


def with_rid(sql: str) -> str:
    """The rows of ``sql`` (one per patient) with their ``rid``, sorted by patient."""
    return f"SELECT *, {RID} FROM ({sql}) AS kept ORDER BY patient_id"  # noqa: S608 - our SQL


@dataclass(frozen=True)
class KeptSource:
    """A kept table (re-created from ``sql`` if it was dropped) holding every patient of a
    cohort with the same index date and line: the cohort is a subset of its rows, so
    per-patient analysis tables can be computed once for it and filtered for each cohort."""

    table: str
    sql: str
    params: tuple[Any, ...] = ()
    at_index_grace_days: int = 0

    def cohort(self, db: Database) -> Cohort:
        """The kept table as a Cohort, created if this process does not hold it. Call inside
        ``db.hold()`` until the queries reading it have run (so it is not evicted)."""
        size = db.cached_table(self.table, with_rid(self.sql), list(self.params))
        return Cohort(db=db, table=self.table, key=self.table, size=size,
                      at_index_grace_days=self.at_index_grace_days)


@dataclass(frozen=True)
class Cohort:
    """Handle to a materialized cohort table inside a snapshot database."""

    db: Database
    table: str
    key: str
    size: int
    source: KeptSource | None = None
    # days after index that "at index" values may come from (the index event's grace window)
    at_index_grace_days: int = 0

    @property
    def snapshot_id(self) -> str:
        return self.db.snapshot_id

    def frame(self) -> pd.DataFrame:
        """The cohort rows (server-side only; never sent to a browser as such)."""
        columns = ", ".join(COHORT_COLUMNS)
        return self.db.cursor().execute(f"SELECT {columns} FROM {self.table}").df()  # noqa: S608


def _table_name(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"invalid cohort key {key!r}")
    return f"cohort_{key}"


def materialize_sql(db: Database, key: str, sql: str, params: list[Any] | dict[str, Any],
                    source: KeptSource | None = None) -> Cohort:
    """Create the cohort table from a SELECT returning COHORT_COLUMNS, unless it exists."""
    table = _table_name(key)
    size = db.cached_table(
        table,
        "SELECT patient_id, CAST(index_date AS DATE) AS index_date, "  # noqa: S608
        f"CAST(index_line AS INTEGER) AS index_line, {RID} FROM ({sql}) AS cohort "
        "ORDER BY patient_id",
        params,
    )
    return Cohort(db=db, table=table, key=key, size=size, source=source,
                  at_index_grace_days=source.at_index_grace_days if source else 0)


def cached_cohort(db: Database, key: str, source: KeptSource | None = None
                  ) -> Cohort | None:
    """The cohort of ``key`` if it is materialized in this process already."""
    table = _table_name(key)
    size = db.cached_rows(table)
    return None if size is None else Cohort(
        db=db, table=table, key=key, size=size, source=source,
        at_index_grace_days=source.at_index_grace_days if source else 0)


def materialize_frame(db: SnapshotDatabase, key: str, frame: pd.DataFrame) -> Cohort:
    """Materialize a cohort from a DataFrame with COHORT_COLUMNS (tests, imports)."""
    data = frame.loc[:, list(COHORT_COLUMNS)].copy()
    data["index_date"] = pd.to_datetime(data["index_date"]).dt.date
    data["index_line"] = data["index_line"].astype("Int64")
    with db.hold():
        cur = db.cursor()
        cur.register("_cohort_frame", data)
        try:
            return materialize_sql(db, key, "SELECT * FROM _cohort_frame", [])
        finally:
            cur.unregister("_cohort_frame")
