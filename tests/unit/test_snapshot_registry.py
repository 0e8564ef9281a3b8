"""Snapshot discovery: newest valid default, broken snapshots reported and skipped."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import duckdb
import pytest

import queries.snapshot.registry as snapshot_module
from queries.snapshot.database import build_database
from queries.snapshot.files import MANIFEST
from queries.snapshot.registry import SnapshotRegistry, SnapshotUnavailable, open_snapshot_folder
from queries.snapshot.validation import ERROR, WARNING

try:
    from snapshot_factory import TINY_PATIENTS
except ImportError:  # tests/unit imported as a package
    from tests.unit.snapshot_factory import TINY_PATIENTS


def _copy(pristine: Path, out: Path, snapshot_id: str, created: str) -> Path:
    shutil.copytree(pristine, out)
    manifest = json.loads((out / MANIFEST).read_text())
    manifest.update(id=snapshot_id, created=created)
    (out / MANIFEST).write_text(json.dumps(manifest))
    return out


@pytest.fixture
def snapshots(pristine, tmp_path) -> Path:
    """old (valid), new (valid), newest-but-broken, an empty folder and a stray file."""
    root = tmp_path / "snapshots"
    root.mkdir()
    _copy(pristine, root / "a-old", "fi-io-2026-01", "2026-01-31")
    _copy(pristine, root / "b-new", "fi-io-2026-03", "2026-03-31")
    broken = _copy(pristine, root / "c-broken", "fi-io-2026-12", "2026-12-31")
    (broken / "adverse_events.parquet").write_bytes(b"PAR1 truncated")
    (root / "d-empty").mkdir()
    (root / "README.txt").write_text("not a folder, ignored")
    return root


def _registry(root: Path, tmp_path: Path) -> SnapshotRegistry:
    return SnapshotRegistry(root, tmp_path / "cache")


def test_default_is_newest_valid_and_broken_ones_are_reported(snapshots, tmp_path):
    registry = _registry(snapshots, tmp_path)
    statuses = registry.refresh()
    assert [s.snapshot_id for s in statuses] == [
        "fi-io-2026-03", "fi-io-2026-01", "fi-io-2026-12", "d-empty"]
    assert [s.usable for s in statuses] == [True, True, False, False]
    assert registry.default().snapshot_id == "fi-io-2026-03"
    broken = registry.get("fi-io-2026-12")
    assert any("unreadable Parquet" in p.message and p.table == "adverse_events"
               for p in broken.problems)
    assert any("is empty" in p.message for p in registry.get("d-empty").problems)


def test_no_directory_means_no_snapshot_and_no_error(tmp_path):
    registry = _registry(tmp_path / "missing", tmp_path)
    assert registry.refresh() == []
    assert registry.default() is None
    with pytest.raises(KeyError):
        registry.get("anything")


def test_directory_that_is_itself_a_snapshot(pristine, tmp_path):
    registry = _registry(pristine, tmp_path)
    assert [s.snapshot_id for s in registry.statuses()] == ["tiny-2026-01"]
    assert registry.default().usable


def test_database_answers_a_count(snapshots, tmp_path):
    registry = _registry(snapshots, tmp_path)
    db = registry.database("fi-io-2026-01")
    assert db.cursor().execute("SELECT count(*) FROM patients").fetchone()[0] == TINY_PATIENTS
    assert registry.database("fi-io-2026-01") is db
    assert db.cursor().execute(
        "SELECT count(*) FROM adverse_events WHERE grade >= 3").fetchone()[0] == 1
    db.close()


def test_database_of_broken_or_unknown_snapshot_raises_clearly(snapshots, tmp_path):
    registry = _registry(snapshots, tmp_path)
    with pytest.raises(SnapshotUnavailable, match="unreadable Parquet"):
        registry.database("fi-io-2026-12")
    with pytest.raises(KeyError):
        registry.database("no-such-snapshot")


def test_build_failure_becomes_a_problem_and_default_moves_on(snapshots, tmp_path, monkeypatch):
    registry = _registry(snapshots, tmp_path)
    real_build = snapshot_module.build_database

    def failing_build(path, manifest, cache_dir, progress=None):
        if manifest["id"] == "fi-io-2026-03":
            raise duckdb.IOException("disk on fire")
        return real_build(path, manifest, cache_dir)

    monkeypatch.setattr(snapshot_module, "build_database", failing_build)
    with pytest.raises(SnapshotUnavailable, match="disk on fire"):
        registry.database("fi-io-2026-03")
    status = registry.get("fi-io-2026-03")
    assert not status.usable
    assert any("could not build" in p.message for p in status.problems)
    assert registry.default().snapshot_id == "fi-io-2026-01"
    # still recorded after a refresh (same content), and open_default skips it
    registry.refresh()
    assert not registry.get("fi-io-2026-03").usable
    chosen, db = registry.open_default()
    assert chosen.snapshot_id == "fi-io-2026-01"
    db.close()


def test_open_default_skips_a_snapshot_that_fails_to_build(snapshots, tmp_path, monkeypatch):
    registry = _registry(snapshots, tmp_path)
    real_build = snapshot_module.build_database

    def failing_build(path, manifest, cache_dir, progress=None):
        if manifest["id"] == "fi-io-2026-03":
            raise OSError("no space left on device")
        return real_build(path, manifest, cache_dir)

    monkeypatch.setattr(snapshot_module, "build_database", failing_build)
    chosen, db = registry.open_default()
    assert chosen.snapshot_id == "fi-io-2026-01"
    db.close()


def test_build_of_a_bad_file_fails_cleanly_without_leftovers(pristine, tmp_path):
    snap = Path(shutil.copytree(pristine, tmp_path / "snap"))
    (snap / "treatments.parquet").write_bytes(b"not parquet at all")
    manifest = json.loads((snap / MANIFEST).read_text())
    cache = tmp_path / "cache"
    with pytest.raises(duckdb.Error):
        build_database(snap, manifest, cache)
    assert list(cache.iterdir()) == []


def test_corrupt_cached_database_is_rebuilt(snapshots, tmp_path):
    registry = _registry(snapshots, tmp_path)
    db = registry.database("fi-io-2026-01")
    path = db.path
    db.close()
    path.write_bytes(b"garbage")
    fresh = _registry(snapshots, tmp_path)
    db = fresh.database("fi-io-2026-01")
    assert db.cursor().execute("SELECT count(*) FROM patients").fetchone()[0] == TINY_PATIENTS
    db.close()


def test_refresh_reuses_validation_until_a_file_changes(snapshots, tmp_path, monkeypatch):
    calls: list[Path] = []
    real_validate = snapshot_module.validate_snapshot

    def counting(path):
        calls.append(path)
        return real_validate(path)

    monkeypatch.setattr(snapshot_module, "validate_snapshot", counting)
    registry = _registry(snapshots, tmp_path)
    registry.refresh()
    assert len(calls) == 4
    registry.refresh()
    assert len(calls) == 4
    broken = snapshots / "c-broken"
    shutil.rmtree(broken)
    _copy(snapshots / "a-old", broken, "fi-io-2026-12", "2026-12-31")
    statuses = registry.refresh()
    assert [c.name for c in calls[4:]] == ["c-broken"]
    assert statuses[0].snapshot_id == "fi-io-2026-12" and statuses[0].usable


def test_duplicate_snapshot_id_is_reported_and_skipped(pristine, tmp_path):
    root = tmp_path / "snapshots"
    root.mkdir()
    _copy(pristine, root / "one", "same-id", "2026-01-31")
    _copy(pristine, root / "two", "same-id", "2026-02-28")
    registry = _registry(root, tmp_path)
    statuses = registry.refresh()
    assert [s.usable for s in statuses] == [True, False]
    assert "also used by" in statuses[1].problems[-1].message
    assert statuses[1].problems[-1].severity == ERROR
    assert registry.get("same-id").path == root / "one"


def test_duplicate_snapshot_ids_warn_name_both_folders_and_choose_by_folder_name(pristine,
                                                                              tmp_path):
    root = tmp_path / "snapshots"
    root.mkdir()
    # "b" was created later, yet "a" is served: the choice must not depend on dates or on
    # the order the file system lists folders in.
    _copy(pristine, root / "b-copy", "same-id", "2026-03-31")
    _copy(pristine, root / "a-copy", "same-id", "2026-01-31")
    for _ in range(2):
        registry = _registry(root, tmp_path)
        statuses = {s.path.name: s for s in registry.refresh()}
        assert registry.get("same-id").path == root / "a-copy"
        served, skipped = statuses["a-copy"], statuses["b-copy"]
        assert served.usable and not skipped.usable
        warning = served.problems[-1]
        assert warning.severity == WARNING
        for problem in (warning, skipped.problems[-1]):
            assert "'a-copy'" in problem.message and "'b-copy'" in problem.message
            assert str(tmp_path) not in problem.message  # folder names, not server paths


def test_validation_crash_is_reported_not_raised(snapshots, tmp_path, monkeypatch):
    def crash(path):
        raise RuntimeError("bug in a check")

    monkeypatch.setattr(snapshot_module, "validate_snapshot", crash)
    statuses = _registry(snapshots, tmp_path).refresh()
    assert len(statuses) == 4 and not any(s.usable for s in statuses)
    assert "bug in a check" in statuses[0].problems[0].message


def test_concurrent_database_calls_build_once(snapshots, tmp_path, monkeypatch):
    registry = _registry(snapshots, tmp_path)
    registry.refresh()
    builds: list[str] = []
    real_build = snapshot_module.build_database

    def counting_build(path, manifest, cache_dir, progress=None):
        builds.append(manifest["id"])
        return real_build(path, manifest, cache_dir)

    monkeypatch.setattr(snapshot_module, "build_database", counting_build)
    results: list = []
    barrier = threading.Barrier(6)

    def work(snapshot_id):
        barrier.wait()
        results.append(registry.database(snapshot_id))

    threads = [threading.Thread(target=work, args=(sid,)) for sid in
               ["fi-io-2026-01", "fi-io-2026-03"] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(builds) == ["fi-io-2026-01", "fi-io-2026-03"]
    assert len({id(db) for db in results}) == 2
    for db in {id(db): db for db in results}.values():
        assert db.cursor().execute("SELECT count(*) FROM patients").fetchone()[0] == TINY_PATIENTS
        db.close()


def test_open_snapshot_folder_validates_then_opens(pristine, tmp_path):
    db = open_snapshot_folder(pristine, tmp_path / "cache")
    assert db.cursor().execute("SELECT count(*) FROM patients").fetchone()[0] == TINY_PATIENTS
    db.close()
    broken = Path(shutil.copytree(pristine, tmp_path / "broken"))
    (broken / "patients.parquet").unlink()
    with pytest.raises(SnapshotUnavailable, match="table file is missing") as caught:
        open_snapshot_folder(broken, tmp_path / "cache")
    assert [p.table for p in caught.value.problems] == ["patients"]


def test_open_snapshot_folder_rebuilds_a_corrupt_cached_database(pristine, tmp_path):
    db = open_snapshot_folder(pristine, tmp_path / "cache")
    path = db.path
    db.close()
    path.write_bytes(b"garbage")
    db = open_snapshot_folder(pristine, tmp_path / "cache")
    assert db.cursor().execute("SELECT count(*) FROM patients").fetchone()[0] == TINY_PATIENTS
    db.close()
