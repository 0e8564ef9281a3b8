"""The one role guard for callbacks, pages and downloads, and the role -> pages map.

Dash callbacks can be POSTed to ``/_dash-update-component`` directly, so every callback and
download that returns data starts with ``require_role``::

    @callback(Output(ids.SURVIVAL_GRAPH, "figure"), Input(ids.COHORT_STORE, "data"))
    def update_survival_graph(cohort_json):
        user = require_role("clinician", "partner")
        ...

A signed-out request raises ``NotSignedIn`` (HTTP 401) and a wrong role ``AccessDenied``
(HTTP 403). Both are werkzeug HTTP exceptions: Dash lets them propagate, so Flask answers
the whole request with the status and a body without data (see ``access.auth``'s error
handlers). Do not give the Dash app an ``on_error`` handler that swallows them; if one is
needed it must re-raise ``werkzeug.exceptions.HTTPException``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

import flask_login
from flask import has_request_context, request
from werkzeug.exceptions import Forbidden, Unauthorized

from access import audit
from access.auth import User
from access.users import ROLES

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)

# Page names (the Dash pages register under these names / paths).
BUILDER = "builder"
ANALYSES = "analyses"
COMPARE = "compare"
FEASIBILITY = "feasibility"
SNAPSHOTS = "snapshots"
SUMMARIES = "summaries"
USERS = "users"
AUDIT = "audit"

# Single source of truth for navigation and page guards: which role may open which page.
# Partners build cohorts and see protected counts, feasibility and aggregate analyses; the
# advisory board sees only published summaries (no builder, no live queries); admins manage,
# never browse data.
ALLOWED_PAGES: dict[str, frozenset[str]] = {
    "clinician": frozenset({BUILDER, ANALYSES, COMPARE, FEASIBILITY, SNAPSHOTS, SUMMARIES}),
    "partner": frozenset({BUILDER, ANALYSES, COMPARE, FEASIBILITY, SNAPSHOTS}),
    "advisory": frozenset({SUMMARIES}),
    "admin": frozenset({SNAPSHOTS, USERS, AUDIT}),
}

# First page each role lands on after sign-in.
HOME_PAGE: dict[str, str] = {
    "clinician": BUILDER,
    "partner": BUILDER,
    "advisory": SUMMARIES,
    "admin": AUDIT,
}


class NotSignedIn(Unauthorized):
    """No signed-in user: HTTP 401 with no data."""

    description = "sign-in required"


class AccessDenied(Forbidden):
    """The signed-in user's role may not do this: HTTP 403 with no data."""

    description = "access denied"


def current_user() -> User | None:
    """The signed-in user of this request, or None (also outside a request)."""
    if not has_request_context():
        return None
    user = flask_login.current_user
    if user is None or not user.is_authenticated:
        return None
    return user


# The name components use; same function.
current_user_or_none = current_user


def current_role() -> str | None:
    """The signed-in user's role, or None."""
    user = current_user()
    return user.role if user else None


def require_role(*roles: str) -> User:
    """The signed-in user if their role is one of ``roles``; else raise NotSignedIn/AccessDenied."""
    if not roles:
        raise ValueError("require_role needs at least one role")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    user = current_user()
    if user is None:
        raise NotSignedIn()
    if user.role not in roles:
        _audit_refusal(user)
        raise AccessDenied()
    return user


def _audit_refusal(user: User) -> None:
    """Record a refused request (a role reaching past its pages is worth an admin's look)."""
    detail = request.path
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict) and isinstance(body.get("output"), str):
            detail = f"{detail} {body['output'][:200]}"
    try:
        audit.record_event(user, user.role, "access-denied", detail)
    except Exception:  # noqa: BLE001 - the refusal itself must not depend on the log
        log.exception("could not audit a refused request")


def require_signed_in() -> User:
    """Any signed-in user, whatever the role (e.g. the navigation bar)."""
    return require_role(*ROLES)


def require_role_for_route(*roles: str) -> Callable[[F], F]:
    """Decorator for Flask views and downloads: the view runs only for these roles."""
    if not roles:
        raise ValueError("require_role_for_route needs at least one role")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require_role(*roles)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def pages_for(role: str | None) -> frozenset[str]:
    """Pages the role may open (empty for None or an unknown role)."""
    return ALLOWED_PAGES.get(role or "", frozenset())


def can_view(role: str | None, page: str) -> bool:
    return page in pages_for(role)


def roles_for(page: str) -> tuple[str, ...]:
    """The roles that may open ``page``, from ALLOWED_PAGES (what its callbacks require)."""
    roles = tuple(role for role, pages in ALLOWED_PAGES.items() if page in pages)
    if not roles:
        raise ValueError(f"unknown page {page!r}")
    return roles
