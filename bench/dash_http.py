"""Talk to a running server as a browser does: sign in, then call Dash callbacks over HTTP.

Used by the production-server tests and the load test. ``session`` is anything with
``get``/``post`` like ``requests.Session`` (locust's ``HttpSession`` included); URLs are
relative to ``base_url`` ("" for locust, which prefixes its host itself).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Protocol

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Session(Protocol):
    def get(self, url: str, **kwargs: Any) -> Any: ...

    def post(self, url: str, **kwargs: Any) -> Any: ...


def sign_in(session: Session, username: str, password: str, base_url: str = "",
            **kwargs: Any) -> Any:
    """Sign in through the login form (CSRF token included); the final response."""
    page = session.get(f"{base_url}/login", **kwargs)
    match = CSRF.search(page.text)
    if match is None:
        raise RuntimeError(f"no sign-in form at {base_url}/login (status {page.status_code})")
    return session.post(f"{base_url}/login", data={"username": username, "password": password,
                                                   "csrf_token": match.group(1), "next": "/"},
                        **kwargs)


def _split(dependency: str) -> list[dict[str, Any]]:
    """Dash's output string (``..a.b...c.d..`` or ``a.b``) as id/property pairs; a JSON id
    with an ALL wildcard stands for no component (the renderer sends an empty list)."""
    parts = dependency.strip(".").split("...") if dependency.startswith("..") else [dependency]
    return [_dependency(part.rsplit(".", 1)[0], part.rsplit(".", 1)[1]) for part in parts]


def _dependency(component_id: str, prop: str) -> Any:
    if component_id.startswith("{"):
        return []  # pattern-matching id: no such component on the page
    return {"id": component_id, "property": prop}


class DashCallbacks:
    """The app's callbacks (from ``/_dash-dependencies``), called by one of their outputs."""

    def __init__(self, dependencies: list[dict[str, Any]]):
        self.dependencies = dependencies

    @classmethod
    def load(cls, session: Session, base_url: str = "", **kwargs: Any) -> DashCallbacks:
        return cls(_json(session.get(f"{base_url}/_dash-dependencies", **kwargs)))

    def find(self, output: str) -> dict[str, Any]:
        """The callback with the output ``component-id.property`` (first match)."""
        for dep in self.dependencies:
            outputs = dep["output"].strip(".").split("...")
            if any(o.split("@")[0] == output for o in outputs):
                return dep
        raise KeyError(f"no callback outputs {output}")

    def body(self, output: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """The request body calling the callback of ``output`` with ``values`` keyed by
        ``component-id.property`` (pattern-matching inputs get no components; others None)."""
        dep = self.find(output)
        multi = dep["output"].startswith("..")
        outputs = _split(dep["output"])

        def item(spec: dict[str, Any]) -> Any:
            if str(spec["id"]).startswith("{"):
                return []
            key = f"{spec['id']}.{spec['property']}"
            return {"id": spec["id"], "property": spec["property"], "value": values.get(key)}

        inputs = [item(spec) for spec in dep["inputs"]]
        changed = [f"{i['id']}.{i['property']}" for i in inputs if isinstance(i, dict)][:1]
        return {"output": dep["output"], "outputs": outputs if multi else outputs[0],
                "inputs": inputs, "state": [item(spec) for spec in dep["state"]],
                "changedPropIds": changed}

    def call(self, session: Session, output: str, values: Mapping[str, Any],
             base_url: str = "", **kwargs: Any) -> Any:
        """POST the callback; the raw response (``.json()["response"]`` holds the outputs)."""
        return session.post(f"{base_url}/_dash-update-component",
                            data=json.dumps(self.body(output, values)),
                            headers={"Content-Type": "application/json"}, **kwargs)


def _json(response: Any) -> Any:
    """The JSON body of a requests/locust response (a method) or a Flask one (a property)."""
    body = response.json
    return body() if callable(body) else body


def output_value(response_json: dict[str, Any], component_id: str, prop: str) -> Any:
    """One output's value from a callback's JSON response."""
    return response_json["response"][component_id][prop]
