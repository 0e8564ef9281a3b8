"""Live results of the builder: count, attrition funnel, plain-language description.

On every change the page's widgets are read into a draft, checked by the importer, and,
when valid, the attrition is computed, protected for the user's role, audited, drawn, and
the definition stored in ``ids.COHORT_STORE`` for the other pages. An invalid or incomplete
row is marked in place and the last valid result stays on screen.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update

from access.guard import require_role
from components import figures, ids
from components.builder.collect import (
    INDEX_PROPS,
    collect,
    current_draft,
    index_dependencies,
    index_values_from,
    widget_dependencies,
)
from components.builder.common import ROLES
from components.builder.state import BuildResult, definition_from_draft, well_formed
from components.callbacks import Callbacks
from components.cohort_access import audit_definition, cohort_service
from components.figures import graph_config
from components.i18n import _, current_locale, localize_released, ngettext
from queries.cohort import bias
from queries.cohort.describe import describe, index_label
from queries.disclosure.attrition import protect_attrition_result
from queries.disclosure.policy import policy_for

CALLBACKS = Callbacks()

ROW_CLASS = "criterion-row mb-2"
HISTORY_LENGTH = 20


def results_card() -> dbc.Card:
    return dbc.Card(className="mb-3 builder-results", children=[
        dbc.CardHeader(html.H3(_("Cohort"), className="card-title-small mb-0")),
        dbc.CardBody(className="py-2", children=[
            html.Div(className="d-flex align-items-baseline gap-3", children=[
                html.Div([
                    html.Div(_("Patients in cohort"), className="metric-label"),
                    dcc.Loading(html.Div("—", id=ids.BUILDER_COUNT, className="metric-value"),
                                type="dot", delay_show=300),
                ]),
                html.Div(id=ids.BUILDER_COUNT_NOTE, className="small text-muted"),
            ]),
            html.Div(id=ids.BUILDER_STATUS, className="my-2"),
            dcc.Loading(type="default", delay_show=300, children=[
                dcc.Graph(id=ids.BUILDER_FUNNEL, figure=figures.blank_figure(),
                          config=graph_config(mode_bar=False, responsive=True),
                          style={"height": "15rem"}),
                html.Div(id=ids.BUILDER_ATTRITION_TABLE),
            ]),
            html.H4(_("In plain language"), className="card-title-small mt-2"),
            html.Div(id=ids.BUILDER_DESCRIPTION, className="small builder-description"),
            html.Div(id=ids.BUILDER_HASH, className="small text-muted mt-1"),
        ]),
    ])


# ----------------------------------------------------------------------------- drawing


def attrition_table(steps: list, index_name: str | None = None) -> dbc.Table:
    """The attrition steps; ``index_name`` names the index event in the reader's language."""
    header = html.Thead(html.Tr([html.Th("#"), html.Th(_("Rule"))] + [
        html.Th(text, className="text-end") for text in (_("Left"), _("Excluded"), _("Rule alone"))]))
    rows = []
    for s in steps:
        name = _("Index event: {name}", name=index_name or s.rule_name) if s.step == 0 \
            else s.rule_name
        rows.append(html.Tr(className="" if s.enabled else "text-muted", children=[
            html.Td(str(s.step) if s.step else ""),
            html.Td(name + ("" if s.enabled else _(" (switched off)"))),
            html.Td(localize_released(s.remaining.display), className="text-end"),
            html.Td("" if s.step == 0 else localize_released(s.excluded.display), className="text-end"),
            html.Td(localize_released(s.alone.display), className="text-end"),
        ]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", className="small mb-1",
                     responsive=True)


def _status(result: BuildResult) -> Any:
    if result.ok:
        return None
    items = [html.Li(p) for p in result.other_problems if not p.startswith("index_event")]
    count = result.problem_count()
    text = ngettext("{n} problem to fix (marked in red). The results below are from the last "
                    "complete cohort.",
                    "{n} problems to fix (marked in red). The results below are from the last "
                    "complete cohort.", count)
    return dbc.Alert([html.Span(text), html.Ul(items, className="mb-0") if items else None],
                     color="warning", className="py-2 small mb-0")


def _markers(result: BuildResult) -> tuple[list, list, list, list]:
    """Row classes and messages, rule and group messages, for the widgets now on the page."""
    rows_out, messages_out, rules_out, groups_out = ctx.outputs_list[9:13]
    row_classes, row_messages, rule_messages = [], [], []
    for item in rows_out:
        bad = result.row_problems.get(item["id"]["row"])
        row_classes.append(ROW_CLASS + (" invalid" if bad else ""))  # i18n: CSS class
    for item in messages_out:
        key = item["id"]["row"]
        texts = result.row_problems.get(key, [])
        warnings = result.warnings.get(key, [])
        row_messages.append([html.Div(t) for t in texts]
                            + [html.Div(w, className="text-warning") for w in warnings])
    for item in rules_out:
        rule_messages.append("; ".join(result.rule_problems.get(item["id"]["rule"], [])))
    group_messages = ["; ".join(result.group_problems.get(item["id"]["group"], []))
                      for item in groups_out]
    return row_classes, row_messages, rule_messages, group_messages


def _index_message(result: BuildResult) -> str:
    return "; ".join(p.removeprefix("index_event: ") for p in result.other_problems
                     if p.startswith("index_event"))


# ----------------------------------------------------------------------------- callback


@CALLBACKS.callback(
    Output(ids.COHORT_STORE, "data", allow_duplicate=True),
    Output(ids.BUILDER_COUNT, "children"),
    Output(ids.BUILDER_COUNT_NOTE, "children"),
    Output(ids.BUILDER_FUNNEL, "figure"),
    Output(ids.BUILDER_ATTRITION_TABLE, "children"),
    Output(ids.BUILDER_DESCRIPTION, "children"),
    Output(ids.BUILDER_HASH, "children"),
    Output(ids.BUILDER_STATUS, "children"),
    Output(ids.BUILDER_INDEX_MESSAGE, "children"),
    Output(ids.criterion_id(ids.CRITERION_ROW, ALL, ALL), "className"),
    Output(ids.criterion_id(ids.CRITERION_MESSAGE, ALL, ALL), "children"),
    Output(ids.rule_id(ids.RULE_MESSAGE, ALL), "children"),
    Output(ids.group_id(ids.GROUP_MESSAGE, ALL, ALL), "children"),
    Output(ids.BUILDER_HISTORY, "data", allow_duplicate=True),
    Output(ids.BUILDER_UNDO, "disabled"),
    # Any edit empties the share field: a link copied from it is always the page's cohort.
    Output(ids.BUILDER_SHARE_URL, "value", allow_duplicate=True),
    Input(ids.BUILDER_STRUCTURE, "data"),
    Input(ids.BUILDER_NAME, "value"),
    *index_dependencies(Input),
    *widget_dependencies(Input),
    # A State: an Input outside the page would fire this callback before the page exists.
    State(ids.SNAPSHOT_STORE, "data"),
    State(ids.BUILDER_HISTORY, "data"),
    prevent_initial_call=True,
)
def update_builder_results(structure, name, *args):
    """Check the cohort on the page; when valid, show its count, funnel and description."""
    user = require_role(*ROLES)
    snapshot_id, history = args[-2], args[-1] or []
    if not structure or not well_formed(structure):
        return (no_update,) * 9 + ([], [], [], [], no_update, no_update, no_update)
    service = cohort_service(snapshot_id)
    catalog = service.catalog
    index_values = index_values_from(list(args[:len(INDEX_PROPS)]))
    values = collect(ctx.inputs_list)
    draft, row_problems = current_draft(structure, values, index_values, name, catalog)
    result = definition_from_draft(draft, catalog, row_problems)
    markers = _markers(result)
    if not result.ok:
        return (no_update,) * 7 + (_status(result), _index_message(result), *markers,
                                   no_update, no_update, "")
    definition = result.definition
    attrition = service.attrition(definition)
    protected = protect_attrition_result(attrition, policy_for(user.role))
    audit_definition(user, "builder-attrition", definition.content_hash(), service.db.snapshot_id,
                     protected.suppressed)
    steps = protected.result
    final, first = steps[-1], steps[0]
    note = _("of {total} with the index event · snapshot {snapshot}",
             total=localize_released(first.remaining.display), snapshot=service.db.snapshot_id)
    digest = definition.content_hash()
    data = definition.model_dump(mode="json")
    history = remember(history, data)
    return (
        data,
        localize_released(final.remaining.display),
        note,
        figures.funnel_figure(steps),
        attrition_table(steps, index_label(definition.index_event, current_locale())),
        html.Div(describe(definition, catalog, current_locale()),
                 style={"whiteSpace": "pre-wrap"}),
        html.Span(_("Content hash {hash}…", hash=digest[:16]), title=digest,
                  **{"data-hash": digest}),
        _look_ahead(definition),
        "",
        *markers,
        history,
        len(history) < 2,
        "",
    )


def _look_ahead(definition) -> dbc.Alert | None:
    """A warning when a rule looks at events after index (immortal-time bias)."""
    warning = bias.look_ahead_warning(bias.look_ahead_rules(definition))
    if warning is None:
        return None
    return dbc.Alert(warning + " " + _("The Analyses page offers the landmark analysis."),
                     color="warning", className="small mb-0 look-ahead")


def remember(history: list, data: dict) -> list:
    """The valid cohorts of this page visit, newest last, for Undo (a short history)."""
    if history and history[-1] == data:
        return history
    return [*history, data][-HISTORY_LENGTH:]
