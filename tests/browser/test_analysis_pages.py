"""Analyses and compare pages in headless Chromium: what a clinician sees equals the analyses.

The expected numbers come from ``queries.analyses.panels`` for the same definition on the same
snapshot (through the app's own registry), so a page that drew anything else would fail.
Screenshots of every page go to tests/output/screenshots/.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from components import figures, ids, tables
from tests.browser.conftest import (
    DEMO_PASSWORDS,
    browser_errors,
    patient_wait,
    screenshot,
    sign_in,
    start_app,
)

pytestmark = pytest.mark.browser
WAIT = 40
WOMEN = {
    "schema_version": 1,
    "metadata": {"name": "Women at first checkpoint inhibitor"},
    "index_event": {"kind": "first_checkpoint_inhibitor"},
    "inclusion_rules": [{"name": "Women", "criteria": {"field": "sex", "op": "in",
                                                       "value": ["F"]}}],
}


@pytest.fixture
def app_settings(app_settings):
    """The sample snapshot, or IOCOHORT_TEST_SNAPSHOTS while developing against another one."""
    folder = os.environ.get("IOCOHORT_TEST_SNAPSHOTS")
    return replace(app_settings, snapshots_dir=Path(folder)) if folder else app_settings


@pytest.fixture
def app(app, app_settings):
    """The app with the demo clinician (only that user: each password hash costs a second)."""
    from access.users import add_user, get_user

    if get_user(app_settings.store_path, "clinician") is None:
        add_user(app_settings.store_path, "clinician", "clinician", DEMO_PASSWORDS["clinician"],
                 demo=True)
    return app


def expected(app, definition: dict | None, compute):
    """``compute(opened)`` run on the app's snapshot for ``definition`` (None: the default)."""
    from components.analysis_page import open_current

    with app.server.test_request_context():
        opened, _ = open_current(definition, None)
        return compute(opened)


def wait_text(dash_duo, selector: str, predicate, timeout: int = WAIT) -> str:
    """Wait until the element's text satisfies ``predicate``; return the text."""
    def check(driver):
        found = driver.find_elements(By.CSS_SELECTOR, selector)
        text = found[0].text if found else ""
        return text if found and predicate(text) else False

    return patient_wait(dash_duo, timeout).until(check)


def graph_title(dash_duo, graph_id: str) -> str:
    return dash_duo.driver.execute_script(
        "const g = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');"
        "return g && g.layout && g.layout.title ? (g.layout.title.text || '') : '';", graph_id)


def graph_traces(dash_duo, graph_id: str) -> list[str]:
    return dash_duo.driver.execute_script(
        "const g = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');"
        "return g && g.data ? g.data.map(t => t.name || '') : [];", graph_id)


def wait_graph(dash_duo, graph_id: str, predicate, timeout: int = WAIT):
    def check(_driver):
        title, names = graph_title(dash_duo, graph_id), graph_traces(dash_duo, graph_id)
        return (title, names) if predicate(title, names) else False

    return patient_wait(dash_duo, timeout).until(check)


def choose(dash_duo, dropdown_id: str, label: str) -> None:
    """Pick an option of a dcc.Dropdown by its visible label."""
    dash_duo.find_element(f"#{dropdown_id}").click()
    search = dash_duo.driver.switch_to.active_element
    search.send_keys(label)
    options = patient_wait(dash_duo, 10).until(lambda d: [
        o for o in d.find_elements(By.CSS_SELECTOR, "[role=option]") if o.text.strip() == label])
    options[0].click()


def js_click(dash_duo, element) -> None:
    """Scroll into view and click (a loading overlay or the navbar may cover the element)."""
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element)


def click_label(dash_duo, container_id: str, label: str) -> None:
    for element in dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{container_id} label"):
        if element.text.strip() == label:
            js_click(dash_duo, element)
            return
    raise AssertionError(f"no option {label!r} in #{container_id}")


def start_signed_in(dash_duo, app, role: str = "clinician") -> None:
    """Start the app and sign in (the first page is the sign-in form, not a Dash page)."""
    start_app(dash_duo, app)
    sign_in(dash_duo, role)


def open_analyses(dash_duo, app, tab: str | None = None) -> None:
    start_signed_in(dash_duo, app)
    dash_duo.driver.get(dash_duo.server_url + "/analyses")
    dash_duo.wait_for_element(f"#{ids.ANALYSIS_TABS}", timeout=WAIT)
    if tab:
        link = dash_duo.driver.find_element(By.LINK_TEXT, tab)
        link.click()


def full_page_screenshot(dash_duo, name: str) -> None:
    """The whole page at 1366 px wide (the viewport screenshot shows what fits in 768 px)."""
    driver = dash_duo.driver
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], max(size["height"], height + 140))
    try:
        screenshot(dash_duo, name)
    finally:
        driver.set_window_size(size["width"], size["height"])


def no_console_errors(dash_duo) -> None:
    errors = browser_errors(dash_duo)
    assert errors == [], errors


# --- survival -----------------------------------------------------------------------------


def test_survival_tab_shows_default_cohort_count_and_medians_of_the_analysis(dash_duo, app):
    from components.analysis_page import survival_result

    result = expected(app, None, lambda o: (o.cohort.size, survival_result(o, "os", None)))
    size, survival = result
    open_analyses(dash_duo, app)
    wait_text(dash_duo, ".cohort-count", lambda t: t == f"{size:,}")
    assert "default cohort" in dash_duo.find_element(".default-cohort-note").text
    row = survival.summary.iloc[0]
    median = tables.months_ci(row["median_months"], row["median_ci_lower_months"],
                              row["median_ci_upper_months"])
    text = wait_text(dash_duo, f"#{ids.SURVIVAL_MEDIANS}", lambda t: median in t)
    assert fmt(row["n"]) in text
    wait_graph(dash_duo, ids.SURVIVAL_GRAPH, lambda title, _: "Overall survival" in title)
    screenshot(dash_duo, "analyses-survival-os")
    no_console_errors(dash_duo)
    panels = {"analyses.cohort", "analyses.survival", "analyses.response", "analyses.safety",
              "analyses.characteristics"}
    patient_wait(dash_duo, WAIT).until(
        lambda _: panels <= audit_actions(app, "clinician"))


def audit_actions(app, username: str) -> set[str]:
    """Actions the audit log holds for the user (every panel query must be there)."""
    from access.audit import read_audit
    from access.store import app_store_path

    with app.server.app_context():
        entries = read_audit(limit=1000, filters={"username": username},
                             store=app_store_path())
    return {e["action"] for e in entries if e.get("definition_hash")}


def fmt(n) -> str:
    return figures.fmt_count(n)


def test_changing_endpoint_and_strata_redraws_the_survival_plot(dash_duo, app):
    from components.analysis_page import survival_result

    pfs = expected(app, None, lambda o: survival_result(o, "pfs", "pdl1_tps"))
    open_analyses(dash_duo, app)
    wait_graph(dash_duo, ids.SURVIVAL_GRAPH, lambda title, _: "Overall survival" in title)
    click_label(dash_duo, ids.SURVIVAL_ENDPOINT, "Real-world progression-free survival")
    wait_graph(dash_duo, ids.SURVIVAL_GRAPH,
               lambda title, _: "progression-free survival" in title)
    choose(dash_duo, ids.SURVIVAL_STRATA, "Biomarker: PD-L1 TPS")
    strata = pfs.summary["stratum"].tolist()
    wait_graph(dash_duo, ids.SURVIVAL_GRAPH, lambda _, names: all(
        any(n.startswith(f"{s} (n=") for n in names) for s in strata))
    text = wait_text(dash_duo, f"#{ids.SURVIVAL_MEDIANS}", lambda t: strata[-1] in t)
    for _, row in pfs.summary.iterrows():
        assert tables.months_ci(row["median_months"], row["median_ci_lower_months"],
                                row["median_ci_upper_months"]) in text
    caption = dash_duo.find_element(f"#{ids.SURVIVAL_CAPTION}").text
    assert figures.fmt_p(pfs.logrank.p_value) in caption
    if pfs.hazard_ratio is not None:
        assert f"{figures.fmt_ratio(pfs.hazard_ratio.hr)} (95% CI" in caption
    screenshot(dash_duo, "analyses-survival-pfs-by-pdl1")
    full_page_screenshot(dash_duo, "analyses-survival-pfs-by-pdl1-full")
    no_console_errors(dash_duo)


# --- response -----------------------------------------------------------------------------


def test_response_tab_shows_orr_per_pdl1_stratum_equal_to_the_analysis(dash_duo, app):
    from components.analysis_page import response_result

    response = expected(app, None, lambda o: response_result(o, "pdl1_tps"))
    open_analyses(dash_duo, app, "Response")
    last = response.rates.iloc[-1]
    text = wait_text(dash_duo, f"#{ids.RESPONSE_TABLE}", lambda t: str(last["stratum"]) in t)
    for _, row in response.rates.iterrows():
        line = next(r for r in text.splitlines() if r.startswith(str(row["stratum"])))
        assert figures.fmt_pct(row["orr"]) in line, line
        assert figures.fmt_count(row["denominator"]) in line, line
    wait_graph(dash_duo, ids.RESPONSE_RATE_GRAPH, lambda _, names: "ORR (CR+PR)" in names)
    wait_graph(dash_duo, ids.RESPONSE_BOR_GRAPH, lambda _, names: figures.BOR_LABELS["CR"] in names)
    screenshot(dash_duo, "analyses-response-by-pdl1")
    full_page_screenshot(dash_duo, "analyses-response-by-pdl1-full")
    no_console_errors(dash_duo)


# --- safety -------------------------------------------------------------------------------


def test_safety_tab_top_ae_percent_equals_analysis_and_filters_redraw(dash_duo, app):
    from components.analysis_page import safety_result

    all_events = expected(app, None, lambda o: safety_result(o, False))
    immune = expected(app, None, lambda o: safety_result(o, True))
    open_analyses(dash_duo, app, "Safety")
    top = figures.safety_rows(all_events, "term", "any").iloc[0]
    expected_cell = tables.n_pct(top["patients_any_grade"], top["pct_any_grade"])
    text = wait_text(dash_duo, f"#{ids.SAFETY_TABLE}", lambda t: str(top["term"]) in t)
    first_row = text.splitlines()[1]
    assert first_row.startswith(str(top["term"])) and expected_cell in first_row, first_row
    wait_graph(dash_duo, ids.SAFETY_GRAPH, lambda _, names: names == ["Any grade", "Grade ≥ 3"])
    screenshot(dash_duo, "analyses-safety-any-grade")

    click_label(dash_duo, ids.SAFETY_GRADE, "Grade ≥ 3 only")
    wait_graph(dash_duo, ids.SAFETY_GRAPH, lambda _, names: names == ["Grade ≥ 3"])
    top3 = figures.safety_rows(all_events, "term", "grade3").iloc[0]
    wait_text(dash_duo, f"#{ids.SAFETY_TABLE}", lambda t: t.splitlines()[1].startswith(
        str(top3["term"])) if len(t.splitlines()) > 1 else False)

    dash_duo.find_element(f"label[for='{ids.SAFETY_IMMUNE}']").click()
    wait_graph(dash_duo, ids.SAFETY_GRAPH, lambda title, _: "immune-related" in title)
    overall = immune.overall
    wait_text(dash_duo, ".safety-any", lambda t: t == tables.n_pct(
        overall["patients_any_grade"], overall["pct_any_grade"]))
    click_label(dash_duo, ids.SAFETY_LEVEL, "Organ class")
    top_class = figures.safety_rows(immune, "organ_class", "grade3").iloc[0]
    wait_text(dash_duo, f"#{ids.SAFETY_TABLE}", lambda t: len(t.splitlines()) > 1 and t.splitlines()[1]
              .startswith(str(top_class["organ_class"])))
    full_page_screenshot(dash_duo, "analyses-safety-immune-grade3-organ-class-full")
    no_console_errors(dash_duo)


# --- characteristics ----------------------------------------------------------------------


def test_characteristics_tab_shows_table_one_of_the_analysis(dash_duo, app):
    from components.analysis_page import characteristics_result

    table1 = expected(app, None, characteristics_result)
    open_analyses(dash_duo, app, "Characteristics")
    text = wait_text(dash_duo, f"#{ids.CHARACTERISTICS_TABLE}",
                     lambda t: f"Cohort, n (% of {table1.n:,})" in t)
    rows = table1.rows.set_index(["key", "level"])
    female = rows.loc[("sex", "Female")]
    assert f"Female {tables.n_pct(female['n'], female['pct'])}" in text
    age = rows.loc[("age", "")]
    assert f"{age['median']:.0f} ({age['q1']:.0f}–{age['q3']:.0f})" in text
    screenshot(dash_duo, "analyses-characteristics")
    full_page_screenshot(dash_duo, "analyses-characteristics-full")
    no_console_errors(dash_duo)


# --- compare ------------------------------------------------------------------------------


def save_cohort(app, owner: str, definition: dict) -> None:
    from access.cohort_store import CohortStore
    from access.store import app_store_path
    from components.analysis_page import open_current

    with app.server.test_request_context():
        opened, _ = open_current(definition, None)
        CohortStore(app_store_path()).save(owner, definition["metadata"]["name"], definition,
                                           opened.definition_hash)


def test_compare_shows_both_cohorts_with_their_own_counts(dash_duo, app):
    from components.analysis_page import characteristics_result

    save_cohort(app, "clinician", WOMEN)
    n_all = expected(app, None, lambda o: o.cohort.size)
    n_women = expected(app, WOMEN, lambda o: o.cohort.size)
    t1_women = expected(app, WOMEN, characteristics_result)
    assert 0 < n_women < n_all
    start_signed_in(dash_duo, app)
    dash_duo.driver.get(dash_duo.server_url + "/compare")
    wait_text(dash_duo, ".compare-count-a", lambda t: t == f"{n_all:,}")
    wait_text(dash_duo, ".compare-count-b", lambda t: t == f"{n_women:,}")
    label_a = "A: All patients at first checkpoint inhibitor"
    label_b = f"B: {WOMEN['metadata']['name']}"
    wait_graph(dash_duo, ids.COMPARE_SURVIVAL_GRAPH, lambda _, names: any(
        n.startswith(f"{label_a} (n={n_all:,}") for n in names) and any(
        n.startswith(f"{label_b} (n={n_women:,}") for n in names))
    caption = wait_text(dash_duo, f"#{ids.COMPARE_SURVIVAL_CAPTION}", lambda t: "Hazard" in t)
    assert f"Hazard ratio {label_b} vs {label_a}" in caption
    wait_graph(dash_duo, ids.COMPARE_RESPONSE_GRAPH, lambda _, names: names == [label_a, label_b])
    wait_graph(dash_duo, ids.COMPARE_SAFETY_GRAPH, lambda _, names: names == [label_a, label_b])
    table = wait_text(dash_duo, f"#{ids.COMPARE_TABLE1}", lambda t: "SMD" in t)
    assert f"(n={n_all:,})" in table and f"(n={n_women:,})" in table
    female = t1_women.rows.set_index(["key", "level"]).loc[("sex", "Female")]
    assert tables.n_pct(female["n"], female["pct"]) in table
    screenshot(dash_duo, "compare")
    full_page_screenshot(dash_duo, "compare-full")

    click_label(dash_duo, ids.COMPARE_SAFETY_GRADE, "Grade ≥ 3")
    wait_graph(dash_duo, ids.COMPARE_SAFETY_GRAPH, lambda title, _: "grade ≥ 3" in title)
    no_console_errors(dash_duo)


# --- the builder's cohort, and empty states -----------------------------------------------

EMPTY_COHORT = {
    "schema_version": 1,
    "metadata": {"name": "Nobody"},
    "index_event": {"kind": "first_checkpoint_inhibitor"},
    "inclusion_rules": [{"name": "Impossible age", "criteria": {"field": "age_at_index",
                                                                "op": ">", "value": 150}}],
}
def put_current_cohort(dash_duo, definition: dict) -> None:
    """What the builder does: the definition in the session's cohort store; then reload."""
    dash_duo.driver.execute_script(
        "window.sessionStorage.setItem(arguments[0], JSON.stringify(arguments[1]));",
        ids.COHORT_STORE, definition)
    dash_duo.driver.get(dash_duo.server_url + "/analyses")
    dash_duo.wait_for_element(f"#{ids.ANALYSIS_TABS}", timeout=WAIT)


def test_the_builders_cohort_is_analysed_and_empty_panels_say_why(dash_duo, app):
    n_women = expected(app, WOMEN, lambda o: o.cohort.size)
    open_analyses(dash_duo, app)
    wait_text(dash_duo, ".cohort-count", lambda t: t != "")
    put_current_cohort(dash_duo, WOMEN)
    wait_text(dash_duo, ".cohort-count", lambda t: t == f"{n_women:,}")
    assert not dash_duo.driver.find_elements(By.CSS_SELECTOR, ".default-cohort-note")
    wait_text(dash_duo, f"#{ids.ANALYSIS_COHORT_INFO}", lambda t: WOMEN["metadata"]["name"] in t)

    put_current_cohort(dash_duo, EMPTY_COHORT)
    wait_text(dash_duo, ".cohort-count", lambda t: t == "0")
    wait_text(dash_duo, f"#{ids.SURVIVAL_CAPTION}", lambda t: "the cohort is empty" in t)
    screenshot(dash_duo, "analyses-empty-cohort")
    dash_duo.driver.find_element(By.LINK_TEXT, "Characteristics").click()
    wait_text(dash_duo, f"#{ids.CHARACTERISTICS_TABLE}", lambda t: "cohort is empty" in t)

    dash_duo.driver.find_element(By.LINK_TEXT, "Response").click()
    wait_text(dash_duo, f"#{ids.RESPONSE_CAPTION}",
              lambda t: "No response data: the cohort is empty." in t)
    dash_duo.driver.find_element(By.LINK_TEXT, "Safety").click()
    wait_text(dash_duo, f"#{ids.SAFETY_CAPTION}",
              lambda t: "No adverse events: the cohort is empty." in t)
    screenshot(dash_duo, "analyses-safety-empty-state")
    no_console_errors(dash_duo)


# --- downloads ----------------------------------------------------------------------------


def test_survival_download_holds_the_numbers_behind_the_plot(dash_duo, app, tmp_path):
    import io
    import zipfile

    import pandas as pd

    from components.analysis_page import survival_result

    result = expected(app, None, lambda o: survival_result(o, "os", "ecog"))
    open_analyses(dash_duo, app)
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": str(tmp_path)})
    choose(dash_duo, ids.SURVIVAL_STRATA, "ECOG at index")
    wait_text(dash_duo, f"#{ids.SURVIVAL_MEDIANS}", lambda t: "ECOG ≥ 2" in t)
    js_click(dash_duo, dash_duo.find_element(f"#{ids.SURVIVAL_CSV_BUTTON}"))
    files = patient_wait(dash_duo, WAIT).until(
        lambda _: [p for p in tmp_path.glob("*.zip") if p.stat().st_size > 0])
    assert "_os_ecog_" in files[0].name
    with zipfile.ZipFile(files[0]) as archive:
        medians = pd.read_csv(io.BytesIO(archive.read("medians.csv"))).set_index("Group")
        curve = pd.read_csv(io.BytesIO(archive.read("curve.csv")))
    for _, row in result.summary.iterrows():
        assert medians.loc[row["stratum"], "Patients"] == row["n"]
        assert medians.loc[row["stratum"], "Median, months"] == pytest.approx(
            row["median_months"], abs=0.005, nan_ok=True)
    assert len(curve) == len(result.curve)
    no_console_errors(dash_duo)
