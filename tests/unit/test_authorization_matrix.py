"""Authorization matrix: every callback of the app x every role (and anonymous), POSTed
directly to ``/_dash-update-component`` with a real signed-in session.

Hiding a button protects nothing in Dash: any callback can be called with a POST. So this
test reads the app's callback map and, for each callback and each role, signs in through
``/login`` (real form, CSRF token, session cookie), sends a well-formed callback request and
checks that only the pairs allowed by ``CALLBACK_ROLES`` get data. A callback missing from
``CALLBACK_ROLES`` fails the test, so a new callback must state who may call it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest

from access import audit
from components import ids
from config import Settings

try:
    from snapshot_factory import TINY_ID, write_tiny_snapshot
except ImportError:  # tests/unit imported as a package
    from tests.unit.snapshot_factory import TINY_ID, write_tiny_snapshot

ROLES = ("clinician", "partner", "advisory", "admin")
ANONYMOUS = "anonymous"
PASSWORDS = {role: f"{role}-demo" for role in ROLES}
DEFINITION = {"schema_version": 1, "metadata": {"name": "Everyone starting a checkpoint inhibitor"}}


def page_roles(path: str) -> frozenset[str]:
    """The roles of a registered page: callbacks of a page allow what the page allows."""
    from components import pages

    page = pages.find(path)
    assert page is not None, f"no page registered at {path}"
    return frozenset(page.roles)


@dataclass(frozen=True)
class Rule:
    """Who may call a callback; ``may_skip``: allowed calls may answer 204 (PreventUpdate)."""

    roles: frozenset[str] | str  # a frozenset, or a page path whose roles apply
    may_skip: bool = False
    values: dict = field(default_factory=dict)  # (id, property) -> input value

    def allowed(self) -> frozenset[str]:
        return page_roles(self.roles) if isinstance(self.roles, str) else self.roles


EVERYONE = frozenset(ROLES)
CLINICIAN = frozenset({"clinician"})

# The single declarative table: callback function -> who may call it.
CALLBACK_ROLES: dict[str, Rule] = {
    # shell: every signed-in role (the router checks each page's roles itself)
    "components.shell.render_page": Rule(EVERYONE),
    "components.shell.update_navbar_snapshot": Rule(EVERYONE),
    "components.shell.store_active_snapshot": Rule(EVERYONE),
    "components.shell.choose_language": Rule(EVERYONE, may_skip=True),
    # pages: their page's roles
    "components.snapshots_page.update_snapshots_table": Rule("/snapshots"),
    # cohort builder (its callbacks may answer "no update" to synthetic clicks and inputs)
    "components.builder.page.load_builder": Rule("/builder", may_skip=True),
    "components.builder.page.update_index_options": Rule("/builder", may_skip=True),
    "components.builder.page.update_rules": Rule("/builder", may_skip=True),
    "components.builder.page.update_criterion_inputs": Rule("/builder", may_skip=True),
    "components.builder.page.update_window_inputs": Rule("/builder", may_skip=True),
    "components.builder.page.update_rule_card": Rule("/builder", may_skip=True),
    "components.builder.page.update_group_box": Rule("/builder", may_skip=True),
    "components.builder.page.update_add_group_buttons": Rule("/builder", may_skip=True),
    "components.builder.page.leave_link": Rule("/builder", may_skip=True),
    "components.builder.page.undo_builder": Rule("/builder", may_skip=True),
    # fed by the shell's snapshot store on every page; echoes the snapshot id only
    "components.builder.page.watch_snapshot": Rule(EVERYONE, may_skip=True),
    "components.builder.results.update_builder_results": Rule("/builder", may_skip=True),
    "components.builder.io.save_cohort": Rule("/builder", may_skip=True),
    "components.builder.io.update_saved_list": Rule("/builder", may_skip=True),
    "components.builder.io.update_saved_cohort": Rule("/builder", may_skip=True),
    "components.builder.io.update_share_link": Rule("/builder", may_skip=True),
    "components.builder.io.download_cohort": Rule("/builder", may_skip=True),
    "components.builder.io.upload_cohort": Rule("/builder", may_skip=True),
    # analyses
    "components.analysis_page.update_analysis_cohort_info": Rule("/analyses"),
    "components.panels.analyses_survival": Rule("/analyses"),
    "components.panels.analyses_survival_csv": Rule("/analyses", may_skip=True),
    "components.panels.analyses_response": Rule("/analyses"),
    "components.panels.analyses_cox": Rule("/analyses"),
    "components.panels.analyses_irae_incidence": Rule("/analyses"),
    "components.analysis_page.apply_landmark": Rule("/analyses", may_skip=True),
    "components.panels.analyses_response_csv": Rule("/analyses", may_skip=True),
    "components.panels.analyses_safety": Rule("/analyses"),
    "components.panels.analyses_safety_csv": Rule("/analyses", may_skip=True),
    "components.panels.analyses_characteristics": Rule("/analyses"),
    "components.panels.analyses_characteristics_csv": Rule("/analyses", may_skip=True),
    "components.panels.analyses_pro": Rule("/analyses"),
    "components.panels.analyses_pro_csv": Rule("/analyses", may_skip=True),
    # comparison of two cohorts (no saved cohorts exist here, so it may answer "no update")
    "components.compare_page.update_compare_summary": Rule("/compare", may_skip=True),
    "components.panels.compare_survival": Rule("/compare", may_skip=True),
    "components.panels.compare_survival_csv": Rule("/compare", may_skip=True),
    "components.panels.compare_response": Rule("/compare", may_skip=True),
    "components.panels.compare_response_csv": Rule("/compare", may_skip=True),
    "components.panels.compare_safety": Rule("/compare", may_skip=True),
    "components.panels.compare_safety_csv": Rule("/compare", may_skip=True),
    "components.panels.compare_characteristics": Rule("/compare", may_skip=True),
    "components.panels.compare_characteristics_csv": Rule("/compare", may_skip=True),
    "components.panels.compare_pro": Rule("/compare", may_skip=True),
    "components.panels.compare_pro_csv": Rule("/compare", may_skip=True),
    "components.compare_study.update_study_levels": Rule("/compare", may_skip=True),
    "components.panels.compare_study": Rule("/compare", may_skip=True),
    "components.panels.compare_study_csv": Rule("/compare", may_skip=True),
    "components.feasibility_page.update_feasibility": Rule("/feasibility"),
    "components.admin_page.update_audit_table": Rule("/audit"),
    "components.admin_page.update_sign_in_failures": Rule("/audit"),
    "components.admin_page.update_users_table": Rule("/users"),
    "components.admin_page.create_user": Rule("/users"),
    "components.admin_page.change_user": Rule("/users", may_skip=True),
    "components.summaries_page.update_summaries_list": Rule("/summaries"),
    # publishing is narrower than its page: advisory users read, clinicians publish
    "components.summaries_page.update_publish_sources": Rule(CLINICIAN),
    "components.summaries_page.change_publications": Rule(CLINICIAN),
    "components.summaries_page.preview_summary": Rule(CLINICIAN),
}

# Plausible values for inputs and states, by (component id, property), then by property.
VALUES_BY_ID = {
    (ids.URL, "pathname"): "/",
    (ids.COHORT_STORE, "data"): DEFINITION,
    (ids.SNAPSHOT_STORE, "data"): TINY_ID,
    (ids.SNAPSHOT_SELECT, "value"): TINY_ID,
    (ids.SURVIVAL_ENDPOINT, "value"): "os",
    (ids.SURVIVAL_STRATA, "value"): "none",
    (ids.SURVIVAL_HR_GROUP, "value"): None,
    (ids.SURVIVAL_HR_REFERENCE, "value"): None,
    (ids.SURVIVAL_COX, "value"): ["age", "sex"],
    (ids.SURVIVAL_LANDMARK, "value"): 90,
    (ids.RESPONSE_STRATA, "value"): "pdl1_tps",
    (ids.RESPONSE_RULE, "value"): "confirmed",
    (ids.RESPONSE_DENOMINATOR, "value"): "all",
    (ids.SAFETY_LEVEL, "value"): "term",
    (ids.SAFETY_GRADE, "value"): "any",
    (ids.SAFETY_IMMUNE, "value"): False,
    (ids.SAFETY_WINDOW, "value"): "treatment-emergent",
    (ids.COMPARE_ENDPOINT, "value"): "os",
    (ids.COMPARE_RESPONSE_STRATA, "value"): "pdl1_tps",
    (ids.COMPARE_SAFETY_GRADE, "value"): "any",
    (ids.PRO_SCALE, "value"): "EORTC QLQ-C30|Global health status/QoL",
    (ids.COMPARE_PRO_SCALE, "value"): "EORTC QLQ-C30|Fatigue",
    (ids.BUILDER_INDEX_KIND, "value"): "first_checkpoint_inhibitor",
    (ids.BUILDER_NAME, "value"): "Everyone starting a checkpoint inhibitor",
}
VALUES_BY_PROPERTY = {"n_clicks": 1, "active_page": 1, "pathname": "/"}
MATCH_VALUE = "r1"


# --- app and sessions ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("authz")
    write_tiny_snapshot(root / "snapshots" / TINY_ID)
    return Settings(
        secret_key="authorization-matrix-secret-key-0123456789",
        snapshots_dir=root / "snapshots",
        cache_dir=root / "cache",
        store_path=root / "app.sqlite",
        host="127.0.0.1",
        demo=True,
    )


@pytest.fixture(scope="module")
def dash_app(app_settings):
    from access.auth import seed_demo_users
    from app import create_app

    app = create_app(app_settings)
    seed_demo_users(app_settings)  # idempotent: the app may have seeded them already
    app.server.test_client().get("/login")  # first request: Dash copies in its callbacks
    return app


def sign_in(app, role: str, username: str | None = None, password: str | None = None):
    """A test client holding a real session cookie of the demo user of ``role`` (or of
    ``username`` with ``password``)."""
    client = app.server.test_client()
    if role == ANONYMOUS:
        return client
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username or role,
                                           "password": password or PASSWORDS[role],
                                           "csrf_token": token, "next": "/"})
    assert response.status_code == 302, f"sign-in as {role} failed ({response.status_code})"
    return client


@pytest.fixture(scope="module")
def clients(dash_app) -> dict:
    return {role: sign_in(dash_app, role) for role in (*ROLES, ANONYMOUS)}


# --- request bodies -----------------------------------------------------------------------


def callback_name(entry: dict) -> str:
    func = entry["callback"]
    func = getattr(func, "__wrapped__", func)
    return f"{func.__module__}.{func.__name__}"


def _parse_id(component_id):
    if isinstance(component_id, str) and component_id.startswith("{"):
        return json.loads(component_id)
    if isinstance(component_id, dict):
        return json.loads(json.dumps(component_id, default=lambda w: [str(w)]))
    return component_id


def _wildcard(component_id) -> str | None:
    if not isinstance(component_id, dict):
        return None
    for value in component_id.values():
        if isinstance(value, list) and value:
            return value[0]
    return None


def _concrete(component_id: dict) -> dict:
    return {k: (MATCH_VALUE if isinstance(v, list) else v) for k, v in component_id.items()}


def _value(component_id, prop: str, rule: Rule):
    key = (component_id if isinstance(component_id, str) else json.dumps(component_id), prop)
    for table in (rule.values, VALUES_BY_ID):
        if key in table:
            return table[key]
    return VALUES_BY_PROPERTY.get(prop)


def _dependency(spec: dict, rule: Rule, with_value: bool):
    """One input/state/output as the renderer sends it (a list for ALL wildcards)."""
    component_id = _parse_id(spec["id"])
    kind = _wildcard(component_id)
    if kind in ("ALL", "ALLSMALLER"):
        return []  # no component matches: an empty list, as the renderer sends it
    if kind == "MATCH":
        component_id = _concrete(component_id)
    item = {"id": component_id, "property": spec["property"]}
    if with_value:
        item["value"] = _value(component_id, spec["property"], rule)
    return item


def _outputs(entry: dict, rule: Rule):
    outputs = entry["output"]
    many = isinstance(outputs, list | tuple)
    specs = [{"id": o.component_id, "property": o.component_property}
             for o in (outputs if many else [outputs])]
    wire = [_dependency(s, rule, with_value=False) for s in specs]
    return wire if many else wire[0]


def _changed(inputs: list) -> list[str]:
    for item in inputs:
        if isinstance(item, dict):
            component_id = item["id"]
            if isinstance(component_id, dict):
                component_id = json.dumps(component_id, sort_keys=True, separators=(",", ":"))
            return [f"{component_id}.{item['property']}"]
    return []


def request_body(key: str, entry: dict, rule: Rule) -> dict:
    inputs = [_dependency(s, rule, with_value=True) for s in entry["inputs"]]
    state = [_dependency(s, rule, with_value=True) for s in entry["state"]]
    return {"output": key, "outputs": _outputs(entry, rule), "inputs": inputs, "state": state,
            "changedPropIds": _changed(inputs)}


def post_callback(client, body: dict):
    return client.post("/_dash-update-component", json=body)


# --- the matrix ---------------------------------------------------------------------------


def test_every_callback_has_an_entry_in_the_roles_table(dash_app):
    names = {callback_name(entry) for entry in dash_app.callback_map.values()}
    missing = sorted(names - set(CALLBACK_ROLES))
    assert not missing, f"callbacks without an authorization entry: {missing}"
    stale = sorted(set(CALLBACK_ROLES) - names)
    assert not stale, f"entries for callbacks that no longer exist: {stale}"
    assert len(names) == len(dash_app.callback_map), "two callbacks share a function name"


def refusal_problem(response, who: str) -> str | None:
    """Why a response is not a clean refusal (401/403, an error and nothing else), or None."""
    body = response.get_data(as_text=True)
    if response.status_code not in (401, 403):
        return f"{who}: expected 401/403, got {response.status_code} {body[:200]!r}"
    if "response" in body or len(body) > 100 or set(json.loads(body)) != {"error"}:
        return f"{who}: refusal carries more than an error: {body[:200]!r}"
    return None


def data_problem(response, who: str, rule: Rule) -> str | None:
    """Why an allowed call did not return data (no-update only where allowed), or None."""
    if rule.may_skip and response.status_code == 204:
        return None
    if response.status_code != 200:
        return f"{who}: expected data, got {response.status_code} " \
               f"{response.get_data(as_text=True)[:200]!r}"
    payload = response.get_json()
    if rule.may_skip and payload.get("response") == {}:
        return None  # every output was dash.no_update
    if not (payload.get("multi") is True and payload.get("response")):
        return f"{who}: 200 without data {str(payload)[:200]}"
    return None


def test_only_allowed_roles_get_data_from_every_callback(dash_app, clients):
    problems, checked = [], 0
    for key, entry in dash_app.callback_map.items():
        name = callback_name(entry)
        rule = CALLBACK_ROLES.get(name)
        if rule is None:
            problems.append(f"{name}: no entry in CALLBACK_ROLES, so nobody may call it")
            rule = Rule(frozenset())
        allowed = rule.allowed()
        body = request_body(key, entry, rule)
        for role, client in clients.items():
            who = f"{name} as {role}"
            response = post_callback(client, body)
            problem = (data_problem(response, who, rule) if role in allowed
                       else refusal_problem(response, who))
            if problem:
                problems.append(problem)
            checked += 1
    assert checked == len(dash_app.callback_map) * (len(ROLES) + 1)
    assert not problems, "\n".join(problems)


def test_anonymous_refusal_is_401_and_wrong_role_is_403(dash_app, clients):
    entry_key = next(k for k, e in dash_app.callback_map.items()
                     if callback_name(e) == "components.admin_page.update_audit_table")
    entry = dash_app.callback_map[entry_key]
    body = request_body(entry_key, entry, CALLBACK_ROLES[callback_name(entry)])
    assert post_callback(clients[ANONYMOUS], body).status_code == 401
    assert post_callback(clients["partner"], body).status_code == 403
    assert post_callback(clients["admin"], body).status_code == 200


def _feasibility_call(dash_app) -> dict:
    key, entry = next((k, e) for k, e in dash_app.callback_map.items()
                      if callback_name(e) == "components.feasibility_page.update_feasibility")
    return request_body(key, entry, CALLBACK_ROLES[callback_name(entry)])


def test_cookie_replayed_after_sign_out_is_rejected(dash_app):
    client = sign_in(dash_app, "partner")
    body = _feasibility_call(dash_app)
    assert post_callback(client, body).status_code == 200
    cookie = client.get_cookie("iocohort_session")
    assert cookie is not None
    client.post("/logout")  # sign-out is a POST (a GET only offers the form)
    replay = dash_app.server.test_client()
    replay.set_cookie(cookie.key, cookie.value, domain=cookie.domain or "localhost")
    problem = refusal_problem(post_callback(replay, body), "replayed cookie")
    assert problem is None, problem


def test_queries_made_through_callbacks_are_in_the_audit_log(dash_app, app_settings):
    client = sign_in(dash_app, "partner")
    before = audit.count_audit({"action": "feasibility", "role": "partner"},
                               store=app_settings.store_path)
    assert post_callback(client, _feasibility_call(dash_app)).status_code == 200
    entries = audit.read_audit(5, 0, {"action": "feasibility", "role": "partner"},
                               store=app_settings.store_path)
    assert len(entries) == before + 1 or (before >= 5 and len(entries) == 5)
    latest = entries[0]
    assert latest["username"] == "partner"
    assert latest["snapshot_id"] == TINY_ID
    assert latest["definition_hash"] and len(latest["definition_hash"]) == 64
    # Refused roles leave no query entry: their requests never reached the data.
    for role in ("advisory", "admin"):
        assert audit.count_audit({"action": "feasibility", "role": role},
                                 store=app_settings.store_path) == 0


def test_publishing_a_too_small_group_stores_nothing_and_is_audited(dash_app, app_settings):
    from access import publications

    client = sign_in(dash_app, "clinician")
    key, entry = next((k, e) for k, e in dash_app.callback_map.items()
                      if callback_name(e) == "components.summaries_page.change_publications")
    response = post_callback(client, request_body(key, entry, CALLBACK_ROLES[callback_name(entry)]))
    assert response.status_code == 200
    assert "too small" in response.get_data(as_text=True)
    # the tiny snapshot's cohort is far under 20: nothing may be published
    assert publications.list_publications(app_settings.store_path) == []
    entries = audit.read_audit(1, 0, {"action": "publish-summary"}, store=app_settings.store_path)
    assert entries and entries[0]["role"] == "clinician"
    assert entries[0]["detail"] == "refused: too small"


def test_admin_audit_table_filters_by_role_and_pages(dash_app, app_settings):
    for _ in range(3):
        sign_in(dash_app, "partner")  # three more partner sign-ins in the log
    key, entry = next((k, e) for k, e in dash_app.callback_map.items()
                      if callback_name(e) == "components.admin_page.update_audit_table")
    rule = CALLBACK_ROLES[callback_name(entry)]
    values = {(ids.AUDIT_ROLE, "value"): "partner", (ids.AUDIT_PAGER, "active_page"): 2}
    body = request_body(key, entry, Rule(rule.roles, values=values))
    body["changedPropIds"] = [f"{ids.AUDIT_PAGER}.active_page"]
    admin = sign_in(dash_app, "admin")
    payload = post_callback(admin, body).get_json()["response"]
    total = audit.count_audit({"role": "partner"}, store=app_settings.store_path)
    assert payload[ids.AUDIT_COUNT]["children"].endswith(f"of {total} entries")
    assert payload[ids.AUDIT_PAGER]["max_value"] == -(-total // 25)
    table = json.dumps(payload[ids.AUDIT_TABLE]["children"])
    assert '"partner"' in table and '"advisory"' not in table and '"admin"' not in table


def test_only_the_publishing_clinician_can_withdraw_a_summary(dash_app, app_settings):
    from access import publications
    from access.users import add_user

    pub = publications.publish(app_settings.store_path, title="Theirs", summary={},
                               definition_hash="h" * 64, snapshot_id=TINY_ID,
                               published_by="clinician")
    add_user(app_settings.store_path, "other-clinician", "clinician", "other-clinician-pw")
    key, entry = next((k, e) for k, e in dash_app.callback_map.items()
                      if callback_name(e) == "components.summaries_page.change_publications")
    body = request_body(key, entry, CALLBACK_ROLES[callback_name(entry)])
    button = ids.unpublish_button(pub.id)
    body["inputs"][1] = [{"id": button, "property": "n_clicks", "value": 1}]
    body["changedPropIds"] = [f"{json.dumps(button, sort_keys=True, separators=(',', ':'))}"
                              ".n_clicks"]

    other = sign_in(dash_app, "clinician", "other-clinician", "other-clinician-pw")
    list_key, list_entry = next(
        (k, e) for k, e in dash_app.callback_map.items()
        if callback_name(e) == "components.summaries_page.update_summaries_list")
    listing = request_body(list_key, list_entry, CALLBACK_ROLES[callback_name(list_entry)])
    seen = {who: post_callback(client, listing).get_data(as_text=True) for who, client in (
        ("advisory", sign_in(dash_app, "advisory")), ("other", other),
        ("publisher", sign_in(dash_app, "clinician")))}
    assert all("Theirs" in text for text in seen.values())
    assert "by clinician" not in seen["advisory"] and "by clinician" in seen["other"]
    assert [ids.UNPUBLISH in text for text in seen.values()] == [False, False, True]
    refused = post_callback(other, body).get_data(as_text=True)
    assert "Not withdrawn" in refused and "only clinician" in refused
    assert pub.id in [p.id for p in publications.list_publications(app_settings.store_path)]

    withdrawn = post_callback(sign_in(dash_app, "clinician"), body).get_data(as_text=True)
    assert "unpublished" in withdrawn
    assert pub.id not in [p.id for p in publications.list_publications(app_settings.store_path)]
