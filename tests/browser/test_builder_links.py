"""Share links and saved cohorts in headless Chromium: a link opened again in the same tab opens
its cohort, an edit empties the share field and drops the link from the address (a reload
keeps the edits), a link made on another snapshot says so, and saved cohorts whose names share
a long prefix can be told apart. Screenshots go to tests/output/screenshots/."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.keys import Keys

from components import ids
from tests.browser import test_builder
from tests.browser.test_builder import (
    NSCLC_PDL1,
    click,
    css,
    definition_hash,
    no_console_errors,
    rule_cards,
    settled,
    share_url_for,
    start,
    wait_until,
)

pytestmark = pytest.mark.browser
sample_copy, app_settings, two_snapshots = (test_builder.sample_copy, test_builder.app_settings,
                                            test_builder.two_snapshots)

WOMEN = {**NSCLC_PDL1, "metadata": {"name": "Women"},
         "inclusion_rules": [{"name": "Women", "criteria": {"field": "sex", "op": "in",
                                                             "value": ["F"]}}]}


def address(dash_duo) -> dict:
    return parse_qs(urlparse(dash_duo.driver.current_url).query)


def share_field(dash_duo) -> str:
    return dash_duo.find_element(f"#{ids.BUILDER_SHARE_URL}").get_attribute("value")


def switch_rule(dash_duo, rule: int) -> None:
    click(dash_duo, css(dash_duo, ".form-switch input", rule_cards(dash_duo)[rule])[0])


def test_a_share_link_opened_again_in_the_same_tab_opens_its_cohort(dash_duo, app):
    start(dash_duo, app)
    link = share_url_for(dash_duo, NSCLC_PDL1)
    dash_duo.driver.get(link)
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    linked = settled(dash_duo)
    assert linked[1] == definition_hash(NSCLC_PDL1)
    assert "c" in address(dash_duo)  # not edited: the address keeps the link

    # An edit: the address drops the link, so it never names a cohort other than the page's.
    switch_rule(dash_duo, 1)
    edited = settled(dash_duo)
    assert edited != linked
    wait_until(dash_duo, lambda: "c" not in address(dash_duo), message="link kept in address")
    dash_duo.driver.refresh()  # a reload keeps the edits
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    assert settled(dash_duo) == edited

    # Opening the link again in this tab opens the link's cohort, not the edited one.
    dash_duo.driver.get(link)
    wait_until(dash_duo, lambda: settled(dash_duo)[1] == linked[1], message="link ignored")
    assert settled(dash_duo) == linked
    assert "builder-rule-off" not in rule_cards(dash_duo)[1].get_attribute("class")

    # Another link, then the first once more, in the same tab: each opens its own cohort.
    dash_duo.driver.get(share_url_for(dash_duo, WOMEN))
    wait_until(dash_duo, lambda: settled(dash_duo)[1] == definition_hash(WOMEN))
    assert len(rule_cards(dash_duo)) == 1
    dash_duo.driver.get(link)
    wait_until(dash_duo, lambda: settled(dash_duo)[1] == linked[1])
    assert len(rule_cards(dash_duo)) == 3 and "c" in address(dash_duo)
    no_console_errors(dash_duo)


def test_after_an_edit_the_share_field_does_not_keep_the_old_link(dash_duo, app):
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    settled(dash_duo)
    click(dash_duo, dash_duo.find_element(f"#{ids.BUILDER_SHARE}"))
    first = wait_until(dash_duo, lambda: share_field(dash_duo))
    assert set(parse_qs(urlparse(first).query)) == {"c", "snapshot"}  # pinned to its snapshot

    switch_rule(dash_duo, 2)
    edited = settled(dash_duo)
    wait_until(dash_duo, lambda: share_field(dash_duo) == "", message="old link kept")
    click(dash_duo, dash_duo.find_element(f"#{ids.BUILDER_SHARE}"))
    second = wait_until(dash_duo, lambda: share_field(dash_duo))
    assert second != first

    # An edit that leaves the cohort incomplete empties the field too.
    click(dash_duo, css(dash_duo, ".builder-add-row", rule_cards(dash_duo)[0])[0])
    wait_until(dash_duo, lambda: css(dash_duo, ".criterion-row.invalid"))
    wait_until(dash_duo, lambda: share_field(dash_duo) == "", message="old link kept")

    # The new link opens the edited cohort, in this tab too.
    dash_duo.driver.get(second)
    wait_until(dash_duo, lambda: settled(dash_duo)[1] == edited[1])
    assert settled(dash_duo) == edited
    assert "builder-rule-off" in rule_cards(dash_duo)[2].get_attribute("class")
    no_console_errors(dash_duo)


def test_a_link_made_on_another_snapshot_says_so(dash_duo, app_settings, two_snapshots):
    from dataclasses import replace

    from app import create_app
    from tests.unit.snapshot_factory import TINY_ID

    app = create_app(replace(app_settings, snapshots_dir=two_snapshots))
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1) + f"&snapshot={TINY_ID}")
    note = wait_until(dash_duo, lambda: css(dash_duo, ".builder-link-snapshot"))[0]
    assert settled(dash_duo)[1] == definition_hash(NSCLC_PDL1)
    active = wait_until(dash_duo, lambda: dash_duo.find_element(
        f"#{ids.BUILDER_COUNT_NOTE}").text.split()[-1])
    assert f"This link was made on snapshot {TINY_ID}" in note.text
    assert f"you are counting on {active}" in note.text and active != TINY_ID
    # Made on the snapshot in use: nothing to say.
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1) + f"&snapshot={active}")
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    settled(dash_duo)
    assert not css(dash_duo, ".builder-link-snapshot")
    no_console_errors(dash_duo)


def saved_names(dash_duo) -> list:
    return css(dash_duo, f"#{ids.BUILDER_SAVED_LIST} textarea")


def test_saved_cohorts_with_a_long_common_prefix_are_told_apart(dash_duo, app):
    start(dash_duo, app)
    prefix = "NSCLC stage IV, PD-L1 TPS at least 50 %, ECOG 0-1, first-line pembrolizumab, "
    names = [prefix + "women", prefix + "men"]
    for name in names:
        field = dash_duo.find_element(f"#{ids.BUILDER_SAVE_NAME}")
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(name)
        click(dash_duo, dash_duo.find_element(f"#{ids.BUILDER_SAVE}"))
        wait_until(dash_duo, lambda n=name: n in [t.get_attribute("value")
                                                  for t in saved_names(dash_duo)])
    # Every name shows in full: nothing of it is scrolled or cut out of view.
    for textarea in saved_names(dash_duo):
        hidden = dash_duo.driver.execute_script(
            "const e = arguments[0];"
            "return [e.scrollHeight - e.clientHeight, e.scrollWidth - e.clientWidth];",
            textarea)
        assert hidden[0] <= 1 and hidden[1] <= 1, (textarea.get_attribute("value"), hidden)
    shown = sorted(t.text or t.get_attribute("value") for t in saved_names(dash_duo))
    assert shown == sorted(names)
    list_box = dash_duo.find_element(f"#{ids.BUILDER_SAVED_LIST}")
    dash_duo.driver.execute_script(test_builder.SCROLL_TO, list_box)
    test_builder.screenshot(dash_duo, "builder-saved-long-names")

    # The Compare page's choosers name them apart too (whole option text, not a cut prefix).
    dash_duo.driver.get(dash_duo.server_url + "/compare")
    chooser = wait_until(dash_duo, lambda: css(dash_duo, f"#{ids.COMPARE_RIGHT}"))[0]
    click(dash_duo, chooser)
    options = wait_until(dash_duo, lambda: [o for o in css(dash_duo, ".dash-dropdown-option")
                                            if "pembrolizumab" in o.text])
    texts = sorted(o.text for o in options)
    assert [t.endswith(("women", "men")) for t in texts] == [True, True]
    assert texts[0] != texts[1]
    next(o for o in options if o.text.endswith("women")).click()
    # The chosen cohort is named in full in the chooser and in the summary above the panels.
    wait_until(dash_duo, lambda: f"B: {names[0]}" in dash_duo.find_element(
        f"#{ids.COMPARE_SUMMARY}").text, message="saved name not shown")
    value = css(dash_duo, ".dash-dropdown-value", chooser)[0]
    assert value.text.endswith(names[0])
    assert dash_duo.driver.execute_script(
        "return arguments[0].scrollWidth - arguments[0].clientWidth;", value) <= 1
    dash_duo.driver.execute_script("window.scrollTo({top: 0, behavior: 'instant'});")
    test_builder.screenshot(dash_duo, "compare-saved-long-names")
    no_console_errors(dash_duo)
