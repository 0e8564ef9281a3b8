"""Cohort criteria on patient-reported outcomes (snapshot schema 2): a score on a scale or
item within a window relative to index. Catalog, import checks, compiled SQL against the
pandas reference evaluator, plain language and the export round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference_evaluator import ReferenceEvaluator, messy_database
from test_compiler_property import OCCURRENCES, WINDOWS, _check

from queries.cohort.catalog import base_catalog, build_catalog
from queries.cohort.compiler import compile_cohort
from queries.cohort.describe import describe
from queries.cohort.export import export_json
from queries.cohort.importing import import_definition, load_definition
from queries.snapshot import schema

GLOBAL = "pro:EORTC QLQ-C30:Global health status/QoL"


def _definition(where: list[dict], window: dict | None = None, occurrence: dict | None = None,
                index: dict | None = None) -> dict:
    criterion = {"table": "patient_reported_outcomes", "where": where, "window": window}
    if occurrence is not None:
        criterion["occurrence"] = occurrence
    return {"schema_version": 1, "metadata": {"name": "PRO"}, "index_event": index or {},
            "inclusion_rules": [{"name": "PRO", "criteria": criterion}]}


def test_catalog_lists_every_scale_and_item_of_the_schema_without_a_snapshot():
    keys = {f.key for f in base_catalog().event_fields("patient_reported_outcomes")}
    for instrument, items in schema.PRO_ITEMS.items():
        for item in items:
            assert f"pro:{instrument}:{item}" in keys
    field = base_catalog().get(GLOBAL)
    assert field.type == "numeric" and field.domain == (0.0, 100.0)
    assert base_catalog().get("pro:PRO-CTCAE:Diarrhea frequency").domain == (0.0, 4.0)


def test_snapshot_catalog_has_the_snapshot_scales_with_their_score_ranges(sample):
    fields = {f.key: f for f in sample.catalog.event_fields("patient_reported_outcomes")}
    assert fields[GLOBAL].min == 0 and fields[GLOBAL].max == 100
    assert fields["pro:PRO-CTCAE:Fatigue severity"].max == 4
    assert "answers in the snapshot" in fields[GLOBAL].description


def test_unknown_scale_is_an_error_with_did_you_mean():
    result = import_definition(_definition(
        [{"field": "pro:EORTC QLQ-C30:Global helth status", "op": "<", "value": 50}]))
    assert not result.ok
    [problem] = result.errors
    assert problem.path == "inclusion_rules[0].criteria.where[0].field"
    assert "unknown field" in problem.message
    assert problem.hint == 'did you mean "QLQ-C30: Global health status/QoL"?'


def test_score_outside_the_instruments_range_is_an_error():
    result = import_definition(_definition(
        [{"field": "pro:PRO-CTCAE:Fatigue severity", "op": ">=", "value": 7}]))
    assert not result.ok
    assert "must be between 0 and 4" in result.errors[0].message


def test_scale_label_is_accepted_and_replaced_by_its_key():
    definition = load_definition(_definition(
        [{"field": "QLQ-C30: Global health status/QoL", "op": "<", "value": 50}]))
    assert definition.inclusion_rules[0].criteria.where[0].field == GLOBAL


def test_compiled_sql_binds_instrument_item_and_score():
    definition = load_definition(_definition([{"field": GLOBAL, "op": "<", "value": 50}],
                                             {"start_days": -30, "end_days": 0}))
    query = compile_cohort(definition)
    assert "e.instrument = ? AND e.item = ? AND e.score < ?" in query.sql
    assert "Global health" not in query.sql
    assert ["EORTC QLQ-C30", "Global health status/QoL", 50] == query.params[-3:]


def test_poor_global_health_before_index_equals_the_reference_on_the_sample(sample):
    data = _definition([{"field": GLOBAL, "op": "<", "value": 50}],
                       {"start_days": -30, "end_days": 0})
    definition = load_definition(data, sample.catalog)
    query = compile_cohort(definition, sample.catalog)
    got = sample.db.cursor().execute(query.sql, query.params).fetchall()
    expected = sample.reference.cohort(definition)
    assert len(got) == len(expected) > 0
    assert {row[0] for row in got} == set(expected["patient_id"])


def test_describe_says_what_patients_reported_and_when():
    definition = load_definition(_definition([{"field": GLOBAL, "op": "<", "value": 50}],
                                             {"start_days": -30, "end_days": 0}))
    english = describe(definition)
    assert ("with QLQ-C30 global health status/QoL score < 50 reported within 30 days "
            "before the index date") in english
    finnish = describe(definition, locale="fi")
    assert "yleinen terveydentila/elämänlaatu" in finnish and "reported" not in finnish


def test_export_import_round_trip_keeps_a_pro_criterion_and_its_hash():
    definition = load_definition(_definition(
        [{"field": "pro:PRO-CTCAE:Diarrhea frequency", "op": "between", "value": [2, 4]}],
        {"start_days": 0, "end_days": 90}, {"max": 0}))
    result = import_definition(export_json(definition, snapshot_id="snap"))
    assert result.ok and result.problems == []
    assert result.definition.content_hash() == definition.content_hash()
    assert json.loads(result.definition.canonical_json())["inclusion_rules"][0]["criteria"][
        "where"][0]["field"] == "pro:PRO-CTCAE:Diarrhea frequency"


@st.composite
def _pro_definitions(draw, catalog) -> dict:
    fields = [f for f in catalog.event_fields("patient_reported_outcomes") if f.pro_item]
    f = draw(st.sampled_from(fields))
    top = int(f.domain[1])
    op = draw(st.sampled_from(f.operators))
    value = sorted(draw(st.lists(st.integers(0, top), min_size=2, max_size=2))) \
        if op == "between" else draw(st.integers(0, top))
    where = [{"field": f.key, "op": op, "value": value}]
    if draw(st.booleans()):
        where.append({"field": "patient_reported_outcomes.line_number", "op": "is_not_null"})
    index = draw(st.sampled_from([{}, {"kind": "diagnosis"}]))
    return _definition(where, draw(st.sampled_from(WINDOWS)),
                       draw(st.sampled_from(OCCURRENCES)), index)


_SETTINGS = dict(deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    db = messy_database(tmp_path_factory.mktemp("messy"), n=300, seed=21)
    yield db, ReferenceEvaluator.from_db(db), build_catalog(db)
    db.close()


@settings(max_examples=60, **_SETTINGS)
@given(data=st.data())
def test_pro_criteria_equal_the_reference_evaluator_on_a_messy_snapshot(messy, data):
    db, evaluator, catalog = messy
    _check(db, evaluator, catalog, data.draw(_pro_definitions(catalog)))


@settings(max_examples=40, **_SETTINGS)
@given(data=st.data())
def test_pro_criteria_equal_the_reference_evaluator_on_the_sample(sample, data):
    _check(sample.db, sample.reference, sample.catalog, data.draw(_pro_definitions(sample.catalog)))
