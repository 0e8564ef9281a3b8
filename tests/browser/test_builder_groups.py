"""Nested all / any / none-of groups in the builder, in headless Chromium: built by clicks,
counted as the same JSON imported is counted, exported and imported unchanged, edited after
import; in English and Finnish. Screenshots go to tests/output/screenshots/."""

from __future__ import annotations

import json

import pytest
from selenium.webdriver.support.ui import Select

from components import ids
from tests.browser import test_builder
from tests.browser.test_builder import (
    add_rule,
    choose,
    click,
    clinician_count,
    count_text,
    criterion,
    css,
    definition_hash,
    download,
    no_console_errors,
    rule_cards,
    screenshots,
    settled,
    share_url_for,
    shown_hash,
    start,
    upload,
    wait_until,
)
from tests.browser.test_i18n import browser_language, wait_for_language

pytestmark = pytest.mark.browser
# The builder tests' fixtures: the sample copied once, counted by the page and by the tests.
sample_copy, app_settings, downloads = (test_builder.sample_copy, test_builder.app_settings,
                                        test_builder.downloads)

STAGE_IV = {"field": "stage", "op": "in", "value": ["IV"]}
WOMEN = {"field": "sex", "op": "in", "value": ["F"]}
FIT = {"field": "ecog", "op": "between", "value": [0, 1]}
NESTED = {
    "schema_version": 1,
    "metadata": {"name": "Stage IV, or not a fit woman"},
    "index_event": {"kind": "first_checkpoint_inhibitor"},
    "inclusion_rules": [{"name": "Nested", "criteria": {
        "any": [STAGE_IV, {"not": {"any": [WOMEN, FIT]}}]}}],
}


def with_criteria(criteria: dict) -> dict:
    return {**NESTED, "inclusion_rules": [{"name": "Nested", "criteria": criteria}]}


def canonical_rules(definition: dict) -> list:
    from queries.cohort.model import Definition

    return Definition.model_validate(definition).content()["inclusion_rules"]


def groups(dash_duo, root=None) -> list:
    return css(dash_duo, ".builder-group", root)


def group_kind(dash_duo, group) -> Select:
    return Select(css(dash_duo, "select.builder-group-kind", group)[0])


def rules_in_session(dash_duo) -> list:
    raw = dash_duo.driver.execute_script(
        "return window.sessionStorage.getItem(arguments[0]);", ids.COHORT_STORE)
    return json.loads(raw)["definition"]["inclusion_rules"]


def build_nested_by_clicks(dash_duo) -> None:
    """Stage IV, or none of (woman, ECOG 0-1): a root "any of" holding a "none of" group."""
    rule = add_rule(dash_duo, "Nested")
    Select(css(dash_duo, ".card-header select", rule_cards(dash_duo)[rule])[0]) \
        .select_by_value("any")
    row = criterion(dash_duo, rule, "stage", "Stage")
    choose(dash_duo, row, "builder-values", "IV", None, close=True)

    click(dash_duo, css(dash_duo, ".builder-add-group", rule_cards(dash_duo)[rule])[-1])
    wait_until(dash_duo, lambda: len(groups(dash_duo)) == 1)
    group_kind(dash_duo, groups(dash_duo)[0]).select_by_value("not")
    row = criterion(dash_duo, rule, "sex", "Sex")
    choose(dash_duo, row, "builder-values", "F", None, close=True)
    click(dash_duo, css(dash_duo, ".builder-add-row", groups(dash_duo)[0])[0])
    wait_until(dash_duo, lambda: len(css(dash_duo, ".criterion-row", groups(dash_duo)[0])) == 2)
    row = criterion(dash_duo, rule, "ecog", "ECOG")
    low, high = css(dash_duo, "input[type=number]", row)[:2]
    from selenium.webdriver.common.keys import Keys

    low.send_keys("0", Keys.TAB)
    high.send_keys("1", Keys.TAB)


def test_nested_rule_built_by_clicks_counts_what_the_imported_json_counts(dash_duo, app,
                                                                         downloads, tmp_path):
    start(dash_duo, app)
    build_nested_by_clicks(dash_duo)
    expected = definition_hash(NESTED)
    try:
        wait_until(dash_duo, lambda: rules_in_session(dash_duo) == canonical_rules(NESTED))
    except Exception:
        screenshots(dash_duo, "builder-nested-failed")
        raise AssertionError(rules_in_session(dash_duo)) from None
    count, digest = settled(dash_duo)
    assert count == clinician_count(app, NESTED)
    screenshots(dash_duo, "builder-nested-en")

    exported = download(dash_duo, downloads, ids.BUILDER_DOWNLOAD_JSON, ".json")
    document = json.loads(exported.read_text())
    assert document["inclusion_rules"] == canonical_rules(NESTED)

    # The same JSON, imported into a new cohort: drawn as groups, same count and hash.
    click(dash_duo, dash_duo.find_element(f"#{ids.BUILDER_NEW}"))
    wait_until(dash_duo, lambda: not rule_cards(dash_duo))
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(NESTED))
    upload(dash_duo, path)
    wait_until(dash_duo, lambda: len(groups(dash_duo)) == 1)
    imported_count, imported_digest = settled(dash_duo)
    assert imported_count == count
    assert imported_digest == expected
    assert group_kind(dash_duo, groups(dash_duo)[0]).first_selected_option \
        .get_attribute("value") == "not"
    assert "This rule" not in rule_cards(dash_duo)[0].text  # no read-only notice
    # Export -> import gives the same definition.
    again = download(dash_duo, downloads, ids.BUILDER_DOWNLOAD_JSON, ".json")
    assert json.loads(again.read_text())["inclusion_rules"] == document["inclusion_rules"]
    no_console_errors(dash_duo)


def test_imported_nested_groups_are_editable_kind_rows_and_removal(dash_duo, app):
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NESTED))
    wait_until(dash_duo, lambda: len(groups(dash_duo)) == 1)
    count, _digest = settled(dash_duo)
    assert count == clinician_count(app, NESTED)

    group_kind(dash_duo, groups(dash_duo)[0]).select_by_value("all")
    changed = with_criteria({"any": [STAGE_IV, {"all": [WOMEN, FIT]}]})
    wait_until(dash_duo, lambda: settled(dash_duo)[1] == definition_hash(changed))
    assert settled(dash_duo)[0] == clinician_count(app, changed)
    assert "builder-group-all" in groups(dash_duo)[0].get_attribute("class")

    # Remove the group's first criterion (the woman), then the whole group.
    click(dash_duo, css(dash_duo, "button[title='remove this criterion']", groups(dash_duo)[0])[0])
    fewer = with_criteria({"any": [STAGE_IV, {"all": [FIT]}]})
    wait_until(dash_duo, lambda: settled(dash_duo)[1] == definition_hash(fewer))
    assert settled(dash_duo)[0] == clinician_count(app, fewer)
    click(dash_duo, css(dash_duo, ".builder-remove-group", groups(dash_duo)[0])[0])
    wait_until(dash_duo, lambda: not groups(dash_duo))
    alone = with_criteria({"any": [STAGE_IV]})
    wait_until(dash_duo, lambda: settled(dash_duo)[1] == definition_hash(alone))
    assert settled(dash_duo)[0] == clinician_count(app, alone)
    no_console_errors(dash_duo)


def test_nested_groups_in_finnish(dash_duo, app):
    from tests.browser.conftest import start_app

    start_app(dash_duo, app)
    browser_language(dash_duo, "fi")
    from tests.browser.conftest import sign_in

    sign_in(dash_duo, "clinician")
    deep = with_criteria({"any": [STAGE_IV, {"not": {"any": [WOMEN, {"all": [FIT, {
        "table": "biomarkers", "where": [{"field": "biomarker:PD-L1 TPS", "op": ">=",
                                          "value": 50}],
        "window": {"start_days": -90, "end_days": 0}}]}]}}]})
    dash_duo.driver.get(share_url_for(dash_duo, deep))
    wait_for_language(dash_duo, "fi", "Kirjaudu ulos")
    wait_until(dash_duo, lambda: len(groups(dash_duo)) == 2)
    wait_until(dash_duo, lambda: shown_hash(dash_duo) == definition_hash(deep))
    # Finnish groups digits with a (no-break) space: "3 139".
    shown = "".join(ch for ch in count_text(dash_duo) if ch.isdigit())
    assert int(shown) == clinician_count(app, deep)
    assert group_kind(dash_duo, groups(dash_duo)[0]).first_selected_option.text == \
        "ei mikään seuraavista"
    assert "+ ryhmä" in rule_cards(dash_duo)[0].text
    screenshots(dash_duo, "builder-nested-fi")
    no_console_errors(dash_duo)


def own_add_group_button(dash_duo, group):
    """A group's own "+ group" button (its sub-groups' buttons come before it)."""
    return css(dash_duo, ".builder-add-group", group)[-1]


def test_add_group_button_follows_a_change_of_group_kind(dash_duo, app):
    """A "none of" group is written as two JSON levels, so changing a group's kind (or an
    outer group's) changes how deep its sub-groups would sit: "+ group" is enabled exactly when
    one more group fits within the importer's nesting limit (MAX_GROUP_DEPTH 8)."""
    start(dash_duo, app)
    # groups at JSON depths 2..6; the innermost "any of" may still take a sub-group (at 7)
    deep = with_criteria({"all": [WOMEN, {"any": [STAGE_IV, {"all": [WOMEN, {"any": [
        STAGE_IV, {"all": [WOMEN, {"any": [FIT, STAGE_IV]}]}]}]}]}]})
    dash_duo.driver.get(share_url_for(dash_duo, deep))
    wait_until(dash_duo, lambda: len(groups(dash_duo)) == 5)
    settled(dash_duo)

    def innermost_enabled() -> bool:
        return own_add_group_button(dash_duo, groups(dash_duo)[-1]).is_enabled()

    assert innermost_enabled()
    group_kind(dash_duo, groups(dash_duo)[-1]).select_by_value("not")  # one level deeper
    wait_until(dash_duo, lambda: not innermost_enabled())
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});",
                                   groups(dash_duo)[-1])
    screenshots(dash_duo, "builder-add-group-disabled")
    group_kind(dash_duo, groups(dash_duo)[-1]).select_by_value("any")
    wait_until(dash_duo, innermost_enabled)

    # An outer group turned into "none of" pushes every group inside one level deeper.
    group_kind(dash_duo, groups(dash_duo)[0]).select_by_value("not")
    wait_until(dash_duo, lambda: not innermost_enabled())
    assert own_add_group_button(dash_duo, groups(dash_duo)[-2]).is_enabled()
    group_kind(dash_duo, groups(dash_duo)[0]).select_by_value("any")
    wait_until(dash_duo, innermost_enabled)
    # The button does what it shows: a click adds the sub-group.
    click(dash_duo, own_add_group_button(dash_duo, groups(dash_duo)[-1]))
    wait_until(dash_duo, lambda: len(groups(dash_duo)) == 6)
    no_console_errors(dash_duo)
