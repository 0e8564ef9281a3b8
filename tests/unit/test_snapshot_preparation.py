"""Snapshots prepared before users: background builds with progress, `iocohort build`."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cli import main as cli_main
from queries.analyses.panels import prepare_index_population
from queries.snapshot.database import database_path
from queries.snapshot.registry import READY, SnapshotPreparing, SnapshotRegistry

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"


def test_a_request_during_the_background_build_is_told_the_progress_instead_of_waiting(
        tmp_path):
    registry = SnapshotRegistry(SAMPLE, tmp_path / "cache")
    snapshot_id = registry.default().snapshot_id
    release = threading.Event()
    lines: list[str] = []
    thread = registry.start_preparing(warm=lambda db: release.wait(60), report=lines.append)
    try:
        with pytest.raises(SnapshotPreparing, match=rf"preparing snapshot {snapshot_id} \(\d+ %\)"):
            registry.database(snapshot_id)
        assert not registry.is_ready(snapshot_id)
    finally:
        release.set()
        thread.join(120)
    assert registry.is_ready(snapshot_id)
    assert registry.database(snapshot_id).snapshot_id == snapshot_id
    assert lines[0].startswith(f"preparing snapshot {snapshot_id}: 0 %")
    assert "100 % (ready" in lines[-1]
    assert [p["state"] for p in registry.preparing()] == [READY]


def test_warming_builds_the_default_index_populations_analysis_tables(tmp_path):
    registry = SnapshotRegistry(SAMPLE, tmp_path / "cache")
    snapshot_id = registry.default().snapshot_id
    warmed = []
    registry.prepare(snapshot_id, warm=lambda db: warmed.append(prepare_index_population(db)))
    population = warmed[0]
    db = registry.database(snapshot_id)
    assert population.size > 0
    assert db.cached_rows(f"{population.table}__base") == population.size
    assert db.cached_rows(f"{population.table}__ae") is not None


def test_a_failed_warm_up_leaves_the_snapshot_usable(tmp_path):
    registry = SnapshotRegistry(SAMPLE, tmp_path / "cache")
    snapshot_id = registry.default().snapshot_id
    lines: list[str] = []

    def broken(db) -> None:
        raise RuntimeError("boom")

    outcome = registry.prepare(snapshot_id, warm=broken, report=lines.append)
    assert outcome.state == READY
    assert any("warming snapshot" in line and "boom" in line for line in lines)


def test_iocohort_build_builds_every_snapshot_database_for_deployment(tmp_path, capsys):
    cache = tmp_path / "cache"
    assert cli_main(["build", str(SAMPLE), "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    registry = SnapshotRegistry(SAMPLE, cache)
    status = registry.default()
    assert database_path(status.manifest, cache).exists()
    assert f"preparing snapshot {status.snapshot_id}: 100 % (ready" in out


def test_iocohort_build_exits_1_without_a_usable_snapshot(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli_main(["build", str(tmp_path / "empty"), "--cache-dir", str(tmp_path / "c")]) == 1


def test_the_builder_says_preparing_snapshot_instead_of_hanging_the_request(
        tmp_path, fast_hashing):
    import dataclasses

    from access.auth import seed_demo_users
    from app import create_app
    from bench.dash_http import DashCallbacks, sign_in
    from components.context import EXTENSION_KEY
    from config import Settings

    settings = dataclasses.replace(Settings(), snapshots_dir=SAMPLE, demo=True,
                                   cache_dir=tmp_path / "cache", store_path=tmp_path / "a.db")
    app = create_app(settings)
    seed_demo_users(settings)
    registry = app.server.extensions[EXTENSION_KEY].registry
    release = threading.Event()
    thread = registry.start_preparing(warm=lambda db: release.wait(60))
    try:
        client = app.server.test_client()
        sign_in(client, "clinician", "clinician-demo")
        callbacks = DashCallbacks.load(client)
        response = callbacks.call(client, "builder-count.children", {
            "builder-structure.data": {"index": {"kind": "first_checkpoint_inhibitor"},
                                       "rules": [], "metadata": {"name": "x"}}})
    finally:
        release.set()
        thread.join(120)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "shell-notice" in body and "preparing snapshot" in body and " %)" in body
    assert "builder-count" not in body  # the count is left as it is, not made up
