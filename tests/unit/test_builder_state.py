"""The builder's draft <-> definition conversion, widget reading and share links (no browser)."""

from __future__ import annotations

import copy

import pytest

from components import ids
from components.builder import widgets as widgets
from components.builder.collect import collect, current_draft, current_index
from components.builder.state import (
    definition_from_draft,
    draft_from_definition,
    empty_row,
    empty_rule,
    is_group,
    new_draft,
    read_share_token,
    share_token,
)
from queries.cohort.catalog import base_catalog
from queries.cohort.model import Definition

CATALOG = base_catalog()
EXAMPLE = {
    "schema_version": 1,
    "metadata": {"name": "NSCLC IV PD-L1 high ECOG 0-1", "author": "ana"},
    "index_event": {"kind": "first_checkpoint_inhibitor", "date_from": "2019-01-01"},
    "inclusion_rules": [
        {"name": "NSCLC stage IV", "criteria": {"all": [
            {"field": "cancer_type", "op": "in", "value": ["NSCLC"]},
            {"field": "stage", "op": "in", "value": ["IV"]}]}},
        {"name": "PD-L1", "enabled": False, "criteria": {"any": [
            {"table": "biomarkers", "where": [{"field": "biomarker:PD-L1 TPS", "op": ">=",
                                               "value": 50}],
             "window": {"start_days": -90, "end_days": 0}}]}},
        {"name": "ECOG", "criteria": {"field": "ecog", "op": "between", "value": [0, 1]}},
        {"name": "No CTLA-4", "criteria": {"not": {"table": "treatments", "where": [
            {"field": "treatments.drug_class", "op": "in", "value": ["anti-CTLA-4"]}],
            "window": {"start_days": None, "end_days": -1}}}},
        {"name": "Two filters", "criteria": {"all": [{"table": "adverse_events", "where": [
            {"field": "adverse_events.grade", "op": ">=", "value": 3},
            {"field": "adverse_events.immune_related", "op": "=", "value": True}],
            "window": {"start_days": 0, "end_days": 180}, "occurrence": {"min": 2}}]}},
        {"name": "Nested", "criteria": {"any": [
            {"all": [{"field": "sex", "op": "in", "value": ["F"]},
                     {"field": "age_at_index", "op": "<", "value": 60}]},
            {"field": "smoking_status", "op": "in", "value": ["never"]}]}},
    ],
}


def _hash(data: dict) -> str:
    return Definition.model_validate(data).content_hash()


def test_every_rule_shape_round_trips_through_the_draft_with_the_same_hash():
    draft = draft_from_definition(Definition.model_validate(EXAMPLE).model_dump(mode="json"),
                                  CATALOG)
    result = definition_from_draft(draft, CATALOG)
    assert result.ok, (result.row_problems, result.rule_problems, result.other_problems)
    assert result.definition.content_hash() == _hash(EXAMPLE)


def test_nested_rule_becomes_editable_groups_and_flat_ones_stay_rows():
    draft = draft_from_definition(EXAMPLE, CATALOG)
    kinds = [(r["raw"] is not None, r["group"], len(r["rows"])) for r in draft["rules"]]
    assert kinds == [(False, "all", 2), (False, "any", 1), (False, "all", 1),
                     (False, "not", 1), (False, "all", 1), (False, "any", 2)]
    assert draft["rules"][4]["rows"][0]["extra"] == [
        {"field": "adverse_events.immune_related", "op": "=", "value": True}]
    group, row = draft["rules"][5]["rows"]
    assert is_group(group) and not is_group(row)
    assert group["group"] == "all" and [r["field"] for r in group["rows"]] == [
        "sex", "age_at_index"]


def test_an_event_criterion_without_filters_keeps_its_rule_raw():
    data = copy.deepcopy(EXAMPLE)
    data["inclusion_rules"][5]["criteria"]["any"][0]["all"].append(
        {"table": "tumor_assessments", "where": []})
    draft = draft_from_definition(data, CATALOG)
    assert draft["rules"][5]["raw"] == data["inclusion_rules"][5]["criteria"]
    assert definition_from_draft(draft, CATALOG).definition.content_hash() == _hash(data)


def test_incomplete_row_is_reported_on_its_row_and_gives_no_definition():
    draft = new_draft("ana")
    rule = empty_rule([])
    draft["rules"].append(rule)
    result = definition_from_draft(draft, CATALOG)
    assert not result.ok
    assert result.row_problems == {rule["rows"][0]["key"]: ["choose a field"]}


def test_importer_problems_land_on_the_row_they_concern():
    draft = draft_from_definition(EXAMPLE, CATALOG)
    row = draft["rules"][0]["rows"][1]
    row["op"] = "starts_with"  # not an operator of a categorical field
    bad_rule = draft["rules"][2]
    bad_rule["name"] = draft["rules"][0]["name"]  # duplicate rule names
    result = definition_from_draft(draft, CATALOG)
    assert not result.ok
    assert any("does not apply" in text for text in result.row_problems[row["key"]])
    assert result.problem_count() >= 2


def test_empty_rule_needs_a_criterion():
    draft = new_draft()
    rule = empty_rule([])
    rule["rows"] = []
    draft["rules"].append(rule)
    result = definition_from_draft(draft, CATALOG)
    assert result.rule_problems == {rule["key"]: ["add at least one criterion"]}


def test_new_rule_names_do_not_collide():
    assert empty_rule(["Rule 1", "Rule 2"])["name"] == "Rule 3"
    assert empty_rule(["Rule 2"])["name"] == "Rule 3"


def test_share_token_round_trips_and_garbage_is_refused():
    definition = Definition.model_validate(EXAMPLE)
    data, problem = read_share_token(share_token(definition))
    assert problem is None
    assert _hash(data) == definition.content_hash()
    for bad in ("", "not base64 !", "%%%", share_token(definition)[:-7] + "!!"):
        assert read_share_token(bad)[1] is not None


@pytest.mark.parametrize("window", [None, [None, 0], [0, None], [-90, 0], [0, 180], [-30, 30],
                                    [-365, -30], [None, None]])
def test_window_widgets_read_back_what_they_show(window):
    kind, days, start, end = widgets.window_choice(window)
    shown = {ids.CRITERION_WINDOW: kind, ids.CRITERION_WINDOW_DAYS: days,
             ids.CRITERION_WINDOW_START: start, ids.CRITERION_WINDOW_END: end}
    expected = None if window == [None, None] else window
    assert widgets.read_window(shown) == (expected, None)


def test_field_with_default_window_keeps_default_and_any_time_apart():
    assert widgets.window_choice(None, (-90, 0))[0] == "default"
    assert widgets.read_window({ids.CRITERION_WINDOW: "default"}, True) == (None, None)
    assert widgets.read_window({ids.CRITERION_WINDOW: "any"}, True) == ([None, None], None)


def test_value_readers_by_field_type():
    ecog, sex = CATALOG.get("ecog"), CATALOG.get("sex")
    assert widgets.read_value(ecog, "between", {ids.CRITERION_MIN: 0, ids.CRITERION_MAX: 1}) \
        == ([0, 1], None)
    assert widgets.read_value(ecog, "between", {ids.CRITERION_MIN: 3, ids.CRITERION_MAX: 1})[1]
    assert widgets.read_value(ecog, "in", {ids.CRITERION_TEXT: "0, 1"}) == ([0, 1], None)
    assert widgets.read_value(ecog, "in", {ids.CRITERION_TEXT: "0, x"})[1]
    assert widgets.read_value(sex, "in", {ids.CRITERION_VALUES: ["F"]}) == (["F"], None)
    assert widgets.read_value(sex, "in", {ids.CRITERION_VALUES: []})[1]
    assert widgets.read_value(sex, "is_null", {}) == (None, None)
    icd = CATALOG.get("icd10")
    assert widgets.read_value(icd, "starts_with", {ids.CRITERION_TEXT: "C34"}) == ("C34", None)
    index_date = CATALOG.get("index_date")
    assert widgets.read_value(index_date, "between", {
        ids.CRITERION_DATES + ":start": "2020-01-01T00:00:00",
        ids.CRITERION_DATES + ":end": "2021-01-01"}) == (["2020-01-01", "2021-01-01"], None)


def test_occurrence_keys_round_trip():
    for occurrence in ({"min": 1, "max": None}, {"min": 0, "max": 0}, {"min": 2, "max": 5}):
        assert widgets.read_occurrence(widgets.occurrence_key(occurrence)) == occurrence
    assert widgets.occurrence_label("0-0") == "has none"


def test_every_catalog_field_has_a_default_operator_and_a_value_widget():
    for f in CATALOG.fields.values():
        op = widgets.default_operator(f)
        assert op in f.operators
        widgets.value_widgets(f, op, None, "r1", "c1")
    options = widgets.field_options(CATALOG)
    assert {o["value"] for o in options if not o.get("disabled")} == set(CATALOG.fields)


def _entry(kind: str, prop: str, value, rule: str, row: str | None = None,
           spec: str | None = None) -> dict:
    cid = {"type": kind, "rule": rule}
    if row is not None:
        cid["row"] = row
    if spec is not None:
        cid["spec"] = spec
    return {"id": cid, "property": prop, "value": value}


def test_current_draft_reads_widgets_and_ignores_values_drawn_for_another_field():
    draft = draft_from_definition(EXAMPLE, CATALOG)
    rule, row = draft["rules"][2]["key"], draft["rules"][2]["rows"][0]["key"]
    stale = widgets.spec_of("ecog", "between")
    entries = [
        [_entry(ids.RULE_NAME, "value", "Fit", rule)],
        [_entry(ids.CRITERION_FIELD, "value", "age_at_index", rule, row)],
        [_entry(ids.CRITERION_OPERATOR, "value", "between", rule, row)],
        [_entry(ids.CRITERION_MIN, "value", 0, rule, row, stale),
         _entry(ids.CRITERION_MAX, "value", 1, rule, row, stale)],
    ]
    current, problems = current_draft(copy.deepcopy(draft), collect(entries), {}, None, CATALOG)
    assert current["rules"][2]["name"] == "Fit"
    assert problems == {row: ["choose a value"]}
    entries.append([_entry(ids.CRITERION_MIN, "value", 18, rule, row,
                           widgets.spec_of("age_at_index", "between")),
                    _entry(ids.CRITERION_MAX, "value", 80, rule, row,
                           widgets.spec_of("age_at_index", "between"))])
    current, problems = current_draft(copy.deepcopy(draft), collect(entries), {}, None, CATALOG)
    assert problems == {}
    assert current["rules"][2]["rows"][0]["value"] == [18, 80]


def test_current_index_keeps_only_the_kinds_own_settings():
    index = current_index({"kind": "first_drug_class", "regimens": ["FOLFOX"]},
                          {"kind": "diagnosis", "drug_classes": ["anti-PD-1"],
                           "cancer_types": ["NSCLC"], "date_from": "2020-01-01T00:00:00"})
    assert index == {"kind": "diagnosis", "cancer_types": ["NSCLC"], "date_from": "2020-01-01"}
    row = empty_row()
    assert row["field"] is None and row["key"].startswith("c")


def test_a_new_catalog_field_appears_in_the_builder_without_ui_code():
    from dataclasses import replace

    from queries.cohort.catalog import Catalog

    new = replace(CATALOG.get("treatments.regimen"), key="treatments.new_thing",
                  label="Brand-new field", values=(("a", 3), ("b", 1)))
    catalog = Catalog({**CATALOG.fields, new.key: new})
    labels = {o["value"]: o["label"] for o in widgets.field_options(catalog)}
    assert labels[new.key] == "Treatments › Brand-new field"
    parts = widgets.value_widgets(new, widgets.default_operator(new), None, "r1", "c1")
    assert [o["label"] for o in parts[0].options] == ["a (3)", "b (1)"]


def test_partners_see_category_counts_under_disclosure_control():
    from components.builder.common import count_text_for

    clinician, partner = count_text_for("clinician"), count_text_for("partner")
    assert (clinician(7), clinician(1234)) == ("7", "1,234")
    assert partner(7) == "< 10"
    assert partner(1234) == "1,235"
    assert partner(None) == clinician(None) == ""
