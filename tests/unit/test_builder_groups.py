"""Nested all / any / none-of groups in the builder's draft: loading, editing, writing back."""

from __future__ import annotations

import copy
import random

import pytest

from components import ids
from components.builder.collect import collect, current_draft
from components.builder.page import apply_action
from components.builder.state import (
    can_nest,
    definition_from_draft,
    draft_from_definition,
    is_group,
    new_draft,
    walk,
)
from queries.cohort.catalog import base_catalog
from queries.cohort.importing import import_definition
from queries.cohort.model import MAX_GROUP_DEPTH, Definition

CATALOG = base_catalog()
WOMEN = {"field": "sex", "op": "in", "value": ["F"]}
YOUNG = {"field": "age_at_index", "op": "<", "value": 60}
NEVER = {"field": "smoking_status", "op": "in", "value": ["never"]}
TPS = {"table": "biomarkers", "where": [{"field": "biomarker:PD-L1 TPS", "op": ">=", "value": 50}],
       "window": {"start_days": -90, "end_days": 0}, "occurrence": {"min": 1, "max": None}}
CTLA4 = {"table": "treatments", "where": [{"field": "treatments.drug_class", "op": "in",
                                           "value": ["anti-CTLA-4"]}],
         "window": {"start_days": None, "end_days": -1}, "occurrence": {"min": 1, "max": None}}


def definition(*criteria: dict) -> dict:
    return {"schema_version": 1, "metadata": {"name": "Nested"},
            "index_event": {"kind": "first_checkpoint_inhibitor"},
            "inclusion_rules": [{"name": f"Rule {i}", "criteria": c}
                                for i, c in enumerate(criteria, start=1)]}


def round_trip(data: dict) -> Definition:
    result = definition_from_draft(draft_from_definition(data, CATALOG), CATALOG)
    assert result.ok, (result.row_problems, result.rule_problems, result.group_problems,
                       result.other_problems)
    return result.definition


@pytest.mark.parametrize("criteria", [
    {"any": [{"all": [WOMEN, YOUNG]}, NEVER]},
    {"not": {"all": [WOMEN, YOUNG]}},                    # not all of: one group inside "not"
    {"not": {"all": [{"any": [WOMEN, NEVER]}]}},
    {"not": {"any": [{"all": [WOMEN, TPS]}, CTLA4]}},
    {"not": {"not": WOMEN}},
    {"all": [{"all": [{"any": [WOMEN, {"not": YOUNG}]}]}, TPS]},
    {"any": [{"not": {"any": [TPS, CTLA4]}}, {"all": [WOMEN]}]},
], ids=range(7))
def test_nested_definition_round_trips_through_the_draft_unchanged(criteria):
    data = definition(criteria, WOMEN)
    assert round_trip(data).content() == Definition.model_validate(data).content()


def random_node(rng: random.Random, depth: int) -> dict:
    """A random criteria tree within the importer's depth limit (the node at ``depth``)."""
    leaves = (WOMEN, YOUNG, NEVER, TPS, CTLA4)
    if depth + 2 > MAX_GROUP_DEPTH or rng.random() < 0.3:
        return copy.deepcopy(rng.choice(leaves))
    kind = rng.choice(("all", "any", "not", "not-any", "not-all"))
    children = [random_node(rng, depth + (2 if kind.startswith("not-") else 1))
                for _ in range(rng.randint(1, 3))]
    if kind == "not":
        return {"not": children[0]}
    if kind.startswith("not-"):
        return {"not": {kind[4:]: children}}
    return {kind: children}


def test_random_nested_definitions_round_trip_with_their_hash():
    rng = random.Random(17)
    for _ in range(200):
        data = definition(*(random_node(rng, 1) for _ in range(rng.randint(1, 3))))
        assert import_definition(data, CATALOG).ok
        assert round_trip(data).content_hash() == Definition.model_validate(data).content_hash()


def rule_with(criteria: dict) -> tuple[dict, dict]:
    draft = draft_from_definition(definition(criteria), CATALOG)
    return draft, draft["rules"][0]


def criteria_of(draft: dict) -> dict:
    """The first rule's criteria as the builder writes them."""
    result = definition_from_draft(draft, CATALOG)
    assert result.ok, (result.row_problems, result.group_problems, result.rule_problems)
    return result.definition.content()["inclusion_rules"][0]["criteria"]


def canonical(criteria: dict) -> dict:
    return Definition.model_validate(definition(criteria)).content()["inclusion_rules"][0][
        "criteria"]


def filled(row: dict, leaf: dict) -> None:
    row.update(field=leaf["field"], op=leaf["op"], value=leaf["value"])


def test_add_a_sub_group_fill_it_change_its_kind_and_remove_it():
    draft, rule = rule_with(WOMEN)
    key = rule["key"]
    apply_action(draft, ids.rule_action(key, "add-group"))
    group = draft["rules"][0]["rows"][-1]
    assert is_group(group) and group["group"] == "all" and len(group["rows"]) == 1
    filled(group["rows"][0], YOUNG)
    apply_action(draft, ids.group_action(key, group["key"], "add-row"))
    filled(group["rows"][1], NEVER)
    # A rule of one criterion becomes a group of two: the criterion and the sub-group.
    assert criteria_of(draft) == canonical({"all": [WOMEN, {"all": [YOUNG, NEVER]}]})

    # The kind comes from the group's select, read like any widget.
    values = collect([[{"id": ids.group_id(ids.GROUP_KIND, key, group["key"]),
                        "property": "value", "value": "not"}]])
    current, problems = current_draft(draft, values, {}, None, CATALOG)
    assert problems == {}
    assert criteria_of(current) == canonical({"all": [WOMEN, {"not": {"any": [YOUNG, NEVER]}}]})

    apply_action(current, ids.group_action(key, group["key"], "remove"))
    # Back to one criterion: written as it was loaded, without a group.
    assert criteria_of(current) == canonical(WOMEN)


def test_rows_and_groups_are_removed_where_they_are_nested():
    draft, rule = rule_with({"any": [{"all": [WOMEN, {"not": {"any": [YOUNG, NEVER]}}]}, TPS]})
    outer = rule["rows"][0]
    inner = outer["rows"][1]
    young = inner["rows"][0]
    apply_action(draft, ids.criterion_id(ids.CRITERION_REMOVE, rule["key"], young["key"]))
    assert criteria_of(draft) == canonical({"any": [{"all": [WOMEN, {"not": {"any": [NEVER]}}]},
                                                    TPS]})
    apply_action(draft, ids.group_action(rule["key"], inner["key"], "add-group"))
    assert is_group(inner["rows"][-1])


def test_an_empty_sub_group_is_a_problem_on_that_group():
    draft, rule = rule_with({"all": [WOMEN, {"any": [YOUNG]}]})
    group = rule["rows"][1]
    apply_action(draft, ids.criterion_id(ids.CRITERION_REMOVE, rule["key"],
                                         group["rows"][0]["key"]))
    result = definition_from_draft(draft, CATALOG)
    assert not result.ok
    assert result.group_problems == {group["key"]: ["add at least one criterion"]}


def test_importer_problems_in_a_nested_row_land_on_that_row():
    draft, rule = rule_with({"any": [{"all": [WOMEN, YOUNG]}, NEVER]})
    row = rule["rows"][0]["rows"][1]
    row["value"] = [10, 20]  # a list where "<" takes one number
    result = definition_from_draft(draft, CATALOG)
    assert not result.ok and list(result.row_problems) == [row["key"]]


def depth_of_leaves(node: dict, depth: int = 1) -> int:
    for kind in ("all", "any"):
        if kind in node:
            return max(depth_of_leaves(child, depth + 1) for child in node[kind])
    if "not" in node:
        return depth_of_leaves(node["not"], depth + 1)
    return depth


@pytest.mark.parametrize("kind", ["all", "any", "not"])
def test_sub_groups_nest_as_deep_as_the_importer_allows_and_no_deeper(kind):
    draft = new_draft()
    apply_action(draft, ids.BUILDER_ADD_RULE)
    rule = draft["rules"][0]
    filled(rule["rows"][0], WOMEN)
    node, levels = rule, 0
    while True:
        before = len(node["rows"])
        apply_action(draft, ids.rule_action(rule["key"], "add-group") if node is rule
                     else ids.group_action(rule["key"], node["key"], "add-group"))
        if len(node["rows"]) == before:
            break  # refused: one more level would pass the importer's limit
        node = node["rows"][-1]
        node["group"] = kind
        filled(node["rows"][0], YOUNG)
        # Two items, so "none of" is written as two levels (not, any): the deepest case.
        node["rows"].append(copy.deepcopy(node["rows"][0]) | {"key": node["key"] + "x"})
        levels += 1
    result = definition_from_draft(draft, CATALOG)
    assert result.ok, (result.other_problems, result.group_problems, result.row_problems)
    criteria = result.definition.content()["inclusion_rules"][0]["criteria"]
    assert depth_of_leaves(criteria) <= MAX_GROUP_DEPTH
    assert levels == {"all": MAX_GROUP_DEPTH - 2, "any": MAX_GROUP_DEPTH - 2, "not": 3}[kind]
    # One level deeper, forced past the buttons, is refused by the importer, on the page.
    extra = {"key": "gdeep", "group": "all", "shape": "group",
             "rows": [copy.deepcopy(node["rows"][0]) | {"key": "cdeep"}]}
    node["rows"].append({"key": "gdeeper", "group": "all", "shape": "group", "rows": [extra]})
    deeper = definition_from_draft(draft, CATALOG)
    assert not deeper.ok
    assert any("nested more than" in text for texts in
               (*deeper.row_problems.values(), *deeper.group_problems.values())
               for text in texts)


def test_can_nest_follows_the_json_depth():
    assert can_nest("all", MAX_GROUP_DEPTH - 2)
    assert not can_nest("all", MAX_GROUP_DEPTH - 1)
    assert not can_nest("not", MAX_GROUP_DEPTH - 2)


def test_walk_visits_every_row_and_group_once():
    _draft, rule = rule_with({"any": [{"all": [WOMEN, {"not": YOUNG}]}, NEVER]})
    seen = [item.get("field") or item["group"] for _parent, item in walk(rule)]
    assert seen == ["all", "sex", "not", "age_at_index", "smoking_status"]


def test_nested_groups_are_drawn_with_their_kind_and_buttons():
    from components.builder.render import render_rules
    from components.builder.widgets import plain_count

    draft, rule = rule_with({"any": [{"not": {"any": [WOMEN, {"all": [YOUNG]}]}}, NEVER]})
    page = str(render_rules(draft, CATALOG, plain_count))
    outer, inner = rule["rows"][0], rule["rows"][0]["rows"][1]
    for group in (outer, inner):
        assert str(ids.group_id(ids.GROUP_KIND, rule["key"], group["key"])) in page
        assert str(ids.group_action(rule["key"], group["key"], "remove")) in page
    assert page.count("builder-group-not") == 1 and page.count("builder-group-all") == 1


def test_a_draft_of_the_wrong_shape_from_the_browser_is_refused():
    from components.builder.state import well_formed

    draft, _rule = rule_with({"any": [{"all": [WOMEN, {"not": YOUNG}]}, NEVER]})
    assert well_formed(draft) and well_formed(new_draft())
    for bad in ([], {"rules": "x"}, {"rules": [{"rows": []}]},
                {"rules": [{"key": "r1", "rows": [{"key": "g1", "group": "all", "rows": 5}]}]},
                {"rules": [{"key": "r1", "rows": ["c1"]}]}):
        assert not well_formed(bad), bad
    deep: dict = {"key": "c", "field": None}
    for level in range(MAX_GROUP_DEPTH + 1):
        deep = {"key": f"g{level}", "group": "all", "rows": [deep]}
    assert not well_formed({"rules": [{"key": "r", "rows": [deep]}]})


def test_a_none_of_group_reads_none_of_in_plain_language():
    from queries.cohort.describe import rule_text
    from queries.cohort.model import AllGroup

    node = AllGroup.model_validate({"all": [{"any": [NEVER, {"not": {"any": [WOMEN, YOUNG]}}]}]})
    text = rule_text(node.all[0], CATALOG, "en")
    assert "none of (women; " in text and "not (" not in text
    assert "ei mikään näistä (naiset; " in rule_text(node.all[0], CATALOG, "fi")
    single = AllGroup.model_validate({"all": [{"not": {"any": [WOMEN]}}]}).all[0]
    assert rule_text(single, CATALOG, "en").startswith("not (")


def test_nestable_follows_the_kinds_the_page_shows_not_the_drawn_ones():
    from components.builder.state import nestable

    # groups at JSON depths 2..6 ("all" inside "any" ...); the innermost may take one more
    inner: dict = {"any": [WOMEN, YOUNG]}
    for kind in ("all", "any", "all", "any", "all"):  # the outermost is the rule's own kind
        inner = {kind: [NEVER, inner]}
    draft, rule = rule_with(inner)
    keys = [item["key"] for _parent, item in walk(rule) if is_group(item)]
    assert len(keys) == 5
    assert nestable(draft, {})[keys[-1]]
    # the innermost turned "none of" (two JSON levels): no room for a sub-group
    assert not nestable(draft, {keys[-1]: "not"})[keys[-1]]
    # an outer group turned "none of" pushes everything inside one level deeper
    pushed = nestable(draft, {keys[1]: "not"})
    assert not pushed[keys[-1]] and pushed[keys[-2]] and pushed[rule["key"]]
    # an unknown kind from the browser counts as "all"
    assert nestable(draft, {keys[-1]: "bogus"})[keys[-1]] == can_nest("all", 6)
