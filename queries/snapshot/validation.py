"""Snapshot validation: every problem of a folder, named by file, table and column.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from queries.snapshot.files import MANIFEST, file_sha256
from queries.snapshot.schema import (
    CTCAE_GRADE_RANGE,
    DRUG_CLASSES,
    ECOG_RANGE,
    EVENT_DATE_COLUMN,
    PRO_CTCAE,
    PRO_CTCAE_ITEM_LEVELS,
    PRO_CTCAE_LEVELS,
    PRO_INSTRUMENTS,
    PRO_SCORE_RANGE,
    RECIST_RESPONSES,
    SCHEMA_VERSION,
    SEX_VALUES,
    SMOKING_VALUES,
    STAGE_VALUES_BY_VERSION,
    STOP_REASONS,
    SUPPORTED_SCHEMA_VERSIONS,
    TABLES,
    tables_of,
    typed_columns,
    versions_text,
)

ERROR = "error"
WARNING = "warning"
REQUIRED_MANIFEST_KEYS = ("id", "created", "source", "schema_version", "tables")
REQUIRED_TABLE_KEYS = ("file", "rows", "sha256")
_SNAPSHOT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_EXAMPLES = 3


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a snapshot, located by file, table and column where known."""

    severity: str
    file: str | None = None
    table: str | None = None
    column: str | None = None
    message: str = ""

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.table:
            where.append(f"table {self.table}")
        if self.column:
            where.append(f"column {self.column}")
        location = f" [{', '.join(where)}]" if where else ""
        return f"{self.severity}{location}: {self.message}"


@dataclass
class ValidationReport:
    """Every problem found in one snapshot folder; usable when none is an error."""

    path: Path
    snapshot_id: str
    manifest: dict[str, Any] | None = None
    problems: list[Problem] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION  # the manifest's, when it is a supported one

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables of the snapshot's schema version."""
        return tables_of(self.schema_version)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def usable(self) -> bool:
        return not self.errors

    def add(self, severity: str, message: str, *, file: str | None = None,
            table: str | None = None, column: str | None = None) -> None:
        self.problems.append(Problem(severity, file, table, column, message))

    def summary(self) -> str:
        counts = f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        if not self.usable:
            return f"snapshot {self.snapshot_id}: NOT usable ({counts})"
        tables = (self.manifest or {}).get("tables", {})
        rows = sum(tables[table]["rows"] for table in self.tables)
        return (f"snapshot {self.snapshot_id}: usable (schema version {self.schema_version}; "
                f"{rows:,} rows in {len(self.tables)} tables; {counts})")


def validate_snapshot(path: Path) -> ValidationReport:
    """Check a snapshot folder completely and report every problem (never raises for bad data)."""
    path = Path(path)
    report = ValidationReport(path=path, snapshot_id=path.name)
    if not _check_folder(path, report):
        return report
    manifest = _read_manifest(path, report)
    version = SCHEMA_VERSION if manifest is None else manifest.get("schema_version",
                                                                   SCHEMA_VERSION)
    if not _supported(version):
        return report  # another schema's tables would only add noise to the refusal
    report.schema_version = int(version)
    readable = {}
    for table, (file, spec) in _table_files(path, manifest, report).items():
        if _check_table_file(table, file, spec, report):
            readable[table] = file
    if readable:
        _check_data(readable, report)
    return report


def _supported(version: object) -> bool:
    return version in SUPPORTED_SCHEMA_VERSIONS and not isinstance(version, bool)


def _check_folder(path: Path, report: ValidationReport) -> bool:
    if not path.exists():
        report.add(ERROR, f"snapshot folder {path} does not exist")
    elif not path.is_dir():
        report.add(ERROR, f"{path} is not a folder", file=path.name)
    elif not any(path.iterdir()):
        report.add(ERROR, f"snapshot folder {path} is empty")
    else:
        return True
    return False


def _read_manifest(path: Path, report: ValidationReport) -> dict[str, Any] | None:
    """The parsed manifest (even when some keys are wrong), or None when there is none."""
    target = path / MANIFEST
    if not target.is_file():
        report.add(ERROR, "manifest.json is missing", file=MANIFEST)
        return None
    try:
        manifest = json.loads(target.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.add(ERROR, f"manifest.json is not valid JSON: {exc}", file=MANIFEST)
        return None
    if not isinstance(manifest, dict):
        report.add(ERROR, "manifest.json must hold a JSON object", file=MANIFEST)
        return None
    report.manifest = manifest
    _check_manifest_keys(manifest, report)
    if isinstance(manifest.get("id"), str) and _SNAPSHOT_ID.match(manifest["id"]):
        report.snapshot_id = manifest["id"]
    return manifest


def _check_manifest_keys(manifest: dict[str, Any], report: ValidationReport) -> None:
    for key in REQUIRED_MANIFEST_KEYS:
        if key not in manifest:
            report.add(ERROR, f"manifest.json lacks the key {key!r}", file=MANIFEST)
    snapshot_id = manifest.get("id")
    if "id" in manifest and not (isinstance(snapshot_id, str) and _SNAPSHOT_ID.match(snapshot_id)):
        report.add(ERROR, f"id {snapshot_id!r} must be 1-128 letters, digits, '.', '_' or '-'",
                   file=MANIFEST)
    if "created" in manifest and _parse_created(manifest["created"]) is None:
        report.add(ERROR, f"created {manifest['created']!r} is not an ISO date (YYYY-MM-DD)",
                   file=MANIFEST)
    version = manifest.get("schema_version")
    if "schema_version" in manifest and not _supported(version):
        report.add(ERROR, f"schema_version {version!r} is not supported: this app reads schema "
                   f"versions {versions_text()}, so the snapshot is refused", file=MANIFEST)
    if "tables" in manifest and not isinstance(manifest["tables"], dict):
        report.add(ERROR, "tables must be a JSON object of table name -> file, rows, sha256",
                   file=MANIFEST)


def _parse_created(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _table_files(path: Path, manifest: dict[str, Any] | None, report: ValidationReport
                 ) -> dict[str, tuple[Path, dict[str, Any] | None]]:
    """Each table's file and manifest entry; conventional names when the manifest is unusable."""
    tables = manifest.get("tables") if manifest else None
    if not isinstance(tables, dict):
        return _conventional_files(path, report)
    version = report.schema_version
    for name in sorted(set(tables) - set(report.tables)):
        report.add(WARNING, f"table not in schema version {version}; ignored", file=MANIFEST,
                   table=name)
    files = {}
    for table in report.tables:
        entry = tables.get(table)
        if entry is None:
            report.add(ERROR, f"table is missing from manifest.json (schema version {version} "
                       "has it)", file=MANIFEST, table=table)
            continue
        file = _manifest_entry_file(path, table, entry, report)
        if file is not None:
            files[table] = (file, entry)
    return files


def _conventional_files(path: Path, report: ValidationReport
                        ) -> dict[str, tuple[Path, dict[str, Any] | None]]:
    files: dict[str, tuple[Path, dict[str, Any] | None]] = {
        t: (path / f"{t}.parquet", None) for t in report.tables}
    if not any(file.exists() for file, _ in files.values()):
        names = sorted(p.name for p in path.iterdir() if p.name != MANIFEST)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        report.add(ERROR, "not a snapshot: no table file (patients.parquet, diagnoses.parquet, "
                   "...) is here" + (f"; the folder holds only {shown}" if names else ""))
        return {}
    return files


def _manifest_entry_file(path: Path, table: str, entry: object, report: ValidationReport
                         ) -> Path | None:
    if not isinstance(entry, dict):
        report.add(ERROR, "table entry must be an object with file, rows, sha256",
                   file=MANIFEST, table=table)
        return None
    for key in REQUIRED_TABLE_KEYS:
        if key not in entry:
            report.add(ERROR, f"table entry lacks the key {key!r}", file=MANIFEST, table=table)
    rows = entry.get("rows")
    if "rows" in entry and (not isinstance(rows, int) or isinstance(rows, bool) or rows < 0):
        report.add(ERROR, f"rows {rows!r} is not a row count", file=MANIFEST, table=table)
    sha = entry.get("sha256")
    if "sha256" in entry and not (isinstance(sha, str) and _SHA256.match(sha)):
        report.add(ERROR, f"sha256 {sha!r} is not a hex SHA-256", file=MANIFEST, table=table)
    name = entry.get("file")
    if not isinstance(name, str) or not name:
        if "file" in entry:
            report.add(ERROR, f"file {name!r} is not a file name", file=MANIFEST, table=table)
        return None
    file = path / name
    if Path(name).is_absolute() or not file.resolve().is_relative_to(path.resolve()):
        report.add(ERROR, f"file {name!r} lies outside the snapshot folder", file=MANIFEST,
                   table=table)
        return None
    return file


def _check_table_file(table: str, file: Path, spec: dict[str, Any] | None, report: ValidationReport) -> bool:
    """File-level checks; True when the table can be read with every schema column."""
    name = file.name
    if not file.is_file():
        report.add(ERROR, "table file is missing", file=name, table=table)
        return False
    expected_sha = (spec or {}).get("sha256")
    if isinstance(expected_sha, str) and _SHA256.match(expected_sha):
        actual = file_sha256(file)
        if actual != expected_sha:
            report.add(ERROR, f"checksum mismatch: manifest.json says {expected_sha[:12]}…, the "
                       f"file has {actual[:12]}… (changed or corrupted)", file=name, table=table)
    try:
        parquet = pq.ParquetFile(file)
        schema = parquet.schema_arrow
    except Exception as exc:  # pyarrow raises several types for corrupt files
        report.add(ERROR, f"unreadable Parquet (truncated or corrupt): {exc}", file=name,
                   table=table)
        return False
    expected_rows = (spec or {}).get("rows")
    if isinstance(expected_rows, int) and parquet.metadata.num_rows != expected_rows:
        report.add(ERROR, f"row count mismatch: manifest.json says {expected_rows:,}, the file "
                   f"has {parquet.metadata.num_rows:,}", file=name, table=table)
    return _check_columns(table, name, schema, report)


def _check_columns(table: str, name: str, schema: pa.Schema, report: ValidationReport) -> bool:
    ok = True
    for column, duck_type in TABLES[table].items():
        if column not in schema.names:
            report.add(ERROR, f"column is missing (expected {duck_type} in schema version "
                       f"{report.schema_version})", file=name, table=table, column=column)
            ok = False
            continue
        arrow_type = schema.field(column).type
        if not _compatible(duck_type, arrow_type):
            report.add(ERROR, f"wrong type: expected {duck_type}, found {arrow_type}",
                       file=name, table=table, column=column)
            ok = False
    for column in schema.names:
        if column not in TABLES[table]:
            report.add(WARNING, f"extra column not in schema version {report.schema_version}; "
                       "ignored", file=name,
                       table=table, column=column)
    return ok


def _compatible(duck_type: str, arrow_type: pa.DataType) -> bool:
    """Whether a Parquet column's Arrow type loads losslessly as the schema's DuckDB type."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if pa.types.is_null(arrow_type):
        return True  # an all-null column written without a type casts to anything
    checks = {
        "VARCHAR": (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view),
        "INTEGER": (pa.types.is_int8, pa.types.is_int16, pa.types.is_int32, pa.types.is_int64,
                    pa.types.is_uint8, pa.types.is_uint16),
        "DOUBLE": (pa.types.is_floating, pa.types.is_integer, pa.types.is_decimal),
        "DATE": (pa.types.is_date32, pa.types.is_date64),
        "BOOLEAN": (pa.types.is_boolean,),
    }[duck_type]
    return any(check(arrow_type) for check in checks)


# --------------------------------------------------------------------------- data checks


@dataclass(frozen=True)
class _RowCheck:
    """A predicate that is true for a bad row; ``$value`` in it is bound to ``value``."""

    table: str
    column: str
    condition: str
    message: str  # completed with the number of rows
    value: object = None
    severity: str = ERROR


def _domain(table: str, column: str, values: tuple[Any, ...]) -> _RowCheck:
    return _RowCheck(table, column, f"NOT list_contains($value, {column})",
                     f"have {column} outside {'/'.join(values)}", list(values))


def _not_null(table: str, column: str, severity: str = ERROR) -> _RowCheck:
    return _RowCheck(table, column, f"{column} IS NULL", f"have no {column}", severity=severity)


def _row_checks(version: int) -> list[_RowCheck]:
    lo_ecog, hi_ecog = ECOG_RANGE
    lo_grade, hi_grade = CTCAE_GRADE_RANGE
    checks = [_not_null(table, "patient_id") for table in tables_of(version)]
    checks += [_not_null(table, column, WARNING) for table, column in EVENT_DATE_COLUMN.items()
               if table != "treatments"]
    checks += [_RowCheck(table, "line_number", "line_number < 1", "have line_number below 1")
               for table in ("treatments", "tumor_assessments", "adverse_events")]
    return checks + [
        _domain("patients", "sex", SEX_VALUES),
        _domain("patients", "smoking_status", SMOKING_VALUES),
        _RowCheck("patients", "birth_year",
                  "birth_year < $value OR birth_year > year(current_date)",
                  "have an impossible birth_year", 1880),
        _not_null("patients", "last_followup_date"),
        _RowCheck("patients", "last_followup_date", "last_followup_date < death_date",
                  "have last_followup_date before death_date"),
        _RowCheck("patients", "last_followup_date", "last_followup_date > death_date",
                  "have last_followup_date after death_date (alive after death)"),
        _RowCheck("patients", "death_date", "year(death_date) < birth_year",
                  "have death_date before birth_year"),
        _stage_domain(version),
        _RowCheck("diagnoses", "icd10", "NOT regexp_full_match(icd10, $value)",
                  "have an icd10 code that is not ICD-10 (like C34.1)",
                  r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?"),
        _RowCheck("diagnoses", "histology_icdo3", "NOT regexp_full_match(histology_icdo3, $value)",
                  "have a histology_icdo3 code that is not ICD-O-3 (like 8140/3)",
                  r"[0-9]{4}/[0-9]", WARNING),
        _not_null("biomarkers", "biomarker"),
        _RowCheck("biomarkers", "value_numeric", "value_numeric < 0",
                  "have a negative value_numeric"),
        _RowCheck("biomarkers", "value_numeric",
                  "list_contains($value, biomarker) AND value_numeric > 100",
                  "have a PD-L1 TPS/CPS above 100", ["PD-L1 TPS", "PD-L1 CPS"]),
        _domain("treatments", "drug_class", DRUG_CLASSES),
        _domain("treatments", "stop_reason", STOP_REASONS),
        _not_null("treatments", "start_date"),
        _RowCheck("treatments", "end_date", "end_date < start_date",
                  "have end_date before start_date"),
        _RowCheck("performance_status", "ecog", "ecog NOT BETWEEN $value[1] AND $value[2]",
                  f"have ecog outside {lo_ecog}-{hi_ecog}", [lo_ecog, hi_ecog]),
        _domain("tumor_assessments", "response", RECIST_RESPONSES),
        _RowCheck("adverse_events", "grade", "grade NOT BETWEEN $value[1] AND $value[2]",
                  f"have grade outside {lo_grade}-{hi_grade}", [lo_grade, hi_grade]),
        _RowCheck("adverse_events", "resolved_date", "resolved_date < onset_date",
                  "have resolved_date before onset_date"),
    ]


def _stage_domain(version: int) -> _RowCheck:
    values = STAGE_VALUES_BY_VERSION[version]
    shown = "I/II/III/IV" + (" or an AJCC substage (IIIA, IVB, ...)" if version >= 2 else "")
    return _RowCheck("diagnoses", "stage", "NOT list_contains($value, stage)",
                     f"have stage outside {shown}, as schema version {version} allows",
                     list(values))


def _pro_checks(version: int) -> list[_RowCheck]:
    table = "patient_reported_outcomes"
    ranges = [f"(instrument = '{name}' AND score NOT BETWEEN {lo} AND {hi})"
              for name, (lo, hi) in PRO_SCORE_RANGE.items()]
    shown = ", ".join(f"{name} {lo:g}-{hi:g}" for name, (lo, hi) in PRO_SCORE_RANGE.items())
    # Items whose levels are not the instrument's 0-4 (yes/no items such as rash presence):
    # their own scores only. Item names are schema constants, not input.
    own_levels = [_RowCheck(
        table, "score",
        f"instrument = '{PRO_CTCAE}' AND item = '{item}' AND NOT list_contains($value, score)",
        f"have a {PRO_CTCAE} '{item}' score outside "
        f"{'/'.join(f'{score} ({level})' for score, level in enumerate(levels))}, "
        f"as schema version {version} allows",
        [float(score) for score in range(len(levels))])
        for item, levels in PRO_CTCAE_ITEM_LEVELS.items()
        if len(levels) != len(PRO_CTCAE_LEVELS)]
    return [
        _domain(table, "instrument", PRO_INSTRUMENTS),
        _not_null(table, "item"),
        _not_null(table, "score", WARNING),
        _RowCheck(table, "score", " OR ".join(ranges),
                  f"have a score outside its instrument's range ({shown})"),
        *own_levels,
        _RowCheck(table, "line_number", "line_number < 1", "have line_number below 1"),
    ]


ROW_CHECKS: dict[int, list[_RowCheck]] = {
    version: _row_checks(version) + (_pro_checks(version) if version >= 2 else [])
    for version in SUPPORTED_SCHEMA_VERSIONS}


def _check_data(files: dict[str, Path], report: ValidationReport) -> None:
    """Value checks with DuckDB over the readable tables: one aggregate query per table."""
    con = duckdb.connect(":memory:")
    con.execute("SET enable_progress_bar = false")  # keep command-line output clean
    try:
        for table, file in files.items():
            try:
                _run_row_checks(con, table, file, report)
                if table == "patients":
                    _check_duplicate_patients(con, file, report)
                elif "patients" in files:
                    _check_against_patients(con, table, file, files["patients"], report)
            except duckdb.Error as exc:
                report.add(ERROR, f"could not read the data: {_first_line(exc)}",
                           file=file.name, table=table)
    finally:
        con.close()


def _typed(table: str, parameter: str) -> str:
    """A table's Parquet file with the schema types, so that checks bind the same way for
    int64/int32, all-null columns and so on (a value that does not fit fails loudly)."""
    return f"(SELECT {typed_columns(table)} FROM read_parquet({parameter}))"  # noqa: S608 - fixed schema


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _bind(check: _RowCheck, index: int) -> tuple[str, dict[str, Any]]:
    name = f"v{index}"
    params = {name: check.value} if "$value" in check.condition else {}
    return f"({check.condition.replace('$value', '$' + name)})", params


def _run_row_checks(con: duckdb.DuckDBPyConnection, table: str, file: Path,
                    report: ValidationReport) -> None:
    checks = [check for check in ROW_CHECKS[report.schema_version] if check.table == table]
    conditions, params = [], {"path": str(file)}
    for index, check in enumerate(checks):
        condition, bound = _bind(check, index)
        conditions.append(f"count_if({condition})")
        params.update(bound)
    counts = con.execute(
        f"SELECT {', '.join(conditions)} FROM {_typed(table, '$path')}", params  # noqa: S608 - fixed checks
    ).fetchone()
    assert counts is not None  # an aggregate returns one row
    for check, count in zip(checks, counts, strict=True):
        if count:
            examples = _row_examples(con, check, file)
            report.add(check.severity, f"{count:,} row(s) {check.message}{examples}",
                       file=file.name, table=table, column=check.column)


def _row_examples(con: duckdb.DuckDBPyConnection, check: _RowCheck, file: Path) -> str:
    condition, params = _bind(check, 0)
    rows = con.execute(
        f"SELECT patient_id, {check.column} FROM {_typed(check.table, '$path')} "  # noqa: S608
        f"WHERE {condition} "
        f"LIMIT {_EXAMPLES}",
        {"path": str(file), **params},
    ).fetchall()
    shown = ", ".join(f"{pid} ({check.column}={value})" for pid, value in rows)
    return f", e.g. {shown}" if shown else ""


def _check_duplicate_patients(con: duckdb.DuckDBPyConnection, file: Path,
                              report: ValidationReport) -> None:
    rows = con.execute(
        "SELECT patient_id, count(*) AS n FROM read_parquet($path) WHERE patient_id IS NOT NULL "
        "GROUP BY patient_id HAVING count(*) > 1 ORDER BY n DESC, patient_id",
        {"path": str(file)},
    ).fetchall()
    if rows:
        shown = ", ".join(f"{pid} ({n} rows)" for pid, n in rows[:_EXAMPLES])
        report.add(ERROR, f"{len(rows):,} patient_id(s) appear more than once, e.g. {shown}",
                   file=file.name, table="patients", column="patient_id")


def _check_against_patients(con: duckdb.DuckDBPyConnection, table: str, file: Path,
                            patients: Path, report: ValidationReport) -> None:
    """Orphan patient_ids and events dated after death or after the last follow-up."""
    when = EVENT_DATE_COLUMN[table]
    counts = con.execute(
        f"""
        SELECT count_if(t.patient_id IS NOT NULL AND p.patient_id IS NULL),
               count(DISTINCT t.patient_id) FILTER (WHERE p.patient_id IS NULL),
               count_if(t.{when} > p.death_date),
               count_if(t.{when} > p.last_followup_date)
        FROM {_typed(table, '$path')} AS t
        LEFT JOIN {_typed("patients", '$patients')} AS p ON t.patient_id = p.patient_id
        """,  # noqa: S608 - identifiers from the fixed schema
        {"path": str(file), "patients": str(patients)},
    ).fetchone()
    assert counts is not None  # an aggregate returns one row
    orphans, orphan_ids, after_death, after_followup = counts
    params = {"path": str(file), "patients": str(patients)}
    if orphans:
        examples = _join_examples(con, table, "p.patient_id IS NULL AND t.patient_id IS NOT NULL",
                                  params)
        report.add(ERROR, f"{orphans:,} row(s) of {orphan_ids:,} patient_id(s) not in patients, "
                   f"e.g. {examples}", file=file.name, table=table, column="patient_id")
    if after_death:
        examples = _join_examples(con, table, f"t.{when} > p.death_date", params)
        what = "death before diagnosis: " if table == "diagnoses" else ""
        report.add(ERROR, f"{what}{after_death:,} row(s) have {when} after the patient's "
                   f"death_date, e.g. {examples}", file=file.name, table=table, column=when)
    if after_followup:
        examples = _join_examples(con, table, f"t.{when} > p.last_followup_date", params)
        report.add(ERROR, f"{after_followup:,} row(s) have {when} after the patient's "
                   f"last_followup_date, e.g. {examples}", file=file.name, table=table,
                   column=when)


def _join_examples(con: duckdb.DuckDBPyConnection, table: str, condition: str,
                   params: dict[str, Any]) -> str:
    rows = con.execute(
        f"SELECT DISTINCT t.patient_id FROM {_typed(table, '$path')} AS t "  # noqa: S608
        f"LEFT JOIN {_typed('patients', '$patients')} AS p ON t.patient_id = p.patient_id "
        f"WHERE {condition} ORDER BY 1 LIMIT {_EXAMPLES}",
        params,
    ).fetchall()
    return ", ".join(str(pid) for (pid,) in rows)


