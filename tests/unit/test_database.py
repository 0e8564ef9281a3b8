"""The snapshot database keeps derived tables within a memory budget."""

from __future__ import annotations

import json

import pandas as pd
from snapshot_factory import write_tiny_snapshot

from queries.cohort.kept_tables import materialize_frame
from queries.snapshot.database import SnapshotDatabase, build_database


def _db(tmp_path) -> SnapshotDatabase:
    folder = tmp_path / "snap"
    write_tiny_snapshot(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    return SnapshotDatabase(manifest["id"], build_database(folder, manifest, tmp_path / "cache"))


def _cohort_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)],
                         "index_date": ["2020-01-01"] * n, "index_line": [1] * n})


def _tables(db: SnapshotDatabase) -> set[str]:
    rows = db.cursor().execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'memory'").fetchall()
    return {r[0] for r in rows}


def test_materialized_cohort_is_reused_not_rebuilt(tmp_path):
    db = _db(tmp_path)
    first = materialize_frame(db, "k1", _cohort_frame(3))
    again = materialize_frame(db, "k1", _cohort_frame(5))  # same key: the stored table is kept
    assert first.size == again.size == 3


def test_least_recently_used_cohorts_are_dropped_over_the_row_budget(tmp_path):
    db = _db(tmp_path)
    db.max_cached_rows = 10
    materialize_frame(db, "a", _cohort_frame(4))
    materialize_frame(db, "b", _cohort_frame(4))
    materialize_frame(db, "a", _cohort_frame(4))  # touch a: b is now the oldest
    materialize_frame(db, "c", _cohort_frame(4))
    assert _tables(db) == {"cohort_a", "cohort_c"}


def test_table_count_budget_holds(tmp_path):
    db = _db(tmp_path)
    db.max_cached_tables = 3
    for key in "abcde":
        materialize_frame(db, key, _cohort_frame(1))
    assert _tables(db) == {"cohort_c", "cohort_d", "cohort_e"}


def test_a_rebuild_for_changed_files_removes_the_superseded_build_only(tmp_path):
    folder = tmp_path / "snap"
    write_tiny_snapshot(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    cache = tmp_path / "cache"
    old = build_database(folder, manifest, cache)
    other = cache / "another-snapshot-0123456789abcdef.duckdb"
    other.write_bytes(b"")
    still_open = SnapshotDatabase(manifest["id"], old)
    assert still_open.cursor().execute("SELECT count(*) FROM patients").fetchone()[0] > 0

    changed = {**manifest, "tables": {**manifest["tables"], "patients": {
        **manifest["tables"]["patients"], "sha256": "0" * 64}}}
    new = build_database(folder, changed, cache)
    assert new != old and new.exists() and not old.exists()
    assert other.exists()  # another snapshot's build is not touched
    # a process that had the old build open keeps reading it
    assert still_open.cursor().execute("SELECT count(*) FROM patients").fetchone()[0] > 0
