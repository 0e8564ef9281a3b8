"""Attrition: index population, after each rule in order, each rule alone; switched-off rules
shown but skipped; counts equal the reference evaluator; the count command."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

import pytest
from reference_evaluator import ReferenceEvaluator, messy_database, open_snapshot

from cli.cohorts import count as cli_count
from queries.cohort.attrition import ATTRITION_COLUMNS, compute_attrition
from queries.cohort.importing import load_definition
from queries.cohort.materialize import materialize_definition

COHORTS = Path(__file__).resolve().parents[1] / "cohorts"
FULL = COHORTS / "nsclc_stage4_pdl1_high_ecog01.json"


@pytest.fixture(scope="module")
def tiny(pristine, tmp_path_factory):
    db = open_snapshot(pristine, tmp_path_factory.mktemp("cache"))
    yield db
    db.close()


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    db = messy_database(tmp_path_factory.mktemp("messy"), n=400, seed=5)
    yield db, ReferenceEvaluator.from_db(db)
    db.close()


def _three_rules(enabled_second: bool = True):
    return load_definition({
        "schema_version": 1, "metadata": {"name": "three"},
        "inclusion_rules": [
            {"name": "Stage IV", "criteria": {"field": "stage", "op": "in", "value": ["IV"]}},
            {"name": "Women", "enabled": enabled_second,
             "criteria": {"field": "sex", "op": "in", "value": ["F"]}},
            {"name": "ECOG 0-1", "criteria": {"field": "ecog", "op": "between",
                                              "value": [0, 1]}},
        ]})


def test_attrition_by_hand_on_tiny_snapshot(tiny):
    # index: P001 (F, IV, ECOG 1), P002 (M, III, ECOG 0), P003 (M, IV, ECOG 2)
    frame = compute_attrition(tiny, _three_rules()).frame()
    assert list(frame.columns) == list(ATTRITION_COLUMNS)
    assert list(frame["remaining"]) == [3, 2, 1, 1]
    assert list(frame["excluded"]) == [0, 1, 1, 0]
    assert list(frame["alone"]) == [3, 2, 1, 2]


def test_switched_off_rule_is_shown_but_skipped(tiny):
    attrition = compute_attrition(tiny, _three_rules(enabled_second=False))
    off = attrition.steps[2]
    assert off.rule_name == "Women" and off.enabled is False
    assert off.excluded == 0 and off.remaining == attrition.steps[1].remaining
    assert off.alone == 1  # still counted alone
    assert [s.remaining for s in attrition.steps] == [3, 2, 2, 1]
    assert attrition.final == 1


def test_final_step_equals_materialized_cohort(tiny):
    definition = _three_rules()
    assert compute_attrition(tiny, definition).final == \
        materialize_definition(tiny, definition).size


def test_attrition_is_cached_per_definition_and_snapshot(tiny):
    definition = _three_rules()
    first = compute_attrition(tiny, definition)
    tables = tiny.cursor().execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'attrition_%'").fetchone()[0]
    again = compute_attrition(tiny, definition)
    assert again == first
    assert tiny.cursor().execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'attrition_%'"
    ).fetchone()[0] == tables


def test_attrition_equals_reference_evaluator(messy):
    db, evaluator = messy
    definition = load_definition(FULL.read_text())
    attrition = compute_attrition(db, definition)
    expected = evaluator.attrition(definition)
    assert attrition.index_population == expected["index_population"]
    for step in attrition.steps[1:]:
        assert step.remaining == expected[f"after_{step.step}"]
        assert step.alone == expected[f"alone_{step.step}"]


def test_empty_rule_list_gives_only_the_index_population(tiny):
    definition = load_definition({"schema_version": 1, "metadata": {"name": "all"}})
    attrition = compute_attrition(tiny, definition)
    assert [(s.step, s.remaining) for s in attrition.steps] == [(0, 3)]


def test_count_command_prints_table_and_json(pristine, tmp_path, capsys):
    args = Namespace(snapshot=pristine, cohort=FULL, json=False, cache_dir=tmp_path)
    assert cli_count(args) == 0
    out = capsys.readouterr().out
    assert "Adults 18–80" in out and "Never smokers only (off)" in out
    args.json = True
    assert cli_count(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["steps"][0]["remaining"] == 3 and len(data["steps"]) == 7


def test_count_command_reports_invalid_definitions(pristine, tmp_path, capsys):
    args = Namespace(snapshot=pristine, cohort=COHORTS / "invalid_unknown_field.json",
                     json=False, cache_dir=tmp_path)
    assert cli_count(args) == 2
    err = capsys.readouterr().err
    assert 'inclusion_rules[2].criteria.all[0].field: unknown field "pdl1"' in err
