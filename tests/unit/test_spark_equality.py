"""The same definitions on DuckDB and on Spark give the same answers (part of ``make test``).

Every valid fixture definition in tests/cohorts/ and 50 definitions drawn from the compiler
property test's strategy are compiled once, run on DuckDB (the snapshot's database file) and
on Spark (the snapshot's Parquet files, SQL transpiled by sqlglot), and compared:

- every definition: the count and the attrition (after each rule and each rule alone);
- every fixture: the aggregates the analyses read (survival counts per PD-L1 stratum and day
  for every endpoint, best-response counts per stratum, AE frequencies under two sets of
  options, Table 1) and the other queries a cohort runs on the engine (cumulative incidence
  counts of severe irAEs, feasibility counts, patient-reported outcomes);
- every fifth drawn definition (0, 5, ..., 45: a deterministic subset, as each Spark query
  costs a fixed fraction of a second): survival, response, AE (default options) and Table 1.

One local SparkSession (``local[2]``, one shuffle partition, see SESSION_CONFIG) serves the
whole file, and the snapshot's tables stay cached in it. Without pyspark or Java the file is
skipped with the reason; ``make test`` installs both, so there it runs.
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
from queries.analyses import characteristics, feasibility, pro, response, safety, survival
from queries.cohort.attrition import compute_attrition
from queries.cohort.catalog import build_catalog
from queries.cohort.importing import load_definition
from queries.cohort.materialize import materialize_definition

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed (make test installs it)")
if shutil.which("java") is None and not Path(os.environ.get("JAVA_HOME", "/nonexistent"),
                                             "bin", "java").exists():
    pytest.skip("no Java runtime for Spark (make test installs default-jre-headless)",
                allow_module_level=True)

from queries.engine.spark import (  # noqa: E402 - after the skips
    PARQUET_EXPANSION,
    SparkSnapshot,
    spark_session,
)

COHORTS = Path(__file__).resolve().parents[1] / "cohorts"
FIXTURES = sorted(p for p in COHORTS.glob("*.json") if not p.name.startswith("invalid_"))
HYPOTHESIS_DEFINITIONS = 50
AGGREGATES_EVERY = 5  # drawn definitions 0, 5, 10, ... also compare their aggregates
STRATUM = "pdl1_tps"  # levels from the biomarker at index: the most SQL behind a stratum
SAFETY_OPTIONS = (safety.SafetyOptions(),
                  safety.SafetyOptions(immune_only=True, window_days=180, index_line_only=True))
_compared: dict[str, list[str]] = {"fixtures": [], "drawn": [], "drawn_aggregates": []}


# On 5,000 patients Spark's time goes to preparing each query, not to the rows (the JVM was
# busy a whole core for the file's 11 minutes): one partition per stage, no whole-stage code
# generation (a compiled class per stage of every new query) and no constraint propagation (it
# infers filters over every join of the large compiled SQL). None changes an answer.
SESSION_CONFIG = {
    "spark.sql.shuffle.partitions": "1", "spark.default.parallelism": "1",
    "spark.sql.adaptive.enabled": "false", "spark.sql.codegen.wholeStage": "false",
    "spark.sql.constraintPropagation.enabled": "false",
}


@pytest.fixture(scope="module")
def spark():
    """One local SparkSession for the file (start-up costs seconds, each job little)."""
    session = spark_session("local[2]", "iocohort-tests", SESSION_CONFIG)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def engines(spark, tmp_path_factory):
    """The sample on DuckDB and on Spark (its tables cached in Spark), and its catalog."""
    if not sample_available():
        pytest.skip("data/sample is not generated yet")
    duck = open_snapshot(SAMPLE_DIR, tmp_path_factory.mktemp("cache"))
    on_spark = SparkSnapshot.open(spark, SAMPLE_DIR, in_memory=True)
    yield duck, on_spark, build_catalog(duck)
    on_spark.close()
    duck.close()


def _same_frame(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> None:
    """Equal as sets of rows (row order is not part of the answer), numbers to 1e-9."""
    def norm(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.reset_index(drop=True)
        frame = frame.astype({k: str for k in keys})
        return frame.sort_values(keys, ignore_index=True)[sorted(frame.columns)]
    assert len(left) == len(right)
    pd.testing.assert_frame_equal(norm(left), norm(right), check_dtype=False, rtol=1e-9)


def _same_aggregates(duck_cohort, spark_cohort, full: bool) -> None:
    """Survival, response, AE and Table 1 aggregates are equal; when ``full``, also under the
    second AE options, and the irAE incidence, feasibility and PRO answers."""
    for endpoint in survival.Endpoint:
        _same_frame(survival.aggregate(duck_cohort, endpoint, STRATUM),
                    survival.aggregate(spark_cohort, endpoint, STRATUM), ["stratum", "time_days"])
    _same_frame(response.bor_counts(duck_cohort, STRATUM),
                response.bor_counts(spark_cohort, STRATUM), ["stratum", "bor"])
    for options in SAFETY_OPTIONS if full else SAFETY_OPTIONS[:1]:
        left = safety.adverse_events(duck_cohort, options)
        right = safety.adverse_events(spark_cohort, options)
        assert left.overall == pytest.approx(right.overall, nan_ok=True)
        _same_frame(left.by_term, right.by_term, ["organ_class", "term"])
        _same_frame(left.by_organ_class, right.by_organ_class, ["organ_class"])
        _same_frame(left.by_regimen, right.by_regimen, ["regimen"])
        _same_frame(left.by_drug_classes, right.by_drug_classes, ["drug_classes"])
    left, right = characteristics.table_one(duck_cohort), characteristics.table_one(spark_cohort)
    _same_frame(left.rows, right.rows, ["key", "level"])
    _same_frame(left.biomarkers, right.biomarkers, ["key"])
    if not full:
        return
    left, right = (safety.severe_irae_incidence(duck_cohort),
                   safety.severe_irae_incidence(spark_cohort))
    _same_frame(left.groups, right.groups, ["group"])
    _same_frame(left.curve, right.curve, ["group", "time_days"])
    left, right = feasibility.feasibility(duck_cohort), feasibility.feasibility(spark_cohort)
    _same_frame(left.by_site, right.by_site, ["site"])
    _same_frame(left.by_year, right.by_year, ["year"])
    left, right = pro.patient_reported(duck_cohort), pro.patient_reported(spark_cohort)
    assert left.participants == right.participants
    _same_frame(left.scores, right.scores, ["week"])
    _same_frame(left.completion, right.completion, ["week"])
    _same_frame(left.severity, right.severity, ["item", "level"])
    _same_frame(left.score_bands, right.score_bands, ["week", "band"])


def _same_cohort(engines, data, aggregates: bool, full: bool = False) -> int:
    """Compare one definition on both engines; its cohort size."""
    duck, on_spark, catalog = engines
    definition = load_definition(data, catalog)
    left = compute_attrition(duck, definition, catalog)
    right = compute_attrition(on_spark, definition, catalog)
    assert left.steps == right.steps
    duck_cohort = materialize_definition(duck, definition, catalog)
    spark_cohort = materialize_definition(on_spark, definition, catalog)
    assert duck_cohort.size == spark_cohort.size == left.final
    if aggregates and duck_cohort.size:
        _same_aggregates(duck_cohort, spark_cohort, full)
    return duck_cohort.size


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_definition_gives_equal_counts_attrition_and_aggregates_on_spark(engines, path):
    assert _same_cohort(engines, path.read_text(), aggregates=True, full=True) > 0, "compare a non-empty cohort"
    _compared["fixtures"].append(path.stem)


# Hypothesis may draw the same definition twice: it draws more examples than needed and each
# distinct definition runs once, until HYPOTHESIS_DEFINITIONS distinct ones have run.
@settings(max_examples=HYPOTHESIS_DEFINITIONS + 30, deadline=None, derandomize=True, database=None,
          phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_drawn_definition_gives_equal_counts_and_attrition_on_spark(engines, data):
    """Counts and attrition of each drawn definition; aggregates of every fifth."""
    definition = data.draw(strategies(engines[2]))
    if repr(definition) in _compared["drawn"] or len(_compared["drawn"]) >= HYPOTHESIS_DEFINITIONS:
        return
    aggregates = len(_compared["drawn"]) % AGGREGATES_EVERY == 0
    size = _same_cohort(engines, definition, aggregates=aggregates)
    _compared["drawn"].append(repr(definition))
    if aggregates and size:
        _compared["drawn_aggregates"].append(repr(definition))


def test_every_fixture_and_fifty_drawn_definitions_were_compared():
    """What ran above covered the whole set: every fixture, 50 distinct drawn definitions, and
    drawn ones with patients whose aggregates were compared (a -k selection checks its part)."""
    if not any(_compared.values()):
        pytest.skip("the comparisons above did not run in this session (-k)")
    if _compared["fixtures"]:
        assert _compared["fixtures"] == [p.stem for p in FIXTURES]
    if _compared["drawn"]:
        assert len(set(_compared["drawn"])) >= HYPOTHESIS_DEFINITIONS
        assert _compared["drawn_aggregates"], "no drawn definition with patients had aggregates"


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


def test_a_parquet_table_is_sized_as_its_rows_in_memory_so_a_large_one_is_not_broadcast(spark):
    """Spark sized a scan by its compressed file (7 MB for 1M patients: "small", broadcast, and
    the driver ran out of memory); scaled to the rows in memory, only a truly small table is."""
    files = [SAMPLE_DIR / "patients.parquet", SAMPLE_DIR / "diagnoses.parquet"]
    patients, diagnoses = (spark.read.parquet(str(path)) for path in files)
    estimate = int(str(patients._jdf.queryExecution().optimizedPlan().stats().sizeInBytes()))
    assert estimate > PARQUET_EXPANSION / 4 * files[0].stat().st_size  # about its file before
    joined = patients.join(diagnoses, "patient_id")
    previous = spark.conf.get("spark.sql.autoBroadcastJoinThreshold")
    # a threshold above both files' sizes but below the rows they hold
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold",
                   str(2 * max(path.stat().st_size for path in files)))
    try:
        plan = joined._jdf.queryExecution().executedPlan().toString()
    finally:
        spark.conf.set("spark.sql.autoBroadcastJoinThreshold", previous)
    assert "SortMergeJoin" in plan and "Broadcast" not in plan
