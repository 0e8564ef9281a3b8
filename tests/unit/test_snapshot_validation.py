"""Snapshot validation: each failure on a broken copy of a tiny valid snapshot."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import cli
from queries.snapshot.files import MANIFEST, arrow_schema, file_sha256, write_manifest, write_table
from queries.snapshot.schema import TABLES
from queries.snapshot.validation import ERROR, WARNING, Problem, ValidationReport, validate_snapshot

try:
    from snapshot_factory import TINY_CREATED, TINY_ID, tiny_tables
except ImportError:  # tests/unit imported as a package
    from tests.unit.snapshot_factory import (
        TINY_CREATED,
        TINY_ID,
        tiny_tables,
    )


@pytest.fixture
def snap(pristine, tmp_path) -> Path:
    """A fresh copy of the valid snapshot to break."""
    return Path(shutil.copytree(pristine, tmp_path / "snap"))


def _manifest(path: Path) -> dict:
    return json.loads((path / MANIFEST).read_text())


def _save_manifest(path: Path, manifest: dict) -> None:
    (path / MANIFEST).write_text(json.dumps(manifest))


def _replace_table(path: Path, table: str, edit) -> None:
    """Rewrite one table after ``edit(frame)`` and refresh the manifest so only the data is bad."""
    frame = tiny_tables()[table]
    edit(frame)
    write_table(frame, path / f"{table}.parquet", table)
    write_manifest(path, TINY_ID, "unit-test factory", TINY_CREATED)


def _errors(report: ValidationReport) -> list[Problem]:
    return [p for p in report.problems if p.severity == ERROR]


def _find(report: ValidationReport, text: str, **where) -> Problem:
    for problem in report.problems:
        if text in problem.message and all(getattr(problem, k) == v for k, v in where.items()):
            return problem
    raise AssertionError(f"no problem with {text!r} {where} in:\n"
                         + "\n".join(str(p) for p in report.problems))


def test_tiny_snapshot_is_valid_without_warnings(pristine):
    report = validate_snapshot(pristine)
    assert report.problems == []
    assert report.usable
    assert report.snapshot_id == TINY_ID
    assert report.manifest["tables"]["patients"]["rows"] == 4


def test_problem_str_names_file_table_and_column():
    problem = Problem(ERROR, "adverse_events.parquet", "adverse_events", "grade", "grade 6")
    assert str(problem) == ("error [adverse_events.parquet, table adverse_events, column grade]: "
                            "grade 6")


def test_truncated_parquet_is_unreadable_and_fails_checksum(snap):
    target = snap / "treatments.parquet"
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    report = validate_snapshot(snap)
    assert not report.usable
    _find(report, "unreadable Parquet", file="treatments.parquet", table="treatments")
    _find(report, "checksum mismatch", file="treatments.parquet", table="treatments")


def test_truncated_parquet_with_matching_manifest_is_still_unreadable(snap):
    target = snap / "patients.parquet"
    target.write_bytes(target.read_bytes()[:-20])
    manifest = _manifest(snap)
    manifest["tables"]["patients"]["sha256"] = file_sha256(target)
    _save_manifest(snap, manifest)
    report = validate_snapshot(snap)
    assert [p.table for p in _errors(report)] == ["patients"]
    _find(report, "unreadable Parquet", table="patients")


def test_missing_table_file(snap):
    (snap / "adverse_events.parquet").unlink()
    report = validate_snapshot(snap)
    assert not report.usable
    problem = _find(report, "table file is missing", table="adverse_events")
    assert problem.file == "adverse_events.parquet"
    assert len(_errors(report)) == 1


def test_table_missing_from_manifest(snap):
    manifest = _manifest(snap)
    del manifest["tables"]["biomarkers"]
    _save_manifest(snap, manifest)
    report = validate_snapshot(snap)
    assert not report.usable
    _find(report, "missing from manifest.json", file=MANIFEST, table="biomarkers")


def test_wrong_column_type(snap):
    frame = tiny_tables()["performance_status"]
    schema = arrow_schema("performance_status").set(2, pa.field("ecog", pa.string()))
    frame["ecog"] = frame["ecog"].astype(str)
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False),
                   snap / "performance_status.parquet")
    write_manifest(snap, TINY_ID, "x", TINY_CREATED)
    report = validate_snapshot(snap)
    assert not report.usable
    problem = _find(report, "wrong type: expected INTEGER, found string",
                    table="performance_status", column="ecog")
    assert problem.file == "performance_status.parquet"


def test_int64_integer_and_extra_column_are_accepted_with_a_warning(snap):
    frame = tiny_tables()["performance_status"]
    frame["site_note"] = "x"
    table = pa.Table.from_pandas(frame, preserve_index=False)  # ecog as int64
    assert table.schema.field("ecog").type == pa.int64()
    pq.write_table(table, snap / "performance_status.parquet")
    write_manifest(snap, TINY_ID, "x", TINY_CREATED)
    report = validate_snapshot(snap)
    assert report.usable
    assert [(p.severity, p.column) for p in report.problems] == [(WARNING, "site_note")]


def test_missing_column(snap):
    frame = tiny_tables()["tumor_assessments"].drop(columns=["response"])
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                   snap / "tumor_assessments.parquet")
    write_manifest(snap, TINY_ID, "x", TINY_CREATED)
    report = validate_snapshot(snap)
    _find(report, "column is missing", table="tumor_assessments", column="response")


def test_checksum_mismatch(snap):
    manifest = _manifest(snap)
    manifest["tables"]["diagnoses"]["sha256"] = "0" * 64
    _save_manifest(snap, manifest)
    report = validate_snapshot(snap)
    assert not report.usable
    assert [str(p) for p in report.problems] == [
        str(_find(report, "checksum mismatch", file="diagnoses.parquet", table="diagnoses"))]


def test_row_count_mismatch(snap):
    manifest = _manifest(snap)
    manifest["tables"]["patients"]["rows"] = 5
    _save_manifest(snap, manifest)
    report = validate_snapshot(snap)
    _find(report, "row count mismatch: manifest.json says 5, the file has 4", table="patients")


def test_missing_folder_and_file_instead_of_folder(tmp_path):
    report = validate_snapshot(tmp_path / "nope")
    assert not report.usable
    _find(report, "does not exist")
    (tmp_path / "file").write_text("x")
    _find(validate_snapshot(tmp_path / "file"), "is not a folder")


def test_empty_folder(tmp_path):
    report = validate_snapshot(tmp_path)
    assert not report.usable
    assert len(report.problems) == 1
    _find(report, "is empty")


def test_folder_of_unrelated_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    report = validate_snapshot(tmp_path)
    assert not report.usable
    _find(report, "manifest.json is missing", file=MANIFEST)
    problem = _find(report, "not a snapshot")
    assert "data.csv" in problem.message and "notes.txt" in problem.message
    assert len(report.problems) == 2


def test_manifest_not_json_still_checks_the_tables(snap):
    _replace_table(snap, "adverse_events", lambda f: f.__setitem__("grade", [2, 6, 1]))
    (snap / MANIFEST).write_text("{not json")
    report = validate_snapshot(snap)
    assert not report.usable
    _find(report, "manifest.json is not valid JSON", file=MANIFEST)
    _find(report, "grade outside 1-5", table="adverse_events", column="grade")


def test_manifest_missing_keys_are_all_named_and_tables_still_checked(snap):
    _replace_table(snap, "adverse_events", lambda f: f.__setitem__("grade", [2, 6, 1]))
    manifest = _manifest(snap)
    for key in ("id", "created", "source", "schema_version"):
        del manifest[key]
    _save_manifest(snap, manifest)
    report = validate_snapshot(snap)
    for key in ("id", "created", "source", "schema_version"):
        _find(report, f"lacks the key {key!r}", file=MANIFEST)
    _find(report, "grade outside 1-5", table="adverse_events")
    assert report.snapshot_id == "snap"


def test_wrong_schema_version_is_refused(snap):
    manifest = _manifest(snap)
    manifest["schema_version"] = 3
    _save_manifest(snap, manifest)
    report = validate_snapshot(snap)
    assert not report.usable
    problem = _find(report, "schema_version 3 is not supported", file=MANIFEST)
    assert "refused" in problem.message and "versions 1 and 2" in problem.message
    assert len(report.problems) == 1


def test_manifest_file_cannot_escape_the_folder(snap):
    manifest = _manifest(snap)
    manifest["tables"]["patients"]["file"] = "../../etc/passwd"
    _save_manifest(snap, manifest)
    report = validate_snapshot(snap)
    _find(report, "outside the snapshot folder", table="patients")


def test_orphan_patient_id(snap):
    def edit(frame):
        frame.loc[1, "patient_id"] = "P999"
    _replace_table(snap, "treatments", edit)
    report = validate_snapshot(snap)
    assert not report.usable
    problem = _find(report, "not in patients", table="treatments", column="patient_id")
    assert "1 row(s) of 1 patient_id(s)" in problem.message
    assert "P999" in problem.message


def test_duplicate_and_null_patient_id(snap):
    def edit(frame):
        frame.loc[1, "patient_id"] = "P001"
        frame.loc[2, "patient_id"] = None
    _replace_table(snap, "patients", edit)
    report = validate_snapshot(snap)
    _find(report, "appear more than once, e.g. P001 (2 rows)", table="patients")
    _find(report, "have no patient_id", table="patients", column="patient_id")


def test_death_before_diagnosis(snap):
    def edit(frame):
        frame.loc[0, "death_date"] = date(2021, 12, 1)
        frame.loc[0, "last_followup_date"] = date(2021, 12, 1)
    _replace_table(snap, "patients", edit)
    report = validate_snapshot(snap)
    assert not report.usable
    problem = _find(report, "death before diagnosis", table="diagnoses", column="diagnosis_date")
    assert "P001" in problem.message


def test_end_before_start(snap):
    _replace_table(snap, "treatments",
                   lambda f: f.__setitem__("end_date", [date(2022, 1, 1), None, None, None]))
    report = validate_snapshot(snap)
    assert not report.usable
    problem = _find(report, "end_date before start_date", table="treatments", column="end_date")
    assert "P001" in problem.message
    assert len(_errors(report)) == 1


def test_grade_6(snap):
    _replace_table(snap, "adverse_events", lambda f: f.__setitem__("grade", [2, 6, 1]))
    report = validate_snapshot(snap)
    assert not report.usable
    problem = _find(report, "1 row(s) have grade outside 1-5", table="adverse_events",
                    column="grade")
    assert "P002 (grade=6)" in problem.message


def test_ecog_7(snap):
    _replace_table(snap, "performance_status", lambda f: f.__setitem__("ecog", [1, 7, 2, 1]))
    report = validate_snapshot(snap)
    assert not report.usable
    _find(report, "ecog outside 0-5", table="performance_status", column="ecog")
    assert len(report.problems) == 1


@pytest.mark.parametrize(("table", "column", "value", "text"), [
    ("patients", "sex", "X", "sex outside F/M"),
    ("patients", "smoking_status", "sometimes", "smoking_status outside"),
    ("diagnoses", "stage", "V", "stage outside I/II/III/IV"),
    ("treatments", "drug_class", "anti-XYZ", "drug_class outside"),
    ("tumor_assessments", "response", "iCPD", "response outside CR/PR/SD/PD/NE"),
    ("biomarkers", "value_numeric", -3.0, "negative value_numeric"),
])
def test_out_of_domain_values(snap, table, column, value, text):
    def edit(frame):
        frame.loc[0, column] = value
    _replace_table(snap, table, edit)
    report = validate_snapshot(snap)
    assert not report.usable
    _find(report, text, table=table, column=column)


def test_event_after_last_followup(snap):
    _replace_table(snap, "tumor_assessments",
                   lambda f: f.__setitem__("assessment_date", [date(2022, 4, 1), date(2026, 1, 1),
                                                               date(2022, 6, 15),
                                                               date(2022, 9, 15)]))
    report = validate_snapshot(snap)
    _find(report, "after the patient's last_followup_date", table="tumor_assessments")


def test_every_problem_is_reported_at_once(snap):
    (snap / "biomarkers.parquet").unlink()
    manifest = _manifest(snap)
    manifest["tables"]["diagnoses"]["sha256"] = "f" * 64
    _save_manifest(snap, manifest)
    frame = tiny_tables()["adverse_events"]
    frame["grade"] = [2, 6, 1]
    frame.loc[0, "patient_id"] = "P404"
    write_table(frame, snap / "adverse_events.parquet", "adverse_events")
    pq.write_table(pa.table({"patient_id": ["P001"]}), snap / "performance_status.parquet")
    report = validate_snapshot(snap)
    assert not report.usable
    _find(report, "table file is missing", table="biomarkers")
    _find(report, "checksum mismatch", table="diagnoses")
    _find(report, "checksum mismatch", table="adverse_events")
    _find(report, "grade outside 1-5", column="grade")
    _find(report, "not in patients", table="adverse_events")
    for column in ("assessment_date", "ecog"):
        _find(report, "column is missing", table="performance_status", column=column)
    assert len(_errors(report)) >= 8


def test_validation_reads_every_table_of_the_schema(pristine):
    manifest = _manifest(pristine)
    assert set(manifest["tables"]) == set(TABLES)


def test_cli_validate_exit_0_when_usable(pristine, capsys):
    assert cli.main(["validate", str(pristine)]) == 0
    out = capsys.readouterr().out
    assert f"snapshot {TINY_ID}: usable" in out


def test_cli_validate_exit_1_and_prints_every_problem(snap, capsys):
    _replace_table(snap, "performance_status", lambda f: f.__setitem__("ecog", [1, 7, 2, 1]))
    (snap / "treatments.parquet").unlink()
    assert cli.main(["validate", str(snap)]) == 1
    out = capsys.readouterr().out
    assert "error [treatments.parquet, table treatments]: table file is missing" in out
    assert "column ecog]" in out
    assert "NOT usable (2 error(s)" in out


def test_cli_validate_warnings_only_exit_0(snap, capsys):
    frame = tiny_tables()["patients"]
    frame["extra"] = 1
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), snap / "patients.parquet")
    write_manifest(snap, TINY_ID, "x", TINY_CREATED)
    assert cli.main(["validate", str(snap)]) == 0
    assert "warning [patients.parquet, table patients, column extra]" in capsys.readouterr().out


def test_cli_validate_empty_folder_exit_1(tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path)]) == 1
    assert "is empty" in capsys.readouterr().out


def test_all_null_column_without_type_is_accepted(snap):
    frame = tiny_tables()["patients"]
    frame["death_date"] = None
    frame["smoking_status"] = None
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert pa.types.is_null(table.schema.field("death_date").type)
    pq.write_table(table, snap / "patients.parquet")
    write_manifest(snap, TINY_ID, "x", TINY_CREATED)
    report = validate_snapshot(snap)
    assert report.usable, [str(p) for p in report.problems]


def test_integer_too_large_for_the_schema_is_reported_not_raised(snap):
    frame = tiny_tables()["performance_status"]
    frame["ecog"] = [1, 2**40, 2, 1]
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False),
                   snap / "performance_status.parquet")
    write_manifest(snap, TINY_ID, "x", TINY_CREATED)
    report = validate_snapshot(snap)
    assert not report.usable
    _find(report, "could not read the data", table="performance_status")


def test_corrupt_bytes_inside_the_file_are_reported(snap):
    target = snap / "adverse_events.parquet"
    data = bytearray(target.read_bytes())
    data[8: len(data) // 2] = b"\xab" * (len(data) // 2 - 8)
    target.write_bytes(bytes(data))
    report = validate_snapshot(snap)
    assert not report.usable
    _find(report, "checksum mismatch", table="adverse_events")
    assert any(p.table == "adverse_events" and ("unreadable" in p.message or "could not read"
                                                in p.message) for p in report.problems)


def test_bundled_sample_snapshot_is_valid():
    from config import ROOT

    sample = ROOT / "data" / "sample"
    if not (sample / MANIFEST).is_file():
        pytest.skip("data/sample not generated yet")
    report = validate_snapshot(sample)
    assert report.problems == [], [str(p) for p in report.problems]


def test_rash_presence_score_of_3_is_refused_naming_item_table_and_version(snap):
    # Rash presence is a yes/no item (0/1); 3 is inside PRO-CTCAE's 0-4 but not a rash answer
    def edit(frame):
        frame.loc[2, ["item", "score"]] = ["Rash presence", 3.0]
    _replace_table(snap, "patient_reported_outcomes", edit)
    report = validate_snapshot(snap)
    assert not report.usable
    problem = _find(report, "1 row(s) have a PRO-CTCAE 'Rash presence' score outside 0 (no)/1 "
                    "(yes), as schema version 2 allows", table="patient_reported_outcomes",
                    column="score")
    assert "P002 (score=3.0)" in problem.message
    assert str(problem).startswith("error [patient_reported_outcomes.parquet, "
                                   "table patient_reported_outcomes, column score]")
    assert len(report.problems) == 1


def test_rash_presence_yes_and_itching_severity_4_are_valid(snap):
    def edit(frame):
        frame.loc[1, ["instrument", "item", "score"]] = ["PRO-CTCAE", "Itching severity", 4.0]
        frame.loc[2, ["item", "score"]] = ["Rash presence", 1.0]
    _replace_table(snap, "patient_reported_outcomes", edit)
    assert validate_snapshot(snap).problems == []
