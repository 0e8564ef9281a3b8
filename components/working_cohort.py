"""The working cohort in a tab's sessionStorage belongs to the user who built it.

The builder stores the last valid definition in ``ids.COHORT_STORE`` (sessionStorage), where
every page reads it. A tab outlives a session: after one user signs out and another signs in,
the store would still hold the first user's cohort. The login page clears the tab's storage;
in addition the server binds every value it writes there to its user and checks the binding
on every callback request:

- a response that sets the store gets ``{"owner": <tag>, "definition": ...}``, the tag an HMAC
  of the user (id and name) under the app's secret key, so no browser can make one up;
- a request carrying a value bound to another user gets None instead (the page then shows
  the default cohort, as for a new session); the callback sees the bare definition.

A bare definition (not bound) is passed on as it is: it is what a user could POST to any
callback themselves, so it reveals nothing of anyone else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import dash
import flask

from access.auth import User
from access.guard import current_user
from components import ids

OWNER = "owner"
DEFINITION = "definition"
_PROPERTY = "data"


def owner_tag(user: User) -> str:
    key = str(flask.current_app.config["SECRET_KEY"]).encode()
    message = f"working-cohort:{user.id}:{user.username}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def bind(definition: Any, user: User) -> Any:
    """The value to store for ``user`` (None stays None)."""
    if definition is None:
        return None
    return {OWNER: owner_tag(user), DEFINITION: definition}


def is_bound(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {OWNER, DEFINITION}


def unbind(value: Any, user: User) -> Any:
    """The definition in a stored value if ``user`` owns it (bare values pass), else None."""
    if not is_bound(value):
        return value
    if hmac.compare_digest(str(value[OWNER]), owner_tag(user)):
        return value[DEFINITION]
    return None


def _is_store(item: Any) -> bool:
    return (isinstance(item, dict) and item.get("id") == ids.COHORT_STORE
            and item.get("property") == _PROPERTY)


def unbind_request(body: dict[str, Any], user: User) -> None:
    """Replace, in place, the store's values in a callback request by what ``user`` may use."""
    for key in ("inputs", "state"):
        for entry in body.get(key) or []:
            for item in entry if isinstance(entry, list) else [entry]:
                if _is_store(item) and "value" in item:
                    item["value"] = unbind(item["value"], user)


def bind_response(response: flask.Response, user: User) -> None:
    """Bind the store's value in a callback response (if it sets the store) to ``user``."""
    if response.status_code != 200 or ids.COHORT_STORE.encode() not in response.get_data():
        return
    payload = json.loads(response.get_data())
    update = payload.get("response", {}).get(ids.COHORT_STORE)
    if not isinstance(update, dict) or _PROPERTY not in update:
        return
    update[_PROPERTY] = bind(update[_PROPERTY], user)
    response.set_data(json.dumps(payload))


def install(app: dash.Dash, dispatch_path: str) -> None:
    """Bind the working cohort to its user on every callback request of ``app``."""

    def unbind_inputs() -> None:
        request = flask.request
        user = current_user()
        if request.path == dispatch_path and request.method == "POST" and user is not None:
            body = request.get_json(silent=True)
            if isinstance(body, dict):
                unbind_request(body, user)  # Dash reads the same (cached) object

    def bind_outputs(response: flask.Response) -> flask.Response:
        user = current_user()
        if flask.request.path == dispatch_path and user is not None:
            bind_response(response, user)
        return response

    app.server.before_request(unbind_inputs)
    app.server.after_request(bind_outputs)
