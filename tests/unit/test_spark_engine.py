"""The Spark engine's set-up: every SQL statement has a Spark form, and a missing Java or an
unreachable master is one line and a non-zero exit (no JVM is started by these tests)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from reference_evaluator import SAMPLE_DIR

import cli
from queries.cohort.compiler import compile_attrition, compile_cohort
from queries.cohort.importing import load_definition
from queries.engine.transpile import transpile

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (make test installs it)")


COHORTS = Path(__file__).resolve().parents[1] / "cohorts"
FIXTURES = sorted(p for p in COHORTS.glob("*.json") if not p.name.startswith("invalid_"))
SQL_DIR = Path(__file__).resolve().parents[2] / "queries" / "sql"


def test_standalone_compiled_sql_and_static_sql_transpile_to_spark():
    """Export SQL (no kept tables) and every static SQL file have a Spark form."""
    for path in FIXTURES:
        definition = load_definition(path.read_text())
        for query in (compile_cohort(definition), compile_attrition(definition)):
            assert "SELECT" in transpile(query.sql)
    for path in SQL_DIR.glob("*.sql"):
        text = path.read_text()
        for name in ("cohort", "assessments", "base", "terms"):
            text = text.replace("{" + name + "}", "kept_table")
        assert "rowid" not in transpile(text).lower()


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_unreachable_spark_master_is_one_line_and_nonzero_exit(monkeypatch):
    monkeypatch.setenv("IOCOHORT_SPARK_MASTER", "spark://127.0.0.1:9")
    monkeypatch.setattr("queries.engine.spark.active_session", lambda: None)
    code, out, err = _run_cli(["count", "--engine", "spark", "--snapshot", str(SAMPLE_DIR),
                               str(FIXTURES[0])])
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "cannot be reached" in err
    assert "Traceback" not in err


def test_missing_java_is_one_line_and_nonzero_exit(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    code, out, err = _run_cli(["count", "--engine", "spark", "--snapshot", str(SAMPLE_DIR),
                               str(FIXTURES[0])])
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Java" in err
