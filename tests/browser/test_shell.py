"""The shell: sign-in, the navbar's active snapshot, the snapshots page and /healthz."""

from __future__ import annotations

import dataclasses
import json
import shutil
import urllib.request

from config import ROOT
from tests.browser.conftest import browser_errors, screenshot, sign_in, start_app

SAMPLE = ROOT / "data" / "sample"


def _snapshots_dir_with_broken_copy(tmp_path):
    """The sample, plus a copy whose patients file is truncated."""
    root = tmp_path / "snapshots"
    shutil.copytree(SAMPLE, root / "sample")
    broken = root / "broken"
    shutil.copytree(SAMPLE, broken)
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["id"] = "broken-copy"
    manifest["created"] = "2030-01-01"  # newer than the sample: must still not be the default
    (broken / "manifest.json").write_text(json.dumps(manifest))
    patients = broken / "patients.parquet"
    patients.write_bytes(patients.read_bytes()[:500])
    (root / "empty").mkdir()
    return root


def test_admin_sees_every_snapshot_with_its_status_and_the_app_keeps_serving(
    dash_duo, app_settings, tmp_path
):
    from app import create_app

    settings = dataclasses.replace(app_settings,
                                   snapshots_dir=_snapshots_dir_with_broken_copy(tmp_path))
    start_app(dash_duo, create_app(settings))
    health = json.loads(urllib.request.urlopen(dash_duo.server_url + "/healthz").read())
    sample_id = json.loads((SAMPLE / "manifest.json").read_text())["id"]
    assert health["status"] == "ok" and health["snapshot"] == sample_id and health["live"]

    sign_in(dash_duo, "admin")
    dash_duo.driver.get(dash_duo.server_url + "/snapshots")
    dash_duo.wait_for_contains_text("#snapshots-table", "broken-copy", timeout=60)
    table = dash_duo.find_element("#snapshots-table").text
    assert "not usable" in table and "patients.parquet" in table
    assert sample_id in table and "default" in table
    assert "empty" in table  # the empty folder is reported too
    screenshot(dash_duo, "shell-snapshots")
    assert browser_errors(dash_duo) == []


def test_navbar_shows_the_active_snapshot_and_signed_in_user(dash_duo, app):
    start_app(dash_duo, app)
    sign_in(dash_duo, "clinician")
    dash_duo.wait_for_contains_text("#shell-navbar-snapshot", "clinician", timeout=30)
    sample_id = json.loads((SAMPLE / "manifest.json").read_text())["id"]
    dash_duo.wait_for_contains_text("#shell-navbar-snapshot", sample_id, timeout=30)
    assert browser_errors(dash_duo) == []


def test_anonymous_visitor_is_sent_to_sign_in(dash_duo, app):
    start_app(dash_duo, app)
    dash_duo.driver.get(dash_duo.server_url + "/analyses")
    dash_duo.wait_for_element("#username", timeout=20)
    assert "/login" in dash_duo.driver.current_url


def test_a_session_ended_on_the_server_sends_the_page_to_sign_in(dash_duo, app, app_settings):
    from access.auth import end_user_sessions
    from access.users import get_user

    start_app(dash_duo, app)
    sign_in(dash_duo, "clinician")
    dash_duo.driver.get(dash_duo.server_url + "/snapshots")
    dash_duo.wait_for_contains_text("#snapshots-table", "valid", timeout=60)
    end_user_sessions(app_settings.store_path, get_user(app_settings.store_path, "clinician").id)
    dash_duo.find_element("#snapshots-refresh").click()  # the next callback gets 401
    dash_duo.wait_for_element("#username", timeout=20)
    assert "/login?next=%2Fsnapshots" in dash_duo.driver.current_url
