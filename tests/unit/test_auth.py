"""Sign-in, sessions and hardening on a tiny Flask app and a tiny Dash app with ``init_auth``."""

from __future__ import annotations

import re
import time

import dash
import flask
import pytest
from dash import Input, Output, dcc, html

from access import audit, auth, guard, users
from config import DEFAULT_SECRET_KEY, Settings

GOOD_KEY = "k" * 48
PASSWORD = "correct horse battery"
SECRET = "exact-count-1234"


pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def settings(tmp_path):
    return Settings(secret_key=GOOD_KEY, store_path=tmp_path / "app.sqlite")


def _flask_app(settings: Settings) -> flask.Flask:
    server = flask.Flask("test_auth")
    auth.init_auth(server, settings)

    @server.get("/")
    def home():
        return f"home of {guard.current_user().username}"

    @server.post("/api/thing")
    def thing():
        return flask.jsonify(ok=True)

    @server.get("/download")
    @guard.require_role_for_route("clinician")
    def download():
        return SECRET

    @server.get("/boom")
    def boom():
        raise ValueError(f"internal detail {SECRET}")

    return server


def _dash_app(settings: Settings) -> dash.Dash:
    server = flask.Flask("test_auth_dash")
    auth.init_auth(server, settings)
    app = dash.Dash(__name__, server=server)
    app.layout = html.Div([dcc.Input(id="cohort", value="x"), html.Div(id="count")])

    @app.callback(Output("count", "children"), Input("cohort", "value"))
    def update_count(value):
        guard.require_role("clinician", "partner")
        return SECRET

    return app


DASH_BODY = {
    "output": "count.children",
    "outputs": {"id": "count", "property": "children"},
    "inputs": [{"id": "cohort", "property": "value", "value": "x"}],
    "changedPropIds": ["cohort.value"],
    "state": [],
}


@pytest.fixture
def app(settings):
    for name, role in (("clara", "clinician"), ("paul", "partner"), ("ada", "advisory"),
                       ("root", "admin")):
        users.add_user(settings.store_path, name, role, PASSWORD)
    return _flask_app(settings)


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def login(client, username, password=PASSWORD, ip="127.0.0.1", **extra):
    data = {"username": username, "password": password, "csrf_token": _csrf(client), **extra}
    return client.post("/login", data=data, environ_overrides={"REMOTE_ADDR": ip})


def _session_cookie(client) -> str:
    return client.get_cookie("iocohort_session").value


# --- gate ------------------------------------------------------------------------------------


def test_anonymous_pages_redirect_to_login_and_api_calls_get_401_without_data(app):
    client = app.test_client()
    page = client.get("/download?x=1")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login?next=/download")
    api = client.post("/_dash-update-component", json=DASH_BODY)
    assert api.status_code == 401
    assert api.get_json() == {"error": "sign-in required"}
    assert client.get("/login").status_code == 200
    assert client.get("/logout").headers["Location"] == "/login"  # no sign-in to sign out


def test_sign_in_with_the_right_password_opens_pages(app):
    client = app.test_client()
    response = login(client, "clara", next="/download")
    assert response.status_code == 302 and response.headers["Location"] == "/download"
    assert client.get("/").get_data(as_text=True) == "home of clara"


def test_wrong_password_is_refused_with_a_generic_message(app):
    client = app.test_client()
    response = login(client, "clara", "wrong password!")
    assert response.status_code == 401
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert login(client, "nobody", "wrong password!").status_code == 401
    assert client.get("/").status_code == 302


def test_sign_in_without_csrf_token_is_refused(app):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "clara", "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_next_must_be_a_local_path(app):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/logout"):
        client = app.test_client()
        assert login(client, "clara", next=target).headers["Location"] == "/"


# --- throttling --------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, moved by hand: ``clock[0] += seconds``."""
    now = [time.time()]
    monkeypatch.setattr(auth, "clock", lambda: now[0])
    return now


def _retry_after(response) -> int:
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.get_data(as_text=True)
    return int(response.headers["Retry-After"])


def test_guessing_from_one_client_gets_growing_delays_not_a_lockout(app, settings, clock):
    client = app.test_client()
    free = auth.THROTTLE.client.free
    for _ in range(free):
        assert login(client, "clara", "wrong password!").status_code == 401
    waits = []
    for _ in range(3):
        waits.append(_retry_after(login(client, "clara")))  # even the right password waits
        clock[0] += waits[-1] + 0.5
        assert login(client, "clara", "wrong password!").status_code == 401
    assert waits == [2, 4, 8]  # doubling after every further failure
    clock[0] += _retry_after(login(client, "clara")) + 0.5
    assert login(client, "clara").status_code == 302  # after the wait the owner gets in
    actions = [e["action"] for e in audit.read_audit(store=settings.store_path)]
    assert actions.count("sign-in-failed") == free + 3 and actions.count("sign-in-throttled") == 4
    repeated = audit.read_audit(1, 0, {"action": "sign-in-failed"}, store=settings.store_path)
    assert "repeated failures: next attempt in 16s" in repeated[0]["detail"]


def test_guessing_at_an_account_does_not_deny_it_to_its_owner(app, settings, clock):
    owner = app.test_client()
    assert login(owner, "clara", ip="10.0.0.9").status_code == 302  # the owner's browser
    owner.post("/logout")
    for _ in range(5):  # the case: five wrong passwords from one address
        assert login(app.test_client(), "clara", "wrong password!", ip="10.6.6.6").status_code \
            in (401, 429)
    assert login(app.test_client(), "clara", ip="10.0.0.10").status_code == 302  # elsewhere
    # A guesser spread over many addresses: new clients wait (at most the account's cap)...
    for k in range(40):
        login(app.test_client(), "clara", "wrong password!", ip=f"10.7.{k}.1")
    waited = _retry_after(login(app.test_client(), "clara", ip="10.0.0.11"))
    assert waited <= auth.THROTTLE.account.max_seconds
    # ...but the owner's own browser (its device cookie) signs in at once, from anywhere.
    assert login(owner, "clara", ip="10.8.8.8").status_code == 302
    # A device cookie of another account, or a forged one, is an ordinary client.
    stranger = app.test_client()
    assert login(stranger, "paul", ip="10.0.0.12").status_code == 302
    stranger.post("/logout")
    assert login(stranger, "clara", ip="10.0.0.12").status_code == 429
    stranger.set_cookie(auth.DEVICE_COOKIE, "forged", path="/login")
    assert login(stranger, "clara", ip="10.0.0.12").status_code == 429


def test_failures_from_one_address_delay_it_briefly_but_lock_out_nobody(app, settings, clock):
    regular = app.test_client()
    assert login(regular, "clara").status_code == 302  # clara has used this browser before
    regular.post("/logout")
    client = app.test_client()
    for k in range(20):  # the case: 20 failures from one address
        response = login(client, f"guess{k}", "wrong password!")
        if response.status_code == 429:
            clock[0] += _retry_after(response) + 0.5
            response = login(client, f"guess{k}", "wrong password!")
        assert response.status_code == 401
    waited = _retry_after(login(app.test_client(), "paul"))  # a new browser at that address
    assert waited <= auth.THROTTLE.address.max_seconds
    assert login(regular, "clara").status_code == 302  # a known browser there: no wait
    assert login(app.test_client(), "paul", ip="10.0.0.9").status_code == 302  # elsewhere
    clock[0] += waited + 0.5
    assert login(app.test_client(), "paul").status_code == 302  # a short wait, not a lockout


def test_throttle_lifts_when_failures_age_out(settings):
    store = settings.store_path
    old = time.time() - auth.THROTTLE.window_seconds - 1
    for _ in range(auth.THROTTLE.client.free + 2):
        auth.record_attempt(store, "clara", "1.2.3.4", False, now=old)
    assert not auth.is_throttled(store, "clara", "1.2.3.4")
    for _ in range(auth.THROTTLE.client.free + 2):
        auth.record_attempt(store, "clara", "1.2.3.4", False)
    assert auth.is_throttled(store, "clara", "1.2.3.4")
    assert not auth.is_throttled(store, "clara", "1.2.3.5")


def test_delays_grow_from_the_free_failures_to_a_cap():
    delays = auth.Delays(free=3, first_seconds=2.0, max_seconds=60.0)
    assert [delays.after(n) for n in range(8)] == [0, 0, 0, 2, 4, 8, 16, 32]
    assert delays.after(10_000) == 60.0


def test_repeated_failures_are_reported_per_account(app, settings, clock):
    for k in range(4):
        login(app.test_client(), "clara", "wrong password!", ip=f"10.1.0.{k}")
    login(app.test_client(), "ada", "wrong password!")
    report = auth.failure_report(settings.store_path)
    assert [(r.username, r.failures, r.clients) for r in report] == [("clara", 4, 4)]


# --- sessions ------------------------------------------------------------------------------------


def test_sign_in_starts_a_new_session(app):
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        sess["_user_id"] = "forged-session-id"
    assert client.get("/").status_code == 302  # a forged id is not a session
    login(client, "clara")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        first = sess["_user_id"]
    client.post("/logout")
    login(client, "clara")
    with client.session_transaction() as sess:
        assert sess["_user_id"] != first


def test_cookie_replayed_after_sign_out_is_rejected(app):
    client = app.test_client()
    login(client, "clara")
    stolen = _session_cookie(client)
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("iocohort_session", stolen)
    assert replay.get("/").status_code == 302
    assert replay.post("/_dash-update-component", json=DASH_BODY).status_code == 401


def test_sign_out_by_get_keeps_the_session_and_offers_a_post_form(app, settings):
    client = app.test_client()
    login(client, "clara")
    page = client.get("/logout")  # what a link or <img> on another site would do
    assert page.status_code == 200 and 'method="post"' in page.get_data(as_text=True)
    assert client.get("/").get_data(as_text=True) == "home of clara"
    foreign = client.post("/logout", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert client.get("/").status_code == 200
    assert client.post("/logout").headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    actions = [e["action"] for e in audit.read_audit(store=settings.store_path)]
    assert actions.count("sign-out") == 1


def test_login_page_clears_the_tabs_session_storage(app):
    """The working cohort lives in sessionStorage: the next user of the tab must not get it."""
    assert "sessionStorage.clear()" in app.test_client().get("/login").get_data(as_text=True)


def test_expired_and_idle_sessions_end(settings, app):
    clara = users.get_user(settings.store_path, "clara")
    old = auth.create_session(settings.store_path, clara.id, now=time.time() - auth.SESSION_IDLE - 5)
    assert auth.load_session(settings.store_path, old) is None


def test_role_change_applies_on_the_next_request(app, settings):
    client = app.test_client()
    login(client, "paul")
    assert client.get("/download").status_code == 403
    users.set_role(settings.store_path, "paul", "clinician")
    assert client.get("/download").get_data(as_text=True) == SECRET


def test_cookie_flags(settings, tmp_path):
    client = _flask_app(settings).test_client()
    users.add_user(settings.store_path, "clara", "clinician", PASSWORD)
    header = login(client, "clara").headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    public = Settings(secret_key=GOOD_KEY, store_path=tmp_path / "p.sqlite", host="0.0.0.0")
    server = _flask_app(public)
    assert server.config["SESSION_COOKIE_SECURE"] is True
    assert server.config["REMEMBER_COOKIE_SECURE"] is True
    response = server.test_client().get("/login")
    assert "Secure" in response.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in response.headers
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_remember_me_cookie_is_never_set(app):
    client = app.test_client()
    cookies = login(client, "clara").headers.getlist("Set-Cookie")
    assert not any(c.startswith("remember_token") for c in cookies)


# --- origin check and errors ----------------------------------------------------------------------


def test_state_changing_requests_from_another_origin_are_refused(app):
    client = app.test_client()
    login(client, "clara")
    assert client.post("/api/thing", headers={"Origin": "https://evil.example"}).status_code == 403
    assert client.post("/api/thing", headers={"Referer": "https://evil.example/p"}).status_code \
        == 403
    assert client.post("/api/thing", headers={"Origin": "null"}).status_code == 403
    assert client.post("/api/thing", headers={"Origin": "http://localhost"}).status_code == 200
    assert client.post("/api/thing").status_code == 200
    assert client.get("/", headers={"Origin": "https://evil.example"}).status_code == 200


def test_cross_origin_sign_in_is_refused(app):
    client = app.test_client()
    data = {"username": "clara", "password": PASSWORD, "csrf_token": _csrf(client)}
    assert client.post("/login", data=data,
                       headers={"Origin": "https://evil.example"}).status_code == 403


def test_errors_show_no_traceback(app, caplog):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = app.test_client()
    login(client, "clara")
    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert SECRET not in body and "Traceback" not in body and "internal error" in body
    assert SECRET in caplog.text  # logged on the server


# --- role guard in Dash callbacks and routes ------------------------------------------------------


def test_dash_callback_guard_returns_403_without_data_for_the_wrong_role(settings):
    app = _dash_app(settings)
    for name, role in (("clara", "clinician"), ("ada", "advisory"), ("root", "admin")):
        users.add_user(settings.store_path, name, role, PASSWORD)
    client = app.server.test_client()
    assert client.post("/_dash-update-component", json=DASH_BODY).status_code == 401
    for name, status in (("ada", 403), ("root", 403), ("clara", 200)):
        client = app.server.test_client()
        login(client, name)
        response = client.post("/_dash-update-component", json=DASH_BODY)
        assert response.status_code == status, name
        assert (SECRET in response.get_data(as_text=True)) == (status == 200)
    refused = audit.read_audit(filters={"action": "access-denied"}, store=settings.store_path)
    assert {e["username"] for e in refused} == {"ada", "root"}
    assert refused[0]["detail"] == "/_dash-update-component count.children"


def test_dash_layout_and_index_need_sign_in(settings):
    client = _dash_app(settings).server.test_client()
    assert client.get("/").status_code == 302
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/_dash-dependencies").status_code == 401


def test_route_guard(app):
    client = app.test_client()
    login(client, "ada")
    response = client.get("/download")
    assert response.status_code == 403 and SECRET not in response.get_data(as_text=True)


def test_require_role_outside_a_request_is_not_signed_in():
    with pytest.raises(guard.NotSignedIn):
        guard.require_role("clinician")
    with pytest.raises(ValueError):
        guard.require_role()
    with pytest.raises(ValueError):
        guard.require_role("superuser")


def test_allowed_pages_cover_every_role_and_keep_advisory_away_from_the_builder():
    assert set(guard.ALLOWED_PAGES) == set(users.ROLES)
    assert guard.pages_for("advisory") == {guard.SUMMARIES}
    assert not guard.can_view("partner", guard.AUDIT)
    assert guard.can_view("admin", guard.AUDIT)
    assert guard.pages_for(None) == frozenset()
    for role, home in guard.HOME_PAGE.items():
        assert guard.can_view(role, home)


# --- start-up checks and demo users ---------------------------------------------------------------


def test_production_start_refuses_unsafe_settings(tmp_path):
    store = tmp_path / "s.sqlite"
    good = Settings(secret_key=GOOD_KEY, store_path=store, host="0.0.0.0")
    auth.check_production_settings(good)
    for bad, words in ((Settings(store_path=store), "default"),
                       (Settings(secret_key="short", store_path=store), "shorter"),
                       (Settings(secret_key=GOOD_KEY, store_path=store, debug=True), "DEBUG"),
                       (Settings(secret_key=GOOD_KEY, store_path=store, demo=True,
                                 host="0.0.0.0"), "localhost")):
        with pytest.raises(auth.InsecureSettingsError, match=words):
            auth.check_production_settings(bad)
    assert Settings().secret_key == DEFAULT_SECRET_KEY


def test_production_start_refuses_demo_users_in_the_store(tmp_path):
    demo = Settings(store_path=tmp_path / "s.sqlite", demo=True)
    auth.check_production_settings(demo)  # local demo mode is allowed
    assert auth.seed_demo_users(demo) == ["clinician", "partner", "advisory", "admin"]
    production = Settings(secret_key=GOOD_KEY, store_path=demo.store_path)
    with pytest.raises(auth.InsecureSettingsError, match="demo users"):
        auth.check_production_settings(production)


def test_demo_users_are_seeded_only_in_demo_mode_on_localhost(tmp_path):
    for settings in (Settings(store_path=tmp_path / "a.sqlite", demo=True, host="0.0.0.0"),
                     Settings(store_path=tmp_path / "b.sqlite", demo=False)):
        assert auth.seed_demo_users(settings) == []
        assert users.list_users(settings.store_path) == []
    local = Settings(store_path=tmp_path / "c.sqlite", demo=True, host="localhost")
    assert len(auth.seed_demo_users(local)) == 4
    assert auth.seed_demo_users(local) == []  # idempotent
    for name, (role, password) in users.DEMO_USERS.items():
        assert users.verify_password(local.store_path, name, password).role == role


def test_demo_login_page_shows_demo_hint_only_in_demo_mode(tmp_path):
    demo = _flask_app(Settings(store_path=tmp_path / "d.sqlite", demo=True))
    assert "Demo mode" in demo.test_client().get("/login").get_data(as_text=True)
    real = _flask_app(Settings(secret_key=GOOD_KEY, store_path=tmp_path / "e.sqlite"))
    assert "Demo mode" not in real.test_client().get("/login").get_data(as_text=True)


def test_sign_in_and_out_are_audited(app, settings):
    client = app.test_client()
    login(client, "clara")
    client.post("/logout")
    entries = audit.read_audit(filters={"username": "clara"}, store=settings.store_path)
    assert [e["action"] for e in entries] == ["sign-out", "sign-in"]
    assert entries[1]["role"] == "clinician"


# --- behind a reverse proxy ---------------------------------------------------------------


def test_behind_a_proxy_clients_public_host_and_secure_cookies_come_from_forwarded_headers(
        tmp_path):
    settings = Settings(secret_key=GOOD_KEY, store_path=tmp_path / "proxy.sqlite", proxies=1)
    assert not settings.is_local  # bound to localhost, but reached through the proxy
    server = _flask_app(settings)
    users.add_user(settings.store_path, "clara", "clinician", PASSWORD)
    forwarded = {"X-Forwarded-Host": "cohorts.example.org", "X-Forwarded-Proto": "https"}
    client = server.test_client()
    page = client.get("/login", headers=forwarded)
    assert "Secure" in page.headers["Set-Cookie"]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    data = {"username": "clara", "password": PASSWORD, "csrf_token": token}
    # the browser's Origin is the public host, which the app now knows as its own
    signed_in = client.post("/login", data=data, headers={
        **forwarded, "Origin": "https://cohorts.example.org", "X-Forwarded-For": "203.0.113.7"})
    assert signed_in.status_code == 302
    assert client.post("/api/thing", headers={**forwarded, "Origin": "https://evil.example"}
                       ).status_code == 403
    # throttling counts the client address the proxy forwards, not the proxy's own
    def sign_in_from(address: str, username: str, password: str) -> int:
        fresh = server.test_client()
        page = fresh.get("/login", headers=forwarded).get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        return fresh.post("/login", headers={**forwarded, "X-Forwarded-For": address},
                          data={"username": username, "password": password,
                                "csrf_token": token}).status_code

    for k in range(auth.THROTTLE.address.free):
        assert sign_in_from("198.51.100.9", f"guess{k}", "wrong password!") == 401
    assert sign_in_from("198.51.100.9", "clara", PASSWORD) == 429
    assert sign_in_from("203.0.113.8", "clara", PASSWORD) == 302


def test_demo_mode_and_bad_numbers_are_refused_with_a_proxy(tmp_path):
    from config import settings_from_env

    with pytest.raises(auth.InsecureSettingsError, match="proxy"):
        auth.check_production_settings(Settings(store_path=tmp_path / "d.sqlite", demo=True,
                                                proxies=1))
    with pytest.raises(ValueError, match="IOCOHORT_PROXIES"):
        settings_from_env({"IOCOHORT_PROXIES": "two"})
    with pytest.raises(ValueError, match="IOCOHORT_PORT"):
        settings_from_env({"IOCOHORT_PORT": "-1"})
    assert settings_from_env({"IOCOHORT_PROXIES": "2"}).proxies == 2


def test_sign_in_throttle_and_sign_out_pages_speak_the_browsers_language(app, clock):
    finnish = {"Accept-Language": "fi-FI,fi;q=0.9"}
    client = app.test_client()
    for _ in range(auth.THROTTLE.client.free):
        login(client, "clara", "wrong password!")
    refused = client.post("/login", headers=finnish, data={
        "username": "clara", "password": "whatever", "csrf_token": _csrf(client)})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 429 and 'lang="fi"' in text
    assert "Liian monta epäonnistunutta kirjautumisyritystä (tämä käyttäjätunnus" in text
    assert "Yritä uudelleen 2 sekunnin kuluttua." in text
    clock[0] += 3
    login(client, "clara")
    page = client.get("/logout", headers=finnish).get_data(as_text=True)
    assert 'lang="fi"' in page and "Kirjaudutaanko ulos?" in page and "Sign out" not in page
