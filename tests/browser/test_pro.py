"""Patient-reported outcomes in headless Chromium, in English and in Finnish: a clinician adds
a PRO criterion in the builder ("QLQ-C30 global health status < 50 within 30 days before
index"), sees the count the compiled definition gives, and opens the Patient-reported panel of
the analyses page, whose figure is drawn, and the same scale for two cohorts on the Compare
page. Screenshots go to tests/output/screenshots/."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from components import ids
from config import ROOT
from tests.browser.conftest import browser_errors, patient_wait, screenshot, sign_in, start_app
from tests.browser.test_builder import (
    add_rule,
    choose,
    cohort_in_session,
    count_text,
    criterion,
    last_row,
    shown_hash,
    type_into,
)
from tests.browser.test_i18n import browser_language

pytestmark = pytest.mark.browser
WAIT = 60
GLOBAL = "pro:EORTC QLQ-C30:Global health status/QoL"
WORDS = {
    "en": {"search": "Global health", "rule": "Poor global health", "tab": "Patient-reported",
           "description": "QLQ-C30 global health status/QoL score < 50 reported within 30 days "
                          "before the index date",
           "title": "Global health status/QoL: mean score over time since index",
           "levels": ["none / never", "mild / rarely", "moderate / occasionally",
                      "severe / frequently", "very severe / almost constantly", "no", "yes"],
           "rash": "Rash presence"},
    "fi": {"search": "Yleinen", "rule": "Heikko terveydentila", "tab": "Potilaan ilmoittamat",
           "description": "(yleinen terveydentila/elämänlaatu) < 50 potilaan ilmoittamana 30 "
                          "päivän sisällä ennen indeksipäivää",
           "title": "Yleinen terveydentila/elämänlaatu: keskiarvo ajan mukaan",
           "levels": ["ei lainkaan / ei koskaan", "lievä / harvoin", "kohtalainen / joskus",
                      "vaikea / usein", "erittäin vaikea / lähes jatkuvasti", "ei", "kyllä"],
           "rash": "Ihottuman esiintyminen"},
}


@pytest.fixture(scope="session")
def sample_copy(tmp_path_factory) -> Path:
    """A copy of data/sample taken once (the sample may be regenerated while tests run)."""
    folder = tmp_path_factory.mktemp("snapshots") / "sample"
    shutil.copytree(ROOT / "data" / "sample", folder)
    return folder


@pytest.fixture
def app_settings(app_settings, sample_copy):
    return replace(app_settings, snapshots_dir=sample_copy.parent)


def expected_count(app, definition: dict) -> int:
    """The size of the cohort the page's definition compiles to, on the app's snapshot."""
    from components.analysis_page import open_current

    with app.server.test_request_context():
        opened, _default = open_current(definition, None)
        return opened.cohort.size


def graph_state(dash_duo, graph_id: str) -> tuple[str, list[str]]:
    return dash_duo.driver.execute_script(
        "const g = document.getElementById(arguments[0]);"
        "const p = g && g.querySelector('.js-plotly-plot');"
        "if (!p || !p.data || !p.layout) return ['', []];"
        "return [(p.layout.title && p.layout.title.text) || '', p.data.map(t => t.name || '')];",
        graph_id)


def add_pro_criterion(dash_duo, words: dict) -> None:
    rule = add_rule(dash_duo, words["rule"])
    row = criterion(dash_duo, rule, GLOBAL, words["search"])
    choose(dash_duo, row, "builder-operator", "<")
    type_into(dash_duo, last_row(dash_duo, rule), "input[type=number]", "50")
    choose(dash_duo, last_row(dash_duo, rule), "builder-window", "within_before")
    days = [e for e in last_row(dash_duo, rule).find_elements(
        By.CSS_SELECTOR, "input[type=number]:not([placeholder])")][0]
    days.clear()
    days.send_keys("30\t")


def settled_count(dash_duo, seconds: float = 1.5) -> int:
    """The builder's count once it and the definition hash stay the same for ``seconds``
    (digits only: Finnish groups thousands with a no-break space)."""
    import time

    last, deadline = None, time.time() + WAIT
    while time.time() < deadline:
        busy = dash_duo.driver.execute_script(
            "return !!document.querySelector('[data-dash-is-loading=\"true\"]');")
        current = (count_text(dash_duo), shown_hash(dash_duo))
        if not busy and current == last and current[0][:1].isdigit() and current[1]:
            return int("".join(c for c in current[0] if c.isdigit()))
        last = current
        time.sleep(seconds)
    raise AssertionError(f"the count did not settle: {last}")


def run_scenario(dash_duo, app, language: str) -> None:
    words = WORDS[language]
    start_app(dash_duo, app)
    if language != "en":
        browser_language(dash_duo, "fi-FI,fi;q=0.9")
    sign_in(dash_duo, "clinician")
    dash_duo.driver.get(dash_duo.server_url + "/builder")
    everyone = settled_count(dash_duo)
    add_pro_criterion(dash_duo, words)
    patient_wait(dash_duo, WAIT).until(
        lambda _d: cohort_in_session(dash_duo)["inclusion_rules"])
    count = settled_count(dash_duo)
    definition = cohort_in_session(dash_duo)
    [rule] = definition["inclusion_rules"]
    [pro] = rule["criteria"]["all"]
    assert pro["table"] == "patient_reported_outcomes"
    assert pro["where"] == [{"field": GLOBAL, "op": "<", "value": 50}]
    assert pro["window"] == {"start_days": -30, "end_days": 0}
    assert 0 < count < everyone
    assert count == expected_count(app, definition)
    description = dash_duo.find_element(f"#{ids.BUILDER_DESCRIPTION}").text
    assert words["description"] in description, description
    screenshot(dash_duo, f"pro-builder-{language}")

    dash_duo.driver.get(dash_duo.server_url + "/analyses")
    dash_duo.wait_for_element(f"#{ids.ANALYSIS_TABS}", timeout=WAIT)
    dash_duo.driver.find_element(By.LINK_TEXT, words["tab"]).click()
    title, names = patient_wait(dash_duo, WAIT).until(
        lambda _d: (state := graph_state(dash_duo, ids.PRO_SCORE_GRAPH))[0]
        and words["title"] in state[0] and state)
    assert len(names) == 2  # the mean score with its CI, and the questionnaires per bin
    # levels 0-4 of the severity and frequency items ("mild / rarely"), and rash presence's no/yes
    levels = patient_wait(dash_duo, WAIT).until(
        lambda _d: len(state := graph_state(dash_duo, ids.PRO_SEVERITY_GRAPH)[1]) == 7 and state)
    dash_duo.driver.execute_script("window.scrollTo(0, 0);")
    full_height(dash_duo, f"pro-analyses-{language}")
    assert levels == words["levels"]
    # the 'yes' bar (the last trace; _fullData holds the decoded arrays) is on rash alone
    ticks = dash_duo.driver.execute_script(
        "const p = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');"
        "const t = p._fullData[p._fullData.length - 1];"
        "return Array.from(t.y).filter((y, i) => t.x[i] > 0);", ids.PRO_SEVERITY_GRAPH)
    assert len(ticks) == 1 and ticks[0].startswith(words["rash"]), ticks

    # Compare: the builder's cohort (A) against the default cohort (B), one line each
    dash_duo.driver.get(dash_duo.server_url + "/compare")
    names = patient_wait(dash_duo, WAIT).until(
        lambda _d: len((state := graph_state(dash_duo, ids.COMPARE_PRO_GRAPH))[1]) == 2
        and state[1])
    assert names[0].startswith("A: ") and names[1].startswith("B: ")
    graph = dash_duo.find_element(f"#{ids.COMPARE_PRO_GRAPH}")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});", graph)
    screenshot(dash_duo, f"pro-compare-{language}")
    assert browser_errors(dash_duo) == []


def full_height(dash_duo, name: str) -> None:
    driver = dash_duo.driver
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], max(size["height"], height + 140))
    try:
        screenshot(dash_duo, name)
    finally:
        driver.set_window_size(size["width"], size["height"])


def test_clinician_adds_a_pro_criterion_and_sees_the_patient_reported_panel(dash_duo, app):
    run_scenario(dash_duo, app, "en")


def test_the_same_in_finnish(dash_duo, app):
    run_scenario(dash_duo, app, "fi")


def released_for_partner(app):
    """The default cohort's global health status scores as a partner's release gives them."""
    from components.analysis_page import open_current
    from queries.analyses.panels import pro_panel
    from queries.disclosure.adapters import protect_pro
    from queries.disclosure.policy import policy_for

    with app.server.test_request_context():
        opened, _default = open_current(None, None)
        exact = pro_panel(opened.cohort, "EORTC QLQ-C30", "Global health status/QoL")
        return exact, protect_pro(exact, policy_for("partner")).result


def test_partner_sees_the_mean_score_from_banded_counts_and_how_it_was_made(dash_duo, app):
    start_app(dash_duo, app)
    sign_in(dash_duo, "partner")
    dash_duo.driver.get(dash_duo.server_url + "/analyses")
    dash_duo.wait_for_element(f"#{ids.ANALYSIS_TABS}", timeout=WAIT)
    dash_duo.driver.find_element(By.LINK_TEXT, WORDS["en"]["tab"]).click()
    patient_wait(dash_duo, WAIT).until(
        lambda _d: WORDS["en"]["title"] in graph_state(dash_duo, ids.PRO_SCORE_GRAPH)[0])
    dash_duo.wait_for_contains_text(f"#{ids.PRO_CAPTION}", "10-point bands", timeout=WAIT)
    caption = dash_duo.find_element(f"#{ids.PRO_CAPTION}").text
    assert "For this role the mean and its 95% CI are computed from the patients' scores " \
           "grouped in 10-point bands" in caption
    shown = dash_duo.driver.execute_script(
        "const p = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');"
        "return Array.from(p._fullData[0].y);",  # decoded; data[0].y is base64 "bdata"
        ids.PRO_SCORE_GRAPH)
    exact, released = released_for_partner(app)
    assert shown == list(released.scores["mean_score"])
    assert shown != list(exact.scores["mean_score"].round(1))  # not the exact means rounded
    dash_duo.driver.execute_script("window.scrollTo(0, 0);")
    full_height(dash_duo, "pro-analyses-partner")
    assert browser_errors(dash_duo) == []
