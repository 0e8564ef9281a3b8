"""Snapshot schema versions 1 and 2: a version-1 snapshot keeps validating and analysing; the
version is named in validation messages; version 2 adds PROs and AJCC substages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

import cli
from queries.snapshot import schema
from queries.snapshot.files import MANIFEST, open_snapshot, write_manifest, write_table
from queries.snapshot.validation import validate_snapshot

try:
    from snapshot_factory import TINY_ID, tiny_tables, write_tiny_snapshot
except ImportError:  # tests/unit imported as a package
    from tests.unit.snapshot_factory import TINY_ID, tiny_tables, write_tiny_snapshot

V1_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "snapshot_v1"


def _problems(report) -> str:
    return "\n".join(str(p) for p in report.problems)


def test_committed_version_1_fixture_validates_without_problems():
    manifest = json.loads((V1_FIXTURE / MANIFEST).read_text())
    assert manifest["schema_version"] == 1
    assert "patient_reported_outcomes" not in manifest["tables"]
    report = validate_snapshot(V1_FIXTURE)
    assert report.usable and not report.problems, _problems(report)
    assert report.schema_version == 1
    assert "schema version 1" in report.summary()


def test_version_1_fixture_loads_with_an_empty_pro_table(tmp_path):
    db = open_snapshot(V1_FIXTURE, tmp_path / "cache")
    try:
        cur = db.cursor()
        assert cur.execute("SELECT count(*) FROM patient_reported_outcomes").fetchone()[0] == 0
        columns = [row[0] for row in cur.execute(
            "DESCRIBE patient_reported_outcomes").fetchall()]
        assert columns == list(schema.TABLES["patient_reported_outcomes"])
        assert cur.execute("SELECT count(*) FROM patients").fetchone()[0] == 400
    finally:
        db.close()


def test_version_1_fixture_analyses_every_panel(tmp_path, capsys):
    definition = tmp_path / "first_ici.json"
    definition.write_text(json.dumps({"schema_version": 1,
                                      "metadata": {"name": "first checkpoint inhibitor"}}))
    code = cli.main(["analyze", "--snapshot", str(V1_FIXTURE), str(definition), "--json",
                     "--cache-dir", str(tmp_path / "cache")])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["n"] > 100
    assert data["survival"]["os"]["summary"][0]["n"] == data["n"]
    assert {"response", "safety", "characteristics"} <= set(data)


def test_version_2_snapshot_with_pro_rows_and_substages_validates(tmp_path):
    tables = tiny_tables()
    tables["diagnoses"]["stage"] = ["IVA", "IIIB", "IV", None]
    write_tiny_snapshot(tmp_path / "v2", tables=tables)
    report = validate_snapshot(tmp_path / "v2")
    assert report.usable and not report.problems, _problems(report)
    assert report.schema_version == 2


def test_version_1_refuses_substages_and_names_its_version(tmp_path):
    tables = tiny_tables()
    tables["diagnoses"]["stage"] = ["IVA", "III", "IV", None]
    write_tiny_snapshot(tmp_path / "v1", tables=tables, schema_version=1)
    report = validate_snapshot(tmp_path / "v1")
    assert not report.usable
    problem = next(p for p in report.errors if p.column == "stage")
    assert "schema version 1" in problem.message and "IVA" in problem.message


def test_version_2_manifest_must_list_the_pro_table(tmp_path):
    write_tiny_snapshot(tmp_path / "v2")
    manifest = json.loads((tmp_path / "v2" / MANIFEST).read_text())
    del manifest["tables"]["patient_reported_outcomes"]
    (tmp_path / "v2" / MANIFEST).write_text(json.dumps(manifest))
    report = validate_snapshot(tmp_path / "v2")
    problem = next(p for p in report.errors if p.table == "patient_reported_outcomes")
    assert "missing from manifest.json" in problem.message and "version 2" in problem.message


def test_pro_table_in_a_version_1_manifest_is_ignored_with_a_warning(tmp_path):
    shutil.copytree(V1_FIXTURE, tmp_path / "v1")
    manifest = json.loads((tmp_path / "v1" / MANIFEST).read_text())
    manifest["tables"]["patient_reported_outcomes"] = {"file": "x.parquet", "rows": 0,
                                                       "sha256": "0" * 64}
    (tmp_path / "v1" / MANIFEST).write_text(json.dumps(manifest))
    report = validate_snapshot(tmp_path / "v1")
    assert report.usable
    assert any("not in schema version 1" in p.message for p in report.warnings)


@pytest.mark.parametrize(("instrument", "score"), [("EORTC QLQ-C30", 104.0),
                                                   ("PRO-CTCAE", 5.0), ("PRO-CTCAE", -1.0)])
def test_pro_score_outside_its_instrument_range_is_an_error(tmp_path, instrument, score):
    write_tiny_snapshot(tmp_path / "v2")
    frame = tiny_tables()["patient_reported_outcomes"]
    frame.loc[2, ["instrument", "score"]] = [instrument, score]
    write_table(frame, tmp_path / "v2" / "patient_reported_outcomes.parquet",
                "patient_reported_outcomes")
    write_manifest(tmp_path / "v2", TINY_ID, "unit-test factory", "2026-01-31")
    report = validate_snapshot(tmp_path / "v2")
    problem = next(p for p in report.errors if p.column == "score")
    assert "outside its instrument's range" in problem.message


def test_unknown_pro_instrument_is_an_error(tmp_path):
    tables = tiny_tables()
    tables["patient_reported_outcomes"].loc[0, "instrument"] = "SF-36"
    write_tiny_snapshot(tmp_path / "v2", tables=tables)
    report = validate_snapshot(tmp_path / "v2")
    assert any(p.column == "instrument" for p in report.errors), _problems(report)


def test_stage_group_of_substages():
    assert [schema.stage_group(s) for s in ("IIIB", "IVA", "IV", "IA2", "II", None, "X")] == [
        "III", "IV", "IV", "I", "II", None, None]
    assert set(schema.STAGE_VALUES_BY_VERSION[1]) < set(schema.STAGE_VALUES_BY_VERSION[2])
    assert pd.Series(schema.STAGE_SUBSTAGES).map(schema.stage_group).notna().all()
