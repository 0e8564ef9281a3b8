"""Exports in headless Chromium: a graph's PNG (named after cohort, snapshot and panel, with
its caption drawn in), a panel's zip of tidy tables with a README, and the analyses page in
English and Finnish (screenshots in tests/output/screenshots/)."""

from __future__ import annotations

import io
import shutil
import struct
import zipfile

import pandas as pd
import pytest
from selenium.webdriver.common.by import By

from components import ids
from tests.browser.conftest import DEMO_PASSWORDS, SCREENSHOTS, patient_wait, screenshot
from tests.browser.test_analysis_pages import (
    WAIT,
    choose,
    expected,
    full_page_screenshot,
    js_click,
    no_console_errors,
    open_analyses,
    wait_text,
)
from tests.browser.test_i18n import browser_language

pytestmark = pytest.mark.browser


@pytest.fixture
def app(app, app_settings):
    """The app with the demo clinician (only that user: each password hash costs a second)."""
    from access.users import add_user, get_user

    if get_user(app_settings.store_path, "clinician") is None:
        add_user(app_settings.store_path, "clinician", "clinician", DEMO_PASSWORDS["clinician"],
                 demo=True)
    return app


def allow_downloads(dash_duo, folder) -> None:
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": str(folder)})


def plot_state(dash_duo, graph_id: str) -> dict:
    """The drawn graph's title, caption (subtitle) and PNG options, as plotly.js holds them."""
    return dash_duo.driver.execute_script(
        "const g = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');"
        "if (!g || !g.layout || !g._context) return {};"
        "const t = g.layout.title || {};"
        "return {title: t.text || '', caption: (t.subtitle && t.subtitle.text) || '',"
        "        image: g._context.toImageButtonOptions || {},"
        "        buttons: Array.from(g.querySelectorAll('.modebar-btn'))"
        "                      .map(b => b.getAttribute('data-title') || '')};", graph_id)


def wait_plot(dash_duo, graph_id: str, predicate) -> dict:
    def check(_driver):
        state = plot_state(dash_duo, graph_id)
        return state if state and predicate(state) else False

    return patient_wait(dash_duo, WAIT).until(check)


def wait_file(dash_duo, folder, pattern: str):
    return patient_wait(dash_duo, WAIT).until(
        lambda _: [p for p in folder.glob(pattern) if p.stat().st_size > 0])[0]


def png_size(path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def test_survival_png_is_named_after_cohort_snapshot_and_panel_and_carries_its_caption(
        dash_duo, app, tmp_path):
    from components.analysis_page import survival_result

    result = expected(app, None, lambda o: survival_result(o, "os", "pdl1_tps"))
    snapshot = expected(app, None, lambda o: o.cohort.snapshot_id)
    open_analyses(dash_duo, app)
    allow_downloads(dash_duo, tmp_path)
    choose(dash_duo, ids.SURVIVAL_STRATA, "Biomarker: PD-L1 TPS")
    state = wait_plot(dash_duo, ids.SURVIVAL_GRAPH, lambda s: "log-rank" in s["caption"])
    caption = state["caption"].replace("<br>", " ")
    assert "Cohort: All patients at first checkpoint inhibitor" in caption
    assert f"Snapshot: {snapshot}" in caption
    assert f"{result.logrank.df} df" in caption and "Cox hazard ratio" in caption
    name = state["image"]["filename"]
    assert name == f"All-patients-at-first-checkpoint-inhibitor_{snapshot}_survival_os_pdl1_tps"
    assert not [b for b in state["buttons"] if "Chart Studio" in b or "Share" in b]
    button = dash_duo.driver.find_element(
        By.CSS_SELECTOR, f"#{ids.SURVIVAL_GRAPH} .modebar-btn[data-title^='Download plot']")
    js_click(dash_duo, button)
    png = wait_file(dash_duo, tmp_path, "*.png")
    assert png.name == f"{name}.png"
    width, height = png_size(png)
    assert (width, height) == (2 * state["image"]["width"], 2 * state["image"]["height"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, SCREENSHOTS / "export-survival-by-pdl1.png")
    no_console_errors(dash_duo)


def test_response_download_is_a_zip_of_tidy_tables_with_a_readme(dash_duo, app, tmp_path):
    from components.analysis_page import response_result

    response = expected(app, None, lambda o: response_result(o, "pdl1_tps"))
    open_analyses(dash_duo, app, "Response")
    allow_downloads(dash_duo, tmp_path)
    wait_text(dash_duo, f"#{ids.RESPONSE_TABLE}",
              lambda t: str(response.rates.iloc[-1]["stratum"]) in t)
    js_click(dash_duo, dash_duo.find_element(f"#{ids.RESPONSE_CSV_BUTTON}"))
    archive = zipfile.ZipFile(wait_file(dash_duo, tmp_path, "*.zip"))
    assert sorted(archive.namelist()) == ["README.txt", "best_response.csv", "rates.csv",
                                          "tests.csv"]
    rates = pd.read_csv(io.BytesIO(archive.read("rates.csv"))).set_index("Group")
    for _, row in response.rates.iterrows():
        assert rates.loc[row["stratum"], "ORR"] == round(row["orr"], 4)
        assert rates.loc[row["stratum"], "Denominator"] == row["denominator"]
    tests = pd.read_csv(io.BytesIO(archive.read("tests.csv")))
    assert tests["p-value"].notna().all() and len(tests) == 2
    readme = archive.read("README.txt").decode()
    assert "All patients at first checkpoint inhibitor" in readme
    assert "Denominator: all patients" in readme
    no_console_errors(dash_duo)


@pytest.mark.parametrize("language", ["en", "fi"])
def test_analyses_page_and_its_download_in_each_language(dash_duo, app, tmp_path, language):
    from tests.browser.test_analysis_pages import start_signed_in

    start_signed_in(dash_duo, app)
    browser_language(dash_duo, language)
    dash_duo.driver.get(dash_duo.server_url + "/analyses")
    dash_duo.wait_for_element(f"#{ids.ANALYSIS_TABS}", timeout=WAIT)
    allow_downloads(dash_duo, tmp_path)
    snapshot_word = "Aineisto" if language == "fi" else "Snapshot"
    wait_plot(dash_duo, ids.SURVIVAL_GRAPH, lambda s: snapshot_word in s["caption"])
    full_page_screenshot(dash_duo, f"analyses-survival-{language}")
    js_click(dash_duo, dash_duo.find_element(f"#{ids.SURVIVAL_CSV_BUTTON}"))
    archive = zipfile.ZipFile(wait_file(dash_duo, tmp_path, "*.zip"))
    header = archive.read("curve.csv").decode().splitlines()[0]
    assert header.startswith("Ryhmä," if language == "fi" else "Group,")
    js_click(dash_duo, dash_duo.driver.find_element(
        By.LINK_TEXT, "Hoitovaste" if language == "fi" else "Response"))
    wait_plot(dash_duo, ids.RESPONSE_RATE_GRAPH, lambda s: snapshot_word in s["caption"])
    full_page_screenshot(dash_duo, f"analyses-response-{language}")
    screenshot(dash_duo, f"analyses-response-viewport-{language}")
    no_console_errors(dash_duo)


def curve_ends(dash_duo) -> dict[str, float]:
    """The last drawn time (months) of every survival line, by trace name."""
    return dash_duo.driver.execute_script(
        "const g = document.getElementById(arguments[0]).querySelector('.js-plotly-plot');"
        "const out = {};"
        "(g && g.data ? g.data : []).filter(t => t.mode === 'lines' && t.showlegend !== false)"
        "  .forEach(t => { out[t.name] = Math.max(...t.x); });"
        "return out;", ids.SURVIVAL_GRAPH)


def test_cutting_the_curves_at_a_number_at_risk_ends_them_there(dash_duo, app, tmp_path):
    from components.analysis_page import survival_result

    result = expected(app, None, lambda o: survival_result(o, "os", None))
    curve = result.curve
    cut_time = float(curve[curve["at_risk"] >= 50]["time_months"].max())
    open_analyses(dash_duo, app)
    allow_downloads(dash_duo, tmp_path)
    full = patient_wait(dash_duo, WAIT).until(lambda _: curve_ends(dash_duo))
    assert max(full.values()) == pytest.approx(float(curve["time_months"].max()))
    field = dash_duo.find_element(f"#{ids.SURVIVAL_MIN_AT_RISK}")
    field.send_keys("50")
    field.send_keys("\n")  # debounce: the value is sent on Enter or blur
    ends = patient_wait(dash_duo, WAIT).until(
        lambda _: (e := curve_ends(dash_duo)) and max(e.values()) < max(full.values()) and e)
    assert max(ends.values()) == pytest.approx(cut_time)
    wait_text(dash_duo, f"#{ids.SURVIVAL_CAPTION}", lambda t: "at least 50 patients" in t)
    full_page_screenshot(dash_duo, "analyses-survival-cut-at-50")
    js_click(dash_duo, dash_duo.find_element(f"#{ids.SURVIVAL_CSV_BUTTON}"))
    archive = zipfile.ZipFile(wait_file(dash_duo, tmp_path, "*.zip"))
    drawn = pd.read_csv(io.BytesIO(archive.read("curve.csv")))
    assert drawn["At risk"].min() >= 50
    assert "fewer than 50 patients at risk" in archive.read("README.txt").decode()
    no_console_errors(dash_duo)
