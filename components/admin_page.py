"""Admin pages: the append-only audit log (filters, paging) and the list of users with roles."""

from __future__ import annotations

import math

import dash_bootstrap_components as dbc
from dash import Input, Output, ctx, dcc, html

from access import audit, guard, users
from access.store import app_store_path
from components import ids, pages
from components.callbacks import Callbacks

CALLBACKS = Callbacks()

PAGE_SIZE = 25
ROLE_OPTIONS = [{"label": role, "value": role} for role in users.ROLES]


AUDIT_ROLES = guard.roles_for(guard.AUDIT)
USERS_ROLES = guard.roles_for(guard.USERS)


def _filter_bar() -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(dbc.Input(id=ids.AUDIT_USERNAME, placeholder="username", debounce=True,
                              size="sm"), md=3),
            dbc.Col(dcc.Dropdown(id=ids.AUDIT_ROLE, options=ROLE_OPTIONS, placeholder="any role",
                                 clearable=True), md=2),
            dbc.Col(dbc.Input(id=ids.AUDIT_ACTION, placeholder="action (e.g. feasibility)",
                              debounce=True, size="sm"), md=3),
            dbc.Col(dbc.InputGroup([dbc.InputGroupText("since"),
                                    dbc.Input(id=ids.AUDIT_SINCE, type="date")], size="sm"),
                    md=3),
        ],
        className="g-2 mb-3",
    )


def audit_layout() -> html.Div:
    return html.Div(
        [
            html.H2("Audit log", className="h4"),
            html.P("Every query and sign-in, newest first. The log is append-only.",
                   className="text-muted"),
            _filter_bar(),
            html.Div(id=ids.AUDIT_COUNT, className="small text-muted mb-2"),
            dbc.Spinner(html.Div(id=ids.AUDIT_TABLE)),
            dbc.Pagination(id=ids.AUDIT_PAGER, max_value=1, active_page=1, fully_expanded=False,
                           first_last=True, previous_next=True, size="sm"),
        ]
    )


def users_layout() -> html.Div:
    return html.Div(
        [
            html.Div(
                [html.H2("Users", className="h4 mb-0"),
                 dbc.Button("Refresh", id=ids.USERS_REFRESH, size="sm", color="secondary")],
                className="d-flex justify-content-between align-items-center mb-3",
            ),
            html.P(["Users are managed on the server with ",
                    html.Code("iocohort users add|remove|set-role|reset-password"), "."],
                   className="text-muted"),
            html.Div(id=ids.USERS_TABLE),
        ]
    )


def _suppressed_text(value) -> str:
    if not value:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return ", ".join(str(v) for v in value)


def _audit_table(entries: list[dict]) -> dbc.Table | dbc.Alert:
    if not entries:
        return dbc.Alert("No entries match these filters.", color="light")
    columns = ("When (UTC)", "User", "Role", "Action", "Definition", "Snapshot", "Suppressed",
               "Detail")
    rows = [
        html.Tr([
            html.Td(e["at"].replace("T", " ")[:19], className="text-nowrap"),
            html.Td(e["username"]),
            html.Td(e["role"] or "—"),
            html.Td(html.Code(e["action"])),
            html.Td(html.Code(e["definition_hash"][:12]) if e["definition_hash"] else "—",
                    title=e["definition_hash"] or ""),
            html.Td(e["snapshot_id"] or "—"),
            html.Td(_suppressed_text(e["suppressed"]), className="small"),
            html.Td(e["detail"] or "", className="small"),
        ])
        for e in entries
    ]
    return dbc.Table([html.Thead(html.Tr([html.Th(c) for c in columns])), html.Tbody(rows)],
                     size="sm", hover=True, responsive=True, className="small")


def _filters(username, role, action, since) -> dict:
    return {"username": (username or "").strip().lower(), "role": role or "",
            "action": (action or "").strip(), "since": since or ""}


@CALLBACKS.callback(
    Output(ids.AUDIT_TABLE, "children"),
    Output(ids.AUDIT_COUNT, "children"),
    Output(ids.AUDIT_PAGER, "max_value"),
    Output(ids.AUDIT_PAGER, "active_page"),
    Input(ids.AUDIT_USERNAME, "value"),
    Input(ids.AUDIT_ROLE, "value"),
    Input(ids.AUDIT_ACTION, "value"),
    Input(ids.AUDIT_SINCE, "value"),
    Input(ids.AUDIT_PAGER, "active_page"),
)
def update_audit_table(username, role, action, since, page):
    """One page of the audit log for the filters; a filter change goes back to page 1."""
    guard.require_role(*AUDIT_ROLES)
    store = app_store_path()
    filters = _filters(username, role, action, since)
    total = audit.count_audit(filters, store=store)
    pages_total = max(1, math.ceil(total / PAGE_SIZE))
    page = 1 if ctx.triggered_id != ids.AUDIT_PAGER else min(max(int(page or 1), 1), pages_total)
    entries = audit.read_audit(PAGE_SIZE, (page - 1) * PAGE_SIZE, filters, store=store)
    first = (page - 1) * PAGE_SIZE + 1 if total else 0
    shown = f"{first}–{first + len(entries) - 1 if entries else 0} of {total} entries"
    return _audit_table(entries), shown, pages_total, page


@CALLBACKS.callback(Output(ids.USERS_TABLE, "children"), Input(ids.USERS_REFRESH, "n_clicks"))
def update_users_table(_clicks):
    """Every user with role, demo mark and creation time (never password hashes)."""
    guard.require_role(*USERS_ROLES)
    records = users.list_users(app_store_path())
    header = html.Thead(html.Tr([html.Th(c) for c in ("Username", "Role", "Demo", "Created")]))
    body = html.Tbody([
        html.Tr([html.Td(u.username), html.Td(dbc.Badge(u.role, color="info")),
                 html.Td("demo" if u.is_demo else ""), html.Td(u.created_at)])
        for u in records
    ])
    return dbc.Table([header, body], size="sm", hover=True, responsive=True)


AUDIT_PAGE = pages.register(pages.Page("/audit", "Audit log", AUDIT_ROLES, audit_layout,
                                       order=80))
USERS_PAGE = pages.register(pages.Page("/users", "Users", USERS_ROLES, users_layout, order=85))

register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
