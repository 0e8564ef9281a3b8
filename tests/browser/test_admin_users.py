"""User management in the UI: an admin creates a user who can then sign in; disabling works."""

from __future__ import annotations

from tests.browser.conftest import browser_errors, screenshot, sign_in, sign_out, start_app

NEW_PASSWORD = "a long enough password"


def _sign_in_as(dash_duo, username: str, password: str) -> None:
    sign_out(dash_duo)
    dash_duo.wait_for_element("#username", timeout=30).send_keys(username)
    dash_duo.find_element("#password").send_keys(password)
    dash_duo.find_element("button[type=submit]").click()


def test_admin_creates_a_user_who_then_signs_in(dash_duo, app):
    start_app(dash_duo, app)
    sign_in(dash_duo, "admin")
    dash_duo.driver.get(dash_duo.server_url + "/users")
    dash_duo.wait_for_contains_text("#users-table", "partner", timeout=30)
    dash_duo.find_element("#users-new-name").send_keys("new.oncologist")
    dash_duo.find_element("#users-new-password").send_keys(NEW_PASSWORD)
    dash_duo.find_element("#users-create").click()
    dash_duo.wait_for_contains_text("#users-message", "new.oncologist", timeout=30)
    dash_duo.wait_for_contains_text("#users-table", "new.oncologist", timeout=30)
    screenshot(dash_duo, "admin-users-en")
    assert browser_errors(dash_duo) == []

    _sign_in_as(dash_duo, "new.oncologist", NEW_PASSWORD)
    dash_duo.wait_for_contains_text("#shell-navbar-snapshot", "new.oncologist", timeout=30)
    assert "/login" not in dash_duo.driver.current_url

    # The creation is in the audit log, under the admin who made it.
    _sign_in_as(dash_duo, "admin", "admin-demo")
    dash_duo.wait_for_contains_text("#audit-table", "user-create", timeout=30)
