"""Feasibility page (partners and clinicians): cohort counts per site and per year of index.

The counts are computed exactly in ``queries.feasibility`` and then protected on the server
with the signed-in role's disclosure policy (``queries.disclosure``): a partner sees "< 10" for
small cells, other counts rounded to 5, and secondary suppression so that a hidden site cannot
be recovered from the total. Only protected values ever reach the browser.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
import pandas as pd
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from access import guard
from components import figures, ids, pages
from components.analysis_page import PanelUnavailable, cohort_name, open_current
from components.callbacks import Callbacks
from components.cohort_access import audit_query
from components.figures import graph_config
from components.i18n import N_, _, fmt_int, localize_released
from queries import disclosure
from queries.analyses import feasibility

CALLBACKS = Callbacks()

# An empty builder means the default population: everyone who started a checkpoint inhibitor.
ROLES = guard.roles_for(guard.FEASIBILITY)


def layout() -> html.Div:
    return html.Div(
        [
            html.H2(_("Trial feasibility"), className="h4"),
            html.P(
                _("How many patients of the current cohort each site has, and in which year "
                  "they reached the index event."),
                className="text-muted",
            ),
            html.Div(id=ids.FEASIBILITY_COHORT, className="mb-2"),
            dbc.Alert(id=ids.FEASIBILITY_POLICY, color="info", className="small py-2"),
            html.Div(id=ids.FEASIBILITY_TOTAL, className="mb-3"),
            dbc.Row(
                [
                    dbc.Col(_panel(_("Patients per site"), ids.FEASIBILITY_SITE_GRAPH,
                                   ids.FEASIBILITY_SITE_TABLE), lg=6),
                    dbc.Col(_panel(_("Patients per year of index"), ids.FEASIBILITY_YEAR_GRAPH,
                                   ids.FEASIBILITY_YEAR_TABLE), lg=6),
                ],
                className="g-3",
            ),
        ]
    )


def _panel(title: str, graph_id: str, table_id: str) -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(title),
            dbc.CardBody([
                dcc.Loading(dcc.Graph(id=graph_id, config=graph_config(mode_bar=False),
                                      style={"height": "320px"})),
                html.Div(id=table_id),
            ]),
        ]
    )


def counts_table(rows: list[tuple[str, str]], key_title: str, total_text: str,
                 rounded: bool = False) -> html.Div:
    body = [html.Tr([html.Td(label), html.Td(text, className="text-end")])
            for label, text in rows]
    body.append(html.Tr([html.Th(_("Total of the rows")), html.Th(total_text, className="text-end")]))
    table = dbc.Table(
        [html.Thead(html.Tr([html.Th(key_title), html.Th(_("Patients"), className="text-end")])),
         html.Tbody(body)],
        size="sm", className="mt-2 mb-0",
    )
    # The row total adds released (rounded) numbers, so it can differ a little from the
    # cohort total, which is rounded once.
    note = html.P(_("The total of the rows adds the released numbers, so it can differ "
                    "slightly from the cohort total because of rounding."),
                  className="small text-muted mt-1 mb-0") if rounded else None
    return html.Div([table, note])


def _panel_outputs(table: disclosure.ProtectedTable, key: str, key_title: str,
                   horizontal: bool = False) -> tuple[go.Figure, html.Div]:
    """Figure and table of one released count table (display strings, withheld = NA)."""
    labels = [str(v) for v in table.display[key]]
    texts = [localize_released(v) for v in table.display["patients"]]
    values = [None if v is pd.NA or pd.isna(v) else int(v) for v in table.values["patients"]]
    figure = figures.counts_figure(labels, values, texts, key_title, horizontal)
    total = localize_released(table.column_totals["patients"].display)
    rounded = table.note != ""
    return figure, counts_table(list(zip(labels, texts, strict=True)), key_title, total, rounded)


def _policy_text(policy: disclosure.Policy) -> str:
    if policy.exact:
        return _("Exact counts (clinician view).")
    return _("Counts are protected: a count under {k} shows as \u201c{small}\u201d, and in the "
             "tables \u201c{mask}\u201d marks counts under {k} and counts hidden so that a small "
             "count cannot be worked out from the total. Other counts are rounded to the "
             "nearest {rounding}.", k=fmt_int(policy.min_count), small=policy.small_display,
             mask=localize_released(policy.mask_display), rounding=fmt_int(policy.rounding))


def _unavailable(message: str) -> tuple:
    empty = figures.counts_figure([], [], [], "")
    return (dbc.Alert(message, color="warning"), "", None, empty, None, empty, None)


@CALLBACKS.callback(
    Output(ids.FEASIBILITY_COHORT, "children"),
    Output(ids.FEASIBILITY_POLICY, "children"),
    Output(ids.FEASIBILITY_TOTAL, "children"),
    Output(ids.FEASIBILITY_SITE_GRAPH, "figure"),
    Output(ids.FEASIBILITY_SITE_TABLE, "children"),
    Output(ids.FEASIBILITY_YEAR_GRAPH, "figure"),
    Output(ids.FEASIBILITY_YEAR_TABLE, "children"),
    Input(ids.FEASIBILITY_TOTAL, "id"),
    Input(ids.COHORT_STORE, "data"),
    Input(ids.SNAPSHOT_STORE, "data"),
)
def update_feasibility(_total_id, definition_data, snapshot_id):
    """Protected per-site and per-year counts of the current cohort for the user's role."""
    user = guard.require_role(*ROLES)
    try:
        opened, _defaults = open_current(definition_data, snapshot_id)
    except PanelUnavailable as exc:  # no usable snapshot, or an invalid definition in the store
        return _unavailable(str(exc))
    policy = disclosure.policy_for(user.role)
    protected = disclosure.protect_feasibility(feasibility.feasibility(opened.cohort), policy)
    audit_query(user, "feasibility", opened, protected.suppressed)
    released = protected.result
    site_fig, site_table = _panel_outputs(released.by_site, "site", _("Site"),
                                            horizontal=True)
    year_fig, year_table = _panel_outputs(released.by_year, "year", _("Year of index"))
    name = cohort_name(opened)
    cohort = html.Span([_("Cohort:"), " ", html.Strong(name), " · ", _("snapshot"), " ",
                        html.Code(opened.cohort.snapshot_id)])
    total = html.Div([html.Span(_("Patients in the cohort:") + " ", className="text-muted"),
                      html.Strong(localize_released(released.total.display), className="fs-4",
                                  id=ids.FEASIBILITY_TOTAL_VALUE)])
    return (cohort, _policy_text(policy), total, site_fig, site_table, year_fig, year_table)


PAGE = pages.register(pages.Page("/feasibility", N_("Feasibility"), ROLES, layout, order=30))

register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
