"""No input gives a server error, and small leaks stay closed: the whole app over HTTP.

Callbacks are POSTed to ``/_dash-update-component`` with real signed-in sessions (the helpers
of the authorization matrix), as an attacker would send them.
"""

from __future__ import annotations

import base64
import copy
import json

import pytest
from hypothesis import HealthCheck, given, settings

from access import auth
from components import ids
from config import Settings

try:
    from definition_fuzz import hostile_definitions
    from snapshot_factory import TINY_ID, write_tiny_snapshot
    from test_authorization_matrix import CALLBACK_ROLES, callback_name, request_body, sign_in
except ImportError:  # tests/unit imported as a package
    from tests.unit.definition_fuzz import hostile_definitions
    from tests.unit.snapshot_factory import TINY_ID, write_tiny_snapshot
    from tests.unit.test_authorization_matrix import (
        CALLBACK_ROLES,
        callback_name,
        request_body,
        sign_in,
    )

DISPATCH = "/_dash-update-component"
ROLE_ORDER = ("clinician", "admin", "partner", "advisory")


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("hardening")
    write_tiny_snapshot(root / "snapshots" / TINY_ID)
    (root / "snapshots" / "an-empty-folder").mkdir()  # listed with its absolute path
    return Settings(secret_key="hardening-tests-secret-key-0123456789abcdef",
                    snapshots_dir=root / "snapshots", cache_dir=root / "cache",
                    store_path=root / "app.sqlite", host="127.0.0.1", demo=True)


@pytest.fixture(scope="module")
def dash_app(app_settings):
    from access.auth import seed_demo_users
    from app import create_app

    app = create_app(app_settings)
    seed_demo_users(app_settings)
    app.server.test_client().get("/login")
    return app


@pytest.fixture(scope="module")
def clients(dash_app) -> dict:
    return {role: sign_in(dash_app, role) for role in ROLE_ORDER}


def _call(dash_app, name: str) -> tuple[dict, str]:
    """A well-formed request body for the callback ``name`` and a role allowed to call it."""
    key, entry = next((k, e) for k, e in dash_app.callback_map.items()
                      if callback_name(e) == name)
    rule = CALLBACK_ROLES[name]
    role = next(r for r in ROLE_ORDER if r in rule.allowed())
    return request_body(key, entry, rule), role


def _with(body: dict, component_id, prop: str, value, changed: bool = True) -> dict:
    body = copy.deepcopy(body)
    for item in body["inputs"] + body["state"]:
        if isinstance(item, dict) and item["id"] == component_id and item["property"] == prop:
            item["value"] = value
    if changed:
        body["changedPropIds"] = [f"{component_id}.{prop}"]
    return body


# --- 4. callback inputs of the wrong type ---------------------------------------------------


@pytest.mark.parametrize(("name", "component_id", "prop", "value"), [
    ("components.panels.analyses_survival", ids.SNAPSHOT_STORE, "data", {"a": 1}),
    ("components.panels.analyses_survival", ids.SNAPSHOT_STORE, "data", ["x"]),
    ("components.panels.analyses_survival", ids.SURVIVAL_STRATA, "value", {"a": 1}),
    ("components.admin_page.update_audit_table", ids.AUDIT_USERNAME, "value", {"a": 1}),
    ("components.admin_page.update_audit_table", ids.AUDIT_PAGER, "active_page", "1; DROP"),
])
def test_callback_inputs_of_the_wrong_type_get_400_with_a_message(dash_app, clients, name,
                                                                  component_id, prop, value):
    body, role = _call(dash_app, name)
    response = clients[role].post(DISPATCH, json=_with(body, component_id, prop, value))
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert f"{component_id}.{prop}" in message and "must be" in message


WRONG_VALUES = ({"a": 1}, ["x"], [1, {"b": 2}], "1; DROP", "", "x" * 5000, 10**30, -1, 1.5,
                True, None, float("inf"))


def test_no_callback_input_of_any_type_gives_a_server_error(dash_app, clients):
    """Every input and state of every callback, each set to values of every JSON type."""
    failures, sent = [], 0
    for key, entry in dash_app.callback_map.items():
        name = callback_name(entry)
        rule = CALLBACK_ROLES[name]
        role = next(r for r in ROLE_ORDER if r in rule.allowed())
        base = request_body(key, entry, rule)
        for part in ("inputs", "state"):
            for position, item in enumerate(base[part]):
                if not isinstance(item, dict):
                    continue
                for value in WRONG_VALUES:
                    body = copy.deepcopy(base)
                    body[part][position]["value"] = value
                    # json.dumps writes inf as Infinity, which is not JSON: send it as text
                    response = clients[role].post(DISPATCH, data=json.dumps(body),
                                                  content_type="application/json")
                    sent += 1
                    if response.status_code >= 500:
                        failures.append(f"{name} {item['id']}.{item['property']}={value!r:.40}")
    assert sent >= 1000
    assert not failures, "\n".join(failures)


def test_a_genuine_error_in_a_callback_is_still_a_500(dash_app, clients, monkeypatch):
    from components import admin_page

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(admin_page.audit, "count_audit", broken)
    body, role = _call(dash_app, "components.admin_page.update_audit_table")
    response = clients[role].post(DISPATCH, json=body)
    assert response.status_code == 500
    assert "a bug" not in response.get_data(as_text=True)


@pytest.mark.parametrize("body", [
    [1], "text", {"output": 1}, {"output": "no-such-output.children", "inputs": []},
    {"output": "shell-page-content.children", "inputs": "x", "outputs": {}},
    {"output": "shell-page-content.children", "inputs": [{"id": ["x"], "property": "p"}],
     "outputs": {"id": "shell-page-content", "property": "children"}},
])
def test_malformed_callback_requests_get_400(clients, body):
    response = clients["clinician"].post(DISPATCH, json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_a_request_over_the_size_limit_gets_413(clients):
    big = b'{"output": "' + b"x" * (auth.MAX_REQUEST_BYTES + 1) + b'"}'
    response = clients["clinician"].post(DISPATCH, data=big, content_type="application/json")
    assert response.status_code == 413


def test_json_nested_too_deep_gets_400(clients):
    deep = "[" * 1000 + "]" * 1000
    for text in (deep, '{"output": ' + deep + "}"):
        response = clients["clinician"].post(DISPATCH, data=text,
                                              content_type="application/json")
        assert response.status_code == 400
        assert "nested" in response.get_json()["error"]
    assert auth.json_depth(b'{"a": "[[[[[[", "b": [[1], {"c": [2]}]}') == 4


def test_invalid_json_gets_400(clients):
    response = clients["clinician"].post(DISPATCH, data="{not json",
                                         content_type="application/json")
    assert response.status_code == 400


def test_unknown_component_suite_path_is_404(dash_app):
    client = dash_app.server.test_client()
    for path in ("/_dash-component-suites/dash/no-such-file.js",
                 "/_dash-component-suites/no_such_package/x.js"):
        assert client.get(path).status_code == 404


# --- 5. smaller leaks -------------------------------------------------------------------------


def test_snapshot_problems_show_server_paths_to_admins_only(dash_app, clients, app_settings):
    body, _ = _call(dash_app, "components.snapshots_page.update_snapshots_table")
    server_path = str(app_settings.snapshots_dir)
    for role in ("clinician", "partner"):
        # decoded: Dash's JSON writes "/" as \u002f
        text = json.dumps(clients[role].post(DISPATCH, json=body).get_json())
        assert "an-empty-folder" in text and server_path not in text
    admin = json.dumps(clients["admin"].post(DISPATCH, json=body).get_json())
    assert server_path in admin



# --- 3. repeated failed sign-ins, shown to admins -------------------------------------------


def _failed_sign_in(dash_app, username: str, address: str) -> int:
    import re

    client = dash_app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"username": username, "password": "not the password",
                                       "csrf_token": token},
                       environ_overrides={"REMOTE_ADDR": address}).status_code


def test_repeated_failed_sign_ins_are_shown_to_admins_on_the_audit_page(dash_app, clients):
    for k in range(4):
        assert _failed_sign_in(dash_app, "advisory", f"10.2.0.{k}") == 401
    body, role = _call(dash_app, "components.admin_page.update_sign_in_failures")
    assert role == "admin"
    response = clients["admin"].post(DISPATCH, json=body)
    table = response.get_json()["response"][ids.SIGN_IN_FAILURES]["children"]
    cells = [json.dumps(row) for row in json.loads(json.dumps(table))["props"]["children"][1]
             ["props"]["children"]]
    advisory = next(c for c in cells if '"advisory"' in c)
    assert '"children": "4"' in advisory  # four failures from four clients
    assert clients["partner"].post(DISPATCH, json=body).status_code == 403


# --- 5. the working cohort belongs to its user --------------------------------------------

PRIVATE = {"schema_version": 1, "metadata": {"name": "Clinician's private cohort"},
           "index_event": {"kind": "first_checkpoint_inhibitor"},
           "inclusion_rules": [{"name": "Women", "criteria": {"field": "sex", "op": "in",
                                                               "value": ["F"]}}]}


def _stored_by_the_builder(dash_app, client) -> dict:
    """What the builder puts into the tab's cohort store for ``client``'s user."""
    from components.builder import state
    from components.cohort_access import cohort_service

    with dash_app.server.test_request_context():
        draft = state.draft_from_definition(PRIVATE, cohort_service(None).catalog)
    body, _ = _call(dash_app, "components.builder.results.update_builder_results")
    body = _with(body, ids.BUILDER_STRUCTURE, "data", draft)
    body = _with(body, ids.BUILDER_NAME, "value", PRIVATE["metadata"]["name"], changed=False)
    response = client.post(DISPATCH, json=body)
    assert response.status_code == 200
    return response.get_json()["response"][ids.COHORT_STORE]["data"]


def _cohort_shown(dash_app, client, stored) -> str:
    body, _ = _call(dash_app, "components.analysis_page.update_analysis_cohort_info")
    response = client.post(DISPATCH, json=_with(body, ids.COHORT_STORE, "data", stored))
    assert response.status_code == 200
    return json.dumps(response.get_json()["response"])


def test_the_working_cohort_left_in_a_tab_is_not_shown_to_the_next_user(dash_app, clients):
    stored = _stored_by_the_builder(dash_app, clients["clinician"])
    assert stored["owner"] and stored["definition"]["metadata"]["name"] == "Clinician's private cohort"
    assert "private cohort" in _cohort_shown(dash_app, clients["clinician"], stored)
    # The clinician signs out; a partner signs in in the same tab, which still holds it.
    partner_sees = _cohort_shown(dash_app, clients["partner"], stored)
    assert "private cohort" not in partner_sees and "All patients" in partner_sees
    # A made-up owner tag is not accepted either.
    forged = {"owner": "0" * 32, "definition": stored["definition"]}
    assert "private cohort" not in _cohort_shown(dash_app, clients["clinician"], forged)
    # The partner's own builder result is theirs, bound to them.
    mine = _stored_by_the_builder(dash_app, clients["partner"])
    assert mine["owner"] != stored["owner"]
    assert "private cohort" in _cohort_shown(dash_app, clients["partner"], mine)


# --- 4. hostile definitions through the app's upload and open callbacks ---------------------


def _token(document) -> str:
    raw = json.dumps(document).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _definition_requests(dash_app, document) -> list[tuple[str, dict]]:
    """One definition sent every way a browser can hand one to the app."""
    text = json.dumps(document)
    upload, _ = _call(dash_app, "components.builder.io.upload_cohort")
    upload = _with(upload, ids.BUILDER_UPLOAD, "contents", "data:application/json;base64,"
                   + base64.b64encode(text.encode("utf-8")).decode("ascii"))
    upload = _with(upload, ids.BUILDER_UPLOAD, "filename", "hostile.json", changed=False)
    loaded, _ = _call(dash_app, "components.builder.page.load_builder")
    opened = _with(loaded, ids.BUILDER_LOADED, "data", {"definition": document, "nonce": "n"})
    linked = _with(loaded, ids.URL, "search", "?c=" + _token(document))
    linked["changedPropIds"] = [f"{ids.BUILDER_INIT}.data"]
    session = _with(loaded, ids.COHORT_STORE, "data", document, changed=False)
    session["changedPropIds"] = [f"{ids.BUILDER_INIT}.data"]
    analysis, _ = _call(dash_app, "components.analysis_page.update_analysis_cohort_info")
    analysis = _with(analysis, ids.COHORT_STORE, "data", document)
    save, _ = _call(dash_app, "components.builder.io.save_cohort")
    save = _with(save, ids.COHORT_STORE, "data", document, changed=False)
    return [("upload", upload), ("open", opened), ("link", linked), ("session", session),
            ("analyses", analysis), ("save", save)]


HTTP_FUZZ_EXAMPLES = 250
_http_sent: list[str] = []


@settings(max_examples=HTTP_FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(document=hostile_definitions())
def test_hostile_definitions_uploaded_or_opened_over_http_never_give_a_server_error(
        dash_app, clients, document):
    for way, body in _definition_requests(dash_app, document):
        response = clients["clinician"].post(DISPATCH, data=json.dumps(body),
                                              content_type="application/json")
        assert response.status_code < 500, f"{way}: {response.status_code} for {document!r:.300}"
        _http_sent.append(way)


def test_the_http_fuzz_sent_at_least_200_definitions_each_way():
    if not _http_sent:
        return  # the fuzz was deselected
    assert min(_http_sent.count(way) for way in set(_http_sent)) >= 200


def test_a_share_link_nested_too_deeply_is_a_message_not_a_server_error(dash_app, clients):
    loaded, _ = _call(dash_app, "components.builder.page.load_builder")
    deep = base64.urlsafe_b64encode(b"[" * 120_000 + b"]" * 30_000).decode().rstrip("=")
    body = _with(loaded, ids.URL, "search", "?c=" + deep)
    body["changedPropIds"] = [f"{ids.BUILDER_INIT}.data"]
    response = clients["clinician"].post(DISPATCH, json=body)
    assert response.status_code == 200
    assert "could not be opened" in json.dumps(response.get_json())


@pytest.mark.parametrize("name", ["components.builder.results.update_builder_results",
                                  "components.builder.page.update_rules"])
def test_a_builder_draft_of_the_wrong_shape_is_no_server_error(dash_app, clients, name):
    body, role = _call(dash_app, name)
    for draft in ({"rules": [{"key": "r1", "rows": [{"key": "g1", "group": "all", "rows": 5}]}]},
                  {"rules": [{"key": "r1", "rows": ["c1"]}]}, {"rules": "x"}):
        sent = _with(body, ids.BUILDER_STRUCTURE, "data", draft)
        if name.endswith("update_rules"):  # a click on "+ Add rule"
            sent = _with(sent, ids.BUILDER_ADD_RULE, "n_clicks", 1)
        response = clients[role].post(DISPATCH, json=sent)
        assert response.status_code in (200, 204), (draft, response.status_code)
