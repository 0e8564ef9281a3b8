"""Saving, sharing, downloading and uploading the builder's cohort.

Everything here works on the last valid definition (``ids.COHORT_STORE``). Saved cohorts
belong to the signed-in user (``access.cohort_store``); a share link carries the whole
definition (base64url of its canonical JSON) so it opens in any signed-in session; uploads
go through the importer, and a file with problems lists them next to the upload while the
cohort on the page stays as it was.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import flask
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from access.cohort_store import CohortStore, SavedCohortNotFound
from access.guard import require_role
from components import ids
from components.builder.common import ROLES, loaded_payload
from components.builder.state import share_token
from components.callbacks import Callbacks
from components.cohort_access import audit_definition, cohort_service
from components.context import app_context
from components.i18n import N_, _, current_locale, fmt_datetime, ngettext
from queries.cohort.describe import describe
from queries.cohort.export import export_json, export_sql
from queries.cohort.importing import import_definition

CALLBACKS = Callbacks()

MAX_UPLOAD_BYTES = 1_000_000
SAVED_ACTIONS = (("open", N_("Open"), "primary"), ("rename", N_("Rename"), "primary"),
                 ("duplicate", N_("Duplicate"), "primary"), ("delete", N_("Delete"), "danger"))


def cohort_store() -> CohortStore:
    return CohortStore(app_context().settings.store_path)


def files_card() -> dbc.Card:
    return dbc.Card(className="mb-3", children=[
        dbc.CardHeader(html.H3(_("Save, share, export"), className="card-title-small mb-0")),
        dbc.CardBody(className="py-2 small", children=[
            html.Label(_("Save as"), htmlFor=ids.BUILDER_SAVE_NAME, className="form-label mb-0"),
            dbc.InputGroup(size="sm", className="mb-1", children=[
                dbc.Input(id=ids.BUILDER_SAVE_NAME, placeholder=_("name (default: cohort name)"),
                          maxLength=200),
                dbc.Button(_("Save"), id=ids.BUILDER_SAVE, color="primary", n_clicks=0),
            ]),
            html.Div(id=ids.BUILDER_SAVE_MESSAGE, className="mb-1"),
            dcc.Store(id=ids.BUILDER_SAVED_VERSION, data=0),
            html.Div(id=ids.BUILDER_SAVED_LIST, className="mb-2"),
            html.Div(className="d-flex flex-wrap gap-1 mb-1", children=[
                dbc.Button(_("Share link"), id=ids.BUILDER_SHARE, size="sm", color="secondary",
                           n_clicks=0),
                dbc.Button(_("Download JSON"), id=ids.BUILDER_DOWNLOAD_JSON, size="sm",
                           color="primary", outline=True, n_clicks=0),
                dbc.Button("SQL", id=ids.BUILDER_DOWNLOAD_SQL, size="sm", color="primary",
                           outline=True, n_clicks=0, title=_("download the SQL")),
                dbc.Button(_("Text"), id=ids.BUILDER_DOWNLOAD_TEXT, size="sm", color="primary",
                           outline=True, n_clicks=0, title=_("download the plain-language text")),
            ]),
            html.Div(className="d-flex align-items-center gap-1 mb-2", children=[
                dbc.Input(id=ids.BUILDER_SHARE_URL, readonly=True, size="sm",
                          placeholder=_("a link that opens this cohort (after sign-in)")),
                dcc.Clipboard(id=ids.BUILDER_SHARE_COPY, target_id=ids.BUILDER_SHARE_URL,
                              title=_("copy the link"), className="btn btn-sm btn-light"),
            ]),
            dcc.Upload(id=ids.BUILDER_UPLOAD, max_size=MAX_UPLOAD_BYTES, multiple=False,
                       accept=".json,application/json", className="builder-upload",
                       children=html.Div([_("Upload a cohort JSON file: drop it here or "),
                                          html.A(_("choose a file"), href="#")])),
            html.Div(id=ids.BUILDER_UPLOAD_PROBLEMS, className="mt-1"),
        ]),
    ])


def _ok(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="success", className="py-1 px-2 small mb-1", duration=6000)


def _problem(text: str) -> dbc.Alert:
    return dbc.Alert(text, color="warning", className="py-1 px-2 small mb-1")


def _valid_definition(stored: Any, snapshot_id: str | None):
    """The last valid definition of the page, checked again (it comes from the browser)."""
    if not isinstance(stored, dict):
        return None, None
    service = cohort_service(snapshot_id)
    result = import_definition(stored, service.catalog)
    return result.definition, service


# ----------------------------------------------------------------------------- saving


@CALLBACKS.callback(
    Output(ids.BUILDER_SAVE_MESSAGE, "children"),
    Output(ids.BUILDER_SAVED_VERSION, "data"),
    Input(ids.BUILDER_SAVE, "n_clicks"),
    State(ids.BUILDER_SAVE_NAME, "value"),
    State(ids.COHORT_STORE, "data"),
    State(ids.SNAPSHOT_STORE, "data"),
    State(ids.BUILDER_SAVED_VERSION, "data"),
    prevent_initial_call=True,
)
def save_cohort(clicks, name, stored, snapshot_id, version):
    """Save the current (last valid) cohort under a name for the signed-in user."""
    user = require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    definition, _problems = _valid_definition(stored, snapshot_id)
    if definition is None:
        return _problem(_("Nothing to save yet: complete the cohort first.")), no_update
    title = (name or "").strip() or definition.metadata.name
    saved = cohort_store().save(user.username, title, definition.model_dump(mode="json"),
                                definition.content_hash())
    return _ok(_("Saved as “{name}”.", name=saved.name)), (version or 0) + 1


def _saved_row(saved) -> html.Tr:
    buttons = [dbc.Button(_(text), id=ids.saved_action(saved.id, action), color=color, outline=True,
                          size="sm", n_clicks=0, className="py-0 px-1")
               for action, text, color in SAVED_ACTIONS]
    return html.Tr([
        # The whole name stays readable (wrapping, and in full on hover), so two cohorts
        # whose names share a long prefix can be told apart.
        html.Td([dbc.Textarea(id=ids.saved_name(saved.id), value=saved.name, size="sm",
                              maxLength=200, rows=1, title=saved.name,
                              className="saved-cohort-name"),
                 html.Div(fmt_datetime(saved.updated[:16]), className="small text-muted")],
                className="saved-cohort-name-cell"),
        html.Td(html.Div(buttons, className="d-flex flex-wrap gap-1")),
    ])


@CALLBACKS.callback(
    Output(ids.BUILDER_SAVED_LIST, "children"),
    Input(ids.BUILDER_SAVED_VERSION, "data"),
)
def update_saved_list(_version):
    """The signed-in user's saved cohorts, with open / rename / duplicate / delete."""
    user = require_role(*ROLES)
    saved = cohort_store().list(user.username)
    if not saved:
        return html.P(_("No saved cohorts yet."), className="text-muted mb-0")
    return html.Div(dbc.Table(html.Tbody([_saved_row(s) for s in saved]), size="sm",
                              className="mb-0 align-middle"),
                    className="builder-saved-list")


def _saved_names() -> dict[str, str]:
    return {item["id"]["saved"]: item.get("value") or "" for item in ctx.states_list[0]}


@CALLBACKS.callback(
    Output(ids.BUILDER_LOADED, "data", allow_duplicate=True),
    Output(ids.BUILDER_SAVED_VERSION, "data", allow_duplicate=True),
    Output(ids.BUILDER_SAVE_MESSAGE, "children", allow_duplicate=True),
    Input(ids.saved_action(ALL, ALL), "n_clicks"),
    State(ids.saved_name(ALL), "value"),
    State(ids.BUILDER_SAVED_VERSION, "data"),
    prevent_initial_call=True,
)
def update_saved_cohort(_clicks, _names, version):
    """Open, rename, duplicate or delete one of the user's saved cohorts."""
    user = require_role(*ROLES)
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    store, cohort_id, action = cohort_store(), trigger["saved"], trigger["action"]
    bump = (version or 0) + 1
    try:
        if action == "open":
            saved = store.open(user.username, cohort_id)
            return loaded_payload(saved.definition), no_update, _ok(_("Opened “{name}”.", name=saved.name))
        if action == "rename":
            saved = store.rename(user.username, cohort_id, _saved_names().get(cohort_id, ""))
            return no_update, bump, _ok(_("Renamed to “{name}”.", name=saved.name))
        if action == "duplicate":
            saved = store.duplicate(user.username, cohort_id)
            return no_update, bump, _ok(_("Saved a copy as “{name}”.", name=saved.name))
        store.delete(user.username, cohort_id)
        return no_update, bump, _ok(_("Deleted."))
    except SavedCohortNotFound:
        return no_update, bump, _problem(_("That saved cohort no longer exists."))
    except ValueError as exc:
        return no_update, no_update, _problem(str(exc))


# ------------------------------------------------------------------------------ sharing


@CALLBACKS.callback(
    Output(ids.BUILDER_SHARE_URL, "value"),
    Input(ids.BUILDER_SHARE, "n_clicks"),
    State(ids.COHORT_STORE, "data"),
    State(ids.SNAPSHOT_STORE, "data"),
    prevent_initial_call=True,
)
def update_share_link(clicks, stored, snapshot_id):
    """A link that restores this exact cohort, on the snapshot it was made on, in any
    signed-in browser session. Any edit empties the field (``results``), so an old link is
    never copied for the edited cohort (#17)."""
    require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    definition, _problems = _valid_definition(stored, snapshot_id)
    if definition is None:
        return ""
    base = flask.request.host_url.rstrip("/")
    snapshot = cohort_service(snapshot_id).db.snapshot_id
    query = urlencode({"c": share_token(definition), "snapshot": snapshot})
    return f"{base}/builder?{query}"


# ---------------------------------------------------------------------------- downloads


def _file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:60] or "cohort"


@CALLBACKS.callback(
    Output(ids.BUILDER_DOWNLOAD, "data"),
    Input(ids.BUILDER_DOWNLOAD_JSON, "n_clicks"),
    Input(ids.BUILDER_DOWNLOAD_SQL, "n_clicks"),
    Input(ids.BUILDER_DOWNLOAD_TEXT, "n_clicks"),
    State(ids.COHORT_STORE, "data"),
    State(ids.SNAPSHOT_STORE, "data"),
    prevent_initial_call=True,
)
def download_cohort(_json, _sql, _text, stored, snapshot_id):
    """The cohort as JSON (with hash and snapshot), readable SQL, or plain-language text."""
    user = require_role(*ROLES)
    trigger = ctx.triggered_id
    if trigger is None or not ctx.triggered[0].get("value"):
        raise PreventUpdate
    definition, service = _valid_definition(stored, snapshot_id)
    if definition is None:
        raise PreventUpdate
    snapshot = service.db.snapshot_id
    stem = _file_stem(definition.metadata.name)
    audit_definition(user, "builder-export", definition.content_hash(), snapshot,
                     detail=str(trigger))
    if trigger == ids.BUILDER_DOWNLOAD_SQL:
        return dcc.send_string(export_sql(definition, service.catalog, snapshot), f"{stem}.sql")
    if trigger == ids.BUILDER_DOWNLOAD_TEXT:
        return dcc.send_string(describe(definition, service.catalog, current_locale()),
                               f"{stem}.txt")
    return dcc.send_string(export_json(definition, snapshot), f"{stem}.json")


# ------------------------------------------------------------------------------- upload


def _decode_upload(contents: str) -> tuple[str | None, str | None]:
    _header, _comma, encoded = (contents or "").partition(",")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None, _("the file could not be read")
    if len(raw) > MAX_UPLOAD_BYTES:
        return None, _("the file is larger than 1 MB")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        return None, _("the file is not UTF-8 text")


def _problem_list(filename: str, problems: list) -> html.Div:
    items = [html.Li([html.Code(p.path or _("(whole file)")), ": ", p.message,
                      html.Span(f" — {p.hint}", className="text-muted") if p.hint else None])
             for p in problems]
    return html.Div(className="border border-danger rounded p-2 small", role="alert", children=[
        html.Div(ngettext("{file}: {n} problem; the cohort on the page is unchanged.",
                          "{file}: {n} problems; the cohort on the page is unchanged.",
                          len(problems), file=filename), className="fw-semibold text-danger"),
        html.Ul(items, className="mb-0 ps-3 builder-upload-problem-list"),
    ])


@CALLBACKS.callback(
    Output(ids.BUILDER_UPLOAD_PROBLEMS, "children"),
    Output(ids.BUILDER_LOADED, "data", allow_duplicate=True),
    Output(ids.BUILDER_UPLOAD, "contents"),
    Input(ids.BUILDER_UPLOAD, "contents"),
    State(ids.BUILDER_UPLOAD, "filename"),
    State(ids.SNAPSHOT_STORE, "data"),
    prevent_initial_call=True,
)
def upload_cohort(contents, filename, snapshot_id):
    """Import a cohort JSON file; every problem is listed with its JSON path and a hint."""
    require_role(*ROLES)
    if not contents:
        raise PreventUpdate
    filename = str(filename or _("the file"))[:120]
    text, problem = _decode_upload(contents)
    if problem:
        return _problem(_("{file}: {problem}; the cohort on the page is unchanged.",
                          file=filename, problem=problem)), \
            no_update, None
    result = import_definition(text, cohort_service(snapshot_id).catalog)
    if not result.ok:
        return _problem_list(filename, result.errors or result.problems), no_update, None
    notes = [_("{file} opened.", file=filename)]
    if result.migrated_from is not None:
        notes.append(_("Migrated from schema version {version}.",
                       version=result.migrated_from))
    notes += [str(w) for w in result.warnings]
    message = dbc.Alert([html.Div(n) for n in notes], color="success",
                        className="py-1 px-2 small mb-0")
    return message, loaded_payload(result.definition.model_dump(mode="json")), None
