"""Every page of every role, in English and in Finnish: it loads without a console error, its
<html lang> is the language, a Finnish page shows no English text of the catalogue and no data
value in English that has a Finnish name (CTCAE terms, organ classes, cancer types), and a
screenshot of each goes to tests/output/screenshots/ (page-<role>-<page>-<language>.png)."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po
from selenium.webdriver.common.by import By

from queries.cohort.vocabulary import VALUE_NAMES
from queries.i18n import catalogue_path, translator
from tests.browser.conftest import (
    browser_errors,
    patient_wait,
    screenshot,
    sign_in,
    sign_out,
    start_app,
)
from tests.browser.test_i18n import browser_language, html_lang

pytestmark = pytest.mark.browser

# (role, path, a selector that is filled once the page has its data)
PAGES = (
    ("clinician", "/builder", "#builder-count"),
    ("clinician", "/analyses", "#analysis-cohort-info"),
    ("clinician", "/compare", "#shell-page-content"),
    ("clinician", "/feasibility", "#feasibility-total"),
    ("clinician", "/summaries", "#shell-page-content"),
    ("clinician", "/snapshots", "#shell-page-content"),
    ("admin", "/users", "#shell-page-content"),
    ("admin", "/audit", "#shell-page-content"),
)
SIGN_OUT = {"en": "Sign out", "fi": "Kirjaudu ulos"}
PLACEHOLDER = re.compile(r"\{[^}]*\}|%\{[^}]*\}|%\(?\w*\)?[sd]|<[^>]*>")


def english_fragments() -> set[str]:
    """Pieces of English UI text that a Finnish page must not show: every catalogue message
    whose Finnish differs, split at its placeholders, kept when long enough (three words or
    more) not to be a name or a code that both languages share."""
    with catalogue_path("fi").open("rb") as po:
        catalogue = read_po(po, locale="fi")
    fragments = set()
    for message in catalogue:
        english = message.id[0] if isinstance(message.id, tuple) else message.id
        finnish = message.string[0] if isinstance(message.string, tuple) else message.string
        if not english or english == finnish:
            continue
        for piece in PLACEHOLDER.split(english):
            piece = piece.strip(" .,:;()–-")
            if len(piece.split()) >= 3:
                fragments.add(piece)
    return fragments


def english_value_names() -> dict[str, re.Pattern[str]]:
    """Data values a Finnish page shows by their Finnish names (a CTCAE term, an organ class, a
    cancer type), each as a whole-word pattern: one word ("Colitis") is enough to be English."""
    fi = translator("fi")
    return {value: re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])")
            for names in VALUE_NAMES.values() for value in names
            if value[:1].isupper() and fi.gettext(value) != value}


def page_text(dash_duo, without_tables: bool = False) -> str:
    """The page's visible text; ``without_tables`` leaves out table cells (the audit log's
    rows are records of what users asked, kept as they were written, not interface text)."""
    return dash_duo.driver.execute_script(
        "const body = document.body.cloneNode(true);"
        "if (arguments[0]) body.querySelectorAll('table').forEach(t => t.remove());"
        "document.documentElement.appendChild(body);"
        "const text = body.innerText; body.remove(); return text;", without_tables)


def visit(dash_duo, role: str, path: str, ready: str, language: str) -> str:
    dash_duo.driver.get(dash_duo.server_url + path)
    patient_wait(dash_duo, 120).until(lambda d: html_lang(dash_duo) == language
                                      and SIGN_OUT[language] in page_text(dash_duo))
    dash_duo.wait_for_element(ready, timeout=60)
    # Dash shows a spinner while a callback runs: wait until the page has settled.
    patient_wait(dash_duo, 90).until(lambda d: not d.find_elements(
        By.CSS_SELECTOR, "._dash-loading, .dash-spinner, [data-dash-is-loading='true']"))
    text = page_text(dash_duo, without_tables=path == "/audit")
    name = f"page-{role}-{path.strip('/')}-{language}"
    screenshot(dash_duo, name)
    if path == "/analyses":
        tabs = dash_duo.driver.find_elements(By.CSS_SELECTOR, "#analysis-tabs .nav-link")
        for number, tab in enumerate(tabs[1:], start=2):
            tab.click()
            patient_wait(dash_duo, 90).until(lambda d: not d.find_elements(
                By.CSS_SELECTOR, "[data-dash-is-loading='true']"))
            text += "\n" + page_text(dash_duo)
            screenshot(dash_duo, f"{name}-tab{number}")
    return text


@pytest.mark.parametrize("language", ["en", "fi"])
def test_every_page_loads_in_its_language_without_console_errors(dash_duo, app, language):
    start_app(dash_duo, app)
    browser_language(dash_duo, "fi-FI,fi;q=0.9" if language == "fi" else "en-GB,en;q=0.9")
    fragments = english_fragments() if language == "fi" else set()
    values = english_value_names() if language == "fi" else {}
    signed_in = None
    for role, path, ready in PAGES:
        if role != signed_in:
            if signed_in:
                sign_out(dash_duo)
            sign_in(dash_duo, role)
            signed_in = role
        text = visit(dash_duo, role, path, ready, language)
        english = sorted(f for f in fragments if f in text) + sorted(
            value for value, pattern in values.items() if pattern.search(text))
        assert not english, f"{path} in Finnish shows English: {english}"
        assert browser_errors(dash_duo) == [], path
