"""Admin pages: the append-only audit log (filters, paging), accounts with repeated failed
sign-ins, and user management.

Admins create users, change roles, reset passwords and disable or enable accounts here as
on the command line (``iocohort users``); every change is checked on the server and written
to the audit log. An admin cannot disable or demote their own account (no lock-out).
"""

from __future__ import annotations

import math
import secrets
from datetime import UTC, datetime

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from access import audit, auth, guard, users
from access.store import app_store_path
from components import ids, pages
from components.callbacks import Callbacks
from components.i18n import N_, _, fmt_datetime, fmt_int
from components.shell import ROLE_LABELS

CALLBACKS = Callbacks()

PAGE_SIZE = 25
AUDIT_ROLES = guard.roles_for(guard.AUDIT)
USERS_ROLES = guard.roles_for(guard.USERS)
AUDIT_COLUMNS = (N_("When (UTC)"), N_("User"), N_("Role"), N_("Action"), N_("Definition"),
                 N_("Snapshot"), N_("Suppressed"), N_("Detail"))
FAILURE_COLUMNS = (N_("Account"), N_("Failures"), N_("Clients"), N_("Of them known browsers"),
                   N_("Last failure (UTC)"), N_("Last sign-in (UTC)"))
USER_COLUMNS = (N_("Username"), N_("Role"), N_("Status"), N_("Created"), N_("Actions"))


def _role_options() -> list[dict]:
    return [{"label": _(ROLE_LABELS[role]), "value": role} for role in users.ROLES]


def _filter_bar() -> dbc.Row:
    return dbc.Row(
        [
            dbc.Col(dbc.Input(id=ids.AUDIT_USERNAME, placeholder=_("username"), debounce=True,
                              size="sm"), md=3),
            dbc.Col(dcc.Dropdown(id=ids.AUDIT_ROLE, options=_role_options(),
                                 placeholder=_("any role"), clearable=True), md=2),
            dbc.Col(dbc.Input(id=ids.AUDIT_ACTION, placeholder=_("action (e.g. feasibility)"),
                              debounce=True, size="sm"), md=3),
            dbc.Col(dbc.InputGroup([dbc.InputGroupText(_("since")),
                                    dbc.Input(id=ids.AUDIT_SINCE, type="date")], size="sm"),
                    md=3),
        ],
        className="g-2 mb-3",
    )


def audit_layout() -> html.Div:
    return html.Div(
        [
            html.H2(_("Audit log"), className="h4"),
            html.P(_("Every query and sign-in, newest first. The log is append-only."),
                   className="text-muted"),
            _failures_card(),
            _filter_bar(),
            html.Div(id=ids.AUDIT_COUNT, className="small text-muted mb-2"),
            dbc.Spinner(html.Div(id=ids.AUDIT_TABLE)),
            dbc.Pagination(id=ids.AUDIT_PAGER, max_value=1, active_page=1, fully_expanded=False,
                           first_last=True, previous_next=True, size="sm"),
        ]
    )


def _create_form() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(_("Create a user")),
            dbc.CardBody(dbc.Row(
                [
                    dbc.Col([dbc.Label(_("Username"), html_for=ids.USER_NEW_NAME),
                             dbc.Input(id=ids.USER_NEW_NAME, size="sm", autoComplete="off")],
                            md=3),
                    dbc.Col([dbc.Label(_("Role"), html_for=ids.USER_NEW_ROLE),
                             dcc.Dropdown(id=ids.USER_NEW_ROLE, options=_role_options(),
                                          value="clinician", clearable=False)], md=3),
                    dbc.Col([dbc.Label(_("Password"), html_for=ids.USER_NEW_PASSWORD),
                             dbc.Input(id=ids.USER_NEW_PASSWORD, type="password", size="sm",
                                       autoComplete="new-password",
                                       placeholder=_("at least {n} characters",
                                                     n=fmt_int(users.MIN_PASSWORD_LENGTH)))],
                            md=3),
                    dbc.Col(dbc.Button(_("Create"), id=ids.USER_CREATE, color="primary",
                                       size="sm"), md=3, className="d-flex align-items-end"),
                ],
                className="g-2",
            )),
        ],
        className="mb-3",
    )


def _failures_card() -> dbc.Card:
    return dbc.Card(className="mb-3", children=[
        dbc.CardHeader(html.Div([
            html.Span(_("Repeated failed sign-ins, last 24 hours"), className="fw-semibold"),
            dbc.Button(_("Refresh"), id=ids.SIGN_IN_FAILURES_REFRESH, size="sm",
                       color="secondary"),
        ], className="d-flex justify-content-between align-items-center")),
        dbc.CardBody(html.Div(id=ids.SIGN_IN_FAILURES), className="py-2"),
    ])


def users_layout() -> html.Div:
    return html.Div(
        [
            dcc.Store(id=ids.USERS_VERSION, data=0),
            html.Div(
                [html.H2(_("Users"), className="h4 mb-0"),
                 dbc.Button(_("Refresh"), id=ids.USERS_REFRESH, size="sm", color="secondary")],
                className="d-flex justify-content-between align-items-center mb-3",
            ),
            html.P(_("Changes apply at the user's next request; disabling or a new password "
                     "ends their sessions at once. Every change is in the audit log."),
                   className="text-muted"),
            _create_form(),
            html.Div(id=ids.USERS_MESSAGE),
            html.Div(id=ids.USERS_TABLE),
        ]
    )


def _suppressed_text(value) -> str:
    if not value:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return ", ".join(str(v) for v in value)


def _when(at: str) -> str:
    try:
        return fmt_datetime(at[:19])
    except ValueError:
        return at.replace("T", " ")[:19]


def _audit_table(entries: list[dict]) -> dbc.Table | dbc.Alert:
    if not entries:
        return dbc.Alert(_("No entries match these filters."), color="light")
    rows = [
        html.Tr([
            html.Td(_when(e["at"]), className="text-nowrap"),
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
    header = html.Thead(html.Tr([html.Th(_(c)) for c in AUDIT_COLUMNS]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True, responsive=True,
                     className="small")


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
    last = first + len(entries) - 1 if entries else 0
    shown = _("{first}–{last} of {total} entries", first=fmt_int(first), last=fmt_int(last),
              total=fmt_int(total))
    return _audit_table(entries), shown, pages_total, page


def _at(timestamp: float | None) -> str:
    if timestamp is None:
        return "—"
    return fmt_datetime(datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None,
                                                                        microsecond=0))


@CALLBACKS.callback(Output(ids.SIGN_IN_FAILURES, "children"),
                    Input(ids.SIGN_IN_FAILURES_REFRESH, "n_clicks"))
def update_sign_in_failures(_clicks):
    """Accounts with repeated failed sign-ins: how many, from how many clients, and when.

    Attempts after repeated failures wait (growing delays); nobody is locked out, so this is
    where someone guessing at an account shows up for the admins.
    """
    guard.require_role(*AUDIT_ROLES)
    report = auth.failure_report(app_store_path())
    if not report:
        return html.P(_("No account had repeated failed sign-ins."), className="small mb-0")
    header = html.Thead(html.Tr([html.Th(_(c)) for c in FAILURE_COLUMNS]))
    body = html.Tbody([
        html.Tr([html.Td(r.username), html.Td(fmt_int(r.failures)),
                 html.Td(fmt_int(r.clients)), html.Td(fmt_int(r.devices)), html.Td(_at(r.last_failure)),
                 html.Td(_at(r.last_success))])
        for r in report
    ])
    return dbc.Table([header, body], size="sm", hover=True, responsive=True,
                     className="small mb-0 sign-in-failures")


def _user_row(user: users.UserRecord, me: str) -> html.Tr:
    own = user.username == me
    status = dbc.Badge(_("disabled"), color="secondary") if user.disabled \
        else dbc.Badge(_("active"), color="success")
    toggle = ("enable", _("Enable"), "outline-success") if user.disabled \
        else ("disable", _("Disable"), "outline-danger")
    actions = [
        dbc.Button(_("Reset password"), id=ids.user_action(user.username, "reset"), size="sm",
                   color="outline-secondary", className="me-1"),
        dbc.Button(toggle[1], id=ids.user_action(user.username, toggle[0]), size="sm",
                   color=toggle[2], disabled=own,
                   title=_("You cannot disable your own account") if own else None),
    ]
    role = dcc.Dropdown(id=ids.user_role(user.username), options=_role_options(),
                        value=user.role, clearable=False, disabled=own,
                        className="users-role", style={"minWidth": "11rem"})
    demo = [" ", dbc.Badge(_("demo"), color="warning", text_color="dark")] if user.is_demo else []
    return html.Tr([html.Td([user.username, *demo]), html.Td(role), html.Td(status),
                    html.Td(_when(user.created_at), className="text-nowrap"),
                    html.Td(actions, className="text-nowrap")],
                   className="users-row")


@CALLBACKS.callback(
    Output(ids.USERS_TABLE, "children"),
    Input(ids.USERS_REFRESH, "n_clicks"),
    Input(ids.USERS_VERSION, "data"),
)
def update_users_table(_clicks, _version):
    """Every user with role, status, demo mark and creation time (never password hashes)."""
    admin = guard.require_role(*USERS_ROLES)
    records = users.list_users(app_store_path())
    header = html.Thead(html.Tr([html.Th(_(c)) for c in USER_COLUMNS]))
    body = html.Tbody([_user_row(u, admin.username) for u in records])
    return dbc.Table([header, body], size="sm", hover=True, responsive=True)


def _user_error(err: users.UserError) -> dbc.Alert:
    return dbc.Alert(_(err.template, **err.values), color="warning", dismissable=True)


def _audit_change(admin, action: str, detail: str) -> None:
    audit.record_event(admin.username, admin.role, action, detail, store=app_store_path())


@CALLBACKS.callback(
    Output(ids.USERS_MESSAGE, "children", allow_duplicate=True),
    Output(ids.USERS_VERSION, "data", allow_duplicate=True),
    Output(ids.USER_NEW_PASSWORD, "value"),
    Input(ids.USER_CREATE, "n_clicks"),
    State(ids.USER_NEW_NAME, "value"),
    State(ids.USER_NEW_ROLE, "value"),
    State(ids.USER_NEW_PASSWORD, "value"),
    State(ids.USERS_VERSION, "data"),
    prevent_initial_call=True,
)
def create_user(clicks, username, role, password, version):
    """Create a user with the given role and password (audited)."""
    admin = guard.require_role(*USERS_ROLES)
    if not clicks:
        raise PreventUpdate
    try:
        user = users.add_user(app_store_path(), username or "", role or "", password or "")
    except users.UserError as err:
        return _user_error(err), no_update, no_update
    _audit_change(admin, "user-create", f"user={user.username} role={user.role}")  # i18n: log
    message = dbc.Alert(_("User {name} created with the role {role}.", name=user.username,
                          role=_(ROLE_LABELS[user.role])), color="success", dismissable=True)
    return message, int(version or 0) + 1, ""


def _reset_password(admin, username: str) -> dbc.Alert:
    password = secrets.token_urlsafe(12)
    users.reset_password(app_store_path(), username, password)
    _audit_change(admin, "user-reset-password", f"user={username}")
    return dbc.Alert([
        _("New password of {name} (shown once; give it to them safely):", name=username), " ",
        html.Code(password, className="users-new-password fs-6"),
    ], color="info", dismissable=True)


def _set_disabled(admin, username: str, disabled: bool) -> dbc.Alert:
    if username == admin.username:
        return dbc.Alert(_("You cannot disable your own account."), color="warning")
    users.set_disabled(app_store_path(), username, disabled)
    _audit_change(admin, "user-disable" if disabled else "user-enable", f"user={username}")
    text = _("{name} is disabled; their sessions have ended.", name=username) if disabled \
        else _("{name} can sign in again.", name=username)
    return dbc.Alert(text, color="success", dismissable=True)


def _set_role(admin, username: str, role: str) -> dbc.Alert | None:
    current = users.get_user(app_store_path(), username)
    if current is None or current.role == role:
        return None  # the chooser was drawn, not changed
    if username == admin.username:
        return dbc.Alert(_("You cannot change your own role."), color="warning")
    users.set_role(app_store_path(), username, role)
    detail = f"user={username} role={current.role}->{role}"  # i18n: audit log detail
    _audit_change(admin, "user-set-role", detail)
    return dbc.Alert(_("{name} now has the role {role}.", name=username,
                       role=_(ROLE_LABELS[role])), color="success", dismissable=True)


def _role_change(roles: list, role_ids: list) -> tuple[str, str] | None:
    trigger = ctx.triggered_id
    for component_id, value in zip(role_ids, roles, strict=False):
        if component_id == trigger:
            return component_id["user"], value
    return None


@CALLBACKS.callback(
    Output(ids.USERS_MESSAGE, "children"),
    Output(ids.USERS_VERSION, "data"),
    Input(ids.user_action(ALL, ALL), "n_clicks"),
    Input(ids.user_role(ALL), "value"),
    State(ids.user_role(ALL), "id"),
    State(ids.USERS_VERSION, "data"),
    prevent_initial_call=True,
)
def change_user(_clicks, roles, role_ids, version):
    """Reset a password, disable/enable a user or change a role (each audited)."""
    admin = guard.require_role(*USERS_ROLES)
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not (ctx.triggered and ctx.triggered[0].get("value")):
        raise PreventUpdate  # the table was drawn, nothing was clicked
    try:
        if trigger.get("type") == ids.USER_ROLE:
            change = _role_change(roles or [], role_ids or [])
            message = _set_role(admin, *change) if change else None
            if message is None:
                raise PreventUpdate
        elif trigger.get("action") == "reset":
            message = _reset_password(admin, trigger["user"])
        elif trigger.get("action") in ("disable", "enable"):
            message = _set_disabled(admin, trigger["user"], trigger["action"] == "disable")
        else:
            raise PreventUpdate
    except users.UserError as err:
        return _user_error(err), int(version or 0) + 1
    return message, int(version or 0) + 1


AUDIT_PAGE = pages.register(pages.Page("/audit", N_("Audit log"), AUDIT_ROLES, audit_layout,
                                       order=80))
USERS_PAGE = pages.register(pages.Page("/users", N_("Users"), USERS_ROLES, users_layout,
                                       order=85))

register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
