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
from dash import Input, Output, dcc, html
from dash.exceptions import PreventUpdate

from access.cohort_store import CohortStore, SavedCohortNotFound
from access.guard import COMPARE, require_role, roles_for
from access.store import app_store_path
from components import exports, figures, ids, panels, tables
from components.analysis_page import (
    DEFAULT_DEFINITION,
    PRO_DEFAULT,
    characteristics_result,
    cohort_name,
    download_button,
    endpoint_choice,
    grade_choice,
    open_current,
    pro_result,
    pro_scale_choice,
    pro_scale_options,
    problem,
    release_count,
    response_result,
    safety_result,
    strata_key,
    strata_options,
)
from components.callbacks import Callbacks
from components.cohort_access import OpenCohort, audit_query
from components.i18n import _
from components.panels import PanelUnavailable, Shown, release
from queries.analyses import characteristics, survival

CALLBACKS = Callbacks()

ROLES = roles_for(COMPARE)
CURRENT, DEFAULT, SAVED = "current", "default", "saved:"


# --- choosing and opening the two cohorts -------------------------------------------------


def _saved_cohorts(username: str) -> list:
    return CohortStore(app_store_path()).list(username)


def cohort_options(username: str) -> list[dict]:
    """Current cohort, the default one, and the user's saved cohorts (newest first)."""
    options = [{"label": _("Current cohort (from the builder)"), "value": CURRENT},
               {"label": _("Default: all patients at first checkpoint inhibitor"), "value": DEFAULT}]
    options += [{"label": _("Saved: {name}", name=s.name), "value": SAVED + s.id}
                for s in _saved_cohorts(username)]
    return options


def resolve_choice(choice: str | None, current: dict | None,
                   username: str) -> tuple[dict | None, str | None]:
    """The definition behind a choice (None: the default cohort, no current one) and, for a
    saved cohort, the name it was saved under (two saved copies of one cohort differ only
    there)."""
    if choice == CURRENT:
        return current or None, None
    if choice == DEFAULT:
        return DEFAULT_DEFINITION, None
    if isinstance(choice, str) and choice.startswith(SAVED):
        try:
            saved = CohortStore(app_store_path()).open(username, choice[len(SAVED):])
        except SavedCohortNotFound as exc:
            raise PanelUnavailable(_("That saved cohort no longer exists.")) from exc
        return saved.definition, saved.name
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
    opened, names = [], []
    for choice in (left, right):
        definition, saved_name = resolve_choice(choice, current, user.username)
        opened.append(open_current(definition, snapshot_id))
        names.append(saved_name or cohort_name(opened[-1][0]))
    labels = tuple(f"{side}: {name}" for side, name in zip("AB", names, strict=True))
    return Pair(user, (opened[0][0], opened[1][0]), labels, (opened[0][1], opened[1][1]))


def audit_pair(pair: Pair, action: str, suppressed: list[str], detail: str) -> None:
    for side, opened in zip("AB", pair.cohorts, strict=True):
        audit_query(pair.user, action, opened, suppressed, f"cohort {side}; {detail}")  # i18n: log


def open_two(user, left: str | None, right: str | None, current: dict | None,
             snapshot_id: str | None) -> panels.Opened:
    """The compare page's scope: cohorts A and B (one audit record per cohort)."""
    pair = open_pair(user, left, right, current, snapshot_id)
    return panels.Opened(pair, pair.labels, tuple(o.definition_hash[:8] for o in pair.cohorts),
                         lambda action, suppressed, detail: audit_pair(pair, action, suppressed,
                                                                       detail),
                         pair.cohorts[0].cohort.snapshot_id)


SCOPE = panels.Scope("compare", ((ids.COMPARE_LEFT, "value"), (ids.COMPARE_RIGHT, "value"),
                                 (ids.COHORT_STORE, "data"), (ids.SNAPSHOT_STORE, "data")),
                     open_two)


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


def both(compute: Callable[..., object]) -> Callable[..., SidePair]:
    """``compute(cohort, **choices)`` of each side of the pair."""
    return lambda pair, **choices: SidePair(compute(pair.cohorts[0], **choices),
                                            compute(pair.cohorts[1], **choices))


def release_sides(sides: SidePair, user) -> tuple[SidePair, list[str]]:
    """Each side released for the role (the panel's ``protect``)."""
    left, s1 = release(sides.left, user)
    right, s2 = release(sides.right, user)
    return SidePair(left, right), s1 + s2


def table1_comparison(pair: Pair):
    """Both Table 1s and their SMDs; released as one, the comparison carries its two released
    sides, so the sides and the SMDs come from the same released numbers."""
    first, second = (characteristics_result(o) for o in pair.cohorts)
    return characteristics.compare(first, second)


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
        # The whole name shows, wrapped: saved names may share a long prefix (#17 item 7).
        dcc.Dropdown(id=chooser_id, options=options, value=value, clearable=False,
                     className="cohort-chooser"),
    ], md=6)


def layout() -> html.Div:
    """The side-by-side sections (the page itself, with the adjusted comparison, is
    registered in ``components.compare_study``)."""
    user = require_role(*ROLES)
    options = cohort_options(user.username)
    right = options[2]["value"] if len(options) > 2 else DEFAULT
    graph = dict(type="default")
    return html.Div([
        html.H2(_("Compare cohorts"), className="h4 mb-1"),
        dbc.Row([_chooser(_("Cohort A"), ids.COMPARE_LEFT, options, CURRENT),
                 _chooser(_("Cohort B"), ids.COMPARE_RIGHT, options, right)], className="g-3 mb-2"),
        dcc.Loading(html.Div(id=ids.COMPARE_SUMMARY, className="mb-3")),
        _section(_("Survival"), [dbc.RadioItems(id=ids.COMPARE_ENDPOINT, value="os", inline=True,
                                             options=[{"label": _(label), "value": value}
                                                      for value, label in
                                                      figures.ENDPOINT_LABELS.items()])],
                 [dcc.Loading(dcc.Graph(id=ids.COMPARE_SURVIVAL_GRAPH,
                                        config=figures.graph_config("compare_survival")), **graph),
                  html.Div(id=ids.COMPARE_SURVIVAL_CAPTION, className="small text-muted")],
                 ids.COMPARE_SURVIVAL_CSV_BUTTON, ids.COMPARE_SURVIVAL_DOWNLOAD),
        _section(_("Response"), [html.Div(dcc.Dropdown(
                     id=ids.COMPARE_RESPONSE_STRATA, value="pdl1_tps", clearable=False,
                     options=strata_options(none_label=_("No stratification"))),
                     style={"minWidth": "16rem"})],
                 [dcc.Loading(dcc.Graph(id=ids.COMPARE_RESPONSE_GRAPH,
                                        config=figures.graph_config("compare_response")), **graph)],
                 ids.COMPARE_RESPONSE_CSV_BUTTON, ids.COMPARE_RESPONSE_DOWNLOAD),
        _section(_("Adverse events"), [dbc.RadioItems(
                     id=ids.COMPARE_SAFETY_GRADE, value="any", inline=True,
                     options=[{"label": _("Any grade"), "value": "any"},
                              {"label": _("Grade ≥ 3"), "value": "grade3"}])],
                 [dcc.Loading(dcc.Graph(id=ids.COMPARE_SAFETY_GRAPH,
                                        config=figures.graph_config("compare_adverse_events")),
                              **graph)],
                 ids.COMPARE_SAFETY_CSV_BUTTON, ids.COMPARE_SAFETY_DOWNLOAD),
        _section(_("Characteristics (Table 1 with standardized mean differences)"), [],
                 [dcc.Loading(html.Div(id=ids.COMPARE_TABLE1), **graph),
                  html.P(_("SMD: standardized mean difference (age: pooled SD; categorical "
                         "variables: Yang & Dalton's multi-category SMD on the variable row, "
                         "per-level SMD on level rows). |SMD| > 0.1 is a meaningful imbalance."),
                         className="small text-muted mt-2 mb-0")],
                 ids.COMPARE_TABLE1_CSV_BUTTON, ids.COMPARE_TABLE1_DOWNLOAD),
        _section(_("Patient-reported outcomes"), [html.Div(dcc.Dropdown(
                     id=ids.COMPARE_PRO_SCALE, value=PRO_DEFAULT, clearable=False,
                     options=pro_scale_options()), style={"minWidth": "20rem"})],
                 [dcc.Loading(dcc.Graph(id=ids.COMPARE_PRO_GRAPH,
                                        config=figures.graph_config("compare_pro")), **graph)],
                 ids.COMPARE_PRO_CSV_BUTTON, ids.COMPARE_PRO_DOWNLOAD),
    ])


# --- callbacks ----------------------------------------------------------------------------


def _summary_card(side: str, label: str, count: str, default: bool) -> dbc.Col:
    note = _(" (no cohort built yet: the default cohort)") if default else ""
    return dbc.Col(html.Div([
        html.Span(label, className="fw-semibold"), html.Span(" · "),
        html.Span(count, className=f"compare-count-{side} fw-semibold"), html.Span(_(" patients")),
        html.Span(note, className="small text-muted"),
    ], className="border rounded px-3 py-2 h-100 bg-light"), md=6)


@CALLBACKS.callback(Output(ids.COMPARE_SUMMARY, "children"),
                    *(Input(i, p) for i, p in SCOPE.inputs))
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


def _show_survival(result, shown: Shown) -> tuple:
    """Overlaid KM curves of A and B with the hazard ratio of B vs A."""
    endpoint = shown.choices["endpoint"]
    title = _("{endpoint}: cohort A vs cohort B (Kaplan-Meier, 95% CI)",
              endpoint=_(figures.ENDPOINT_LABELS[endpoint]))
    caption = tables.survival_caption(result) + [
        _("Patients who belong to both cohorts are counted in each.")]
    return figures.survival_figure(result, title), [tables.median_table(result), *caption]


SURVIVAL = panels.Panel(
    key="survival", roles=ROLES,
    outputs=((ids.COMPARE_SURVIVAL_GRAPH, "figure"), (ids.COMPARE_SURVIVAL_CAPTION, "children")),
    controls=(("endpoint", ids.COMPARE_ENDPOINT, "value"),),
    choose=lambda endpoint: {"endpoint": endpoint_choice(endpoint)},
    compute=two_cohort_survival,
    show=_show_survival,
    unavailable=lambda message: (figures.empty_figure(message), problem(message)),
    detail=lambda endpoint: f"endpoint={endpoint}",
    csv=panels.Csv(ids.COMPARE_SURVIVAL_CSV_BUTTON, ids.COMPARE_SURVIVAL_DOWNLOAD,
                   export=exports.survival_export, name=lambda endpoint: ("survival", endpoint)),
    images=(panels.Image(ids.COMPARE_SURVIVAL_GRAPH,
                         lambda endpoint: f"compare_survival_{endpoint}",
                         lambda result, _shown: figures.survival_method(result)),),
)


def _paired(export: Callable[..., exports.Export]) -> Callable[[SidePair, Shown],
                                                                 exports.Export]:
    """Both sides' export of one kind as one download, the cohort first in every table."""
    return lambda sides, shown: exports.paired_export(export(sides.left), export(sides.right),
                                                      shown.labels)


RESPONSE = panels.Panel(
    key="response", roles=ROLES,
    outputs=((ids.COMPARE_RESPONSE_GRAPH, "figure"),),
    controls=(("strata_value", ids.COMPARE_RESPONSE_STRATA, "value"),),
    choose=lambda strata_value: {"key": strata_key(strata_value)},
    compute=both(response_result),
    protect=release_sides,
    show=lambda sides, shown: (
        figures.compare_response_figure(sides.left, sides.right, shown.labels),),
    unavailable=lambda message: (figures.empty_figure(message),),
    detail=lambda key: f"strata={key}",
    csv=panels.Csv(ids.COMPARE_RESPONSE_CSV_BUTTON, ids.COMPARE_RESPONSE_DOWNLOAD,
                   export=_paired(exports.response_export),
                   name=lambda key: ("response", key or "all")),
    images=(panels.Image(ids.COMPARE_RESPONSE_GRAPH,
                         lambda key: f"compare_response_{key or 'all'}",
                         lambda sides, _shown: figures.response_method(sides.left)),),
)


SAFETY = panels.Panel(
    key="safety", roles=ROLES,
    outputs=((ids.COMPARE_SAFETY_GRAPH, "figure"),),
    controls=(("grade", ids.COMPARE_SAFETY_GRADE, "value"),),
    choose=lambda grade: {"grade": grade_choice(grade)},
    compute=both(lambda opened, **_: safety_result(opened, False)),
    protect=release_sides,
    show=lambda sides, shown: (figures.butterfly_figure(
        sides.left, sides.right, shown.labels, shown.choices["grade"]),),
    unavailable=lambda message: (figures.empty_figure(message),),
    detail=lambda grade: f"grade={grade}",
    csv=panels.Csv(ids.COMPARE_SAFETY_CSV_BUTTON, ids.COMPARE_SAFETY_DOWNLOAD,
                   export=_paired(exports.safety_export), name=lambda grade: ("adverse_events",)),
    images=(panels.Image(ids.COMPARE_SAFETY_GRAPH,
                         lambda grade: f"compare_adverse_events_{grade}",
                         lambda sides, _shown: figures.safety_method(sides.left)),),
)


TABLE1 = panels.Panel(
    key="characteristics", roles=ROLES,
    outputs=((ids.COMPARE_TABLE1, "children"),),
    compute=table1_comparison,
    show=lambda comparison, shown: (tables.comparison_table(
        comparison, comparison.first, comparison.second, shown.labels),),
    unavailable=lambda message: (problem(message),),
    detail=lambda: "table1+smd",
    csv=panels.Csv(ids.COMPARE_TABLE1_CSV_BUTTON, ids.COMPARE_TABLE1_DOWNLOAD,
                   export=exports.comparison_export, name=lambda: ("table1",)),
)


PRO = panels.Panel(
    key="pro", roles=ROLES,
    outputs=((ids.COMPARE_PRO_GRAPH, "figure"),),
    controls=(("scale", ids.COMPARE_PRO_SCALE, "value"),),
    choose=lambda scale: pro_scale_choice(scale),
    compute=both(pro_result),
    protect=release_sides,
    show=lambda sides, shown: (
        figures.compare_pro_figure(sides.left, sides.right, shown.labels),),
    unavailable=lambda message: (figures.empty_figure(message),),
    detail=lambda instrument, item: f"instrument={instrument} item={item}",
    csv=panels.Csv(ids.COMPARE_PRO_CSV_BUTTON, ids.COMPARE_PRO_DOWNLOAD,
                   export=_paired(exports.pro_export),
                   name=lambda instrument, item: ("patient_reported", item)),
    images=(panels.Image(ids.COMPARE_PRO_GRAPH, "compare_pro"),),
)


PANELS = (SURVIVAL, RESPONSE, SAFETY, TABLE1, PRO)
for _panel in PANELS:
    panels.register_panel(CALLBACKS, SCOPE, _panel)

register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
