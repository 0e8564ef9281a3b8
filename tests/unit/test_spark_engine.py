"""The Spark engine's set-up: every SQL statement has a Spark form, and a missing Java or an
unreachable master is one line and a non-zero exit (no JVM is started by these tests)."""

from __future__ import annotations

import ast
import contextlib
import io
import re
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
ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = ROOT / "queries" / "sql"
# SQL that only DuckDB runs; each has a portable form both engines share (docs/architecture.md)
DUCKDB_ONLY = re.compile(
    r"GROUP\s+BY\s+ALL|\barg_(max|min)\s*\(|\bbit_or\s*\(|\browid\b|\bINTERVAL\b"
    r"|\blist_\w+\s*\(|\bQUALIFY\b|::", re.IGNORECASE)


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


def _sql_literals(path: Path) -> list[str]:
    """The string literals of a module that are not docstrings (where its SQL is written)."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and id(node) not in docstrings]


def test_sql_that_runs_on_every_engine_has_no_duckdb_only_construct():
    """The compiler, the analyses and the static SQL use the portable forms (GROUP BY 1, 2;
    max_by; date + n; a rid column), so sqlglot's translation runs on Spark unchanged."""
    found = []
    for folder in ("queries/cohort", "queries/analyses"):
        for path in sorted((ROOT / folder).glob("*.py")):
            found += [f"{path.name}: {m.group(0)}" for text in _sql_literals(path)
                      for m in DUCKDB_ONLY.finditer(text)]
    for path in sorted(SQL_DIR.glob("*.sql")):
        text = re.sub(r"--[^\n]*", "", path.read_text())
        found += [f"{path.name}: {m.group(0)}" for m in DUCKDB_ONLY.finditer(text)]
    assert found == []
