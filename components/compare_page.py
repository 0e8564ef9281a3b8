"""Compare page: two cohorts (current, default or saved) side by side.

Overlaid Kaplan-Meier curves with the hazard ratio of B vs A, ORR by stratum, a butterfly
chart of AE frequencies and Table 1 with standardized mean differences. Every callback: role
check -> open both cohorts -> ``queries`` -> disclosure -> audit (one record per cohort) ->
pure figure/table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from access.guard import COMPARE, require_role, roles_for
from components import figures, ids, tables
from components.analysis_page import (
    DEFAULT_DEFINITION,
    PanelUnavailable,
    characteristics_result,
    cohort_name,
    download_button,
    endpoint_choice,
    grade_choice,
    open_current,
    problem,
    release,
    release_count,
    response_result,
    safety_result,
    strata_key,
    strata_options,
)
from components.callbacks import Callbacks
from components.cohort_access import OpenCohort, audit_query
from queries.analyses import characteristics, survival

CALLBACKS = Callbacks()

ROLES = roles_for(COMPARE)
CURRENT, DEFAULT, SAVED = "current", "default", "saved:"


# --- choosing and opening the two cohorts -------------------------------------------------


def _saved_cohorts(username: str) -> list:
    from access.cohort_store import CohortStore
    from access.store import app_store_path

    return CohortStore(app_store_path()).list(username)


def cohort_options(username: str) -> list[dict]:
    """Current cohort, the default one, and the user's saved cohorts (newest first)."""
    options = [{"label": "Current cohort (from the builder)", "value": CURRENT},
               {"label": "Default: all patients at first checkpoint inhibitor", "value": DEFAULT}]
    options += [{"label": f"Saved: {s.name}", "value": SAVED + s.id}
                for s in _saved_cohorts(username)]
    return options


def resolve_choice(choice: str | None, current: dict | None, username: str) -> dict | None:
    """The definition behind a choice; None means the default cohort (no current one)."""
    if choice == CURRENT:
        return current or None
    if choice == DEFAULT:
        return DEFAULT_DEFINITION
    if isinstance(choice, str) and choice.startswith(SAVED):
        from access.cohort_store import CohortStore, SavedCohortNotFound
        from access.store import app_store_path

        try:
            return CohortStore(app_store_path()).open(username, choice[len(SAVED):]).definition
        except SavedCohortNotFound as exc:
            raise PanelUnavailable("That saved cohort no longer exists.") from exc
    raise PreventUpdate


@dataclass
class Pair:
    """The two opened cohorts and their display labels ("A: name", "B: name")."""

    user: object
    cohorts: tuple[OpenCohort, OpenCohort]
    labels: tuple[str, str]
    defaults: tuple[bool, bool]


def open_pair(user, left: str | None, right: str | None, current: dict | None,
              snapshot_id: str | None) -> Pair:
    opened = []
    for choice in (left, right):
        definition = resolve_choice(choice, current, user.username)
        opened.append(open_current(definition, snapshot_id))
    labels = tuple(f"{side}: {cohort_name(o)}" for side, (o, _) in zip("AB", opened, strict=True))
    return Pair(user, (opened[0][0], opened[1][0]), labels, (opened[0][1], opened[1][1]))


def audit_pair(pair: Pair, action: str, suppressed: list[str], detail: str) -> None:
    for side, opened in zip("AB", pair.cohorts, strict=True):
        audit_query(pair.user, action, opened, suppressed, f"cohort {side}; {detail}")


def run_pair(user, left, right, current, snapshot_id, compute: Callable[[Pair], object]
             ) -> tuple[object, Pair, list[str]]:
    """Open both cohorts, compute, release for the role, audit; raises PanelUnavailable."""
    pair = open_pair(user, left, right, current, snapshot_id)
    result, suppressed = release(compute(pair), user)
    return result, pair, suppressed


# --- the comparisons (orchestration of queries; no statistics here) -----------------------


def two_cohort_survival(pair: Pair, endpoint: str):
    """KM of both cohorts as two strata of one fit: curves, medians, log-rank, HR of B vs A.

    Patients in both cohorts count in each, so the test assumes independent groups.
    """
    return survival.compare_cohorts(
        [(opened.cohort, label) for opened, label in zip(pair.cohorts, pair.labels, strict=True)],
        endpoint)


@dataclass
class SidePair:
    """One analysis result per cohort (released together)."""

    left: object
    right: object


def _both(compute: Callable[[OpenCohort], object]) -> Callable[[Pair], SidePair]:
    return lambda pair: SidePair(compute(pair.cohorts[0]), compute(pair.cohorts[1]))


def _release_sides(sides: SidePair, user) -> tuple[SidePair, list[str]]:
    left, s1 = release(sides.left, user)
    right, s2 = release(sides.right, user)
    return SidePair(left, right), s1 + s2


def run_sides(user, left, right, current, snapshot_id, compute: Callable[[OpenCohort], object]
              ) -> tuple[SidePair, Pair, list[str]]:
    pair = open_pair(user, left, right, current, snapshot_id)
    sides, suppressed = _release_sides(_both(compute)(pair), user)
    return sides, pair, suppressed


# --- layout -------------------------------------------------------------------------------


def _section(title: str, controls: list, body: list, button_id: str, download_id: str
             ) -> dbc.Card:
    header = html.Div([html.H3(title, className="h6 mb-0 me-auto"), *controls,
                       download_button(button_id, download_id, class_name="")],
                      className="d-flex flex-wrap align-items-center gap-3")
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)], className="mb-3 shadow-sm")


def _chooser(label: str, chooser_id: str, options: list[dict], value: str) -> dbc.Col:
    return dbc.Col([
        dbc.Label(label, html_for=chooser_id, className="fw-semibold small mb-1"),
        dcc.Dropdown(id=chooser_id, options=options, value=value, clearable=False),
    ], md=6)


def layout() -> html.Div:
    """The side-by-side sections (the page itself, with the adjusted comparison, is
    registered in ``components.compare_study``)."""
    user = require_role(*ROLES)
    options = cohort_options(user.username)
    right = options[2]["value"] if len(options) > 2 else DEFAULT
    graph = dict(type="default")
    return html.Div([
        html.H2("Compare cohorts", className="h4 mb-1"),
        dbc.Row([_chooser("Cohort A", ids.COMPARE_LEFT, options, CURRENT),
                 _chooser("Cohort B", ids.COMPARE_RIGHT, options, right)], className="g-3 mb-2"),
        dcc.Loading(html.Div(id=ids.COMPARE_SUMMARY, className="mb-3")),
        _section("Survival", [dbc.RadioItems(id=ids.COMPARE_ENDPOINT, value="os", inline=True,
                                             options=[{"label": label, "value": value}
                                                      for value, label in
                                                      figures.ENDPOINT_LABELS.items()])],
                 [dcc.Loading(dcc.Graph(id=ids.COMPARE_SURVIVAL_GRAPH,
                                        config=figures.graph_config("compare_survival")), **graph),
                  html.Div(id=ids.COMPARE_SURVIVAL_CAPTION, className="small text-muted")],
                 ids.COMPARE_SURVIVAL_CSV_BUTTON, ids.COMPARE_SURVIVAL_DOWNLOAD),
        _section("Response", [html.Div(dcc.Dropdown(
                     id=ids.COMPARE_RESPONSE_STRATA, value="pdl1_tps", clearable=False,
                     options=strata_options(none_label="No stratification")),
                     style={"minWidth": "16rem"})],
                 [dcc.Loading(dcc.Graph(id=ids.COMPARE_RESPONSE_GRAPH,
                                        config=figures.graph_config("compare_response")), **graph)],
                 ids.COMPARE_RESPONSE_CSV_BUTTON, ids.COMPARE_RESPONSE_DOWNLOAD),
        _section("Adverse events", [dbc.RadioItems(
                     id=ids.COMPARE_SAFETY_GRADE, value="any", inline=True,
                     options=[{"label": "Any grade", "value": "any"},
                              {"label": "Grade ≥ 3", "value": "grade3"}])],
                 [dcc.Loading(dcc.Graph(id=ids.COMPARE_SAFETY_GRAPH,
                                        config=figures.graph_config("compare_adverse_events")),
                              **graph)],
                 ids.COMPARE_SAFETY_CSV_BUTTON, ids.COMPARE_SAFETY_DOWNLOAD),
        _section("Characteristics (Table 1 with standardized mean differences)", [],
                 [dcc.Loading(html.Div(id=ids.COMPARE_TABLE1), **graph),
                  html.P("SMD: standardized mean difference (age: pooled SD; categorical "
                         "variables: Yang & Dalton's multi-category SMD on the variable row, "
                         "per-level SMD on level rows). |SMD| > 0.1 is a meaningful imbalance.",
                         className="small text-muted mt-2 mb-0")],
                 ids.COMPARE_TABLE1_CSV_BUTTON, ids.COMPARE_TABLE1_DOWNLOAD),
    ])


# --- callbacks ----------------------------------------------------------------------------

STORES = (Input(ids.COHORT_STORE, "data"), Input(ids.SNAPSHOT_STORE, "data"))
CHOICES = (Input(ids.COMPARE_LEFT, "value"), Input(ids.COMPARE_RIGHT, "value"))


def _as_state(inputs) -> list[State]:
    return [State(i.component_id, i.component_property) for i in inputs]


def _summary_card(side: str, label: str, count: str, default: bool) -> dbc.Col:
    note = " (no cohort built yet: the default cohort)" if default else ""
    return dbc.Col(html.Div([
        html.Span(label, className="fw-semibold"), html.Span(" · "),
        html.Span(count, className=f"compare-count-{side} fw-semibold"), html.Span(" patients"),
        html.Span(note, className="small text-muted"),
    ], className="border rounded px-3 py-2 h-100 bg-light"), md=6)


@CALLBACKS.callback(Output(ids.COMPARE_SUMMARY, "children"), *CHOICES, *STORES)
def update_compare_summary(left, right, current, snapshot_id):
    """Both cohorts' names and sizes."""
    user = require_role(*ROLES)
    try:
        pair = open_pair(user, left, right, current, snapshot_id)
    except PanelUnavailable as exc:
        return problem(str(exc))
    audit_pair(pair, "compare.cohorts", [], "count")
    counts = [release_count(o.cohort.size, user) for o in pair.cohorts]
    return dbc.Row([_summary_card(s.lower(), label, count, default) for s, label, count, default
                    in zip("AB", pair.labels, counts, pair.defaults, strict=True)],
                   className="g-3")


@CALLBACKS.callback(Output(ids.COMPARE_SURVIVAL_GRAPH, "figure"),
          Output(ids.COMPARE_SURVIVAL_CAPTION, "children"),
          *CHOICES, *STORES, Input(ids.COMPARE_ENDPOINT, "value"))
def update_compare_survival_graph(left, right, current, snapshot_id, endpoint):
    """Overlaid KM curves of A and B with the hazard ratio of B vs A."""
    user = require_role(*ROLES)
    endpoint = endpoint_choice(endpoint)
    try:
        result, pair, suppressed = run_pair(user, left, right, current, snapshot_id,
                                            lambda p: two_cohort_survival(p, endpoint))
    except PanelUnavailable as exc:
        return figures.empty_figure(str(exc)), problem(str(exc))
    audit_pair(pair, "compare.survival", suppressed, f"endpoint={endpoint}")
    title = f"{figures.ENDPOINT_LABELS[endpoint]}: cohort A vs cohort B (Kaplan-Meier, 95% CI)"
    caption = tables.survival_caption(result) + [
        "Patients who belong to both cohorts are counted in each."]
    return figures.survival_figure(result, title), [tables.median_table(result), *caption]


@CALLBACKS.callback(Output(ids.COMPARE_SURVIVAL_DOWNLOAD, "data"),
          Input(ids.COMPARE_SURVIVAL_CSV_BUTTON, "n_clicks"), *_as_state(CHOICES),
          *_as_state(STORES), State(ids.COMPARE_ENDPOINT, "value"), prevent_initial_call=True)
def download_compare_survival_csv(clicks, left, right, current, snapshot_id, endpoint):
    user = require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    endpoint = endpoint_choice(endpoint)
    try:
        result, pair, suppressed = run_pair(user, left, right, current, snapshot_id,
                                            lambda p: two_cohort_survival(p, endpoint))
    except PanelUnavailable:
        raise PreventUpdate from None
    audit_pair(pair, "compare.survival.csv", suppressed, f"endpoint={endpoint}")
    return tables.csv_download(tables.survival_frame(result),
                               tables.safe_filename("compare", endpoint, *_hashes(pair)))


def _hashes(pair: Pair) -> list[str]:
    return [o.definition_hash[:8] for o in pair.cohorts]


@CALLBACKS.callback(Output(ids.COMPARE_RESPONSE_GRAPH, "figure"), *CHOICES, *STORES,
          Input(ids.COMPARE_RESPONSE_STRATA, "value"))
def update_compare_response_graph(left, right, current, snapshot_id, strata_value):
    """ORR per stratum, A next to B."""
    user = require_role(*ROLES)
    key = strata_key(strata_value)
    try:
        sides, pair, suppressed = run_sides(user, left, right, current, snapshot_id,
                                            lambda o: response_result(o, key))
    except PanelUnavailable as exc:
        return figures.empty_figure(str(exc))
    audit_pair(pair, "compare.response", suppressed, f"strata={key}")
    return figures.compare_response_figure(sides.left, sides.right, pair.labels)


@CALLBACKS.callback(Output(ids.COMPARE_RESPONSE_DOWNLOAD, "data"),
          Input(ids.COMPARE_RESPONSE_CSV_BUTTON, "n_clicks"), *_as_state(CHOICES),
          *_as_state(STORES), State(ids.COMPARE_RESPONSE_STRATA, "value"),
          prevent_initial_call=True)
def download_compare_response_csv(clicks, left, right, current, snapshot_id, strata_value):
    user = require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    key = strata_key(strata_value)
    try:
        sides, pair, suppressed = run_sides(user, left, right, current, snapshot_id,
                                            lambda o: response_result(o, key))
    except PanelUnavailable:
        raise PreventUpdate from None
    audit_pair(pair, "compare.response.csv", suppressed, f"strata={key}")
    frame = pd.concat([tables.response_frame(sides.left).assign(cohort=pair.labels[0]),
                       tables.response_frame(sides.right).assign(cohort=pair.labels[1])],
                      ignore_index=True)
    return tables.csv_download(frame[["cohort", *frame.columns.drop("cohort")]],
                               tables.safe_filename("compare_response", key or "all",
                                                    *_hashes(pair)))


@CALLBACKS.callback(Output(ids.COMPARE_SAFETY_GRAPH, "figure"), *CHOICES, *STORES,
          Input(ids.COMPARE_SAFETY_GRADE, "value"))
def update_compare_safety_graph(left, right, current, snapshot_id, grade):
    """Butterfly chart of AE frequencies: A to the left, B to the right."""
    user = require_role(*ROLES)
    grade = grade_choice(grade)
    try:
        sides, pair, suppressed = run_sides(user, left, right, current, snapshot_id,
                                            lambda o: safety_result(o, False))
    except PanelUnavailable as exc:
        return figures.empty_figure(str(exc))
    audit_pair(pair, "compare.safety", suppressed, f"grade={grade}")
    return figures.butterfly_figure(sides.left, sides.right, pair.labels, grade)


@CALLBACKS.callback(Output(ids.COMPARE_SAFETY_DOWNLOAD, "data"),
          Input(ids.COMPARE_SAFETY_CSV_BUTTON, "n_clicks"), *_as_state(CHOICES),
          *_as_state(STORES), prevent_initial_call=True)
def download_compare_safety_csv(clicks, left, right, current, snapshot_id):
    user = require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    try:
        sides, pair, suppressed = run_sides(user, left, right, current, snapshot_id,
                                            lambda o: safety_result(o, False))
    except PanelUnavailable:
        raise PreventUpdate from None
    audit_pair(pair, "compare.safety.csv", suppressed, "by term")
    frame = pd.concat([sides.left.by_term.assign(cohort=pair.labels[0],
                                                 cohort_size=sides.left.cohort_size),
                       sides.right.by_term.assign(cohort=pair.labels[1],
                                                  cohort_size=sides.right.cohort_size)],
                      ignore_index=True)
    return tables.csv_download(frame[["cohort", *frame.columns.drop("cohort")]],
                               tables.safe_filename("compare_adverse_events", *_hashes(pair)))


def _released_table1(user, left, right, current, snapshot_id):
    """Both Table 1s and their SMDs as the role may see them (the comparison carries its two
    released sides, so the sides and the SMDs come from the same released numbers)."""
    pair = open_pair(user, left, right, current, snapshot_id)
    first, second = (characteristics_result(o) for o in pair.cohorts)
    comparison, suppressed = release(characteristics.compare(first, second), user)
    return SidePair(comparison.first, comparison.second), comparison, pair, suppressed


@CALLBACKS.callback(Output(ids.COMPARE_TABLE1, "children"), *CHOICES, *STORES)
def update_compare_table1(left, right, current, snapshot_id):
    """Table 1 of both cohorts with standardized mean differences."""
    user = require_role(*ROLES)
    try:
        sides, comparison, pair, suppressed = _released_table1(user, left, right, current,
                                                               snapshot_id)
    except PanelUnavailable as exc:
        return problem(str(exc))
    audit_pair(pair, "compare.characteristics", suppressed, "table1+smd")
    return tables.comparison_table(comparison, sides.left, sides.right, pair.labels)


@CALLBACKS.callback(Output(ids.COMPARE_TABLE1_DOWNLOAD, "data"),
          Input(ids.COMPARE_TABLE1_CSV_BUTTON, "n_clicks"), *_as_state(CHOICES),
          *_as_state(STORES), prevent_initial_call=True)
def download_compare_table1_csv(clicks, left, right, current, snapshot_id):
    user = require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    try:
        _, comparison, pair, suppressed = _released_table1(user, left, right, current,
                                                           snapshot_id)
    except PanelUnavailable:
        raise PreventUpdate from None
    audit_pair(pair, "compare.characteristics.csv", suppressed, "table1+smd")
    frame = comparison.rows.rename(columns={"n_1": "n_a", "pct_1": "pct_a", "n_2": "n_b",
                                            "pct_2": "pct_b"})
    frame = frame.merge(comparison.variables.rename(columns={"smd": "variable_smd"})
                        .drop(columns="variable"), on="key", how="left")
    return tables.csv_download(frame, tables.safe_filename("compare_table1", *_hashes(pair)))


register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
