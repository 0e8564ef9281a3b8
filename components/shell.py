"""The page shell: navbar with the active snapshot, the router, and app-wide stores."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, set_props
from dash.exceptions import PreventUpdate

from access.guard import current_user_or_none, require_signed_in
from components import ids, pages
from components.callbacks import Callbacks
from components.cohort_access import NoSnapshot
from components.context import app_context

CALLBACKS = Callbacks()


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.SNAPSHOT_STORE, storage_type="session"),
            dcc.Store(id=ids.COHORT_STORE, storage_type="session"),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand("IO Cohort Explorer", href="/", className="fw-semibold"),
                        dbc.Nav(id=ids.NAV_LINKS, className="me-auto", navbar=True),
                        html.Div(id=ids.NAVBAR_SNAPSHOT, className="d-flex align-items-center"),
                    ],
                    fluid=True,
                ),
                color="primary",
                dark=True,
                className="mb-3",
            ),
            # App-wide notices, e.g. "preparing snapshot X (40 %)" from on_callback_error.
            dbc.Container(id=ids.SHELL_NOTICE, fluid=True),
            dbc.Container(id=ids.PAGE_CONTENT, fluid=True, className="pb-5"),
        ]
    )


def on_callback_error(err: Exception) -> None:
    """The app's Dash ``on_error``: a snapshot that is still being prepared (or not usable)
    is shown as a notice above the page, leaving the callback's outputs as they are, instead
    of failing the request; any other error propagates (logged, generic 500)."""
    if isinstance(err, NoSnapshot):
        notice = dbc.Alert(str(err), color="info", className="py-2 small", dismissable=True,
                           duration=20_000)
        set_props(ids.SHELL_NOTICE, {"children": notice})
        return None
    raise err


def _message(title: str, text: str) -> dbc.Alert:
    return dbc.Alert([html.H4(title, className="alert-heading"), html.P(text)], color="secondary")


def _nav_links(role: str | None, path: str | None) -> list[dbc.NavItem]:
    return [
        dbc.NavItem(dbc.NavLink(page.title, href=page.path, active=page.path == path))
        for page in pages.pages_for(role)
    ]


@CALLBACKS.callback(
    Output(ids.PAGE_CONTENT, "children"),
    Output(ids.NAV_LINKS, "children"),
    Input(ids.URL, "pathname"),
)
def render_page(pathname: str | None):
    """Route to a page after checking, on the server, that the user's role may open it."""
    user = current_user_or_none()
    if user is None:
        return _message("Signed out", "Please sign in again."), []
    if not pathname or pathname == "/":
        pathname = pages.home_for(user.role) or "/"
    page = pages.find(pathname)
    links = _nav_links(user.role, pathname)
    if page is None:
        return _message("Page not found", f"There is no page at {pathname}."), links
    if user.role not in page.roles:
        return _message("Not available", "Your role does not give access to this page."), links
    return page.layout(), links


def _snapshot_options() -> tuple[list[dict], str | None]:
    registry = app_context().registry
    usable = [s for s in registry.statuses() if s.usable]
    default = registry.default()
    options = [{"label": s.snapshot_id, "value": s.snapshot_id} for s in usable]
    return options, (default.snapshot_id if default else None)


@CALLBACKS.callback(
    Output(ids.NAVBAR_SNAPSHOT, "children"),
    Input(ids.URL, "pathname"),
    State(ids.SNAPSHOT_STORE, "data"),
)
def update_navbar_snapshot(_pathname, chosen: str | None):
    """Snapshot chooser and the signed-in user, on the right of the navbar."""
    user = require_signed_in()
    options, default = _snapshot_options()
    values = {o["value"] for o in options}
    value = chosen if chosen in values else default
    chooser = dcc.Dropdown(
        id=ids.SNAPSHOT_SELECT,
        options=options,
        value=value,
        clearable=False,
        placeholder="no usable snapshot",
        style={"width": "12rem"},
        className="me-3",
    )
    # The advisory board reads stored summaries only, so a data snapshot means nothing to it.
    shown = user.role != "advisory"
    return [
        html.Div(chooser, title="Active data snapshot", className="navbar-snapshot me-2",
                 hidden=not shown),
        html.Span(user.username, className="text-light small me-1 navbar-user"),
        dbc.Badge(user.role, color="light", text_color="dark", className="me-2"),
        # A POST (a plain form): sign-out by GET could be triggered from another site.
        html.Form(
            html.Button("Sign out", type="submit", id=ids.SIGN_OUT,
                        className="btn btn-outline-light btn-sm text-nowrap"),
            method="POST", action="/logout", className="d-inline m-0",
        ),
    ]


@CALLBACKS.callback(Output(ids.SNAPSHOT_STORE, "data"), Input(ids.SNAPSHOT_SELECT, "value"))
def store_active_snapshot(snapshot_id: str | None):
    """Remember the chosen snapshot for this browser session."""
    require_signed_in()
    if not snapshot_id:
        raise PreventUpdate
    return snapshot_id

register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
