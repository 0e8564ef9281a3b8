"""The page shell: navbar with the active snapshot, the router, and app-wide stores."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, set_props
from dash.exceptions import PreventUpdate

from access import preferences
from access.guard import ANALYSES, can_view, current_user_or_none, require_signed_in
from access.store import app_store_path
from components import ids, pages
from components.callbacks import Callbacks
from components.cohort_access import NoSnapshot
from components.context import app_context
from components.i18n import LANGUAGE_NAMES, LOCALES, N_, _, current_locale, tr
from queries.disclosure.policy import policy_for
from queries.disclosure.release import notice as disclosure_notice

CALLBACKS = Callbacks()

# Role names as shown in the navbar badge (the stored role stays the English key).
ROLE_LABELS = {"clinician": N_("clinician"), "partner": N_("partner"),
               "advisory": N_("advisory board"), "admin": N_("admin")}


def layout() -> html.Div:
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.SNAPSHOT_STORE, storage_type="session"),
            dcc.Store(id=ids.COHORT_STORE, storage_type="session"),
            # Set after a language change: a full reload draws every page, the navbar and
            # <html lang> in the new language.
            dcc.Location(id=ids.LANGUAGE_CHOSEN, refresh=True),
            dbc.Navbar(
                dbc.Container(
                    [
                        dbc.NavbarBrand("IO Cohort Explorer", href="/",  # i18n: product name
                                        className="fw-semibold"),
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
        dbc.NavItem(dbc.NavLink(_(page.title), href=page.path, active=page.path == path))
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
        return _message(_("Signed out"), _("Please sign in again.")), []
    if not pathname or pathname == "/":
        pathname = pages.home_for(user.role) or "/"
    page = pages.find(pathname)
    links = _nav_links(user.role, pathname)
    if page is None:
        return _message(_("Page not found"), _("There is no page at {path}.", path=pathname)), \
            links
    if user.role not in page.roles:
        return _message(_("Not available"), _("Your role does not give access to this page.")), \
            links
    return [*_disclosure_notice(user.role), page.layout()], links


def _disclosure_notice(role: str) -> list[dbc.Alert]:
    """On every page of a role that sees protected analyses: what is rounded and hidden.
    (The advisory board's summaries page says it in plain words of its own.)"""
    if not can_view(role, ANALYSES):
        return []
    text = disclosure_notice(policy_for(role), tr())
    if not text:
        return []
    return [dbc.Alert(text, color="light", className="small py-1 px-2 mb-2 border",
                      id=ids.DISCLOSURE_NOTICE)]


def _snapshot_options() -> tuple[list[dict], str | None]:
    registry = app_context().registry
    usable = [s for s in registry.statuses() if s.usable]
    default = registry.default()
    options = [{"label": s.snapshot_id, "value": s.snapshot_id} for s in usable]
    return options, (default.snapshot_id if default else None)


def language_switch() -> dbc.ButtonGroup:
    """One button per language, the current one pressed; a click saves the user's choice."""
    current = current_locale()
    return dbc.ButtonGroup(
        [
            dbc.Button(code.upper(), id=ids.language_button(code), size="sm",
                       color="light", outline=code != current, active=code == current,
                       title=LANGUAGE_NAMES[code], className="navbar-language")
            for code in LOCALES
        ],
        className="me-2 navbar-language-switch",
    )


@CALLBACKS.callback(
    Output(ids.NAVBAR_SNAPSHOT, "children"),
    Input(ids.URL, "pathname"),
    State(ids.SNAPSHOT_STORE, "data"),
)
def update_navbar_snapshot(_pathname, chosen: str | None):
    """Snapshot chooser, language switch and the signed-in user, on the right of the navbar."""
    user = require_signed_in()
    options, default = _snapshot_options()
    values = {o["value"] for o in options}
    value = chosen if chosen in values else default
    chooser = dcc.Dropdown(
        id=ids.SNAPSHOT_SELECT,
        options=options,
        value=value,
        clearable=False,
        placeholder=_("no usable snapshot"),
        style={"width": "12rem"},
        className="me-3",
    )
    # The advisory board reads stored summaries only, so a data snapshot means nothing to it.
    shown = user.role != "advisory"
    return [
        html.Div(chooser, title=_("Active data snapshot"), className="navbar-snapshot me-2",
                 hidden=not shown),
        language_switch(),
        html.Span(user.username, className="text-light small me-1 navbar-user"),
        dbc.Badge(_(ROLE_LABELS.get(user.role, user.role)), color="light", text_color="dark",
                  className="me-2"),
        # A POST (a plain form): sign-out by GET could be triggered from another site.
        html.Form(
            html.Button(_("Sign out"), type="submit", id=ids.SIGN_OUT,
                        className="btn btn-outline-light btn-sm text-nowrap"),
            method="POST", action="/logout", className="d-inline m-0",
        ),
    ]


@CALLBACKS.callback(
    Output(ids.LANGUAGE_CHOSEN, "href"),
    Input(ids.language_button(ALL), "n_clicks"),
    State(ids.URL, "pathname"),
    prevent_initial_call=True,
)
def choose_language(clicks, pathname: str | None):
    """Save the clicked language as the user's choice and reload the page in it."""
    user = require_signed_in()
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not any(clicks or ()):
        raise PreventUpdate  # the switch was drawn, not clicked
    language = trigger.get("language")
    if language not in LOCALES:
        raise PreventUpdate
    preferences.save_language(app_store_path(), user.username, language)
    # A query that differs from the current URL makes the Location reload the page.
    path = pathname if (pathname or "").startswith("/") else "/"
    return f"{path}?lang={language}"


@CALLBACKS.callback(Output(ids.SNAPSHOT_STORE, "data"), Input(ids.SNAPSHOT_SELECT, "value"))
def store_active_snapshot(snapshot_id: str | None):
    """Remember the chosen snapshot for this browser session."""
    require_signed_in()
    if not snapshot_id:
        raise PreventUpdate
    return snapshot_id

register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
