"""Fuzz: hostile definitions through import and materialization never raise anything but the
documented ``DefinitionError`` (every problem listed with its JSON path).

Definitions come from ``definition_fuzz``: the example files and random valid definitions,
changed in one to four places (numbers far outside any domain, lists or objects as rule names,
keys removed and added, ...). Every one that imports is materialized and its attrition
counted on the sample snapshot.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queries.cohort.importing import import_definition, load_definition
from queries.cohort.model import DefinitionError
from queries.cohort.service import CohortService

try:
    from definition_fuzz import hostile_definitions
    from test_compiler_property import strategies
except ImportError:  # tests/unit imported as a package
    from tests.unit.definition_fuzz import hostile_definitions
    from tests.unit.test_compiler_property import strategies

FUZZ_EXAMPLES = 1000
_outcomes: dict[str, int] = {"refused": 0, "materialized": 0}


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_hostile_definitions_import_and_materialize_without_any_other_exception(sample, data):
    service = CohortService(sample.db, sample.catalog)
    document = data.draw(hostile_definitions(strategies(sample.catalog)))
    result = import_definition(document, sample.catalog)  # never raises: problems instead
    assert result.ok or result.errors
    assert all(isinstance(p.path, str) and p.message for p in result.problems)
    try:
        definition = load_definition(document, sample.catalog)
    except DefinitionError as exc:
        assert exc.problems
        _outcomes["refused"] += 1
        return
    cohort = service.cohort(definition)
    assert cohort.size >= 0
    attrition = service.attrition(definition)
    assert attrition is not None
    _outcomes["materialized"] += 1


def test_the_fuzz_both_refused_and_materialized_many_definitions():
    """Runs after the fuzz (same module, file order): it must have exercised both outcomes."""
    if sum(_outcomes.values()) == 0:
        return  # the fuzz was deselected
    assert sum(_outcomes.values()) >= FUZZ_EXAMPLES
    assert _outcomes["refused"] >= 200 and _outcomes["materialized"] >= 200, _outcomes


def test_rule_names_of_the_wrong_type_are_problems_with_their_json_path(sample):
    for name in (["a", "b"], {"a": 1}, 5, None):
        document = {"schema_version": 1, "metadata": {"name": "x"}, "inclusion_rules": [
            {"name": name, "criteria": {"field": "sex", "op": "in", "value": ["F"]}},
            {"name": name, "criteria": {"field": "sex", "op": "in", "value": ["M"]}}]}
        result = import_definition(document, sample.catalog)
        assert not result.ok
        assert {p.path for p in result.errors} >= {"inclusion_rules[0].name",
                                                   "inclusion_rules[1].name"}


def test_numbers_outside_a_fields_domain_are_refused_with_the_range(sample):
    def problems(criteria: dict) -> list[str]:
        document = {"schema_version": 1, "metadata": {"name": "x"},
                    "inclusion_rules": [{"name": "r", "criteria": criteria}]}
        return [str(p) for p in import_definition(document, sample.catalog).errors]

    huge = problems({"field": "age_at_index", "op": ">=", "value": 10**4000})
    assert huge == ['inclusion_rules[0].criteria.value: "Age at index" must be between 0 and '
                    '150 years, not a number of about 10^4000']
    assert "between 0 and 5" in problems({"field": "ecog", "op": "in", "value": [1, 9]})[0]
    tps = problems({"table": "biomarkers", "occurrence": {"min": 1}, "where": [
        {"field": "biomarker:PD-L1 TPS", "op": ">=", "value": 150}]})
    assert tps and "between 0 and 100" in tps[0] and "where[0].value" in tps[0]
    grade = problems({"table": "adverse_events", "where": [
        {"field": "adverse_events.grade", "op": "between", "value": [3, 2**63]}]})
    assert grade and "between 1 and 5" in grade[0]
    assert problems({"field": "age_at_index", "op": "between", "value": [18, 150]}) == []
