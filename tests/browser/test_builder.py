"""Cohort builder in headless Chromium: build by clicks, live counts, switch off, export and
import, malformed upload, shared link in a new session, no console errors.

The expected counts come from the command line (``iocohort count``) or the attrition
function on the JSON the page itself exports, so a page that counted anything else fails.
Screenshots go to tests/output/screenshots/.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

import cli
from components import ids
from config import ROOT
from tests.browser.conftest import (
    DEMO_PASSWORDS,
    browser_errors,
    screenshot,
    sign_in,
    sign_out,
    start_app,
)

pytestmark = pytest.mark.browser
WAIT = 40
SAMPLE = ROOT / "data" / "sample"
# Bootstrap scrolls smoothly; a screenshot or click right after a smooth scroll misses.
SCROLL_TO = "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'});"

# The example cohort, as the builder writes it (used to set up the later scenarios).
NSCLC_PDL1 = {
    "schema_version": 1,
    "metadata": {"name": "NSCLC IV PD-L1 high ECOG 0-1"},
    "index_event": {"kind": "first_checkpoint_inhibitor"},
    "inclusion_rules": [
        {"name": "NSCLC stage IV", "criteria": {"all": [
            {"field": "cancer_type", "op": "in", "value": ["NSCLC"]},
            {"field": "stage", "op": "in", "value": ["IV"]}]}},
        {"name": "PD-L1 TPS >= 50 %", "criteria": {"all": [
            {"table": "biomarkers", "where": [{"field": "biomarker:PD-L1 TPS", "op": ">=",
                                               "value": 50}],
             "window": {"start_days": -90, "end_days": 0}}]}},
        {"name": "ECOG 0-1", "criteria": {"all": [
            {"field": "ecog", "op": "between", "value": [0, 1]}]}},
    ],
}


@pytest.fixture(scope="session")
def sample_copy(tmp_path_factory) -> Path:
    """A copy of data/sample taken once: the page and the command line must count the same
    files even if the sample is regenerated while the tests run."""
    folder = tmp_path_factory.mktemp("snapshots") / "sample"
    shutil.copytree(SAMPLE, folder)
    return folder


@pytest.fixture
def app_settings(app_settings, sample_copy):
    return replace(app_settings, snapshots_dir=sample_copy.parent)


@pytest.fixture
def downloads(dash_duo, tmp_path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    dash_duo.driver.execute_cdp_cmd("Page.setDownloadBehavior",
                                    {"behavior": "allow", "downloadPath": str(folder)})
    return folder


# ------------------------------------------------------------------------------ helpers


def start(dash_duo, app, role: str = "clinician", path: str = "/builder") -> None:
    """Serve the app, sign in through the form, open ``path``; wait for the first count."""
    start_app(dash_duo, app)
    sign_in(dash_duo, role)
    dash_duo.driver.get(dash_duo.server_url + path)
    wait_count(dash_duo)


def wait_until(dash_duo, check, timeout: int = WAIT, message: str = ""):
    # Parts of the page are redrawn by callbacks: an element found a moment ago may be gone.
    return WebDriverWait(dash_duo.driver, timeout, ignored_exceptions=(
        StaleElementReferenceException, IndexError)).until(lambda _d: check(), message)


def css(dash_duo, selector: str, root=None):
    return (root or dash_duo.driver).find_elements(By.CSS_SELECTOR, selector)


def count_text(dash_duo) -> str:
    # Read in the page in one step: an element handle can go stale between find and read.
    return dash_duo.driver.execute_script(
        "const e = document.getElementById(arguments[0]);"
        "return e ? e.innerText.trim() : '';", ids.BUILDER_COUNT)


def wait_count(dash_duo, predicate=lambda text: text[:1].isdigit()) -> int:
    try:
        text = wait_until(dash_duo, lambda: (t := count_text(dash_duo)) and predicate(t) and t)
    except TimeoutException:
        page = dash_duo.driver.find_element(By.TAG_NAME, "body").text[:600]
        raise AssertionError(f"no count on the page: {page!r} {browser_errors(dash_duo)}") \
            from None
    return int(text.replace(",", ""))


def shown_hash(dash_duo) -> str:
    return dash_duo.driver.execute_script(
        "const e = document.querySelector('#' + arguments[0] + ' span[data-hash]');"
        "return e ? e.getAttribute('data-hash') : '';", ids.BUILDER_HASH)


def settled(dash_duo, seconds: float = 1.0) -> tuple[int, str]:
    """Count and hash once no callback has been running for ``seconds``."""
    def quiet() -> bool:
        return dash_duo.driver.execute_script(
            "return !document.querySelector('[data-dash-is-loading=\"true\"]');")
    last = None
    deadline = time.time() + WAIT
    while time.time() < deadline:
        wait_until(dash_duo, quiet)
        current = (count_text(dash_duo), shown_hash(dash_duo))
        if current == last and current[0][:1].isdigit() and current[1]:
            return int(current[0].replace(",", "")), current[1]
        last = current
        time.sleep(seconds)
    raise AssertionError(f"the results did not settle: {last}")


def cohort_in_session(dash_duo) -> dict:
    """The definition in the tab's cohort store (the server binds it to the signed-in user)."""
    raw = dash_duo.driver.execute_script(
        "return window.sessionStorage.getItem(arguments[0]);", ids.COHORT_STORE)
    stored = json.loads(raw)
    assert set(stored) == {"owner", "definition"}
    return stored["definition"]


def funnel_bars(dash_duo) -> list:
    return dash_duo.driver.execute_script(
        "const g = document.getElementById(arguments[0]);"
        "const p = g && g.querySelector('.js-plotly-plot');"
        "return p && p.data ? p.data.map(t => Array.from(t.x)) : [];", ids.BUILDER_FUNNEL)


def rule_cards(dash_duo) -> list:
    return css(dash_duo, ".builder-rule")


def last_row(dash_duo, rule: int):
    return css(dash_duo, ".criterion-row", rule_cards(dash_duo)[rule])[-1]


def click(dash_duo, element) -> None:
    """Click like a person: scrolled into view; a menu left open above it is closed first."""
    for attempt in range(3):
        dash_duo.driver.execute_script(SCROLL_TO, element)
        time.sleep(0.2)
        try:
            element.click()
            return
        except ElementClickInterceptedException:
            if attempt == 2:
                screenshot(dash_duo, "builder-click-failed")
                raise
            close_menus(dash_duo)


def close_menus(dash_duo) -> None:
    if css(dash_duo, ".dash-dropdown-options"):
        dash_duo.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    if css(dash_duo, ".dash-dropdown-options"):
        dash_duo.find_element("h2").click()
    wait_until(dash_duo, lambda: not css(dash_duo, ".dash-dropdown-options"))


def choose(dash_duo, root, dropdown_class: str, value: str, search: str | None = None,
           close: bool = False) -> None:
    """Open a dcc.Dropdown inside ``root``, search, and click the option with ``value``."""
    wait_until(dash_duo, lambda: css(dash_duo, f".{dropdown_class}", root))
    click(dash_duo, css(dash_duo, f".{dropdown_class}", root)[0])
    if search:
        dash_duo.driver.switch_to.active_element.send_keys(search)
    option = wait_until(dash_duo, lambda: [
        o for o in css(dash_duo, ".dash-dropdown-option")
        if css(dash_duo, "input", o) and css(dash_duo, "input", o)[0].get_attribute("value")
        == value], message=f"no option {value!r}")
    option[0].click()
    if close:
        close_menus(dash_duo)


def type_into(dash_duo, root, selector: str, text: str) -> None:
    element = wait_until(dash_duo, lambda: css(dash_duo, selector, root))[0]
    element.clear()
    element.send_keys(text, Keys.TAB)


def add_rule(dash_duo, name: str) -> int:
    before = len(rule_cards(dash_duo))
    click(dash_duo, dash_duo.find_element(f"#{ids.BUILDER_ADD_RULE}"))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == before + 1)
    card = rule_cards(dash_duo)[before]
    type_into(dash_duo, card, ".card-header input.form-control", name)
    return before


def criterion(dash_duo, rule: int, field: str, search: str) -> object:
    """Choose the field of the rule's last row; returns the row once its inputs are drawn."""
    row = last_row(dash_duo, rule)
    choose(dash_duo, row, "builder-field", field, search)
    wait_until(dash_duo, lambda: css(dash_duo, ".builder-values, input[type=number]",
                                     last_row(dash_duo, rule)))
    return last_row(dash_duo, rule)


def build_example_by_clicks(dash_duo) -> None:
    """NSCLC, stage IV, PD-L1 TPS >= 50 % within 90 days before the first checkpoint
    inhibitor, ECOG 0-1 -- built as a person would, one click at a time."""
    name = dash_duo.find_element(f"#{ids.BUILDER_NAME}")
    name.clear()
    name.send_keys(NSCLC_PDL1["metadata"]["name"], Keys.TAB)

    rule = add_rule(dash_duo, "NSCLC stage IV")
    row = criterion(dash_duo, rule, "cancer_type", "Cancer type")
    choose(dash_duo, row, "builder-values", "NSCLC", "NSCLC", close=True)
    click(dash_duo, css(dash_duo, ".builder-add-row", rule_cards(dash_duo)[rule])[0])
    wait_until(dash_duo, lambda: len(css(dash_duo, ".criterion-row",
                                         rule_cards(dash_duo)[rule])) == 2)
    row = criterion(dash_duo, rule, "stage", "Stage")
    choose(dash_duo, row, "builder-values", "IV", None, close=True)

    rule = add_rule(dash_duo, "PD-L1 TPS >= 50 %")
    row = criterion(dash_duo, rule, "biomarker:PD-L1 TPS", "PD-L1 TPS")
    type_into(dash_duo, row, "input[type=number]", "50")
    choose(dash_duo, last_row(dash_duo, rule), "builder-window", "within_before")
    days = css(dash_duo, "input[type=number]:not([placeholder])", last_row(dash_duo, rule))[0]
    assert days.get_attribute("value") == "90"

    rule = add_rule(dash_duo, "ECOG 0-1")
    row = criterion(dash_duo, rule, "ecog", "ECOG")
    low, high = css(dash_duo, "input[type=number]", row)[:2]
    low.send_keys("0", Keys.TAB)
    high.send_keys("1", Keys.TAB)


def cli_count(snapshot: Path, definition_file: Path, cache_dir: Path) -> int:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["count", "--snapshot", str(snapshot), str(definition_file), "--json",
                         "--cache-dir", str(cache_dir)])
    assert code == 0
    return json.loads(out.getvalue())["steps"][-1]["remaining"]


def download(dash_duo, folder: Path, button: str, suffix: str) -> Path:
    before = set(folder.glob(f"*{suffix}"))
    click(dash_duo, dash_duo.find_element(f"#{button}"))
    files = wait_until(dash_duo, lambda: sorted(set(folder.glob(f"*{suffix}")) - before),
                       message="no download")
    time.sleep(0.3)
    return files[0]


def upload(dash_duo, path: Path) -> None:
    field = dash_duo.driver.find_element(By.CSS_SELECTOR, f"#{ids.BUILDER_UPLOAD} input[type=file]")
    field.send_keys(str(path))


def share_url_for(dash_duo, definition: dict) -> str:
    from components.builder.state import share_token
    from queries.cohort.model import Definition

    return f"{dash_duo.server_url}/builder?c={share_token(Definition.model_validate(definition))}"


def partner_count(app, definition: dict) -> str:
    """The final count of the definition as released to a partner."""
    from components.cohort_access import cohort_service
    from queries.cohort.importing import load_definition
    from queries.disclosure.attrition import protect_attrition_result
    from queries.disclosure.policy import policy_for

    with app.server.test_request_context():
        service = cohort_service(None)
        attrition = service.attrition(load_definition(definition, service.catalog))
    return protect_attrition_result(attrition, policy_for("partner")).result[-1].remaining.display


def screenshots(dash_duo, name: str) -> Path:
    """The top of the page as a 1366x768 screen shows it, and the whole page."""
    close_menus(dash_duo)
    dash_duo.driver.execute_script(
        "document.activeElement && document.activeElement.blur();"
        "window.scrollTo({top: 0, behavior: 'instant'});")
    time.sleep(0.3)
    path = screenshot(dash_duo, name)
    height = dash_duo.driver.execute_script("return document.body.scrollHeight;")
    dash_duo.driver.set_window_size(1366, max(768, height + 150))
    time.sleep(0.5)
    screenshot(dash_duo, name + "-full")
    dash_duo.driver.set_window_size(1366, 768)
    return path


def no_console_errors(dash_duo) -> None:
    errors = browser_errors(dash_duo)
    assert errors == [], errors


# -------------------------------------------------------------------------------- tests


def test_example_built_by_clicks_counts_what_iocohort_count_counts(dash_duo, app, downloads,
                                                                    browser_cache_dir,
                                                                    sample_copy):
    start(dash_duo, app)
    everyone = wait_count(dash_duo)
    build_example_by_clicks(dash_duo)
    count, digest = settled(dash_duo)
    assert count < everyone

    exported = download(dash_duo, downloads, ids.BUILDER_DOWNLOAD_JSON, ".json")
    document = json.loads(exported.read_text())
    assert document["export"]["content_hash"] == digest
    assert [r["name"] for r in document["inclusion_rules"]] == [
        r["name"] for r in NSCLC_PDL1["inclusion_rules"]]
    # The page wrote exactly the example (metadata aside: author is the user).
    from queries.cohort.model import Definition

    expected = Definition.model_validate(NSCLC_PDL1).content()
    assert document["inclusion_rules"] == expected["inclusion_rules"]
    assert document["index_event"] == expected["index_event"]
    assert document["metadata"]["author"] == "clinician"
    assert count == cli_count(sample_copy, exported, browser_cache_dir)
    assert count > 0
    steps = css(dash_duo, f"#{ids.BUILDER_ATTRITION_TABLE} tbody tr")
    assert len(steps) == 4
    description = dash_duo.find_element(f"#{ids.BUILDER_DESCRIPTION}").text
    assert "PD-L1 TPS" in description and "NSCLC" in description
    path = screenshots(dash_duo, "builder-nsclc-pdl1")
    assert path.exists()
    no_console_errors(dash_duo)


def test_switching_a_rule_off_changes_count_and_funnel_and_on_again_restores(dash_duo, app):
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    count, digest = settled(dash_duo)
    bars = funnel_bars(dash_duo)

    switch = css(dash_duo, ".form-switch input", rule_cards(dash_duo)[1])[0]
    click(dash_duo, switch)
    off_count, off_digest = settled(dash_duo)
    assert off_count > count
    assert off_digest != digest
    assert funnel_bars(dash_duo) != bars
    assert "builder-rule-off" in rule_cards(dash_duo)[1].get_attribute("class")
    assert "switched off" in dash_duo.find_element(f"#{ids.BUILDER_ATTRITION_TABLE}").text

    click(dash_duo, css(dash_duo, ".form-switch input", rule_cards(dash_duo)[1])[0])
    assert settled(dash_duo) == (count, digest)
    assert funnel_bars(dash_duo) == bars

    # The same with the Undo button: off, then undo brings the rule back on.
    click(dash_duo, css(dash_duo, ".form-switch input", rule_cards(dash_duo)[1])[0])
    assert settled(dash_duo) == (off_count, off_digest)
    click(dash_duo, dash_duo.find_element(f"#{ids.BUILDER_UNDO}"))
    assert settled(dash_duo) == (count, digest)
    assert "builder-rule-off" not in rule_cards(dash_duo)[1].get_attribute("class")
    assert funnel_bars(dash_duo) == bars
    no_console_errors(dash_duo)


def test_export_then_import_keeps_hash_and_count_and_a_malformed_file_changes_nothing(
        dash_duo, app, downloads, tmp_path):
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    count, digest = settled(dash_duo)
    exported = download(dash_duo, downloads, ids.BUILDER_DOWNLOAD_JSON, ".json")
    for button, suffix, text in ((ids.BUILDER_DOWNLOAD_SQL, ".sql", "SELECT"),
                                 (ids.BUILDER_DOWNLOAD_TEXT, ".txt", "PD-L1 TPS")):
        assert text in download(dash_duo, downloads, button, suffix).read_text()

    click(dash_duo, dash_duo.find_element(f"#{ids.BUILDER_NEW}"))
    wait_until(dash_duo, lambda: not rule_cards(dash_duo))
    assert settled(dash_duo)[1] != digest

    upload(dash_duo, exported)
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    assert settled(dash_duo) == (count, digest)

    broken = json.loads(exported.read_text())
    broken["inclusion_rules"][0]["criteria"]["all"][0]["field"] = "cancertype"
    broken["inclusion_rules"][2]["criteria"]["all"][0]["op"] = "roughly"
    broken["index_event"]["kind"] = "first_anything"
    bad_file = tmp_path / "broken.json"
    bad_file.write_text(json.dumps(broken))
    upload(dash_duo, bad_file)
    problems = wait_until(dash_duo, lambda: css(
        dash_duo, f"#{ids.BUILDER_UPLOAD_PROBLEMS} li"))
    text = dash_duo.find_element(f"#{ids.BUILDER_UPLOAD_PROBLEMS}").text
    assert len(problems) >= 3, text
    assert "inclusion_rules[0].criteria.all[0].field" in text
    assert 'did you mean "Cancer type"' in text
    assert "inclusion_rules[2].criteria.all[0].op" in text
    assert "index_event.kind" in text
    assert settled(dash_duo) == (count, digest)
    assert len(rule_cards(dash_duo)) == 3
    dash_duo.driver.execute_script(SCROLL_TO,
                                   dash_duo.find_element(f"#{ids.BUILDER_UPLOAD_PROBLEMS}"))
    screenshot(dash_duo, "builder-upload-problems")

    not_json = tmp_path / "not-json.json"
    not_json.write_text("{ this is not json")
    upload(dash_duo, not_json)
    wait_until(dash_duo, lambda: "not valid JSON" in dash_duo.find_element(
        f"#{ids.BUILDER_UPLOAD_PROBLEMS}").text)
    assert settled(dash_duo) == (count, digest)
    no_console_errors(dash_duo)


def test_shared_link_restores_the_cohort_in_a_new_browser_session(dash_duo, app):
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    # Switch one rule off so the link must carry the exact state, not just the rules.
    click(dash_duo, css(dash_duo, ".form-switch input", rule_cards(dash_duo)[2])[0])
    count, digest = settled(dash_duo)
    click(dash_duo, dash_duo.find_element(f"#{ids.BUILDER_SHARE}"))
    link = wait_until(dash_duo, lambda: dash_duo.find_element(
        f"#{ids.BUILDER_SHARE_URL}").get_attribute("value"))
    assert "/builder?c=" in link

    # Reloading the link in the same session keeps the edits made since it was opened.
    dash_duo.driver.get(link)
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    assert settled(dash_duo) == (count, digest)
    click(dash_duo, css(dash_duo, ".form-switch input", rule_cards(dash_duo)[0])[0])
    edited = settled(dash_duo)
    dash_duo.driver.refresh()
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    assert settled(dash_duo) == edited
    click(dash_duo, css(dash_duo, ".form-switch input", rule_cards(dash_duo)[0])[0])
    assert settled(dash_duo) == (count, digest)

    # A new session: no cookies, no session storage (the shell keeps the cohort there).
    sign_out(dash_duo)
    dash_duo.driver.execute_script("window.sessionStorage.clear(); window.localStorage.clear();")
    dash_duo.driver.get(link)
    dash_duo.wait_for_element("#username", timeout=30).send_keys("partner")
    dash_duo.find_element("#password").send_keys(DEMO_PASSWORDS["partner"])
    dash_duo.find_element("button[type=submit]").click()
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    assert settled(dash_duo)[1] == digest
    assert "builder-rule-off" in rule_cards(dash_duo)[2].get_attribute("class")
    assert cohort_in_session(dash_duo)["inclusion_rules"][2]["enabled"] is False
    # A partner sees the count under disclosure control, as the policy releases it.
    assert count_text(dash_duo) == partner_count(app, cohort_in_session(dash_duo))
    screenshots(dash_duo, "builder-partner-shared-link")
    no_console_errors(dash_duo)


def test_invalid_row_is_marked_and_last_valid_result_stays(dash_duo, app):
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    count, digest = settled(dash_duo)
    click(dash_duo, css(dash_duo, ".builder-add-row", rule_cards(dash_duo)[0])[0])
    wait_until(dash_duo, lambda: css(dash_duo, ".criterion-row.invalid"))
    assert "choose a field" in css(dash_duo, ".criterion-row.invalid")[0].text
    assert "problem" in dash_duo.find_element(f"#{ids.BUILDER_STATUS}").text
    assert settled(dash_duo) == (count, digest)
    assert cohort_in_session(dash_duo)["inclusion_rules"][0]["criteria"]["all"][1]["field"] \
        == "stage"
    no_console_errors(dash_duo)


def saved_rows(dash_duo) -> list:
    return css(dash_duo, f"#{ids.BUILDER_SAVED_LIST} tr")


def saved_button(dash_duo, row: int, text: str):
    return next(b for b in css(dash_duo, "button", saved_rows(dash_duo)[row]) if b.text == text)


def test_save_list_rename_duplicate_open_and_delete_saved_cohorts(dash_duo, app):
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    count, digest = settled(dash_duo)
    dash_duo.find_element(f"#{ids.BUILDER_SAVE_NAME}").send_keys("My NSCLC")
    click(dash_duo, dash_duo.find_element(f"#{ids.BUILDER_SAVE}"))
    wait_until(dash_duo, lambda: len(saved_rows(dash_duo)) == 1)
    assert "Saved as" in dash_duo.find_element(f"#{ids.BUILDER_SAVE_MESSAGE}").text

    click(dash_duo, saved_button(dash_duo, 0, "Duplicate"))
    wait_until(dash_duo, lambda: len(saved_rows(dash_duo)) == 2)
    names = lambda: sorted(i.get_attribute("value") for i in css(  # noqa: E731
        dash_duo, f"#{ids.BUILDER_SAVED_LIST} textarea"))
    assert names() == ["My NSCLC", "My NSCLC (copy)"]
    copy_row = next(i for i, r in enumerate(saved_rows(dash_duo))
                    if css(dash_duo, "textarea", r)[0].get_attribute("value").endswith("(copy)"))
    name_input = css(dash_duo, "textarea", saved_rows(dash_duo)[copy_row])[0]
    # select and overwrite: clear() does not fire React's change event on a textarea
    name_input.send_keys(Keys.CONTROL, "a")
    name_input.send_keys("Second look")
    click(dash_duo, saved_button(dash_duo, copy_row, "Rename"))
    wait_until(dash_duo, lambda: names() == ["My NSCLC", "Second look"])

    click(dash_duo, dash_duo.find_element(f"#{ids.BUILDER_NEW}"))
    wait_until(dash_duo, lambda: not rule_cards(dash_duo))
    first = next(i for i, r in enumerate(saved_rows(dash_duo))
                 if css(dash_duo, "textarea", r)[0].get_attribute("value") == "My NSCLC")
    click(dash_duo, saved_button(dash_duo, first, "Open"))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    assert settled(dash_duo) == (count, digest)

    click(dash_duo, saved_button(dash_duo, 0, "Delete"))
    wait_until(dash_duo, lambda: len(saved_rows(dash_duo)) == 1)
    no_console_errors(dash_duo)


def clinician_count(app, definition: dict) -> int:
    from components.cohort_access import cohort_service
    from queries.cohort.importing import load_definition

    with app.server.test_request_context():
        service = cohort_service(None)
        return service.attrition(load_definition(definition, service.catalog)).final


def test_index_event_picker_sets_time_zero_and_the_count_follows(dash_duo, app):
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    count, digest = settled(dash_duo)
    Select(dash_duo.find_element(f"#{ids.BUILDER_INDEX_KIND}")).select_by_value("line_start")
    line = dash_duo.find_element(f"#{ids.BUILDER_INDEX_LINE}")
    wait_until(dash_duo, line.is_displayed)
    line.send_keys(Keys.BACKSPACE, "2", Keys.TAB)
    wait_until(dash_duo, lambda: cohort_in_session(dash_duo)["index_event"]["line"] == 2)
    new_count, new_digest = settled(dash_duo)
    definition = cohort_in_session(dash_duo)
    assert definition["index_event"]["kind"] == "line_start"
    assert new_digest != digest and new_digest == definition_hash(definition)
    assert new_count == clinician_count(app, definition)
    assert "line 2" in dash_duo.find_element(f"#{ids.BUILDER_DESCRIPTION}").text.lower()
    no_console_errors(dash_duo)


def definition_hash(definition: dict) -> str:
    from queries.cohort.model import Definition

    return Definition.model_validate(definition).content_hash()


@pytest.fixture
def two_snapshots(tmp_path, sample_copy) -> Path:
    """The sample snapshot and a tiny one side by side (the sample, newer, is the default)."""
    from tests.unit.snapshot_factory import write_tiny_snapshot

    folder = tmp_path / "snapshots"
    folder.mkdir()
    (folder / "sample").symlink_to(sample_copy, target_is_directory=True)
    write_tiny_snapshot(folder / "tiny")
    return folder


def test_choosing_another_snapshot_recounts_the_same_cohort(dash_duo, app_settings,
                                                           two_snapshots):
    from app import create_app
    from tests.unit.snapshot_factory import TINY_ID

    app = create_app(replace(app_settings, snapshots_dir=two_snapshots))
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    count, digest = settled(dash_duo)
    choose(dash_duo, dash_duo.driver, "navbar .dash-dropdown", TINY_ID)
    wait_until(dash_duo, lambda: TINY_ID in dash_duo.find_element(
        f"#{ids.BUILDER_COUNT_NOTE}").text)
    tiny_count, tiny_digest = settled(dash_duo)
    assert tiny_digest == digest
    with app.server.test_request_context():
        from components.cohort_access import cohort_service
        from queries.cohort.importing import load_definition

        service = cohort_service(TINY_ID)
        expected = service.attrition(load_definition(NSCLC_PDL1, service.catalog)).final
    assert tiny_count == expected != count
    no_console_errors(dash_duo)


def rule_names(dash_duo) -> list[str]:
    return [css(dash_duo, ".card-header input.form-control", card)[0].get_attribute("value")
            for card in rule_cards(dash_duo)]


def rule_button(dash_duo, rule: int, title: str):
    return next(b for b in css(dash_duo, ".card-header button", rule_cards(dash_duo)[rule])
                if b.get_attribute("title") == title)


def test_rules_reorder_rename_and_remove_and_rows_remove(dash_duo, app):
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    count, digest = settled(dash_duo)
    names = rule_names(dash_duo)

    click(dash_duo, rule_button(dash_duo, 0, "move down"))
    wait_until(dash_duo, lambda: rule_names(dash_duo) == [names[1], names[0], names[2]])
    moved_count, moved_digest = settled(dash_duo)
    assert moved_count == count and moved_digest != digest  # same patients, another order
    assert [r["name"] for r in cohort_in_session(dash_duo)["inclusion_rules"]] == \
        [names[1], names[0], names[2]]
    click(dash_duo, rule_button(dash_duo, 1, "move up"))
    wait_until(dash_duo, lambda: rule_names(dash_duo) == names)
    assert settled(dash_duo) == (count, digest)

    type_into(dash_duo, rule_cards(dash_duo)[2], ".card-header input.form-control", "Fit")
    wait_until(dash_duo, lambda: cohort_in_session(dash_duo)["inclusion_rules"][2]["name"]
               == "Fit")
    assert "Fit" in dash_duo.find_element(f"#{ids.BUILDER_ATTRITION_TABLE}").text

    click(dash_duo, rule_button(dash_duo, 2, "delete this rule"))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 2)
    fewer, _ = settled(dash_duo)
    assert fewer > count

    stage_row = css(dash_duo, ".criterion-row", rule_cards(dash_duo)[0])[1]
    click(dash_duo, css(dash_duo, "button[title='remove this criterion']", stage_row)[0])
    wait_until(dash_duo, lambda: len(css(dash_duo, ".criterion-row",
                                         rule_cards(dash_duo)[0])) == 1)
    assert settled(dash_duo)[0] > fewer
    rule = cohort_in_session(dash_duo)["inclusion_rules"][0]
    assert [c["field"] for c in rule["criteria"]["all"]] == ["cancer_type"]
    no_console_errors(dash_duo)


def test_wrong_case_values_in_an_upload_are_errors_and_the_cohort_stays(dash_duo, app, tmp_path):
    start(dash_duo, app)
    dash_duo.driver.get(share_url_for(dash_duo, NSCLC_PDL1))
    wait_until(dash_duo, lambda: len(rule_cards(dash_duo)) == 3)
    before = settled(dash_duo)
    wrong = json.loads(json.dumps(NSCLC_PDL1))
    wrong["inclusion_rules"][0]["criteria"]["all"][1]["value"] = ["iv"]
    wrong["inclusion_rules"].append({"name": "Women", "criteria": {
        "field": "sex", "op": "in", "value": ["Female"]}})
    wrong["inclusion_rules"].append({"name": "Stage", "criteria": {
        "field": "stage", "op": "=", "value": "Stage 4"}})
    path = tmp_path / "wrong-case.json"
    path.write_text(json.dumps(wrong))
    upload(dash_duo, path)
    wait_until(dash_duo, lambda: len(css(dash_duo, f"#{ids.BUILDER_UPLOAD_PROBLEMS} li")) >= 3)
    text = dash_duo.find_element(f"#{ids.BUILDER_UPLOAD_PROBLEMS}").text
    assert 'did you mean "IV"' in text and '"Female" is not a value of Sex' in text
    assert "Stage 4" in text and "the cohort on the page is unchanged" in text
    assert settled(dash_duo) == before
    assert len(rule_cards(dash_duo)) == 3
    no_console_errors(dash_duo)
