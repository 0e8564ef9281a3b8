"""Small leaks, seen in the browser: nothing offers to upload a chart; sign-out is a POST and
leaves nothing of the user in the tab."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from components import ids
from tests.browser.conftest import browser_errors, patient_wait, sign_in, start_app

pytestmark = pytest.mark.browser
WAIT = 60
# Pages with graphs, and how many graphs each draws at least (the analyses page draws the
# open tab's; the builder's funnel and the feasibility bars have no toolbar at all).
GRAPH_PAGES = {"/builder": 1, "/analyses": 1, "/feasibility": 2}

_GRAPH_REPORT = """
const graphs = Array.from(document.querySelectorAll('.js-plotly-plot'));
return {
  graphs: graphs.length,
  sendToCloud: graphs.filter(g => g._context && g._context.showSendToCloud).length,
  shareButtons: document.querySelectorAll(
      '.modebar-btn[data-title^="Share"], .modebar-btn[data-attr="sendChartToCloud"]').length,
  modebarButtons: document.querySelectorAll('.modebar-btn').length,
};
"""


def _graph_report(dash_duo, minimum: int) -> dict:
    def ready(driver):
        report = driver.execute_script(_GRAPH_REPORT)
        return report if report["graphs"] >= minimum else False

    return patient_wait(dash_duo, WAIT).until(ready)


def test_no_graph_offers_to_share_the_chart(dash_duo, app):
    start_app(dash_duo, app)
    sign_in(dash_duo, "clinician")
    toolbars = 0
    for path, minimum in GRAPH_PAGES.items():
        dash_duo.driver.get(dash_duo.server_url + path)
        report = _graph_report(dash_duo, minimum)
        assert report["sendToCloud"] == 0, f"{path}: {report}"
        assert report["shareButtons"] == 0, f"{path}: {report}"
        toolbars += report["modebarButtons"]
    assert toolbars > 0  # toolbars were drawn (PNG export), just without the upload button
    assert browser_errors(dash_duo) == []


def test_sign_out_is_a_post_and_leaves_nothing_of_the_user_in_the_tab(dash_duo, app):
    start_app(dash_duo, app)
    sign_in(dash_duo, "clinician")
    driver = dash_duo.driver
    driver.get(dash_duo.server_url + "/builder")
    dash_duo.wait_for_element("#" + ids.SIGN_OUT, timeout=WAIT)
    # The working cohort lives in this tab's sessionStorage.
    patient_wait(dash_duo, WAIT).until(
        lambda d: d.execute_script("return sessionStorage.length") > 0)

    # A link to /logout (e.g. on another site) does not sign out: it only offers the form.
    driver.get(dash_duo.server_url + "/logout")
    assert driver.find_elements(By.CSS_SELECTOR, "form[method=post] button")
    driver.get(dash_duo.server_url + "/builder")
    dash_duo.wait_for_element("#" + ids.SIGN_OUT, timeout=WAIT).click()

    dash_duo.wait_for_element("#username", timeout=WAIT)
    assert "/login" in driver.current_url
    assert driver.execute_script("return sessionStorage.length") == 0
    driver.get(dash_duo.server_url + "/builder")
    dash_duo.wait_for_element("#username", timeout=WAIT)  # signed out on the server too
