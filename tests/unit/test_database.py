"""The snapshot database keeps derived tables within a memory budget."""

from __future__ import annotations

import json
import threading

import pandas as pd
from snapshot_factory import write_tiny_snapshot

from queries.cohort.kept_tables import materialize_frame
from queries.snapshot.database import SnapshotDatabase, build_database


def _db(tmp_path) -> SnapshotDatabase:
    folder = tmp_path / "snap"
    write_tiny_snapshot(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    db = SnapshotDatabase(manifest["id"], build_database(folder, manifest, tmp_path / "cache"))
    db.eviction_grace_seconds = 0.0  # evict at once (the grace period has its own test)
    return db


def _cohort_frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)],
                         "index_date": ["2020-01-01"] * n, "index_line": [1] * n})


def _tables(db: SnapshotDatabase) -> set[str]:
    rows = db.cursor().execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()
    return {r[0] for r in rows}


def test_materialized_cohort_is_reused_not_rebuilt(tmp_path):
    db = _db(tmp_path)
    first = materialize_frame(db, "k1", _cohort_frame(3))
    again = materialize_frame(db, "k1", _cohort_frame(5))  # same key: the stored table is kept
    assert first.size == again.size == 3


def test_least_recently_used_cohorts_are_dropped_over_the_byte_budget(tmp_path):
    db = _db(tmp_path)
    materialize_frame(db, "probe", _cohort_frame(4))
    one = db.kept_tables()["cohort_probe"].bytes
    db.max_cached_bytes = int(2.5 * one)  # two 4-patient cohorts fit, three do not
    db.cursor().execute("DROP TABLE cohort_probe")
    db._tables.clear()
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


def _kept(db: SnapshotDatabase, name: str, patients: int, id_length: int = 8) -> int:
    return db.cached_table(name, "SELECT lpad(CAST(range AS VARCHAR), ?, 'P') AS patient_id, "
                           "DATE '2020-01-01' AS index_date FROM range(?)",
                           [id_length, patients])


def test_the_cache_counts_bytes_so_long_text_weighs_more_than_short(tmp_path):
    db = _db(tmp_path)
    _kept(db, "cohort_short", 10_000, id_length=8)
    _kept(db, "cohort_long", 10_000, id_length=200)
    kept = db.kept_tables()
    assert kept["cohort_short"].rows == kept["cohort_long"].rows == 10_000
    assert kept["cohort_long"].bytes > 5 * kept["cohort_short"].bytes
    db.max_cached_bytes = kept["cohort_long"].bytes + kept["cohort_short"].bytes // 2
    db.cached_rows("cohort_short")  # used again: the long one is now the oldest
    _kept(db, "cohort_next", 10_000, id_length=8)
    assert _tables(db) == {"cohort_short", "cohort_next"}
    assert db.cached_bytes <= db.max_cached_bytes


def test_index_population_tables_survive_a_burst_of_cohorts(tmp_path):
    db = _db(tmp_path)
    _kept(db, "index_population", 20_000)
    _kept(db, "index_population__base", 20_000)
    one_cohort = _kept(db, "cohort_probe", 5_000) and db.kept_tables()["cohort_probe"].bytes
    db.max_cached_bytes = db.cached_bytes + 3 * one_cohort
    for k in range(30):
        _kept(db, f"cohort_{k}", 5_000)
    left = _tables(db)
    assert {"index_population", "index_population__base", "cohort_29"} <= left
    assert len([t for t in left if t.startswith("cohort_")]) <= 4
    assert db.cached_bytes <= db.max_cached_bytes


def test_a_held_table_is_not_evicted_by_other_threads(tmp_path):
    db = _db(tmp_path)
    db.max_cached_tables = 2
    done = threading.Event()
    with db.hold():
        _kept(db, "cohort_held", 10)

        def burst() -> None:
            for k in range(5):
                _kept(db, f"cohort_other_{k}", 10)
            done.set()

        worker = threading.Thread(target=burst)
        worker.start()
        worker.join(60)
        assert done.is_set() and "cohort_held" in _tables(db)
    _kept(db, "cohort_after", 10)  # once released it is evicted like any other
    assert "cohort_held" not in _tables(db)


def test_two_requests_for_one_table_build_it_once_and_other_tables_build_in_parallel(
        tmp_path, monkeypatch):
    import queries.snapshot.database as database

    db = _db(tmp_path)
    db.cursor()
    real = database._estimated_bytes
    built: list[str] = []
    # Two different tables meet inside their builds: impossible if one lock served them all.
    meeting = threading.Barrier(2, timeout=30)

    def measured(cur, table, rows):
        built.append(table)
        if table in ("cohort_left", "cohort_right"):
            meeting.wait()
        return real(cur, table, rows)

    monkeypatch.setattr(database, "_estimated_bytes", measured)
    errors: list[BaseException] = []

    def build(name: str) -> None:
        try:
            _kept(db, name, 1_000)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=build, args=(name,))
               for name in ("cohort_left", "cohort_right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and sorted(built) == ["cohort_left", "cohort_right"]

    built.clear()
    same = [threading.Thread(target=build, args=("cohort_same",)) for _ in range(4)]
    for thread in same:
        thread.start()
    for thread in same:
        thread.join(60)
    assert not errors and built == ["cohort_same"]


def test_the_result_cache_is_bounded_by_bytes_not_entries():
    from queries.analyses.panels import ByteBoundedLRU, estimated_bytes

    small, large = pd.DataFrame({"x": range(10)}), pd.DataFrame({"x": range(100_000)})
    cache = ByteBoundedLRU(max_bytes=estimated_bytes(large) + 5 * estimated_bytes(small))
    for k in range(10):
        cache.put(("small", k), small)
    cache.put("large", large)
    assert cache.bytes <= cache.max_bytes
    assert cache.get("large") is not None and cache.get(("small", 0)) is None
    assert cache.get(("small", 9)) is not None
    cache.put("huge", pd.DataFrame({"x": range(1_000_000)}))  # over the whole budget
    assert cache.get("huge") is None and cache.get("large") is not None


def test_tables_used_within_the_grace_period_are_not_evicted_yet(tmp_path):
    db = _db(tmp_path)
    db.eviction_grace_seconds = 3600.0
    db.max_cached_tables = 2
    for k in range(4):
        _kept(db, f"cohort_{k}", 10)
    assert {f"cohort_{k}" for k in range(4)} <= _tables(db)  # in use by requests in flight
    db.eviction_grace_seconds = 0.0
    _kept(db, "cohort_late", 10)
    assert _tables(db) == {"cohort_3", "cohort_late"}


def test_an_evicted_table_is_made_again_from_its_recipe(tmp_path):
    db = _db(tmp_path)
    db.max_cached_tables = 1
    _kept(db, "cohort_first", 25)
    _kept(db, "cohort_second", 5)
    assert "cohort_first" not in _tables(db)
    with db.hold():
        assert db.ensure("cohort_first") == 25
        assert "cohort_first" in _tables(db)
    assert db.ensure("never_built") is None
