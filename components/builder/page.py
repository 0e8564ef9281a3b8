"""Cohort builder page: index event, inclusion rules of criterion rows, live results.

The page is drawn from the snapshot's field catalog (a new field needs no UI code). Rules and
rows are pattern-matched widgets (``components.ids`` factories); this module holds the
layout, loading a cohort into the page, and the structural edits (add, remove, reorder
rules and rows; a row's inputs following its field and operator). Live results are in
``results``, saving / sharing / files in ``io``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import dash
import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from access.cohort_store import SavedCohortNotFound
from access.guard import require_role, require_signed_in
from components import ids, pages
from components.builder import io as builder_io
from components.builder import results as builder_results
from components.builder import state as state
from components.builder import widgets as widgets
from components.builder.collect import collect, current_draft, widget_dependencies
from components.builder.common import ROLES, count_text_for, loaded_payload
from components.builder.render import add_group_title, render_rules, value_area, window_area
from components.callbacks import Callbacks
from components.cohort_access import cohort_service
from components.i18n import N_, _
from queries.cohort.importing import import_definition
from queries.cohort.model import Definition

CALLBACKS = Callbacks()

INDEX_KINDS = {
    "first_checkpoint_inhibitor": N_("First immune checkpoint inhibitor (anti-PD-1/PD-L1/CTLA-4)"),
    "first_drug_class": N_("First treatment of chosen drug classes"),
    "line_start": N_("Start of treatment line N"),
    "diagnosis": N_("Diagnosis date"),
}
HIDDEN = {"display": "none"}


# ------------------------------------------------------------------------------------ layout


def _labelled(label: str, control: Any, box_id: str | None = None, width: str = "") -> html.Div:
    kwargs = {"id": box_id} if box_id else {}
    return html.Div([html.Label(label, className="form-label small mb-0"), control],
                    className="me-3 mb-2", style={"minWidth": width} if width else {}, **kwargs)


def _index_card() -> dbc.Card:
    return dbc.Card(className="mb-3", children=[
        dbc.CardHeader(html.H3(_("Index event (time zero)"), className="card-title-small mb-0")),
        dbc.CardBody(className="py-2", children=[
            html.Div(className="d-flex flex-wrap align-items-end", children=[
                _labelled(_("Index event"), dbc.Select(
                    id=ids.BUILDER_INDEX_KIND, value="first_checkpoint_inhibitor", size="sm",
                    options=[{"label": _(text), "value": key} for key, text in INDEX_KINDS.items()],
                ), width="22rem"),
                _labelled(_("Drug classes"), dcc.Dropdown(
                    id=ids.BUILDER_INDEX_CLASSES, multi=True, placeholder=_("choose classes"),
                    style={"minWidth": "16rem"}), ids.BUILDER_INDEX_CLASSES_BOX),
                _labelled(_("Line N"), dcc.Input(
                    id=ids.BUILDER_INDEX_LINE, type="number", min=1, max=50, step=1, value=1,
                    debounce=0.4, className="form-control form-control-sm",
                    style={"width": "5rem"}), ids.BUILDER_INDEX_LINE_BOX),
                _labelled(_("Cancer types"), dcc.Dropdown(
                    id=ids.BUILDER_INDEX_CANCERS, multi=True, placeholder=_("any cancer type"),
                    style={"minWidth": "16rem"}), ids.BUILDER_INDEX_CANCERS_BOX),
                _labelled(_("Index date between (optional)"), dcc.DatePickerRange(
                    id=ids.BUILDER_INDEX_DATES, display_format="YYYY-MM-DD", clearable=True,
                    start_date_placeholder_text=_("from"), end_date_placeholder_text=_("to"))),
                _labelled(_("'At index' values up to N days after index (default 0)"), dcc.Input(
                    id=ids.BUILDER_INDEX_GRACE, type="number", min=0, max=90, step=1, value=0,
                    debounce=0.4, className="form-control form-control-sm",
                    style={"width": "5rem"})),
            ]),
            html.Div(id=ids.BUILDER_INDEX_MESSAGE, className="small text-danger"),
        ]),
    ])


def _rules_card() -> dbc.Card:
    return dbc.Card(className="mb-3", children=[
        dbc.CardHeader(className="d-flex align-items-center", children=[
            html.H3(_("Inclusion rules, applied in order"), className="card-title-small mb-0"),
            dbc.Button(_("+ Add rule"), id=ids.BUILDER_ADD_RULE, color="primary", size="sm",
                       className="ms-auto", n_clicks=0),
        ]),
        dbc.CardBody(className="py-2", children=[
            html.P(_("A rule keeps the patients who match all, any or none of its criteria; "
                   "rules apply one after the other. Switch a rule off to see the cohort "
                   "without it."), className="small text-muted mb-2"),
            html.Div(id=ids.BUILDER_RULES, className="builder-rules",
                     children=html.P(_("Loading…"), className="text-muted small")),
        ]),
    ])


def layout() -> html.Div:
    return html.Div(className="builder-page", children=[
        dcc.Store(id=ids.BUILDER_INIT, data=0),
        dcc.Store(id=ids.BUILDER_STRUCTURE),
        dcc.Store(id=ids.BUILDER_LOADED),
        dcc.Store(id=ids.BUILDER_HISTORY, data=[]),
        dcc.Store(id=ids.BUILDER_LINK_SEEN, data=""),
        html.Div(id=ids.BUILDER_ADDRESS, className="builder-link-kept", hidden=True),
        dcc.Store(id=ids.snapshot_watch("builder")),
        dcc.Download(id=ids.BUILDER_DOWNLOAD),
        html.Div(className="d-flex flex-wrap align-items-end gap-3 mb-2", children=[
            html.H2(_("Cohort builder"), className="h4 mb-0 me-2"),
            html.Div([
                html.Label(_("Cohort name"), htmlFor=ids.BUILDER_NAME,
                           className="form-label small mb-0"),
                dbc.Input(id=ids.BUILDER_NAME, size="sm", debounce=True, maxLength=200,
                          style={"width": "22rem"}),
            ]),
            dbc.Button(_("New cohort"), id=ids.BUILDER_NEW, color="primary", outline=True,
                       size="sm", n_clicks=0),
            dbc.Button(_("Undo"), id=ids.BUILDER_UNDO, color="secondary", outline=True, size="sm",
                       n_clicks=0, disabled=True, title=_("back to the previous complete cohort")),
        ]),
        html.Div(id=ids.BUILDER_LOAD_MESSAGE),
        dbc.Row([
            dbc.Col([_index_card(), _rules_card()], lg=7),
            dbc.Col([builder_results.results_card(), builder_io.files_card()], lg=5),
        ]),
    ])


# --------------------------------------------------------------------------------- helpers


def _well_formed(data: Any) -> tuple[dict | None, str | None]:
    """A definition handed to the page (an upload, a saved cohort) checked again, as any
    request may carry anything: its normalized form, or the first problems. Only its shape is
    checked (the snapshot-independent catalog), so the builder can show what this snapshot
    lacks."""
    result = import_definition(data)
    if result.ok:
        return result.definition.model_dump(mode="json"), None
    return None, "; ".join(str(p) for p in result.errors[:5])


def _snapshot_note(linked: str | None, active: str) -> dbc.Alert | None:
    """A share link names the snapshot it was made on; say so when this page counts on
    another one (the same cohort can have other numbers there)."""
    if not linked or linked == active:
        return None
    return dbc.Alert(_("This link was made on snapshot {linked}; you are counting on {active}. "
                       "Choose {linked} in the navbar to see the numbers it was shared with.",
                       linked=linked, active=active),
                     color="info", dismissable=True, className="builder-link-snapshot")


def _from_search(search: str | None, username: str, catalog,
                 active_snapshot: str = "") -> tuple[dict | None, Any]:
    """A definition from ``?c=<token>`` or ``?saved=<id>``, and a message about it."""
    query = parse_qs((search or "").lstrip("?"))
    if "c" in query:
        data, problem = state.read_share_token(query["c"][0])
        if problem is None:
            result = import_definition(data, catalog)
            if result.ok:
                linked = (query.get("snapshot") or [None])[0]
                return result.definition.model_dump(mode="json"), \
                    _snapshot_note(linked, active_snapshot)
            problem = "; ".join(str(p) for p in result.errors[:5])
        return None, dbc.Alert(_("The cohort in the link could not be opened: {problem}",
                                 problem=problem),
                               color="warning", dismissable=True)
    if "saved" in query:
        try:
            saved = builder_io.cohort_store().open(username, query["saved"][0]).definition
        except SavedCohortNotFound:
            return None, dbc.Alert(_("That saved cohort is not among yours."), color="warning",
                                   dismissable=True)
        data, problem = _well_formed(saved)
        if problem:
            return None, dbc.Alert(_("The cohort could not be opened: {problem}",
                                     problem=problem), color="warning", dismissable=True)
        return data, None
    return None, None


def _stored(stored: Any, catalog) -> dict | None:
    if not isinstance(stored, dict):
        return None
    result = import_definition(stored, catalog)
    return result.definition.model_dump(mode="json") if result.ok else None


# --------------------------------------------------------------------------------- loading


@CALLBACKS.callback(
    Output(ids.BUILDER_RULES, "children"),
    Output(ids.BUILDER_STRUCTURE, "data"),
    Output(ids.BUILDER_NAME, "value"),
    Output(ids.BUILDER_INDEX_KIND, "value"),
    Output(ids.BUILDER_INDEX_CLASSES, "options"),
    Output(ids.BUILDER_INDEX_CLASSES, "value"),
    Output(ids.BUILDER_INDEX_LINE, "value"),
    Output(ids.BUILDER_INDEX_CANCERS, "options"),
    Output(ids.BUILDER_INDEX_CANCERS, "value"),
    Output(ids.BUILDER_INDEX_DATES, "start_date"),
    Output(ids.BUILDER_INDEX_DATES, "end_date"),
    Output(ids.BUILDER_INDEX_GRACE, "value"),
    Output(ids.BUILDER_LOAD_MESSAGE, "children"),
    Output(ids.BUILDER_LINK_SEEN, "data"),
    Input(ids.BUILDER_INIT, "data"),
    Input(ids.BUILDER_LOADED, "data"),
    Input(ids.BUILDER_NEW, "n_clicks"),
    Input(ids.snapshot_watch(ALL), "data"),
    State(ids.URL, "search"),
    State(ids.COHORT_STORE, "data"),
    State(ids.SNAPSHOT_STORE, "data"),
    State(ids.BUILDER_STRUCTURE, "data"),
)
def load_builder(_init, loaded, _new, _watch, search, stored, snapshot_id, structure):
    """Open a cohort in the page: from the link, an upload, a saved one, or the session."""
    user = require_role(*ROLES)
    service = cohort_service(snapshot_id)
    catalog = service.catalog
    trigger = ctx.triggered_id
    message, data = None, None
    link = no_update if isinstance(trigger, dict) else ""  # the link's cohort's content hash
    watched = isinstance(trigger, dict) and trigger.get("type") == ids.SNAPSHOT_WATCH
    if watched and isinstance(structure, dict):
        # Another snapshot was chosen: reopen the last complete cohort on its catalog.
        if structure.get("snapshot") == service.db.snapshot_id:
            raise PreventUpdate
        data = _stored(stored, catalog)
        message = dbc.Alert(_("Now counting on snapshot {snapshot}.",
                              snapshot=service.db.snapshot_id),
                            color="info", dismissable=True, duration=8000)
    elif trigger == ids.BUILDER_LOADED and isinstance(loaded, dict):
        data, problem = _well_formed(loaded.get("definition"))
        if problem:
            drawn = len(ctx.outputs_list) - 2  # everything but the message and the link
            return (no_update,) * drawn + (dbc.Alert(
                _("The cohort could not be opened: {problem}", problem=problem),
                color="warning", dismissable=True), no_update)
    elif trigger != ids.BUILDER_NEW or not _new:
        # The address bar's link wins. Once the cohort is edited, leave_link drops the link
        # from the address, so a reload keeps the edits and opening the link again opens it.
        data, message = _from_search(search, user.username, catalog, service.db.snapshot_id)
        if data is not None and "c" in parse_qs((search or "").lstrip("?")):
            link = Definition.model_validate(data).content_hash()
        data = data or _stored(stored, catalog)
    draft = (state.draft_from_definition(data, catalog) if data
             else state.new_draft(user.username))
    draft["snapshot"] = service.db.snapshot_id
    return (*_draw(draft, catalog, user.role), message, link)


@CALLBACKS.callback(
    Output(ids.snapshot_watch(ALL), "data"),
    Input(ids.SNAPSHOT_STORE, "data"),
    prevent_initial_call=True,
)
def watch_snapshot(snapshot_id: str | None):
    """Tell the builder (when it is on screen) that the active snapshot changed."""
    # Fires on every page (the store is the shell's): every role may; it echoes only the id.
    require_signed_in()
    return [snapshot_id for _output in ctx.outputs_list]


@CALLBACKS.callback(
    Output(ids.BUILDER_ADDRESS, "className"),
    Input(ids.COHORT_STORE, "data"),
    State(ids.BUILDER_LINK_SEEN, "data"),
    prevent_initial_call=True,
)
def leave_link(stored, link_hash):
    """Mark when the page's cohort is no longer the one of the address bar's share link (an
    edit, an upload, a saved cohort, a new one): assets/builder_link.js then drops the link
    from the address, so the address never names a cohort other than the one shown."""
    require_role(*ROLES)
    result = import_definition(stored) if isinstance(stored, dict) else None
    if result is None or not result.ok:
        raise PreventUpdate
    kept = bool(link_hash) and result.definition.content_hash() == link_hash
    return "builder-link-kept" if kept else "builder-link-left"  # i18n: CSS class


def _draw(draft: dict, catalog, role: str) -> tuple:
    count_text = count_text_for(role)
    index = draft.get("index", {})
    return (
        render_rules(draft, catalog, count_text),
        draft,
        draft["metadata"].get("name"),
        index.get("kind", "first_checkpoint_inhibitor"),
        widgets.category_options(catalog.get("treatments.drug_class"), count_text),
        index.get("drug_classes") or [],
        index.get("line") or 1,
        widgets.category_options(catalog.get("diagnoses.cancer_type"), count_text),
        index.get("cancer_types") or [],
        index.get("date_from"),
        index.get("date_to"),
        index.get("at_index_grace_days") or 0,
    )


@CALLBACKS.callback(
    Output(ids.BUILDER_LOADED, "data", allow_duplicate=True),
    Output(ids.BUILDER_HISTORY, "data", allow_duplicate=True),
    Input(ids.BUILDER_UNDO, "n_clicks"),
    State(ids.BUILDER_HISTORY, "data"),
    prevent_initial_call=True,
)
def undo_builder(clicks, history):
    """Open the previous complete cohort of this visit again."""
    require_role(*ROLES)
    if not clicks or not isinstance(history, list) or len(history) < 2:
        raise PreventUpdate
    return loaded_payload(history[-2]), history[:-1]


@CALLBACKS.callback(
    Output(ids.BUILDER_INDEX_CLASSES_BOX, "style"),
    Output(ids.BUILDER_INDEX_LINE_BOX, "style"),
    Output(ids.BUILDER_INDEX_CANCERS_BOX, "style"),
    Input(ids.BUILDER_INDEX_KIND, "value"),
)
def update_index_options(kind: str | None):
    """Show only the index event's own settings."""
    require_role(*ROLES)
    return tuple({} if kind == wanted else HIDDEN
                 for wanted in ("first_drug_class", "line_start", "diagnosis"))


# ------------------------------------------------------------------------ structural edits


def _move(items: list, key: str, step: int) -> None:
    position = next(i for i, item in enumerate(items) if item["key"] == key)
    target = position + step
    if 0 <= target < len(items):
        items[position], items[target] = items[target], items[position]


def apply_action(draft: dict, trigger: Any) -> dict:
    """The draft after one click on a structural button (``trigger`` is the button's ID)."""
    rules = draft.setdefault("rules", [])
    if trigger == ids.BUILDER_ADD_RULE:
        rules.append(state.empty_rule([r.get("name", "") for r in rules]))
        return draft
    rule = next((r for r in rules if r["key"] == trigger.get("rule")), None)
    if trigger.get("type") == ids.CRITERION_REMOVE:
        if rule is not None:
            _remove_item(rule, trigger.get("row"))
        return draft
    action = trigger.get("action")
    if trigger.get("type") == ids.GROUP_ACTION:
        if rule is not None:
            _group_action(rule, trigger.get("group"), action)
        return draft
    if action == "remove":
        draft["rules"] = [r for r in rules if r is not rule]
    elif action in ("up", "down") and rule is not None:
        _move(rules, rule["key"], -1 if action == "up" else 1)
    elif action in ("add-row", "add-group") and rule is not None:
        _add_item(rule, rule, action, 1)
    return draft


def _remove_item(rule: dict, key: Any) -> None:
    """Take the row or sub-group ``key`` out of the rule, wherever it is nested."""
    for node in [rule, *(item for _parent, item in state.walk(rule) if state.is_group(item))]:
        node["rows"] = [item for item in node.get("rows", []) if item.get("key") != key]


def _group_action(rule: dict, key: Any, action: Any) -> None:
    if action == "remove":
        _remove_item(rule, key)
        return
    group = state.find_group(rule, key) if isinstance(key, str) else None
    if group is not None and group is not rule:
        _add_item(rule, group, action, _depth_of(rule, key))


def _depth_of(rule: dict, key: str) -> int:
    """The JSON depth of sub-group ``key`` (the rule's criteria: 1)."""
    def search(node: dict, depth: int) -> int | None:
        inner = state.children_depth(node.get("group", "all"), depth)
        for item in node.get("rows", []):
            if state.is_group(item):
                found = inner if item["key"] == key else search(item, inner)
                if found is not None:
                    return found
        return None
    return search(rule, 1) or 1


def _add_item(rule: dict, node: dict, action: Any, depth: int) -> None:
    """A new empty row, or a new sub-group (within the importer's nesting limit)."""
    if action == "add-row":
        node.setdefault("rows", []).append(state.empty_row())
    elif action == "add-group" and state.can_nest(node.get("group", "all"), depth):
        node.setdefault("rows", []).append(state.empty_group())


@CALLBACKS.callback(
    Output(ids.BUILDER_RULES, "children", allow_duplicate=True),
    Output(ids.BUILDER_STRUCTURE, "data", allow_duplicate=True),
    Input(ids.BUILDER_ADD_RULE, "n_clicks"),
    Input(ids.rule_action(ALL, ALL), "n_clicks"),
    Input(ids.group_action(ALL, ALL, ALL), "n_clicks"),
    Input(ids.criterion_id(ids.CRITERION_REMOVE, ALL, ALL), "n_clicks"),
    State(ids.BUILDER_STRUCTURE, "data"),
    State(ids.SNAPSHOT_STORE, "data"),
    *widget_dependencies(State),
    prevent_initial_call=True,
)
def update_rules(_add, _actions, _group_actions, _removes, structure, snapshot_id, *_widgets):
    """Add, remove or reorder rules, groups and rows, keeping every value typed so far."""
    user = require_role(*ROLES)
    trigger = ctx.triggered_id
    if trigger is None or not ctx.triggered or not ctx.triggered[0].get("value"):
        raise PreventUpdate  # a button drawn anew, not clicked
    if structure and not state.well_formed(structure):
        raise PreventUpdate  # not a draft the page drew
    catalog = cohort_service(snapshot_id).catalog
    draft, _problems = current_draft(structure or state.new_draft(), collect(ctx.states_list), {}, None,
                             catalog)
    draft = apply_action(draft, trigger)
    return render_rules(draft, catalog, count_text_for(user.role)), draft


# ------------------------------------------------------------------- one row's own inputs


@CALLBACKS.callback(
    Output(ids.criterion_id(ids.CRITERION_OPERATOR, MATCH, MATCH), "options"),
    Output(ids.criterion_id(ids.CRITERION_OPERATOR, MATCH, MATCH), "value"),
    Output(ids.criterion_id(ids.CRITERION_VALUE_AREA, MATCH, MATCH), "children"),
    Output(ids.criterion_id(ids.CRITERION_WINDOW_AREA, MATCH, MATCH), "children"),
    Input(ids.criterion_id(ids.CRITERION_FIELD, MATCH, MATCH), "value"),
    Input(ids.criterion_id(ids.CRITERION_OPERATOR, MATCH, MATCH), "value"),
    State(ids.SNAPSHOT_STORE, "data"),
    prevent_initial_call=True,
)
def update_criterion_inputs(field_key, op, snapshot_id):
    """A new field brings its operators, value input and time window; a new operator its value
    input."""
    user = require_role(*ROLES)
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict):
        raise PreventUpdate
    f = cohort_service(snapshot_id).catalog.get(field_key or "")
    rule, row = trigger["rule"], trigger["row"]
    count_text = count_text_for(user.role)
    if trigger["type"] == ids.CRITERION_FIELD:
        if f is None:
            return [], None, value_area(None, None, None, rule, row, count_text), []
        op = widgets.default_operator(f)
        new_row = {"key": row, "window": None, "occurrence": None}
        return (widgets.operator_options(f), op, value_area(f, op, None, rule, row, count_text),
                window_area(f, new_row, rule))
    if f is None or op not in f.operators:
        raise PreventUpdate
    return no_update, no_update, value_area(f, op, None, rule, row, count_text), no_update


@CALLBACKS.callback(
    Output(ids.criterion_id(ids.CRITERION_WINDOW_DAYS_BOX, MATCH, MATCH), "style"),
    Output(ids.criterion_id(ids.CRITERION_WINDOW_CUSTOM_BOX, MATCH, MATCH), "style"),
    Input(ids.criterion_id(ids.CRITERION_WINDOW, MATCH, MATCH), "value"),
    prevent_initial_call=True,
)
def update_window_inputs(kind: str | None):
    """'Within N days' shows the N input; 'from day … to day …' the two day inputs."""
    require_role(*ROLES)
    return widgets.window_boxes_style(kind)


@CALLBACKS.callback(
    Output(ids.rule_id(ids.RULE_CARD, MATCH), "className"),
    Input(ids.rule_id(ids.RULE_ENABLED, MATCH), "value"),
    prevent_initial_call=True,
)
def update_rule_card(enabled: bool | None):
    """A switched-off rule stays in place, greyed out."""
    require_role(*ROLES)
    return "mb-2 builder-rule" + ("" if enabled else " builder-rule-off")


@CALLBACKS.callback(
    Output(ids.group_id(ids.GROUP_BOX, MATCH, MATCH), "className"),
    Input(ids.group_id(ids.GROUP_KIND, MATCH, MATCH), "value"),
    prevent_initial_call=True,
)
def update_group_box(kind: str | None):
    """A group's frame shows its kind (all / any / none of)."""
    require_role(*ROLES)
    kind = kind if kind in state.GROUPS else "all"
    return f"builder-group builder-group-{kind} mb-2"  # i18n: CSS class


@CALLBACKS.callback(
    Output(ids.rule_action(ALL, "add-group"), "disabled"),
    Output(ids.rule_action(ALL, "add-group"), "title"),
    Output(ids.group_action(ALL, ALL, "add-group"), "disabled"),
    Output(ids.group_action(ALL, ALL, "add-group"), "title"),
    Input(ids.rule_id(ids.RULE_GROUP, ALL), "value"),
    Input(ids.group_id(ids.GROUP_KIND, ALL, ALL), "value"),
    State(ids.BUILDER_STRUCTURE, "data"),
    prevent_initial_call=True,
)
def update_add_group_buttons(rule_kinds, group_kinds, structure):
    """A rule's or group's kind decides how deep everything inside it sits: "+ group" of every
    rule and group is enabled exactly when one more group fits (the rows' tree is the drawn
    draft's; the kinds are the page's)."""
    require_role(*ROLES)
    if not structure or not state.well_formed(structure):
        raise PreventUpdate
    kinds = {item["id"]["rule"]: kind
             for item, kind in zip(ctx.inputs_list[0], rule_kinds, strict=True)}
    kinds.update({item["id"]["group"]: kind
                  for item, kind in zip(ctx.inputs_list[1], group_kinds, strict=True)})
    fits = state.nestable(structure, kinds)
    rules = [fits.get(item["id"]["rule"], False) for item in ctx.outputs_list[0]]
    subgroups = [fits.get(item["id"]["group"], False) for item in ctx.outputs_list[2]]
    return ([not f for f in rules], [add_group_title(f) for f in rules],
            [not f for f in subgroups], [add_group_title(f) for f in subgroups])


PAGE = pages.register(pages.Page("/builder", N_("Cohort builder"), ROLES, layout, order=10))


def register(app: dash.Dash) -> None:
    """The builder's callbacks (this page's, its results' and its import/export's) on ``app``."""
    for callbacks in (CALLBACKS, builder_results.CALLBACKS, builder_io.CALLBACKS):
        callbacks.register(app)
