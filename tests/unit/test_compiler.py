"""SQL compiler: hand-checked cohorts on a tiny snapshot, bound values, literal matching of
hostile strings, readable SQL, and the example definitions on the sample snapshot."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from reference_evaluator import open_snapshot
from snapshot_factory import tiny_tables

from queries.cohort.catalog import base_catalog
from queries.cohort.compiler import (
    CompileError,
    compile_cohort,
    compile_index,
    inline_params,
    sql_literal,
)
from queries.cohort.importing import load_definition
from queries.cohort.materialize import cohort_key, materialize_definition
from queries.cohort.model import Definition
from queries.snapshot.files import write_snapshot

COHORTS = Path(__file__).resolve().parents[1] / "cohorts"
EXAMPLES = sorted(p for p in COHORTS.glob("*.json") if not p.name.startswith("invalid_"))
HOSTILE_SITE = "O'Brien\"; DROP TABLE patients; --"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The four-patient snapshot, plus one patient whose site is a hostile string."""
    tables = tiny_tables()
    extra = tables["patients"].iloc[[0]].copy()
    extra["patient_id"], extra["site"] = "P005", HOSTILE_SITE
    tables["patients"] = pd.concat([tables["patients"], extra], ignore_index=True)
    treat = tables["treatments"].iloc[[0]].copy()
    treat["patient_id"], treat["atc_code"] = "P005", "L01F%_2"
    tables["treatments"] = pd.concat([tables["treatments"], treat], ignore_index=True)
    folder = tmp_path_factory.mktemp("tiny")
    write_snapshot(tables, folder / "snap", "tiny-compiler", "unit test")
    db = open_snapshot(folder / "snap", folder / "cache")
    yield db
    db.close()


def _definition(*criteria, index: dict | None = None) -> Definition:
    rules = [{"name": f"r{i}", "criteria": c} for i, c in enumerate(criteria)]
    return load_definition({"schema_version": 1, "metadata": {"name": "t"},
                            "index_event": index or {}, "inclusion_rules": rules})


def _ids(db, definition: Definition) -> list[str]:
    query = compile_cohort(definition)
    return sorted(db.cursor().execute(query.sql, query.params).df()["patient_id"])


def test_first_checkpoint_inhibitor_index_by_hand(tiny):
    query = compile_index(_definition())
    rows = tiny.cursor().execute(query.sql, query.params).fetchall()
    assert sorted(rows) == [("P001", date(2022, 2, 1), 1), ("P002", date(2022, 4, 1), 1),
                            ("P003", date(2022, 7, 1), 1), ("P005", date(2022, 2, 1), 1)]


def test_diagnosis_and_line_indexes_by_hand(tiny):
    dx = _definition(index={"kind": "diagnosis", "cancer_types": ["NSCLC"]})
    assert _ids(tiny, dx) == ["P001", "P004"]
    chemo = _definition(index={"kind": "first_drug_class", "drug_classes": ["chemotherapy"]})
    assert _ids(tiny, chemo) == ["P004"]
    assert _ids(tiny, _definition(index={"kind": "line_start", "line": 2})) == []


def test_pdl1_within_90_days_before_index_by_hand(tiny):
    pdl1 = {"table": "biomarkers", "window": {"start_days": -90, "end_days": 0},
            "where": [{"field": "biomarker:PD-L1 TPS", "op": ">=", "value": 50}]}
    assert _ids(tiny, _definition(pdl1)) == ["P001"]
    pdl1["window"] = {"start_days": -10, "end_days": 0}  # the test was 12 days before
    assert _ids(tiny, _definition(pdl1)) == []


def test_attributes_by_hand(tiny):
    assert _ids(tiny, _definition({"field": "age_at_index", "op": ">=", "value": 75})) == \
        ["P003"]  # 2022 - 1944
    assert _ids(tiny, _definition({"field": "ecog", "op": "in", "value": [0, 1]})) == \
        ["P001", "P002"]
    assert _ids(tiny, _definition({"not": {"field": "smoking_status", "op": "in",
                                           "value": ["never"]}})) == ["P001", "P003", "P005"]
    assert _ids(tiny, _definition({"field": "stage", "op": "in", "value": ["IV"]})) == \
        ["P001", "P003"]


def test_events_by_hand(tiny):
    irae = {"table": "adverse_events", "window": {"start_days": 0, "end_days": 180},
            "where": [{"field": "adverse_events.grade", "op": ">=", "value": 3},
                      {"field": "adverse_events.immune_related", "op": "=", "value": True}]}
    assert _ids(tiny, _definition(irae)) == ["P002"]
    none = dict(irae, occurrence={"max": 0})
    assert _ids(tiny, _definition(none)) == ["P001", "P003", "P005"]


def test_hostile_value_is_matched_literally_and_never_executed(tiny):
    definition = _definition({"field": "site", "op": "in", "value": [HOSTILE_SITE]})
    query = compile_cohort(definition)
    assert HOSTILE_SITE not in query.sql and HOSTILE_SITE in query.params
    assert _ids(tiny, definition) == ["P005"]
    assert tiny.cursor().execute("SELECT count(*) FROM patients").fetchone()[0] == 5


def test_like_wildcards_in_prefixes_are_literal(tiny):
    crit = {"table": "treatments",
            "where": [{"field": "treatments.atc_code", "op": "starts_with", "value": "L01F%"}]}
    assert _ids(tiny, _definition(crit)) == ["P005"]
    crit["where"][0]["value"] = "L01F_"
    assert _ids(tiny, _definition(crit)) == []
    crit["where"][0]["value"] = "L01FF"
    assert _ids(tiny, _definition(crit)) == ["P001", "P002", "P003"]


def test_readable_sql_inlines_quoted_literals_that_run_the_same(tiny):
    definition = _definition({"field": "site", "op": "in", "value": [HOSTILE_SITE]},
                             index={"kind": "first_checkpoint_inhibitor",
                                    "date_from": "2020-01-01"})
    readable = compile_cohort(definition).readable()
    assert "'O''Brien\"; DROP TABLE patients; --'" in readable
    assert "DATE '2020-01-01'" in readable and "?" not in readable
    rows = tiny.cursor().execute(readable).fetchall()
    assert [r[0] for r in rows] == ["P005"]


def test_sql_literals():
    assert sql_literal("a'b") == "'a''b'"
    assert sql_literal(True) == "TRUE" and sql_literal(None) == "NULL"
    assert sql_literal(2.5) == "2.5" and sql_literal(date(2024, 1, 2)) == "DATE '2024-01-02'"
    assert inline_params("x = ? AND y = '?'", [1]) == "x = 1 AND y = '?'"
    with pytest.raises(ValueError):
        inline_params("x = ?", [])
    with pytest.raises(ValueError):
        inline_params("x = 1", [2])


def test_unknown_fields_never_reach_sql():
    definition = Definition.model_validate({
        "metadata": {"name": "x"},
        "inclusion_rules": [{"name": "r", "criteria": {"field": "patients; DROP", "op": "=",
                                                       "value": "F"}}]})
    with pytest.raises(CompileError):
        compile_cohort(definition)
    wrong_table = Definition.model_validate({
        "metadata": {"name": "x"},
        "inclusion_rules": [{"name": "r", "criteria": {
            "table": "biomarkers", "where": [{"field": "treatments.drug", "op": "=",
                                              "value": "x"}]}}]})
    with pytest.raises(CompileError):
        compile_cohort(wrong_table)


def test_every_value_is_a_parameter():
    data = json.loads((COHORTS / "nsclc_stage4_pdl1_high_ecog01.json").read_text())
    query = compile_cohort(load_definition(data))
    for value in ("NSCLC", "PD-L1 TPS", "anti-CTLA-4", "2015-01-01"):
        assert value not in query.sql
    assert query.sql.count("?") == len(query.params)


def test_materialized_cohort_is_built_once_per_definition_and_snapshot(tiny):
    definition = _definition({"field": "sex", "op": "in", "value": ["F"]})
    first = materialize_definition(tiny, definition)
    again = materialize_definition(tiny, definition.model_copy(
        update={"metadata": definition.metadata.model_copy(update={"name": "other"})}))
    assert first.table == again.table and first.size == again.size == 2  # P001, P005
    assert first.key == cohort_key(definition, tiny.snapshot_id)
    assert list(first.frame().columns) == ["patient_id", "index_date", "index_line"]


# ------------------------------------------------------------------- sample snapshot


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_definitions_run_on_the_sample_and_match_the_evaluator(sample, path):
    db, evaluator, catalog = sample.db, sample.reference, sample.catalog
    definition = load_definition(path.read_text(), catalog)
    cohort = materialize_definition(db, definition, catalog)
    expected = evaluator.cohort(definition)
    got = cohort.frame().sort_values("patient_id").reset_index(drop=True)
    assert list(got["patient_id"]) == list(expected["patient_id"])
    assert list(pd.to_datetime(got["index_date"])) == list(pd.to_datetime(expected["index_date"]))
    assert cohort.size > 0


def test_sample_catalog_offers_biomarker_fields(sample):
    catalog = sample.catalog
    tps = catalog.get("biomarker:PD-L1 TPS")
    assert tps is not None and tps.type == "numeric" and tps.unit == "%"
    assert catalog.get("biomarker:MSI").type == "categorical"
    assert "MSI-H" in catalog.get("biomarker:MSI").value_set()
    sex = dict(catalog.get("sex").values)
    assert set(sex) <= {"F", "M"} and all(n > 0 for n in sex.values())
    plain = catalog.to_dict()
    assert json.loads(json.dumps(plain, default=str))["fields"]
    assert base_catalog().get("biomarker:PD-L1 TPS").values == ()
