"""Command-line tasks on a broken snapshot: every problem named, exit 1, no traceback."""

from __future__ import annotations

import shutil

import pytest

import cli
from config import ROOT

SAMPLE = ROOT / "data" / "sample"
COHORT = ROOT / "tests" / "cohorts" / "nsclc_stage4_pdl1_high_ecog01.json"


@pytest.fixture
def truncated_snapshot(tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(SAMPLE, folder)
    patients = folder / "patients.parquet"
    patients.write_bytes(patients.read_bytes()[:400])
    return folder


@pytest.mark.parametrize("command", ["count", "analyze"])
def test_cohort_tasks_refuse_a_truncated_snapshot_with_its_problems(
    command, truncated_snapshot, tmp_path, capsys
):
    code = cli.main([command, "--snapshot", str(truncated_snapshot), str(COHORT),
                     "--cache-dir", str(tmp_path / "cache")])
    err = capsys.readouterr().err
    assert code == 1
    assert "cannot be used" in err and "patients.parquet" in err and "checksum mismatch" in err
    assert "Traceback" not in err


def test_export_with_a_truncated_snapshot_refuses(truncated_snapshot, tmp_path, capsys):
    code = cli.main(["export", str(COHORT), "--snapshot", str(truncated_snapshot),
                     "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")])
    assert code == 1
    assert "unreadable Parquet" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
