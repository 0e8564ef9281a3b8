"""The Compare page's adjusted comparison: two cohorts (or two levels of a field within cohort
A), a propensity score, matching or weighting, balance, and crude vs adjusted outcomes.

The comparison and its download are one ``panels.Panel`` (run on its button): role check ->
open the cohorts -> ``queries.analyses.comparison`` -> disclosure for the role -> audit -> pure
figures and tables. Patient rows and matched sets stay on the server; the level chooser gets
counts only.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html

from access.guard import COMPARE, require_role, roles_for
from components import compare_page, exports, figures, ids, pages, panels, tables
from components.analysis_page import download_button, open_current, problem
from components.callbacks import Callbacks
from components.cohort_access import audit_query
from components.compare_page import Pair, resolve_choice
from components.i18n import N_, _, tr
from components.panels import PanelUnavailable
from queries.analyses import comparison
from queries.analyses import panels as analysis
from queries.analyses.comparison_options import (
    COVARIATES,
    DEFAULT_COVARIATES,
    SPLIT_FIELDS,
    ComparisonError,
    ComparisonOptions,
)
from queries.disclosure.release import released_levels

ROLES = roles_for(COMPARE)
CALLBACKS = Callbacks()
TWO_COHORTS, TWO_LEVELS = "cohorts", "levels"
SPLIT_LABELS = {"regimen": N_("Regimen at index"), "sex": N_("Sex"), "ecog": N_("ECOG at index"),
                "stage": N_("Stage"), "cancer_type": N_("Cancer type"),
                "pdl1": N_("PD-L1 TPS group"), "site": N_("Site"), "smoking": N_("Smoking")}


def _field(label: str, control, width: int = 3) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="fw-semibold small mb-1"), control], md=width)


def study_section() -> dbc.Card:
    """The adjusted-comparison card of the Compare page."""
    covariates = [{"label": _(c.label), "value": c.key} for c in COVARIATES.values()]
    splits = [{"label": _(SPLIT_LABELS[k]), "value": k} for k in SPLIT_FIELDS]
    controls = [
        dbc.Row([
            _field(_("Compare"), dbc.RadioItems(id=ids.STUDY_MODE, value=TWO_COHORTS, options=[
                {"label": _("Cohort A vs cohort B"), "value": TWO_COHORTS},
                {"label": _("Two levels of a field within cohort A"), "value": TWO_LEVELS}]), 4),
            _field(_("Field"), dcc.Dropdown(id=ids.STUDY_FIELD, options=splits, value="regimen",
                                         clearable=False), 2),
            _field(_("Level A"), dcc.Dropdown(id=ids.STUDY_LEVEL_A, options=[]), 3),
            _field(_("Level B"), dcc.Dropdown(id=ids.STUDY_LEVEL_B, options=[]), 3),
        ], className="g-3 mb-2"),
        dbc.Row([
            _field(_("Covariates at index (propensity score)"), dcc.Dropdown(
                id=ids.STUDY_COVARIATES, options=covariates, value=list(DEFAULT_COVARIATES),
                multi=True), 6),
            _field(_("Adjustment"), dbc.RadioItems(id=ids.STUDY_METHOD, value="match", options=[
                {"label": _("1:1 matching"), "value": "match"},
                {"label": _("Weighting (IPTW)"), "value": "iptw"}]), 2),
            _field(_("Caliper (SD of logit)"), dbc.Input(id=ids.STUDY_CALIPER, type="number",
                                                      value=0.2, min=0.01, max=5, step=0.05), 2),
            _field(_("Trim (IPTW)"), dbc.Input(id=ids.STUDY_TRIM, type="number", value=0.05,
                                            min=0, max=0.49, step=0.01), 2),
        ], className="g-3 mb-2"),
        dbc.Row([
            _field(_("Patients in both cohorts"), dbc.RadioItems(
                id=ids.STUDY_OVERLAP, value="exclude", inline=True, options=[
                    {"label": _("leave out of both"), "value": "exclude"},
                    {"label": _("keep in A"), "value": "a"},
                    {"label": _("keep in B"), "value": "b"}]), 5),
            _field(_("Subgroups (forest plot)"), dcc.Dropdown(
                id=ids.STUDY_SUBGROUPS, options=splits, value=[], multi=True), 5),
            dbc.Col(dbc.Button(_("Run comparison"), id=ids.STUDY_RUN, color="primary",
                               className="mt-4"), md=2),
        ], className="g-3 mb-2"),
    ]
    header = html.Div([html.H3(_("Adjusted comparison (propensity score)"),
                               className="h6 mb-0 me-auto"),
                       download_button(ids.STUDY_CSV_BUTTON, ids.STUDY_DOWNLOAD, class_name="")],
                      className="d-flex flex-wrap align-items-center gap-3")
    # the spinner is the progress indicator while the comparison runs (a few seconds on 1M)
    body = [*controls, dcc.Loading(html.Div(id=ids.STUDY_RESULTS, className="mt-3"),
                                   type="default")]
    return dbc.Card([dbc.CardHeader(header), dbc.CardBody(body)], className="mb-3 shadow-sm")


def _choice(value: object, allowed: tuple[str, ...], default: str) -> str:
    return value if isinstance(value, str) and value in allowed else default


def _keys(values: object, allowed: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if not isinstance(values, list):
        return ()
    return tuple(v for v in values if isinstance(v, str) and v in allowed)


def _number(value: object, default: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else default


def options_from(method, caliper, trim, overlap, covariates, subgroups) -> ComparisonOptions:
    """Comparison options from the page's controls (anything malformed falls back or fails
    in ``ComparisonOptions.check`` with a message)."""
    return ComparisonOptions(
        covariates=_keys(covariates, tuple(COVARIATES)),
        method=_choice(method, ("match", "iptw"), "match"),  # type: ignore[arg-type]
        caliper_sd=_number(caliper, 0.2), trim=_number(trim, 0.05),
        overlap=_choice(overlap, ("exclude", "a", "b"), "exclude"),  # type: ignore[arg-type]
        subgroups=_keys(subgroups, SPLIT_FIELDS))


def study_choices(mode, field, level_a, level_b, covariates, method, caliper, trim, overlap,
                  subgroups) -> dict:
    """The comparison asked for: two cohorts, or two levels of a field within cohort A."""
    return {"levels": _choice(mode, (TWO_COHORTS, TWO_LEVELS), TWO_COHORTS) == TWO_LEVELS,
            "field": _choice(field, SPLIT_FIELDS, "regimen"),
            "level_a": level_a if isinstance(level_a, str) else None,
            "level_b": level_b if isinstance(level_b, str) else None,
            "options": options_from(method, caliper, trim, overlap, covariates, subgroups)}


def study_result(pair: Pair, levels: bool, field: str, level_a: str | None,
                 level_b: str | None, options: ComparisonOptions) -> comparison.StudyComparison:
    """The exact comparison (cached in ``queries``); raises PanelUnavailable."""
    try:
        if levels:
            if level_a is None or level_b is None:
                raise PanelUnavailable(_("Choose the two levels to compare."))
            return analysis.study_levels_panel(pair.cohorts[0].cohort, field, level_a, level_b,
                                               options)
        return analysis.study_cohorts_panel(pair.cohorts[0].cohort, pair.cohorts[1].cohort,
                                            pair.labels[0], pair.labels[1], options)
    except ComparisonError as exc:  # its message is a queries.i18n.Text where a user can cause it
        raise PanelUnavailable(tr().text(exc.args[0]) if exc.args else str(exc)) from exc


@CALLBACKS.callback(Output(ids.STUDY_LEVEL_A, "options"), Output(ids.STUDY_LEVEL_B, "options"),
          Output(ids.STUDY_LEVEL_A, "value"), Output(ids.STUDY_LEVEL_B, "value"),
          Input(ids.STUDY_FIELD, "value"), Input(ids.COMPARE_LEFT, "value"),
          Input(ids.COHORT_STORE, "data"), Input(ids.SNAPSHOT_STORE, "data"),
          State(ids.COMPARE_RIGHT, "value"))
def update_study_levels(field, left, current, snapshot_id, _right):
    """The levels of the chosen field in cohort A (for a protected role: only levels with
    enough patients to be released). Only cohort A is opened: B plays no part here."""
    user = require_role(*ROLES)
    try:
        definition, _saved_name = resolve_choice(left, current, user.username)
        opened, _default = open_current(definition, snapshot_id)
    except PanelUnavailable:
        return [], [], None, None
    key = _choice(field, SPLIT_FIELDS, "regimen")
    counts = comparison.split_level_counts(opened.cohort, key)
    levels = released_levels(counts, user.role)
    hidden = len(counts) - len(levels)
    withheld = f"levels of {key}: {hidden} with few patients not offered"  # i18n: audit log
    audit_query(user, "compare.study.levels", opened, [withheld] if hidden else [],
                f"cohort A; field={key}")  # i18n: audit log
    options = [{"label": figures.level_text(key, level), "value": level} for level in levels]
    return options, options, (levels[0] if levels else None), \
        (levels[1] if len(levels) > 1 else None)


# Run on the button only (a comparison takes seconds on a large cohort); showing it and then
# downloading it compute it once (cached in queries.analyses.panels).
STUDY = panels.Panel(
    key="study", roles=ROLES,
    outputs=((ids.STUDY_RESULTS, "children"),),
    run=ids.STUDY_RUN,
    controls=(("mode", ids.STUDY_MODE, "value"), ("field", ids.STUDY_FIELD, "value"),
              ("level_a", ids.STUDY_LEVEL_A, "value"), ("level_b", ids.STUDY_LEVEL_B, "value"),
              ("covariates", ids.STUDY_COVARIATES, "value"),
              ("method", ids.STUDY_METHOD, "value"), ("caliper", ids.STUDY_CALIPER, "value"),
              ("trim", ids.STUDY_TRIM, "value"), ("overlap", ids.STUDY_OVERLAP, "value"),
              ("subgroups", ids.STUDY_SUBGROUPS, "value")),
    choose=study_choices,
    compute=study_result,
    show=lambda result, _shown: (study_view(result),),
    unavailable=lambda message: (problem(message),),
    detail=lambda options, **_choices:
        f"method={options.method}; covariates={','.join(options.covariates)}",
    csv=panels.Csv(ids.STUDY_CSV_BUTTON, ids.STUDY_DOWNLOAD, export=exports.study_export,
                   name=lambda options, **_choices: ("adjusted", options.method)),
)


def _graph(figure, name: str) -> dcc.Graph:
    return dcc.Graph(figure=figure, config=figures.graph_config(name))


def study_view(result: comparison.StudyComparison) -> list:
    """Everything the comparison shows, in reading order."""
    names = (result.label_a, result.label_b)
    warnings = [dbc.Alert(tr().text(w), color="warning", className="small mb-2")
                for w in result.warnings]
    header = html.P([html.Strong(_("{a} vs {b}", a=result.label_a, b=result.label_b)),
                     _(": every contrast reads A vs B.")], className="mb-2")
    definitions = html.Details([html.Summary(_("Definitions"), className="small fw-semibold"),
                                html.Ul([html.Li(tr().text(d)) for d in result.definitions],
                                        className="small text-muted mb-0")], className="mb-3")
    view = [header, *warnings, tables.study_arms_table(result), definitions]
    if result.identical or result.balance.empty:
        return view
    view += [_graph(figures.propensity_figure(result, names), "propensity_score"),
             _graph(figures.love_plot(result), "love_plot"), tables.balance_table(result)]
    for outcome in result.outcomes:
        view += [_graph(figures.study_survival_figure(outcome, names),
                        f"adjusted_{outcome.endpoint}"),
                 html.P(tr().text(outcome.definition), className="small text-muted")]
    view += [tables.effects_table(result), tables.milestones_table(result),
             tables.binary_table(result)]
    if not result.subgroups.empty:
        overall = result.outcomes[0].adjusted if result.outcomes else None
        view.append(_graph(figures.forest_figure(result.subgroups, names, overall),
                           "subgroups_forest"))
    return view


def layout() -> html.Div:
    """The Compare page: the side-by-side sections, then the adjusted comparison."""
    return html.Div([compare_page.layout(), study_section()])


PAGE = pages.register(pages.Page("/compare", N_("Compare"), ROLES, layout, order=25))

panels.register_panel(CALLBACKS, compare_page.SCOPE, STUDY)

register = CALLBACKS.register  # register(app): this section's callbacks on ``app``
