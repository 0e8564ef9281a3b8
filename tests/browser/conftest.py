"""Browser tests: Debian's Chromium, headless, through dash.testing (dash_duo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dash.testing.application_runners import BaseDashRunner
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By

from config import ROOT, Settings

# dash.testing numbers its servers' ports from 58050 in every pytest process; a different base
# per process lets two browser runs share one machine (IOCOHORT_TEST_PORT_BASE=61000 ...), and
# each pytest-xdist worker (gw0, gw1, ...) takes its own block of 200 ports.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
BaseDashRunner._next_port = int(os.environ.get("IOCOHORT_TEST_PORT_BASE", "58050")) + 200 * _WORKER

SCREENSHOTS = ROOT / "tests" / "output" / "screenshots"
DEMO_PASSWORDS = {
    "clinician": "clinician-demo",
    "partner": "partner-demo",
    "advisory": "advisory-demo",
    "admin": "admin-demo",
}


def pytest_setup_options():
    """Chromium flags that work as root on a machine with no network and no GPU."""
    options = Options()
    options.binary_location = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1366,768",
    ):
        options.add_argument(arg)
    return options


@pytest.fixture(scope="session")
def browser_cache_dir(tmp_path_factory) -> Path:
    """One DuckDB build of the sample snapshot for the whole browser session."""
    return tmp_path_factory.mktemp("duckdb-cache")


@pytest.fixture
def app_settings(tmp_path, browser_cache_dir) -> Settings:
    return Settings(
        secret_key="browser-test-secret-key-0123456789abcdef",
        snapshots_dir=ROOT / "data",
        cache_dir=browser_cache_dir,
        store_path=tmp_path / "app.sqlite",
        host="127.0.0.1",
        port=8050,
        demo=True,
    )


@pytest.fixture
def app(app_settings):
    from app import create_app

    return create_app(app_settings)


def sign_in(dash_duo, role: str) -> None:
    """Sign in through the real form as the demo user of ``role``."""
    dash_duo.driver.get(dash_duo.server_url + "/login")
    dash_duo.wait_for_element("#username", timeout=30).send_keys(role)
    dash_duo.find_element("#password").send_keys(DEMO_PASSWORDS[role])
    dash_duo.find_element("button[type=submit]").click()
    dash_duo.wait_for_element("#" + "shell-page-content", timeout=30)


def sign_out(dash_duo) -> None:
    """Sign out through the real POST form, ending the session on the server.

    Deleting cookies is not enough: a callback still in flight on the page can set the
    session cookie again, and /login then redirects a signed-in browser away from the form.
    """
    dash_duo.driver.get(dash_duo.server_url + "/logout")
    dash_duo.wait_for_element("form[method=post] button", timeout=30).click()
    dash_duo.wait_for_element("#username", timeout=30)


def browser_errors(dash_duo) -> list[dict]:
    """Console errors (SEVERE) of the page, ignoring none."""
    return [e for e in dash_duo.driver.get_log("browser") if e.get("level") == "SEVERE"]


def screenshot(dash_duo, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    dash_duo.driver.save_screenshot(str(path))
    return path


def text_of(dash_duo, selector: str) -> str:
    return dash_duo.driver.find_element(By.CSS_SELECTOR, selector).text


def start_app(dash_duo, app) -> None:
    """Start the app; its root redirects to /login, so do not wait for a Dash page there."""
    dash_duo.start_server(app, navigate=False)
    dash_duo._url = dash_duo.server.url  # what the server_url setter sets, minus its wait


def patient_wait(dash_duo, timeout: float, **kwargs):
    """A WebDriverWait that retries when Dash re-renders an element mid-read."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(dash_duo.driver, timeout,
                         ignored_exceptions=(StaleElementReferenceException,), **kwargs)
