"""Checks on every callback request before Dash runs it, so no input can cause a server error.

Any callback can be POSTed to ``/_dash-update-component`` with any JSON. Dash passes the
values on as they come, so a dict where a callback expects a snapshot id, or ``"1; DROP"`` as a
page number, used to end in a 500. Here each request is checked once, for every callback:

- the body has Dash's shape (``output``, ``outputs``, ``inputs``, ``state``) and names a
  registered callback;
- every input and state value has the type its component property carries: counts of clicks
  and page numbers are whole numbers, ``value`` is a scalar or a list of scalars, paths,
  dates and upload contents are text, and the shell's stores hold what the app writes there.

A request that fails gets HTTP 400 with a message naming the component property. Genuine
errors inside a callback are not caught here: they still reach the error handler (a logged
500), so tests keep seeing them.

An unknown ``/_dash-component-suites/`` path is a 404 (Dash raises an exception for it).
``install`` also binds the working cohort to its user (``components.working_cohort``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import dash
import flask
from dash.exceptions import DependencyException
from werkzeug.exceptions import BadRequest

from components import ids, working_cohort

DISPATCH_PATH = "/_dash-update-component"
MAX_LIST_ITEMS = 10_000
MAX_DEPENDENCIES = 5_000

Check = Callable[[Any], str | None]  # a value -> why it is wrong, or None


class BadCallbackRequest(BadRequest):
    """A callback request with the wrong shape or an input of the wrong type (HTTP 400)."""

    def __init__(self, message: str):
        super().__init__(description=message)
        self.public_message = message  # shown to the caller by access.auth's error handler


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object"


# Numbers from a browser are JavaScript numbers: integers beyond 2**53 are not exact there,
# and larger ones overflow SQLite and DuckDB integers.
MAX_SAFE_INTEGER = 2**53


def _scalar(value: Any) -> bool:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    if isinstance(value, int):
        return abs(value) <= MAX_SAFE_INTEGER
    if isinstance(value, float):
        return math.isfinite(value)
    return False


def whole_number(minimum: int) -> Check:
    def check(value: Any) -> str | None:
        if value is None:
            return None
        if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
                or value > MAX_SAFE_INTEGER):
            return f"must be a whole number of at least {minimum}, not {_kind(value)}"
        return None

    return check


def text(value: Any) -> str | None:
    return None if value is None or isinstance(value, str) else f"must be text, not {_kind(value)}"


def scalar_or_list(value: Any) -> str | None:
    """A widget value: text, a number, true/false, or a list of those (a multi-select)."""
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            return f"must list at most {MAX_LIST_ITEMS} values"
        if all(_scalar(item) for item in value):
            return None
        return "must be a list of text, numbers or true/false"
    if _scalar(value):
        return None
    return f"must be text, a number, true/false or a list of those, not {_kind(value)}"


def scalar(value: Any) -> str | None:
    """A single-choice widget's value: text or a number (a saved cohort's id), or null."""
    return None if _scalar(value) else "must be text or a number, not " + _kind(value)


def number(value: Any) -> str | None:
    if value is None or (_scalar(value) and isinstance(value, int | float)
                         and not isinstance(value, bool)):
        return None
    return f"must be a number, not {_kind(value)}"


def true_false(value: Any) -> str | None:
    return None if value is None or isinstance(value, bool) else \
        f"must be true or false, not {_kind(value)}"


def json_object(value: Any) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    return f"must be an object, not {_kind(value)}"


def json_list(value: Any) -> str | None:
    if value is None or isinstance(value, list):
        return None
    return f"must be a list, not {_kind(value)}"


def any_json(_value: Any) -> str | None:
    return None


# Per component (an id, or the "type" of a pattern id) and property: the single-valued widgets
# and the app's own stores. Other properties are checked by CHECKS_BY_PROPERTY.
_TEXT_VALUES = (
    ids.AUDIT_USERNAME, ids.AUDIT_ROLE, ids.AUDIT_ACTION, ids.AUDIT_SINCE,
    ids.SURVIVAL_ENDPOINT, ids.SURVIVAL_STRATA, ids.RESPONSE_STRATA, ids.SAFETY_LEVEL,
    ids.SAFETY_GRADE, ids.COMPARE_ENDPOINT, ids.COMPARE_RESPONSE_STRATA, ids.COMPARE_SAFETY_GRADE,
    ids.BUILDER_NAME, ids.BUILDER_SAVE_NAME, ids.BUILDER_INDEX_KIND, ids.PUBLISH_TITLE,
    ids.PUBLISH_DESCRIPTION, ids.RULE_NAME, ids.RULE_GROUP, ids.GROUP_KIND, ids.CRITERION_FIELD,
    ids.CRITERION_OPERATOR, ids.CRITERION_TEXT, ids.CRITERION_WINDOW, ids.CRITERION_OCCURRENCE,
    ids.SAVED_NAME, ids.USER_NEW_NAME, ids.USER_NEW_ROLE, ids.USER_NEW_PASSWORD, ids.USER_ROLE,
)
_SCALAR_VALUES = (ids.PUBLISH_SOURCE, ids.COMPARE_LEFT, ids.COMPARE_RIGHT)
_NUMBER_VALUES = (ids.BUILDER_INDEX_LINE, ids.CRITERION_MIN, ids.CRITERION_MAX,
                  ids.CRITERION_WINDOW_DAYS, ids.CRITERION_WINDOW_START, ids.CRITERION_WINDOW_END)
_SWITCHES = (ids.SAFETY_IMMUNE, ids.RULE_ENABLED)
_COUNTERS = (ids.BUILDER_INIT, ids.BUILDER_SAVED_VERSION, ids.SUMMARIES_VERSION, ids.PUBLISH_INIT,
             ids.USERS_VERSION)
CHECKS_BY_ID: dict[tuple[str, str], Check] = {
    **{(name, "value"): text for name in _TEXT_VALUES},
    **{(name, "value"): scalar for name in _SCALAR_VALUES},
    **{(name, "value"): number for name in _NUMBER_VALUES},
    **{(name, "value"): true_false for name in _SWITCHES},
    **{(name, "data"): whole_number(0) for name in _COUNTERS},
    (ids.SNAPSHOT_STORE, "data"): text,
    (ids.SNAPSHOT_WATCH, "data"): text,
    (ids.COHORT_STORE, "data"): json_object,
    (ids.BUILDER_STRUCTURE, "data"): json_object,
    (ids.BUILDER_LOADED, "data"): json_object,
    (ids.BUILDER_HISTORY, "data"): json_list,
    (ids.BUILDER_LINK_SEEN, "data"): text,
}
CHECKS_BY_PROPERTY: dict[str, Check] = {
    "n_clicks": whole_number(0),
    "n_submit": whole_number(0),
    "n_intervals": whole_number(0),
    "active_page": whole_number(1),
    "value": scalar_or_list,
    "pathname": text,
    "search": text,
    "hash": text,
    "href": text,
    "contents": text,
    "filename": text,
    "date": text,
    "start_date": text,
    "end_date": text,
    "active_tab": text,
}


def check_for(component_id: Any, prop: str) -> Check:
    """The check of one component property (a pattern id is found by its ``type``)."""
    name = component_id.get("type") if isinstance(component_id, dict) else component_id
    if isinstance(name, str) and (name, prop) in CHECKS_BY_ID:
        return CHECKS_BY_ID[(name, prop)]
    return CHECKS_BY_PROPERTY.get(prop, any_json)


def _name(component_id: Any, prop: Any) -> str:
    if isinstance(component_id, dict):
        component_id = json.dumps(component_id, sort_keys=True)
    return f"{str(component_id)[:200]}.{str(prop)[:50]}"


def _check_id(component_id: Any, where: str) -> None:
    if isinstance(component_id, str):
        return
    if isinstance(component_id, dict) and all(
        isinstance(k, str) and (isinstance(v, str | int | bool) or v is None)
        for k, v in component_id.items()
    ):
        return
    raise BadCallbackRequest(f"{where}: a component id must be text or an object of "
                             "text and numbers")


def _check_dependency(item: Any, where: str, with_value: bool) -> None:
    if not isinstance(item, dict) or "id" not in item or not isinstance(item.get("property"), str):
        raise BadCallbackRequest(f"{where} must be an object with an id and a property")
    _check_id(item["id"], where)
    if with_value:
        problem = check_for(item["id"], item["property"])(item.get("value"))
        if problem:
            raise BadCallbackRequest(
                f"callback input {_name(item['id'], item['property'])} {problem}")


def _check_dependencies(items: Any, key: str, with_value: bool) -> int:
    """Check one list of the body (an entry is a dependency, or a list for ALL wildcards)."""
    if not isinstance(items, list):
        raise BadCallbackRequest(f"'{key}' must be a list")
    count = 0
    for position, entry in enumerate(items):
        group = entry if isinstance(entry, list) else [entry]
        for item in group:
            _check_dependency(item, f"{key}[{position}]", with_value)
        count += len(group)
    return count


def check_callback_body(body: Any, known_outputs: Callable[[str], bool]) -> None:
    """Raise BadCallbackRequest unless ``body`` is a well-formed call of a known callback."""
    if not isinstance(body, dict):
        raise BadCallbackRequest("a callback request must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or not known_outputs(output):
        raise BadCallbackRequest("the request names no callback of this app")
    outputs = body.get("outputs")
    outputs = outputs if isinstance(outputs, list) else [outputs]
    count = _check_dependencies(outputs, "outputs", with_value=False)
    count += _check_dependencies(body.get("inputs"), "inputs", with_value=True)
    count += _check_dependencies(body.get("state", []), "state", with_value=True)
    if count > MAX_DEPENDENCIES:
        raise BadCallbackRequest(f"a callback request may carry at most {MAX_DEPENDENCIES} "
                                 "values")
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise BadCallbackRequest("'changedPropIds' must be a list of text")


def install(app: dash.Dash) -> None:
    """Check every callback request of ``app`` before Dash dispatches it."""
    server = app.server
    prefix = app.config.routes_pathname_prefix.rstrip("/")
    dispatch_path = prefix + DISPATCH_PATH

    def check_dispatch() -> None:
        request = flask.request
        if request.path != dispatch_path or request.method != "POST":
            return
        body = request.get_json(silent=True)
        if body is None:
            raise BadCallbackRequest("a callback request must be JSON")
        check_callback_body(body, lambda output: output in app.callback_map)

    server.before_request(check_dispatch)
    working_cohort.install(app, dispatch_path)  # after the checks: the store holds an object
    server.register_error_handler(DependencyException, _unknown_component_file)


def _unknown_component_file(_error: DependencyException) -> flask.Response:
    return flask.make_response("404: not found", 404, {"Content-Type": "text/plain"})
