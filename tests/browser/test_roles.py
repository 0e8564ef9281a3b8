"""What each role sees: partners get protected feasibility counts, the advisory board only
published summaries, admins the audit log, clinicians publish. One scenario per test."""

from __future__ import annotations

import json

import pytest
from selenium.common.exceptions import ElementClickInterceptedException
from selenium.webdriver.common.by import By

from tests.browser.conftest import (
    browser_errors,
    patient_wait,
    screenshot,
    sign_in,
    start_app,
)

pytestmark = pytest.mark.browser

NAV = "#shell-nav-links"
CONTENT = "#shell-page-content"
# Half a year leaves exactly one of the sample's sites under 10 patients (the v2 sample's sites
# are sized like Finnish hospitals, so a whole year leaves none).
HALF_YEAR = {
    "schema_version": 1,
    "metadata": {"name": "Checkpoint inhibitor started in the first half of 2019"},
    "index_event": {"kind": "first_checkpoint_inhibitor", "date_from": "2019-01-01",
                    "date_to": "2019-06-30"},
}
FEW_DAYS = {
    "schema_version": 1,
    "metadata": {"name": "Checkpoint inhibitor started 1-5 March 2019"},
    "index_event": {"kind": "first_checkpoint_inhibitor", "date_from": "2019-03-01",
                    "date_to": "2019-03-05"},
}
EVERYONE = {"schema_version": 1, "metadata": {"name": "Everyone starting a checkpoint inhibitor"}}


@pytest.fixture
def app(app, app_settings):
    """The app with its demo users (seeded here in case the composition root does not)."""
    from access.auth import seed_demo_users

    seed_demo_users(app_settings)
    return app


def _exact_counts(app_settings, definition: dict):
    """The exact feasibility numbers, computed in the test (never shown to a partner)."""
    from queries.analyses.feasibility import feasibility
    from queries.cohort.importing import parse_definition
    from queries.cohort.materialize import materialize_definition
    from queries.snapshot.files import open_snapshot

    db = open_snapshot(app_settings.snapshots_dir / "sample", app_settings.cache_dir)
    return feasibility(materialize_definition(db, parse_definition(definition)))


def _use_cohort(dash_duo, definition: dict, path: str) -> None:
    """Put a definition in the session's cohort store (as the builder does), then open path.

    The page is opened first so that no builder callback still in flight rewrites the store.
    """
    dash_duo.driver.get(dash_duo.server_url + path)
    dash_duo.wait_for_element(CONTENT + " h2", timeout=30)
    dash_duo.driver.execute_script(
        "window.sessionStorage.setItem('shell-cohort-store', arguments[0]);",
        json.dumps(definition))
    dash_duo.driver.get(dash_duo.server_url + path)


def _nav_text(dash_duo, expected: str) -> str:
    """The navigation links once the router has drawn them (``expected`` is one of them)."""
    dash_duo.wait_for_contains_text(NAV, expected, timeout=30)
    return dash_duo.find_element(NAV).text


def _click(dash_duo, selector: str) -> None:
    """Scroll a button into view and click it, retrying while the layout is still settling."""
    def attempt(driver) -> bool:
        element = driver.find_element(By.CSS_SELECTOR, selector)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        try:
            element.click()
        except ElementClickInterceptedException:
            return False
        return True

    patient_wait(dash_duo, 10, poll_frequency=0.3).until(attempt)


def _table_cells(dash_duo, table_id: str) -> list[tuple[str, str]]:
    """First two cells of each body row, read in one script so a re-render cannot go stale."""
    rows = dash_duo.driver.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
        ".map(r => Array.from(r.querySelectorAll('td, th')).slice(0, 2)"
        ".map(c => c.innerText.trim()));", table_id)
    return [(row[0], row[1]) for row in rows]


def _bars(dash_duo, graph_id: str) -> dict:
    """The drawn bars' lengths and labels, read from the Plotly graph in the page."""
    return dash_duo.driver.execute_script(
        "const g = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');"
        "const t = g.data[0]; const h = t.orientation === 'h' ? t.x : t.y;"
        "return {height: Array.from(h), text: Array.from(t.text)};", graph_id)


def _wait_feasibility(dash_duo, cohort_name: str) -> None:
    dash_duo.wait_for_contains_text("#feasibility-cohort", cohort_name, timeout=30)
    dash_duo.wait_for_element("#feasibility-site-table tbody tr", timeout=30)


def test_partner_sees_protected_feasibility_and_no_clinician_panels(dash_duo, app, app_settings):
    start_app(dash_duo, app)
    sign_in(dash_duo, "partner")
    nav = _nav_text(dash_duo, "Feasibility")
    # partners see aggregate analyses under small-cell protection, never summaries or audit
    assert "Analyses" in nav and "Summaries" not in nav and "Audit" not in nav

    _use_cohort(dash_duo, HALF_YEAR, "/feasibility")
    _wait_feasibility(dash_duo, HALF_YEAR["metadata"]["name"])
    exact = _exact_counts(app_settings, HALF_YEAR).by_site.set_index("site")["patients"]
    cells = dict(_table_cells(dash_duo, "feasibility-site-table"))
    assert set(exact.index) <= set(cells)
    for site, n in exact.items():
        shown = cells[site]
        if n < 10:
            assert shown == "suppressed", f"{site}: {n} shown as {shown}"
        else:
            assert shown == "suppressed" or int(shown.replace(",", "")) % 5 == 0, (site, shown)
    # a site under 10 forces a second one to be hidden, so the total cannot give it away
    assert (exact < 10).sum() == 1, "the scenario needs exactly one small site"
    assert list(cells.values()).count("suppressed") >= 2
    assert "publish" not in dash_duo.find_element(CONTENT).text.lower()
    screenshot(dash_duo, "roles-partner-feasibility")

    _use_cohort(dash_duo, FEW_DAYS, "/feasibility")
    _wait_feasibility(dash_duo, FEW_DAYS["metadata"]["name"])
    assert 1 <= _exact_counts(app_settings, FEW_DAYS).total <= 9
    dash_duo.wait_for_text_to_equal("#feasibility-total-value", "< 10", timeout=30)
    bars = _bars(dash_duo, "feasibility-site-graph")
    assert set(bars["text"]) == {"suppressed"} and not any(bars["height"])
    screenshot(dash_duo, "roles-partner-feasibility-small")

    dash_duo.driver.get(dash_duo.server_url + "/analyses")
    dash_duo.wait_for_contains_text("#analysis-cohort-info", "< 10", timeout=30)
    screenshot(dash_duo, "roles-partner-analyses-small")
    dash_duo.driver.get(dash_duo.server_url + "/audit")
    dash_duo.wait_for_contains_text(CONTENT, "Not available", timeout=20)
    assert browser_errors(dash_duo) == []


def _publish_for_advisory(app_settings) -> str:
    """A clinician's publication, stored as publishing does (protected at publish time)."""
    from access import publications
    from queries.cohort.importing import parse_definition
    from queries.cohort.materialize import materialize_definition
    from queries.disclosure.summary import plain_summary
    from queries.snapshot.files import open_snapshot

    db = open_snapshot(app_settings.snapshots_dir / "sample", app_settings.cache_dir)
    definition = parse_definition(EVERYONE)
    summary = plain_summary(materialize_definition(db, definition))
    publications.publish(app_settings.store_path, title="Immunotherapy, all cancers",
                         summary=summary.to_dict(), definition_hash=definition.content_hash(),
                         snapshot_id=db.snapshot_id, published_by="clinician")
    return summary.sentences[1]


def test_advisory_sees_only_published_summaries(dash_duo, app, app_settings):
    sentence = _publish_for_advisory(app_settings)
    start_app(dash_duo, app)
    sign_in(dash_duo, "advisory")
    assert _nav_text(dash_duo, "Summaries").split() == ["Summaries"]
    dash_duo.wait_for_contains_text("#summaries-list", "Immunotherapy, all cancers", timeout=30)
    text = dash_duo.find_element("#summaries-list").text
    assert sentence in text and "in 100 people" in text and "Half of the people" in text
    dash_duo.wait_for_element(".summary-icon-array .main-svg", timeout=20)
    assert not dash_duo.driver.find_elements(By.ID, "summaries-publish-button")
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, "button[id*='unpublish']")
    screenshot(dash_duo, "roles-advisory-summaries")

    for path in ("/builder", "/feasibility", "/analyses", "/audit"):
        dash_duo.driver.get(dash_duo.server_url + path)
        dash_duo.wait_for_contains_text(CONTENT, "Not available", timeout=20)
    screenshot(dash_duo, "roles-advisory-builder-refused")
    assert browser_errors(dash_duo) == []
    # reading summaries made no live query: the advisory user's log holds sign-ins only
    from access import audit

    actions = {e["action"] for e in audit.read_audit(100, 0, {"role": "advisory"},
                                                      store=app_settings.store_path)}
    assert actions == {"sign-in"}


def test_admin_sees_the_audit_log_and_users(dash_duo, app):
    start_app(dash_duo, app)
    sign_in(dash_duo, "admin")
    nav = _nav_text(dash_duo, "Audit log")
    assert "Users" in nav and "Feasibility" not in nav
    dash_duo.wait_for_contains_text("#audit-table", "sign-in", timeout=30)
    assert "admin" in dash_duo.find_element("#audit-table").text
    assert "entries" in dash_duo.find_element("#audit-count").text
    screenshot(dash_duo, "roles-admin-audit")

    dash_duo.driver.get(dash_duo.server_url + "/users")
    dash_duo.wait_for_contains_text("#users-table", "advisory", timeout=20)
    users_text = dash_duo.find_element("#users-table").text
    assert all(role in users_text for role in ("clinician", "partner", "advisory", "admin"))
    assert "argon2" not in users_text
    dash_duo.driver.get(dash_duo.server_url + "/feasibility")
    dash_duo.wait_for_contains_text(CONTENT, "Not available", timeout=20)
    assert browser_errors(dash_duo) == []


def test_clinician_publishes_then_unpublishes_a_summary(dash_duo, app):
    start_app(dash_duo, app)
    sign_in(dash_duo, "clinician")
    _use_cohort(dash_duo, EVERYONE, "/summaries")
    dash_duo.wait_for_contains_text(CONTENT, "Publish a summary", timeout=30)
    dash_duo.wait_for_contains_text("#summaries-list", "No summary", timeout=30)
    dash_duo.find_element("#summaries-publish-title").send_keys("All immunotherapy patients")
    # Both language versions are shown before publishing is possible (#17).
    assert not dash_duo.find_element("#summaries-publish-button").is_enabled()
    _click(dash_duo, "#summaries-publish-preview-button")
    dash_duo.wait_for_contains_text("#summaries-publish-preview", "Ryhmässä on noin", timeout=60)
    preview = dash_duo.find_element("#summaries-publish-preview").text
    assert "This group has about" in preview and "Suomi" in preview and "English" in preview
    _click(dash_duo, "#summaries-publish-button")
    dash_duo.wait_for_contains_text("#summaries-list", "All immunotherapy patients", timeout=60)
    text = dash_duo.find_element("#summaries-list").text
    assert "in 100 people" in text and "This group has about" in text
    dash_duo.wait_for_element("#summaries-list .summary-icon-array .main-svg", timeout=20)
    screenshot(dash_duo, "roles-clinician-published")

    _click(dash_duo, "button[id*='summaries-unpublish']")
    dash_duo.wait_for_contains_text("#summaries-list", "No summary", timeout=30)
    assert browser_errors(dash_duo) == []
