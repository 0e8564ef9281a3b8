"""Sign-in for the Flask server under Dash: flask-login, server-side sessions and hardening.

``init_auth(server, settings)`` is called once by the composition root, before or after the
Dash app is created on ``server``. It adds:

- ``GET/POST /login`` (endpoint ``access.login``): a plain HTML form with a CSRF token;
  ``?next=/path`` (relative paths only) is where a successful sign-in goes.
- ``POST /logout`` (endpoint ``access.logout``): ends the session on the server; a GET only
  shows a sign-out button, so a link on another site cannot sign anyone out. The login page
  clears the tab's sessionStorage (the working cohort) so the next user starts clean.
- a gate: anonymous requests get a redirect to ``/login`` for pages and 401 JSON without
  data for ``/_dash-*`` and other non-GET requests. Public: ``/login``, ``/healthz`` (the
  app defines it), ``/assets/``, ``/_dash-component-suites/``, ``/_favicon.ico``.
- an Origin/Referer check on POST/PUT/PATCH/DELETE (403 when present and foreign; extra
  allowed hosts in ``server.config["IOCOHORT_TRUSTED_HOSTS"]``, e.g. behind a proxy).
- server-side sessions: a random session id in the signed cookie and (hashed) in the
  ``sessions`` table; every request re-checks it, so sign-out, password reset or user
  removal makes a copied cookie worthless. Absolute lifetime 12 h, idle timeout 2 h.
- throttling with growing delays, never lockouts (OWASP): after a few failures an attempt
  must wait (HTTP 429 with Retry-After), doubling per further failure, per account and client,
  per account, and per address. A browser that signed in to an account before holds a device
  cookie and is never delayed by failures elsewhere. Kept in SQLite for all workers; every
  failure and refusal is in the audit log, and the admins' audit page lists repeated ones.
- cookie flags (HttpOnly, SameSite=Lax, Secure unless bound to localhost; no remember-me),
  a few security headers, and error pages without tracebacks (logged server-side).

The signed-in user is ``flask_login.current_user`` (an ``access.auth.User``); use
``access.guard.require_role`` in callbacks. Client IP is ``request.remote_addr``: behind
reverse proxies set ``IOCOHORT_PROXIES`` to their number, and werkzeug's ``ProxyFix`` takes
the client address, scheme and host from that many ``X-Forwarded-*`` hops (so throttling sees
clients, not the proxy, and the Origin check compares against the public host). The app then
counts as public: Secure cookies, and no demo mode.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import flask
import flask_login
from flask import Blueprint, jsonify, redirect, render_template_string, request, session, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response as WerkzeugResponse

from access import audit, users
from access import store as app_store
from access.preferences import browser_language, request_locale
from config import DEFAULT_SECRET_KEY, ROOT, Settings
from queries.i18n import N_, Translator, translator

log = logging.getLogger(__name__)

SESSION_MAX_AGE = 12 * 3600.0
SESSION_IDLE = 2 * 3600.0
_LAST_SEEN_EVERY = 60.0  # seconds between last_seen writes, to keep requests read-only
MIN_SECRET_KEY_LENGTH = 32
CSRF_FIELD = "csrf_token"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PATHS = frozenset({"/login", "/logout", "/healthz", "/healthz/live", "/healthz/ready",
                          "/_favicon.ico", "/favicon.ico"})
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
# Paths answered with 401 JSON rather than a redirect: Dash's XHR endpoints.
_API_PREFIXES = ("/_dash-", "/_reload-hash")


# Requests: the largest body accepted (HTTP 413 above; a cohort upload is at most 1 MB, sent
# base64-encoded inside a callback request) and the deepest JSON nesting (HTTP 400 above;
# Python's parser and every recursive check would otherwise hit the recursion limit).
MAX_REQUEST_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 100


class RequestRefused(BadRequest):
    """A request refused with a message safe to show (HTTP 400)."""

    def __init__(self, message: str):
        super().__init__(description=message)
        self.public_message = message


class InsecureSettingsError(RuntimeError):
    """The app must not start with these settings outside local demo mode."""


@dataclass(frozen=True, eq=False)
class User(flask_login.UserMixin):
    """The signed-in user of this request; ``get_id`` is the server-side session id."""

    id: int
    username: str
    role: str
    session_id: str

    def get_id(self) -> str:
        return self.session_id


# --- sessions -------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(store_path: str | Path, user_id: int, now: float | None = None) -> str:
    """A new random session id for the user, stored hashed; returned for the cookie."""
    now = time.time() if now is None else now
    token = secrets.token_urlsafe(32)
    with app_store.transaction(store_path) as con:
        con.execute("DELETE FROM sessions WHERE expires_at < ?", [now])
        con.execute(
            "INSERT INTO sessions (token_hash, user_id, created_at, last_seen, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [_token_hash(token), user_id, now, now, now + SESSION_MAX_AGE],
        )
    return token


def load_session(store_path: str | Path, token: str, now: float | None = None) -> User | None:
    """The user of a live session, or None when it ended, expired or idled out."""
    now = time.time() if now is None else now
    with app_store.transaction(store_path) as con:
        row = con.execute(
            "SELECT s.last_seen, s.expires_at, u.id, u.username, u.role FROM sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
            [_token_hash(token or "")],
        ).fetchone()
        if row is None:
            return None
        if row["expires_at"] < now or row["last_seen"] + SESSION_IDLE < now:
            con.execute("DELETE FROM sessions WHERE token_hash = ?", [_token_hash(token)])
            return None
        if now - row["last_seen"] > _LAST_SEEN_EVERY:
            con.execute(
                "UPDATE sessions SET last_seen = ? WHERE token_hash = ?", [now, _token_hash(token)]
            )
    return User(id=row["id"], username=row["username"], role=row["role"], session_id=token)


def end_session(store_path: str | Path, token: str) -> None:
    with app_store.transaction(store_path) as con:
        con.execute("DELETE FROM sessions WHERE token_hash = ?", [_token_hash(token or "")])


def end_user_sessions(store_path: str | Path, user_id: int) -> None:
    """Sign a user out everywhere (e.g. after a role change that should apply at once)."""
    with app_store.transaction(store_path) as con:
        con.execute("DELETE FROM sessions WHERE user_id = ?", [user_id])


# --- throttling -----------------------------------------------------------------------------
#
# OWASP's authentication cheat sheet: slow guessing down with growing delays, never with a
# lockout that an attacker can point at someone else's account. Three scopes, each allowing a
# few free failures and then doubling the wait after every further one (up to a cap):
#
# - one account from one client: steep (a guesser at one account from one place);
# - one account from every untrusted client: a guesser spread over many addresses;
# - one address over every account: a guesser trying many accounts.
#
# A client is the browser's device cookie when it holds one for this account (set at each
# successful sign-in, signed with the secret key; OWASP's "device cookies"), else the address.
# Failures with a device cookie count only for that device: an attack from elsewhere, however
# large, never delays the owner's own browser, and no failure anywhere locks an account.

DEVICE_COOKIE = "iocohort_device"
clock = time.time  # the throttle's clock (tests move it instead of sleeping)
DEVICE_PREFIX = "device:"


@dataclass(frozen=True)
class Delays:
    """``free`` failures cost nothing; then the next attempt waits ``first_seconds``, doubled
    after every further failure, at most ``max_seconds``."""

    free: int
    first_seconds: float
    max_seconds: float

    def after(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(self.max_seconds, self.first_seconds * 2.0 ** min(failures - self.free, 40)))


@dataclass(frozen=True)
class Throttle:
    """Growing delays per account and client, per account, and per address."""

    client: Delays = Delays(free=3, first_seconds=2.0, max_seconds=15 * 60.0)
    account: Delays = Delays(free=10, first_seconds=2.0, max_seconds=5 * 60.0)
    address: Delays = Delays(free=10, first_seconds=1.0, max_seconds=60.0)
    window_seconds: float = 60 * 60.0  # failures older than this are forgotten
    device_days: int = 180


THROTTLE = Throttle()


@dataclass(frozen=True)
class Wait:
    """How long a sign-in attempt must wait, and which scope asks for it ("" when none)."""

    seconds: float = 0.0
    scope: str = ""

    def __bool__(self) -> bool:
        return self.seconds > 0


def _throttle_name(username: str) -> str:
    return (username or "").strip().lower()[:64]


def is_device(client: str) -> bool:
    return client.startswith(DEVICE_PREFIX)


def _scope_wait(rows: list[sqlite3.Row], delays: Delays, now: float, scope: str) -> Wait:
    """``rows``: the scope's failures (``at``), oldest first."""
    if not rows:
        return Wait()
    delay = delays.after(len(rows))
    remaining = rows[-1]["at"] + delay - now
    return Wait(remaining, scope) if remaining > 0 else Wait()


def retry_after(
    store_path: str | Path,
    username: str,
    client: str,
    client_ip: str,
    throttle: Throttle = THROTTLE,
    now: float | None = None,
) -> Wait:
    """How long this client must wait before trying ``username`` again (``Wait()``: not at all).

    ``client`` is ``device:<id>`` for a browser holding this account's device cookie, else the
    address. A success of this client for this account resets its own count only.
    """
    now = clock() if now is None else now
    since = now - throttle.window_seconds
    name = _throttle_name(username)
    with app_store.transaction(store_path) as con:
        last_ok = con.execute(
            "SELECT max(at) FROM login_attempts WHERE username = ? AND client_ip = ? "
            "AND success = 1", [name, client]).fetchone()[0]
        own = con.execute(
            "SELECT at FROM login_attempts WHERE username = ? AND client_ip = ? AND success = 0 "
            "AND at > ? ORDER BY at", [name, client, max(since, last_ok or since)]).fetchall()
        waits = [_scope_wait(own, throttle.client, now, "this account from this client")]
        if not is_device(client):
            account = con.execute(
                "SELECT at FROM login_attempts WHERE username = ? AND success = 0 AND at > ? "
                "AND client_ip NOT LIKE 'device:%' ORDER BY at", [name, since]).fetchall()
            address = con.execute(
                "SELECT at FROM login_attempts WHERE client_ip = ? AND success = 0 AND at > ? "
                "ORDER BY at", [client_ip, since]).fetchall()
            waits += [_scope_wait(account, throttle.account, now, "this account"),
                      _scope_wait(address, throttle.address, now, "this address")]
    return max(waits, key=lambda w: w.seconds)


def is_throttled(
    store_path: str | Path,
    username: str,
    client_ip: str,
    throttle: Throttle = THROTTLE,
    now: float | None = None,
) -> bool:
    """True when a client at ``client_ip`` without a device cookie must wait to try again."""
    return bool(retry_after(store_path, username, client_ip, client_ip, throttle, now))


def record_attempt(
    store_path: str | Path, username: str, client: str, success: bool, now: float | None = None
) -> None:
    """Remember one sign-in attempt of ``client`` (``device:<id>`` or an address)."""
    now = clock() if now is None else now
    with app_store.transaction(store_path) as con:
        con.execute("DELETE FROM login_attempts WHERE at < ?", [now - 86400.0])
        con.execute(
            "INSERT INTO login_attempts (username, client_ip, at, success) VALUES (?, ?, ?, ?)",
            [_throttle_name(username), client, now, int(success)],
        )


@dataclass(frozen=True)
class FailureReport:
    """Failed sign-ins of one account in the last 24 hours, for the admins' audit page."""

    username: str
    failures: int
    clients: int
    devices: int
    last_failure: float
    last_success: float | None


def failure_report(store_path: str | Path, minimum: int = 3, now: float | None = None
                   ) -> list[FailureReport]:
    """Accounts with at least ``minimum`` failed sign-ins in the last 24 hours, most first."""
    now = clock() if now is None else now
    with app_store.transaction(store_path) as con:
        rows = con.execute(
            "SELECT username, count(*) AS failures, count(DISTINCT client_ip) AS clients, "
            "count(DISTINCT CASE WHEN client_ip LIKE 'device:%' THEN client_ip END) AS devices, "
            "max(at) AS last_failure, "
            "(SELECT max(at) FROM login_attempts ok WHERE ok.username = f.username "
            " AND ok.success = 1) AS last_success "
            "FROM login_attempts f WHERE success = 0 AND at > ? GROUP BY username "
            "HAVING count(*) >= ? ORDER BY failures DESC, username",
            [now - 86400.0, minimum]).fetchall()
    return [FailureReport(r["username"], int(r["failures"]), int(r["clients"]),
                          int(r["devices"]), float(r["last_failure"]),
                          None if r["last_success"] is None else float(r["last_success"]))
            for r in rows]


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(flask.current_app.config["SECRET_KEY"]),
                                  salt="iocohort-device")


def device_client(username: str, throttle: Throttle = THROTTLE) -> str | None:
    """``device:<id>`` when this browser's device cookie is valid and for ``username``."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return None
    try:
        data = _device_serializer().loads(cookie, max_age=throttle.device_days * 86400)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("u") != _throttle_name(username):
        return None
    device = data.get("d")
    return f"{DEVICE_PREFIX}{device}" if isinstance(device, str) and device else None


def _set_device_cookie(response: WerkzeugResponse, username: str,
                       throttle: Throttle = THROTTLE) -> None:
    token = _device_serializer().dumps({"u": _throttle_name(username),
                                        "d": secrets.token_urlsafe(16)})
    response.set_cookie(DEVICE_COOKIE, token, max_age=throttle.device_days * 86400,
                        path=url_for("access.login"), httponly=True, samesite="Lax",
                        secure=bool(flask.current_app.config.get("SESSION_COOKIE_SECURE")))


# --- CSRF and redirects --------------------------------------------------------------------


def csrf_token() -> str:
    """This session's CSRF token (created on first use); embed it in forms as ``csrf_token``."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def _csrf_ok(sent: str | None) -> bool:
    expected = session.get(CSRF_FIELD)
    return bool(expected and sent) and hmac.compare_digest(str(expected), str(sent))


def safe_next(target: str | None) -> str:
    """A same-site relative path to go to after sign-in; anything else becomes ``/``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return "/"
    return target


# --- login page ----------------------------------------------------------------------------

_LOGIN_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.sign_in }} · IO Cohort Explorer</title>
{% for href in stylesheets %}<link rel="stylesheet" href="{{ href }}">{% endfor %}
<style>
 body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f5f7fa;margin:0}
 .login-card{max-width:380px;margin:10vh auto;background:#fff;padding:2rem;border-radius:.5rem;
  box-shadow:0 1px 4px rgba(0,0,0,.12)}
 .form-control{display:block;width:100%;box-sizing:border-box;padding:.5rem;margin:.25rem 0 1rem;
  border:1px solid #ced4da;border-radius:.25rem;font-size:1rem}
 .btn-primary{width:100%;padding:.6rem;border:0;border-radius:.25rem;background:#0d6efd;
  color:#fff;font-size:1rem;cursor:pointer}
 .alert-danger{background:#f8d7da;color:#842029;padding:.75rem;border-radius:.25rem;
  margin-bottom:1rem}
 .text-muted{color:#6c757d;font-size:.875rem}
</style>
<script>
 // Signed out: nothing of the previous user's tab (working cohort, chosen snapshot) may be
 // handed to whoever signs in next in this tab.
 try { window.sessionStorage.clear(); } catch (e) {}
</script></head>
<body><main class="login-card card">
<h1 class="h4 mb-3">IO Cohort Explorer</h1>
<p class="text-muted">{{ t.intro }}</p>
{% if error %}<div class="alert alert-danger" role="alert">{{ error }}</div>{% endif %}
<form method="post" action="{{ action }}" autocomplete="on">
 <input type="hidden" name="csrf_token" value="{{ csrf }}">
 <input type="hidden" name="next" value="{{ next_path }}">
 <label class="form-label" for="username">{{ t.username }}</label>
 <input class="form-control" id="username" name="username" value="{{ username }}"
  autocomplete="username" required autofocus>
 <label class="form-label" for="password">{{ t.password }}</label>
 <input class="form-control" id="password" name="password" type="password"
  autocomplete="current-password" required>
 <button class="btn btn-primary" type="submit">{{ t.sign_in }}</button>
</form>
{% if demo %}<p class="text-muted mt-3">{{ t.demo }}</p>{% endif %}
</main></body></html>"""

_WRONG = N_("Wrong username or password.")
_EXPIRED = N_("The form expired. Please sign in again.")


def _login_texts() -> tuple[str, dict[str, str]]:
    """The sign-in page's language (the browser's, before anyone is signed in) and texts."""
    t = translator(browser_language())
    return t.locale, {
        "sign_in": t.gettext("Sign in"),
        "intro": t.gettext("Sign in with the account your platform administrator gave you."),
        "username": t.gettext("Username"),
        "password": t.gettext("Password"),
        "demo": t.gettext("Demo mode: users clinician, partner, advisory and admin, password "
                          "<user>-demo (e.g. clinician-demo)."),
    }


def _login_page(error: str = "", status: int = 200, username: str = "") -> flask.Response:
    lang, texts = _login_texts()
    html = render_template_string(
        _LOGIN_PAGE,
        lang=lang,
        t=texts,
        error=translator(lang).gettext(error) if error else "",
        csrf=csrf_token(),
        action=url_for("access.login"),
        next_path=safe_next(request.values.get("next")),
        username=username,
        demo=flask.current_app.config.get("IOCOHORT_DEMO", False),
        stylesheets=flask.current_app.config.get("IOCOHORT_LOGIN_STYLESHEETS", ()),
    )
    response = flask.make_response(html, status)
    response.headers["Cache-Control"] = "no-store"
    return response


_LOGOUT_PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>{{ t.sign_out }} · IO Cohort Explorer</title>
{% for href in stylesheets %}<link rel="stylesheet" href="{{ href }}">{% endfor %}
</head><body><main class="login-card card" style="max-width:380px;margin:10vh auto;padding:2rem">
<h1 class="h4 mb-3">{{ t.question }}</h1>
<form method="post" action="{{ action }}">
 <button class="btn btn-primary" type="submit">{{ t.sign_out }}</button>
</form>
</main></body></html>"""


def _logout_page() -> flask.Response:
    t = translator(request_locale())
    html = render_template_string(
        _LOGOUT_PAGE, action=url_for("access.logout"), lang=t.locale,
        t={"sign_out": t.gettext("Sign out"), "question": t.gettext("Sign out?")},
        stylesheets=flask.current_app.config.get("IOCOHORT_LOGIN_STYLESHEETS", ()),
    )
    response = flask.make_response(html, 200)
    response.headers["Cache-Control"] = "no-store"
    return response


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _sign_in(record: users.UserRecord, store_path: Path) -> ResponseReturnValue:
    target = safe_next(request.form.get("next"))
    # A fresh cookie session on sign-in: nothing from the anonymous session (a token an
    # attacker may have planted) survives.
    session.clear()
    token = create_session(store_path, record.id)
    flask_login.login_user(
        User(id=record.id, username=record.username, role=record.role, session_id=token)
    )
    session.permanent = True
    csrf_token()
    audit.record_event(record.username, record.role, "sign-in", store=store_path)
    response = redirect(target)
    # This browser is now known for this account: guessing from elsewhere never delays it.
    _set_device_cookie(response, record.username)
    return response


def _wait_text(seconds: float, t: Translator) -> str:
    seconds = math.ceil(seconds)
    if seconds < 120:
        return t.ngettext("{n} second", "{n} seconds", seconds)
    minutes = math.ceil(seconds / 60)
    return t.ngettext("{n} minute", "{n} minutes", minutes)


# Who is being throttled, as the sign-in page names it (Wait.scope holds the English text).
_SCOPE_TEXTS = {
    "this account": N_("this account"),
    "this address": N_("this address"),
    "this account from this client": N_("this account from this client"),
}


def _refused(store_path: Path, username: str, wait: Wait, ip: str, client: str
             ) -> flask.Response:
    audit.record_event(_throttle_name(username), None, "sign-in-throttled",
                       f"ip={ip} client={'device' if is_device(client) else 'address'} "
                       f"scope={wait.scope} wait={math.ceil(wait.seconds)}s", store=store_path)
    t = translator(browser_language())
    message = t.gettext("Too many failed sign-in attempts for {scope}. Try again in {wait}.",
                        scope=t.gettext(_SCOPE_TEXTS.get(wait.scope, wait.scope)),
                        wait=_wait_text(wait.seconds, t))
    response = _login_page(message, 429, username)
    response.headers["Retry-After"] = str(math.ceil(wait.seconds))
    return response


def _login_post(store_path: Path) -> ResponseReturnValue:
    username = request.form.get("username", "")
    if not _csrf_ok(request.form.get(CSRF_FIELD)):
        session.pop(CSRF_FIELD, None)
        return _login_page(_EXPIRED, 400, username)
    ip = _client_ip()
    client = device_client(username) or ip
    now = clock()
    wait = retry_after(store_path, username, client, ip, now=now)
    if wait:
        return _refused(store_path, username, wait, ip, client)
    record = users.verify_password(store_path, username, request.form.get("password", ""))
    record_attempt(store_path, username, client, record is not None, now=now)
    if record is None:
        detail = f"ip={ip} client={'device' if is_device(client) else 'address'}"
        following = retry_after(store_path, username, client, ip, now=now)
        if following:
            detail += (f"; repeated failures: next attempt in "
                       f"{math.ceil(following.seconds)}s ({following.scope})")
        audit.record_event(_throttle_name(username), None, "sign-in-failed", detail,
                           store=store_path)
        return _login_page(_WRONG, 401, username)
    return _sign_in(record, store_path)


def _build_blueprint(store_path: Path) -> Blueprint:
    bp = Blueprint("access", __name__)

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        if request.method == "POST":
            return _login_post(store_path)
        if flask_login.current_user.is_authenticated:
            return redirect(safe_next(request.args.get("next")))
        return _login_page()

    @bp.route("/logout", methods=["GET", "POST"])
    def logout() -> ResponseReturnValue:
        user = flask_login.current_user
        if request.method == "GET":
            # A link or an image on another site must not sign anyone out (SameSite=Lax sends
            # the cookie with top-level GETs): GET only offers the POST form.
            if not user.is_authenticated:
                return redirect(url_for("access.login"))
            return _logout_page()
        if user.is_authenticated:
            end_session(store_path, user.session_id)
            audit.record_event(user.username, user.role, "sign-out", store=store_path)
        flask_login.logout_user()
        session.clear()
        return redirect(url_for("access.login"))

    return bp


# --- request hooks ---------------------------------------------------------------------------


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _is_api(path: str) -> bool:
    return path.startswith(_API_PREFIXES) or request.method != "GET" or request.is_json


def _foreign_origin() -> bool:
    """True when a state-changing request names an origin other than this host."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return False
    if source == "null":
        return True
    allowed = {request.host, *flask.current_app.config.get("IOCOHORT_TRUSTED_HOSTS", ())}
    return urlsplit(source).netloc not in allowed


def _check_origin() -> ResponseReturnValue | None:
    if request.method in STATE_CHANGING and _foreign_origin():
        log.warning("refused %s %s from origin %s", request.method, request.path,
                    request.headers.get("Origin") or request.headers.get("Referer"))
        return jsonify(error="cross-origin request refused"), 403
    return None


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")


def json_depth(raw: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (without parsing it)."""
    brackets = _NOT_BRACKET.sub(b"", _JSON_STRING.sub(b"", raw))
    depth = deepest = 0
    for char in brackets:
        depth += 1 if char in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _check_json_body() -> None:
    """Refuse a JSON body nested deeper than MAX_JSON_DEPTH, and unreadable JSON, with 400."""
    if request.method not in STATE_CHANGING or not request.is_json:
        return None
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: werkzeug raises 413
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise RequestRefused(f"JSON nested deeper than {MAX_JSON_DEPTH} levels is refused")
    if raw and request.get_json(silent=True) is None:
        raise RequestRefused("the request body is not valid JSON")
    return None


def _require_sign_in() -> ResponseReturnValue | None:
    path = request.path
    if _is_public(path) or flask_login.current_user.is_authenticated:
        return None
    if _is_api(path):
        return jsonify(error="sign-in required"), 401
    return redirect(url_for("access.login", next=request.full_path.rstrip("?")))


def _security_headers(response: flask.Response) -> flask.Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Only framing is restricted: Dash's renderer needs its inline bootstrap script.
    response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not _is_public(request.path):
        # Aggregates of health data must not linger in shared or browser caches.
        response.headers["Cache-Control"] = "no-store"
    if not flask.current_app.config.get("IOCOHORT_IS_LOCAL", True):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


# --- errors ----------------------------------------------------------------------------------


def _error_body(status: int, message: str) -> ResponseReturnValue:
    if _is_api(request.path):
        return jsonify(error=message), status
    return flask.make_response(f"{status}: {message}", status, {"Content-Type": "text/plain"})


def _http_error(err: HTTPException) -> ResponseReturnValue:
    """Short, generic bodies: a refused request must not carry data or internals."""
    if err.response is not None:  # a view's own, deliberate response (abort(response))
        return err.response
    messages = {401: "sign-in required", 403: "access denied", 404: "not found",
                405: "method not allowed", 413: "the request is too large", 429: "too many requests"}
    code = err.code or 500
    # Exceptions raised deliberately with a message for the caller (e.g. a callback input
    # of the wrong type) carry it as ``public_message``; others get a generic text.
    message = getattr(err, "public_message", None) or messages.get(code, err.name.lower())
    return _error_body(code, message)


def _server_error(err: InternalServerError) -> ResponseReturnValue:
    reference = uuid.uuid4().hex[:12]
    original = getattr(err, "original_exception", None) or err
    log.error("internal error %s on %s %s", reference, request.method, request.path,
              exc_info=(type(original), original, original.__traceback__))
    return _error_body(500, f"internal error (reference {reference})")


# --- wiring ----------------------------------------------------------------------------------


def _asset_stylesheets() -> list[str]:
    """The app's CSS files (Bootstrap theme, app.css), served by Dash under /assets/."""
    return [f"/assets/{p.name}" for p in sorted((ROOT / "assets").glob("*.css"))]


def _configure(server: flask.Flask, settings: Settings) -> None:
    server.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="iocohort_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not settings.is_local,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=SESSION_MAX_AGE),
        # flask-login's remember-me is never set; these only harden it should it appear.
        REMEMBER_COOKIE_DURATION=timedelta(seconds=0),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=not settings.is_local,
        REMEMBER_COOKIE_SAMESITE="Lax",
        IOCOHORT_DEMO=bool(settings.demo and settings.is_local),
        IOCOHORT_IS_LOCAL=settings.is_local,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    server.config[app_store.STORE_CONFIG_KEY] = str(settings.store_path)
    server.config.setdefault("IOCOHORT_LOGIN_STYLESHEETS", _asset_stylesheets())


def init_auth(server: flask.Flask, settings: Settings) -> None:
    """Install sign-in, sessions, the sign-in gate, Origin check and error pages on ``server``."""
    store_path = Path(settings.store_path)
    _configure(server, settings)
    if settings.proxies:
        server.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way
            server.wsgi_app, x_for=settings.proxies, x_proto=settings.proxies,
            x_host=settings.proxies)
    app_store.connect(store_path).close()  # create the tables before the first request

    manager = flask_login.LoginManager()
    manager.session_protection = "strong"
    manager.login_view = "access.login"
    manager.user_loader(lambda token: load_session(store_path, token))
    manager.unauthorized_handler(lambda: (jsonify(error="sign-in required"), 401))
    manager.init_app(server)

    server.register_blueprint(_build_blueprint(store_path))
    # Registered first so they run before any hook Dash or the app adds later.
    server.before_request_funcs.setdefault(None, [])[:0] = [_check_origin, _require_sign_in,
                                                            _check_json_body]
    server.after_request(_security_headers)
    server.register_error_handler(HTTPException, _http_error)
    server.register_error_handler(InternalServerError, _server_error)
    server.jinja_env.globals.setdefault("csrf_token", csrf_token)


# --- demo mode and production checks -------------------------------------------------------


def seed_demo_users(settings: Settings) -> list[str]:
    """Create the documented demo users (``users.DEMO_USERS``) if missing; returns new names.

    Does nothing unless ``settings.demo`` and the server is bound to localhost.
    """
    if not (settings.demo and settings.is_local):
        return []
    created = []
    for username, (role, password) in users.DEMO_USERS.items():
        if users.get_user(settings.store_path, username) is None:
            users.add_user(settings.store_path, username, role, password, demo=True)
            created.append(username)
    return created


def production_problems(settings: Settings) -> list[str]:
    """Why these settings are unsafe to serve with; empty when they are fine."""
    if settings.demo:
        if settings.is_local:
            return []
        if settings.proxies:
            return ["demo mode is not allowed behind a reverse proxy (IOCOHORT_PROXIES)"]
        return [f"demo mode is only allowed bound to localhost, not {settings.host!r}"]
    problems = []
    if settings.secret_key == DEFAULT_SECRET_KEY:
        problems.append("IOCOHORT_SECRET_KEY is the built-in default; set a random secret")
    elif len(settings.secret_key) < MIN_SECRET_KEY_LENGTH:
        problems.append(
            f"IOCOHORT_SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters"
        )
    if settings.debug:
        problems.append("IOCOHORT_DEBUG is on (it shows tracebacks to users)")
    demo = users.demo_users_present(settings.store_path)
    if demo:
        problems.append(
            f"demo users exist in the store ({', '.join(demo)}); remove them with "
            "`iocohort users remove NAME` or give them new passwords"
        )
    return problems


def check_production_settings(settings: Settings) -> None:
    """Raise InsecureSettingsError naming every problem, unless in local demo mode.

    Refuses: the default or a short secret key, debug on, demo users in the store, and
    demo mode bound to anything but localhost.
    """
    problems = production_problems(settings)
    if problems:
        raise InsecureSettingsError("refusing to start: " + "; ".join(problems))
