"""Cohort definition model and import: paired valid/invalid fixtures, paths and hints,
labels, migration, hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from queries.cohort.catalog import base_catalog
from queries.cohort.importing import import_definition, load_definition
from queries.cohort.model import MAX_GROUP_DEPTH, Definition, DefinitionError

COHORTS = Path(__file__).resolve().parents[1] / "cohorts"
VALID = sorted(p for p in COHORTS.glob("*.json") if not p.name.startswith("invalid_"))
INVALID = sorted(COHORTS.glob("invalid_*.json"))
BASE = "nsclc_stage4_pdl1_high_ecog01.json"

# invalid fixture -> (JSON path, words of the message) of one expected problem
EXPECTED = {
    "invalid_unknown_field.json": (
        "inclusion_rules[2].criteria.all[0].field", 'unknown field "pdl1"; did you mean "PD-L1 TPS"?'),
    "invalid_operator.json": ("inclusion_rules[1].criteria.all[1].op", 'operator ">=" does not apply'),
    "invalid_value_type.json": ("inclusion_rules[0].criteria.value[0]", "is not a number"),
    "invalid_window.json": ("inclusion_rules[2].criteria.all[0].window", "start_days"),
    "invalid_missing_names.json": ("inclusion_rules[3].name", "missing required key 'name'"),
    "invalid_unknown_key.json": ("inclusion_rules[4].critera", "unknown key 'critera'"),
    "invalid_newer_version.json": ("schema_version", "newer than this tool supports"),
    "invalid_deep_nesting.json": ("inclusion_rules[0].criteria.not.not", "nested more than"),
    "invalid_table.json": ("inclusion_rules[4].criteria.not.table", 'did you mean "treatments"?'),
    "invalid_injection_field.json": ("inclusion_rules[0].criteria.field", "unknown field"),
    "invalid_duplicate_rule_name.json": ("inclusion_rules[5].name", "rule names must be unique"),
}


def _base() -> dict:
    return json.loads((COHORTS / BASE).read_text())


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_valid_fixture_imports_without_errors(path):
    result = import_definition(path.read_text())
    assert result.ok, [str(p) for p in result.problems]
    assert result.errors == []


def test_every_invalid_fixture_has_an_expectation():
    assert {p.name for p in INVALID} == set(EXPECTED)


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_fixture_reports_its_problem_with_json_path(path):
    result = import_definition(path.read_text())
    assert not result.ok
    where, words = EXPECTED[path.name]
    texts = [str(p) for p in result.errors]
    assert any(t.startswith(where) and words in t for t in texts), texts


def test_invalid_fixture_differs_from_its_valid_pair_only_where_reported():
    base = _base()
    broken = json.loads((COHORTS / "invalid_window.json").read_text())
    assert broken["metadata"] == base["metadata"]
    assert broken["inclusion_rules"][0] == base["inclusion_rules"][0]


def test_misspelled_key_gets_a_suggestion():
    result = import_definition((COHORTS / "invalid_unknown_key.json").read_text())
    problem = next(p for p in result.errors if p.path == "inclusion_rules[4].critera")
    assert problem.hint == 'did you mean "criteria"?'


def test_unknown_field_message_matches_the_issue_wording():
    result = import_definition((COHORTS / "invalid_unknown_field.json").read_text())
    assert str(result.errors[0]).startswith(
        'inclusion_rules[2].criteria.all[0].field: unknown field "pdl1"; '
        'did you mean "PD-L1 TPS"?')


def test_every_problem_is_listed_not_only_the_first():
    data = _base()
    data["inclusion_rules"][0]["criteria"]["value"] = ["old", 80]
    data["inclusion_rules"][1]["criteria"]["all"][0]["field"] = "cancr_type"
    data["inclusion_rules"][3]["criteria"]["window"] = {"start_days": 5, "end_days": 1}
    data["metadata"]["colour"] = "blue"
    result = import_definition(data)
    paths = {p.path for p in result.errors}
    assert {"inclusion_rules[0].criteria.value[0]", "inclusion_rules[1].criteria.all[0].field",
            "inclusion_rules[3].criteria.window", "metadata.colour"} <= paths
    hint = next(p for p in result.errors if p.path.endswith("all[0].field")).hint
    assert hint == 'did you mean "Cancer type"?'


def test_labels_are_accepted_and_replaced_by_stable_keys():
    data = _base()
    data["inclusion_rules"][1]["criteria"]["all"][0]["field"] = "Cancer type"
    data["inclusion_rules"][2]["criteria"]["all"][0]["where"][0]["field"] = "PD-L1 TPS"
    data["inclusion_rules"][4]["criteria"]["not"]["where"][0]["field"] = "drug_class"
    definition = load_definition(data)
    dumped = definition.model_dump(mode="json")
    assert dumped["inclusion_rules"][1]["criteria"]["all"][0]["field"] == "cancer_type"
    assert dumped["inclusion_rules"][2]["criteria"]["all"][0]["where"][0]["field"] == \
        "biomarker:PD-L1 TPS"
    assert dumped["inclusion_rules"][4]["criteria"]["not"]["where"][0]["field"] == \
        "treatments.drug_class"
    assert definition.content_hash() == load_definition(_base()).content_hash()


def test_plain_dicts_round_trip_through_the_model():
    definition = load_definition(_base())
    dumped = definition.model_dump(mode="json")
    assert "not" in dumped["inclusion_rules"][4]["criteria"]
    again = Definition.model_validate(dumped)
    assert again == definition
    assert json.loads(json.dumps(dumped)) == dumped


def test_occurrence_defaults_are_normalized():
    data = json.loads((COHORTS / "no_anti_ctla4_before_index.json").read_text())
    occurrence = load_definition(data).inclusion_rules[0].criteria.occurrence
    assert (occurrence.min, occurrence.max) == (0, 0)
    data["inclusion_rules"][0]["criteria"].pop("occurrence")
    occurrence = load_definition(data).inclusion_rules[0].criteria.occurrence
    assert (occurrence.min, occurrence.max) == (1, None)


def test_integral_floats_hash_like_integers():
    data = _base()
    data["inclusion_rules"][0]["criteria"]["value"] = [18.0, 80.0]
    assert load_definition(data).content_hash() == load_definition(_base()).content_hash()


def test_switching_a_rule_off_keeps_it_but_changes_the_cohort_key():
    data = _base()
    on = load_definition(data)
    data["inclusion_rules"][0]["enabled"] = False
    off = load_definition(data)
    assert len(off.inclusion_rules) == len(on.inclusion_rules)
    assert len(off.enabled_rules()) == len(on.enabled_rules()) - 1
    assert off.logic_hash() != on.logic_hash()


def test_renaming_does_not_change_the_cohort_key_but_changes_the_content_hash():
    data = _base()
    before = load_definition(data)
    data["metadata"]["name"] = "Renamed"
    data["inclusion_rules"][0]["name"] = "Renamed rule"
    after = load_definition(data)
    assert after.logic_hash() == before.logic_hash()
    assert after.content_hash() != before.content_hash()


# ------------------------------------------------------------------------ migration


def test_schema_version_0_is_migrated():
    result = import_definition((COHORTS / "legacy_v0_melanoma.json").read_text())
    assert result.ok and result.migrated_from == 0
    d = result.definition
    assert d.schema_version == 1
    assert d.metadata.name.startswith("Melanoma")
    assert d.index_event.kind == "first_checkpoint_inhibitor"
    assert [r.name for r in d.inclusion_rules] == ["Melanoma", "Adults", "No prior anti-CTLA-4",
                                                   "BRAF tested"]
    assert [r.enabled for r in d.inclusion_rules] == [True, True, True, False]
    ctla4 = d.inclusion_rules[2].criteria.all[0]
    assert ctla4.occurrence.max == 0 and ctla4.window.end_days == -1
    assert ctla4.window.start_days is None
    braf = d.inclusion_rules[3].criteria.all[0]
    assert (braf.window.start_days, braf.window.end_days) == (-365, 0)
    assert d.inclusion_rules[1].criteria.all[0].op == ">="


@pytest.mark.parametrize("version, words", [
    (2, "newer than this tool supports"), ("one", "unknown schema version"),
    (None, "missing schema version"),
])
def test_unsupported_schema_versions_are_refused_clearly(version, words):
    data = _base()
    if version is None:
        del data["schema_version"]
    else:
        data["schema_version"] = version
    result = import_definition(data)
    assert not result.ok
    assert result.errors[0].path == "schema_version" and words in result.errors[0].message


# ---------------------------------------------------------------------- hostile input

HOSTILE = ["O'Brien", 'say "hi"', "x'; DROP TABLE patients; --", "SELECT * FROM patients",
           "1 OR 1=1", "\\'", "%_*", "line\nbreak", "ünïcødé ✓"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_names_and_values_are_kept_literally(text):
    data = _base()
    data["metadata"]["name"] = text
    data["inclusion_rules"][0]["name"] = text
    data["inclusion_rules"][1]["criteria"]["all"][0]["value"] = [text]
    result = import_definition(data)
    assert result.ok, [str(p) for p in result.errors]
    d = result.definition
    assert d.metadata.name == text.strip() and d.inclusion_rules[0].name == text.strip()
    assert d.inclusion_rules[1].criteria.all[0].value == [text]


def test_too_long_strings_are_rejected_with_their_path():
    data = _base()
    data["metadata"]["name"] = "x" * 201
    data["inclusion_rules"][1]["criteria"]["all"][0]["value"] = ["y" * 501]
    data["metadata"]["description"] = "z" * 4001
    problems = {p.path: p.message for p in import_definition(data).errors}
    assert "at most 200 characters" in problems["metadata.name"]
    assert "at most 4000 characters" in problems["metadata.description"]
    assert "at most 500 characters" in problems["inclusion_rules[1].criteria.all[0].value[0]"]


def test_deep_group_nesting_is_rejected():
    node: dict = {"field": "sex", "op": "in", "value": ["F"]}
    for _ in range(MAX_GROUP_DEPTH + 2):
        node = {"all": [node]}
    data = _base()
    data["inclusion_rules"][0]["criteria"] = node
    result = import_definition(data)
    assert not result.ok
    assert any("nested more than" in p.message for p in result.errors)


def test_absurd_json_nesting_is_an_error_not_a_crash():
    text = '{"schema_version": 1, "metadata": ' + "[" * 100_000 + "]" * 100_000 + "}"
    result = import_definition(text)
    assert not result.ok and result.errors


@pytest.mark.parametrize("text, words", [
    ("not json", "not valid JSON"), ("[1, 2]", "must be a JSON object"),
    ('{"schema_version": 1, "metadata": {"name": "n"}, "inclusion_rules": [{"name": "r", '
     '"criteria": {"field": "age_at_index", "op": ">=", "value": NaN}}]}', "value"),
])
def test_malformed_documents_are_reported(text, words):
    result = import_definition(text)
    assert not result.ok
    assert any(words in str(p) for p in result.errors)


def test_criterion_without_a_kind_is_explained():
    data = _base()
    data["inclusion_rules"][0]["criteria"] = {"feild": "sex", "op": "in", "value": ["F"]}
    result = import_definition(data)
    assert any(p.path == "inclusion_rules[0].criteria" and "'field'" in p.message
               for p in result.errors)


def test_operator_value_shape_is_checked():
    data = _base()
    data["inclusion_rules"][0]["criteria"] = {"field": "age_at_index", "op": "between",
                                              "value": [18]}
    result = import_definition(data)
    assert any("two values" in p.message for p in result.errors)


def test_wrong_case_and_out_of_domain_values_are_errors_with_suggestions():
    """#17: "iv" for "IV" or "Female" for "F" used to import with a warning and silently match
    nobody; a value outside a fixed domain is an error, with "did you mean"."""
    data = _base()
    data["inclusion_rules"][1]["criteria"]["all"][1]["value"] = ["iv"]
    data["inclusion_rules"].append({"name": "Women", "criteria": {
        "field": "sex", "op": "in", "value": ["Female"]}})
    data["inclusion_rules"].append({"name": "Stage", "criteria": {
        "field": "stage", "op": "=", "value": "Stage 4"}})
    result = import_definition(data, base_catalog())
    assert not result.ok
    errors = {p.path: p for p in result.errors}
    wrong_case = next(p for path, p in errors.items() if path.endswith("all[1].value[0]"))
    assert wrong_case.hint == 'did you mean "IV"?'
    assert any('"Female" is not a value of Sex' in p.message for p in result.errors)
    stage = next(p for p in result.errors if "Stage 4" in p.message)
    assert "IV" in stage.hint


def test_load_definition_raises_with_every_problem():
    with pytest.raises(DefinitionError) as info:
        load_definition((COHORTS / "invalid_missing_names.json").read_text())
    assert len(info.value.problems) == 2


def test_unknown_biomarker_is_a_warning_and_matched_literally():
    data = _base()
    data["inclusion_rules"][2]["criteria"]["all"][0]["where"][0] = {
        "field": "biomarker:PDL1", "op": "in", "value": ["positive"]}
    result = import_definition(data)
    assert result.ok
    warning = next(p for p in result.warnings if p.path.endswith("where[0].field"))
    assert warning.hint == 'did you mean "PD-L1 TPS"?'


def test_schema_version_true_is_not_version_one():
    data = _base()
    data["schema_version"] = True
    assert not import_definition(data).ok


def test_a_model_instance_can_be_imported_again():
    definition = load_definition(_base())
    assert load_definition(definition).content_hash() == definition.content_hash()
