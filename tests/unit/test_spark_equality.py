"""The same definitions on DuckDB and on Spark give the same answers.

Every valid fixture definition in tests/cohorts/ and definitions drawn from the compiler
property test's strategy are compiled once, run on DuckDB (the snapshot's database file) and
on Spark (the snapshot's Parquet files, SQL transpiled by sqlglot), and compared: counts,
attrition, and the aggregates the analyses read (survival counts per stratum and day, best
response counts per stratum, AE frequencies, Table 1). One local SparkSession serves the whole
test session.

It starts a JVM and runs hundreds of Spark jobs, so it runs when asked for:
``IOCOHORT_SPARK_EQUALITY=1`` (``make test-spark``).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from reference_evaluator import SAMPLE_DIR, open_snapshot, sample_available
from test_compiler_property import strategies

import cli
from queries.analyses import characteristics, response, safety, survival
from queries.cohort.attrition import compute_attrition
from queries.cohort.catalog import build_catalog
from queries.cohort.importing import load_definition
from queries.cohort.materialize import materialize_definition

if os.environ.get("IOCOHORT_SPARK_EQUALITY") != "1":
    pytest.skip("set IOCOHORT_SPARK_EQUALITY=1 (make test-spark) to compare DuckDB and Spark",
                allow_module_level=True)
pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (make test installs it)")
if shutil.which("java") is None:
    pytest.skip("no Java runtime (make test installs default-jre-headless)",
                allow_module_level=True)

from queries.engine.spark import SparkSnapshot, spark_session  # noqa: E402 - after the skips

COHORTS = Path(__file__).resolve().parents[1] / "cohorts"
FIXTURES = sorted(p for p in COHORTS.glob("*.json") if not p.name.startswith("invalid_"))
SQL_DIR = Path(__file__).resolve().parents[2] / "queries" / "sql"
HYPOTHESIS_DEFINITIONS = 50
STRATA = (None, "pdl1_tps")
SAFETY_OPTIONS = (safety.SafetyOptions(),
                  safety.SafetyOptions(immune_only=True, window_days=180, index_line_only=True))
_drawn: list[str] = []


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole test session (start-up costs seconds)."""
    session = spark_session("local[2]", "iocohort-tests", {
        "spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2",
        "spark.sql.adaptive.enabled": "false"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def engines(spark, tmp_path_factory):
    if not sample_available():
        pytest.skip("data/sample is not generated yet")
    duck = open_snapshot(SAMPLE_DIR, tmp_path_factory.mktemp("cache"))
    on_spark = SparkSnapshot.open(spark, SAMPLE_DIR, in_memory=True)
    yield duck, on_spark, build_catalog(duck)
    on_spark.close()
    duck.close()


def _same_frame(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> None:
    def norm(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.reset_index(drop=True)
        frame = frame.astype({k: str for k in keys})
        return frame.sort_values(keys, ignore_index=True)[sorted(frame.columns)]
    pd.testing.assert_frame_equal(norm(left), norm(right), check_dtype=False, rtol=1e-9)


def _same_aggregates(duck_cohort, spark_cohort, full: bool) -> None:
    """Survival, response and AE aggregates (and, when ``full``, Table 1) are equal."""
    strata = STRATA if full else (None,)
    for endpoint in survival.Endpoint:
        for key in strata:
            _same_frame(survival.aggregate(duck_cohort, endpoint, key),
                        survival.aggregate(spark_cohort, endpoint, key), ["stratum", "time_days"])
    for key in strata:
        _same_frame(response.bor_counts(duck_cohort, key), response.bor_counts(spark_cohort, key),
                    ["stratum", "bor"])
    for options in SAFETY_OPTIONS if full else SAFETY_OPTIONS[:1]:
        left = safety.adverse_events(duck_cohort, options)
        right = safety.adverse_events(spark_cohort, options)
        assert left.overall == pytest.approx(right.overall, nan_ok=True)
        _same_frame(left.by_term, right.by_term, ["organ_class", "term"])
        _same_frame(left.by_organ_class, right.by_organ_class, ["organ_class"])
        _same_frame(left.by_regimen, right.by_regimen, ["regimen"])
        _same_frame(left.by_drug_classes, right.by_drug_classes, ["drug_classes"])
    if full:
        left, right = characteristics.table_one(duck_cohort), characteristics.table_one(
            spark_cohort)
        _same_frame(left.rows, right.rows, ["key", "level"])
        _same_frame(left.biomarkers, right.biomarkers, ["key"])


def _same_cohort(engines, data, aggregates: bool) -> None:
    duck, on_spark, catalog = engines
    definition = load_definition(data, catalog)
    left = compute_attrition(duck, definition, catalog)
    right = compute_attrition(on_spark, definition, catalog)
    assert left.steps == right.steps
    duck_cohort = materialize_definition(duck, definition, catalog)
    spark_cohort = materialize_definition(on_spark, definition, catalog)
    assert duck_cohort.size == spark_cohort.size == left.final
    if aggregates and duck_cohort.size:
        _same_aggregates(duck_cohort, spark_cohort, full=True)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_definition_gives_equal_counts_attrition_and_aggregates_on_spark(engines, path):
    _same_cohort(engines, path.read_text(), aggregates=True)


@settings(max_examples=HYPOTHESIS_DEFINITIONS, deadline=None, derandomize=True, database=None,
          phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_random_definition_gives_equal_counts_and_attrition_on_spark(engines, data):
    definition = data.draw(strategies(engines[2]))
    _same_cohort(engines, definition, aggregates=False)
    _drawn.append(repr(definition))


def test_at_least_fifty_random_definitions_were_compared():
    assert len(set(_drawn)) >= HYPOTHESIS_DEFINITIONS or not _drawn


def _run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def test_count_command_prints_the_same_attrition_table_on_spark(engines, tmp_path):
    fixture = str(COHORTS / "nsclc_stage4_pdl1_high_ecog01.json")
    args = ["count", "--snapshot", str(SAMPLE_DIR), fixture]
    code, duck_out, _ = _run_cli([*args, "--cache-dir", str(tmp_path)])
    assert code == 0
    code, spark_out, _ = _run_cli([*args, "--engine", "spark"])
    assert code == 0
    assert spark_out == duck_out
