"""The adjusted comparison on the Compare page, as a clinician and as a partner sees it."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from components import ids
from tests.browser.conftest import DEMO_PASSWORDS, screenshot
from tests.browser.test_analysis_pages import (
    WAIT,
    click_label,
    full_page_screenshot,
    js_click,
    no_console_errors,
    start_signed_in,
    wait_graph,
    wait_text,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def app(app, app_settings):
    from access.users import add_user, get_user

    for role in ("clinician", "partner"):
        if get_user(app_settings.store_path, role) is None:
            add_user(app_settings.store_path, role, role, DEMO_PASSWORDS[role], demo=True)
    return app


def run_level_comparison(dash_duo, app, role: str) -> str:
    """Compare the two most frequent regimens of the default cohort; the results' text."""
    start_signed_in(dash_duo, app, role)
    dash_duo.driver.get(dash_duo.server_url + "/compare")
    dash_duo.wait_for_element(f"#{ids.STUDY_RUN}", timeout=WAIT)
    click_label(dash_duo, ids.STUDY_MODE, "Two levels of a field within cohort A")
    wait_text(dash_duo, f"#{ids.STUDY_LEVEL_B}", lambda t: t.strip() != "" and
              "Select" not in t)
    js_click(dash_duo, dash_duo.find_element(f"#{ids.STUDY_RUN}"))
    return wait_text(dash_duo, f"#{ids.STUDY_RESULTS}", lambda t: "A vs B" in t)


def test_clinician_sees_matched_balance_and_crude_vs_adjusted_outcomes(dash_duo, app):
    text = run_level_comparison(dash_duo, app, "clinician")
    assert "Hazard ratio (95% CI)" in text and "adjusted" in text
    assert "SMD before" in text and "SMD after" in text
    graphs = dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{ids.STUDY_RESULTS} .js-plotly-plot")
    assert len(graphs) >= 4  # score distributions, love plot, OS and PFS
    titles = dash_duo.driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(g => g.layout.title.text);",
        f"#{ids.STUDY_RESULTS} .js-plotly-plot")
    assert any(t.startswith("Propensity score") for t in titles)
    assert any(t.startswith("Covariate balance") for t in titles)
    full_page_screenshot(dash_duo, "compare-adjusted-clinician")
    no_console_errors(dash_duo)


def test_partner_sees_counts_and_no_model_based_estimate(dash_duo, app):
    text = run_level_comparison(dash_duo, app, "partner")
    assert "not released to your role" in text
    assert "Cox model" not in text  # no hazard ratio method line: no HR released
    screenshot(dash_duo, "compare-adjusted-partner")
    no_console_errors(dash_duo)


def test_comparing_the_default_cohort_with_itself_says_so(dash_duo, app):
    start_signed_in(dash_duo, app, "clinician")
    dash_duo.driver.get(dash_duo.server_url + "/compare")
    dash_duo.wait_for_element(f"#{ids.STUDY_RUN}", timeout=WAIT)
    # with no saved cohort both A and B are the default cohort
    js_click(dash_duo, dash_duo.find_element(f"#{ids.STUDY_RUN}"))
    text = wait_text(dash_duo, f"#{ids.STUDY_RESULTS}", lambda t: "A vs B" in t)
    assert "same patients" in text
    wait_graph(dash_duo, ids.COMPARE_SURVIVAL_GRAPH, lambda title, _: bool(title))
    no_console_errors(dash_duo)
