"""Languages: a Finnish browser gets Finnish pages; the navbar switch changes and remembers it."""

from __future__ import annotations

from tests.browser.conftest import browser_errors, patient_wait, screenshot, sign_in, start_app


def browser_language(dash_duo, language: str) -> None:
    """Send ``Accept-Language: language`` from now on, as a browser set to it would."""
    dash_duo.driver.execute_cdp_cmd("Network.enable", {})
    dash_duo.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                                    {"headers": {"Accept-Language": language}})


def html_lang(dash_duo) -> str:
    return dash_duo.driver.find_element("css selector", "html").get_attribute("lang")


def wait_for_language(dash_duo, language: str, navbar_text: str) -> None:
    patient_wait(dash_duo, 30).until(lambda _d: html_lang(dash_duo) == language)
    dash_duo.wait_for_contains_text("#shell-navbar-snapshot", navbar_text, timeout=30)


def test_finnish_browser_gets_finnish_pages_and_the_switch_changes_and_remembers_it(dash_duo, app):
    start_app(dash_duo, app)
    browser_language(dash_duo, "fi-FI,fi;q=0.9,en;q=0.5")
    sign_in(dash_duo, "clinician")
    wait_for_language(dash_duo, "fi", "Kirjaudu ulos")
    screenshot(dash_duo, "i18n-navbar-fi")

    dash_duo.find_element("#shell-navbar-snapshot button[title='English']").click()
    wait_for_language(dash_duo, "en", "Sign out")
    # Remembered for the user: a new page load is English although the browser asks for Finnish.
    dash_duo.driver.get(dash_duo.server_url + "/builder")
    wait_for_language(dash_duo, "en", "Sign out")

    dash_duo.find_element("#shell-navbar-snapshot button[title='Suomi']").click()
    wait_for_language(dash_duo, "fi", "Kirjaudu ulos")
    assert browser_errors(dash_duo) == []


def test_finnish_builder_shows_finnish_words_numbers_and_description(dash_duo, app):
    start_app(dash_duo, app)
    browser_language(dash_duo, "fi")
    sign_in(dash_duo, "clinician")
    dash_duo.driver.get(dash_duo.server_url + "/builder")
    wait_for_language(dash_duo, "fi", "Kirjaudu ulos")
    dash_duo.wait_for_contains_text("#shell-page-content", "Kohorttityökalu", timeout=30)
    dash_duo.wait_for_contains_text("#builder-description", "Potilaat, joiden", timeout=60)
    count = dash_duo.find_element("#builder-count").text
    # The sample's default cohort has thousands of patients: Finnish groups with a space.
    assert "\u00a0" in count or " " in count, count
    assert "," not in count
    screenshot(dash_duo, "builder-fi")
    dash_duo.driver.get(dash_duo.server_url + "/summaries")
    dash_duo.wait_for_contains_text("#shell-page-content", "Julkaistut yhteenvedot", timeout=30)
    screenshot(dash_duo, "summaries-fi")
    dash_duo.driver.get(dash_duo.server_url + "/feasibility")
    dash_duo.wait_for_contains_text("#shell-page-content", "Tutkimuksen toteutettavuus",
                                    timeout=30)
    dash_duo.wait_for_contains_text("#feasibility-total", "Potilaita kohortissa", timeout=60)
    screenshot(dash_duo, "feasibility-fi")
    assert browser_errors(dash_duo) == []


def horizontal_overflow(dash_duo) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scroll)."""
    return dash_duo.driver.execute_script(
        "return document.documentElement.scrollWidth - window.innerWidth;")


def test_pages_fit_a_1000_px_window_without_horizontal_scroll(dash_duo, app):
    start_app(dash_duo, app)
    sign_in(dash_duo, "clinician")
    dash_duo.driver.set_window_size(1000, 800)
    for path, text in (("/builder", "Cohort builder"), ("/feasibility", "Patients per site"),
                       ("/summaries", "Published summaries"), ("/snapshots", "Snapshots"),
                       ("/analyses", "")):
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_contains_text("#shell-navbar-snapshot", "Sign out", timeout=30)
        if text:
            dash_duo.wait_for_contains_text("#shell-page-content", text, timeout=60)
        sign_out = dash_duo.find_element("#shell-sign-out")
        right = dash_duo.driver.execute_script(
            "return arguments[0].getBoundingClientRect().right;", sign_out)
        width = dash_duo.driver.execute_script("return window.innerWidth;")
        assert right <= width, f"{path}: Sign out ends at {right} px in a {width} px window"
        assert horizontal_overflow(dash_duo) <= 0, f"{path} scrolls sideways"
        screenshot(dash_duo, "narrow-1000" + path.replace("/", "-"))
    dash_duo.driver.set_window_size(1366, 768)
