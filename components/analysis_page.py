"""Analyses page: survival, response, safety and characteristics of the current cohort.

Each callback follows the order of components/cohort_access.py: role check -> open the cohort
-> ``queries.analysis`` -> disclosure for the role -> audit -> pure figure/table. When no
cohort has been built yet the default definition (every patient at their first checkpoint
inhibitor start, no rules) is shown, and the page says so.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from access.guard import ANALYSES, require_role, roles_for
from components import figures, ids, pages, tables
from components.callbacks import Callbacks
from components.cohort_access import OpenCohort, audit_query, open_cohort
from components.derived import derived
from components.i18n import current_locale
from queries.analyses import panels as analysis
from queries.analyses import response, safety, strata, survival
from queries.cohort import bias

CALLBACKS = Callbacks()

ROLES = roles_for(ANALYSES)
DEFAULT_NAME = "All patients at first checkpoint inhibitor"
DEFAULT_DEFINITION: dict = {
    "schema_version": 1,
    "metadata": {"name": DEFAULT_NAME,
                 "description": "Default cohort: every patient from the first start of an "
                                "immune checkpoint inhibitor, no inclusion rules."},
    "index_event": {"kind": "first_checkpoint_inhibitor"},
    "inclusion_rules": [],
}
NOT_FOR_ROLE = "This panel is not available for your role."


class PanelUnavailable(Exception):
    """The panel cannot be shown (no snapshot, invalid cohort, no protection for the role)."""


# --- shared steps (also used by the compare page) -----------------------------------------


def cohort_name(opened: OpenCohort) -> str:
    metadata = getattr(opened.definition, "metadata", None)
    return getattr(metadata, "name", None) or "Unnamed cohort"


def open_current(definition: dict | None, snapshot_id: str | None) -> tuple[OpenCohort, bool]:
    """The cohort in the store, or the default definition when none (second value: default)."""
    use_default = not definition
    try:
        return open_cohort(DEFAULT_DEFINITION if use_default else definition, snapshot_id), \
            use_default
    except LookupError as exc:  # NoSnapshot
        raise PanelUnavailable(str(exc)) from exc
    except ValueError as exc:  # DefinitionError and pydantic's ValidationError
        raise PanelUnavailable(f"The cohort definition is not valid: {exc}") from exc


def release(result, user) -> tuple[object, list[str]]:
    """The result as the user's role may see it, and what was withheld (for the audit)."""
    from queries import disclosure

    policy = disclosure.policy_for(user.role)
    if policy.exact:
        return result, []
    try:
        protected = disclosure.protect_result(result, policy)
    except (TypeError, NotImplementedError) as exc:  # no adapter for this result type
        raise PanelUnavailable(NOT_FOR_ROLE) from exc
    return protected.result, list(protected.suppressed)


@dataclass
class Run:
    """One panel query: who, which cohort, what was withheld."""

    user: object
    opened: OpenCohort
    default: bool
    suppressed: list[str] = field(default_factory=list)


def run_panel(user, definition, snapshot_id, compute: Callable[[OpenCohort], object]
              ) -> tuple[object, Run]:
    """Open the cohort, compute the result, release it for the role (not yet audited)."""
    opened, default = open_current(definition, snapshot_id)
    raw = compute(opened)
    # The same cached result is released the same way for a role every time: do it once.
    result, suppressed = derived(raw, ("release", user.role), lambda: release(raw, user))
    return result, Run(user, opened, default, list(suppressed))


def cached_figure(result: object, key: Hashable, make: Callable[[], go.Figure]
                  ) -> dict[str, Any]:
    """The figure of a (released) result as plotly JSON, built once per language and kept
    beside it."""
    return derived(result, ("figure", key, current_locale()), lambda: make().to_plotly_json())


def audit(run: Run, action: str, detail: str) -> None:
    audit_query(run.user, action, run.opened, run.suppressed, detail)


def problem(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="secondary", className="small mb-2")


def bundle(opened: OpenCohort, **options) -> analysis.AnalysisBundle:
    return analysis.analyze(opened.cohort, analysis.AnalysisOptions(**options))


def strata_options(kinds: tuple[str, ...] = ("field", "biomarker"), none_label: str | None = None
                   ) -> list[dict]:
    options = [{"label": none_label, "value": "none"}] if none_label else []
    for s in strata.list_stratifications():
        if s["kind"] in kinds:
            prefix = "Biomarker: " if s["kind"] == "biomarker" else ""
            options.append({"label": prefix + s["label"], "value": s["key"]})
    return options


def strata_key(value: str | None) -> str | None:
    """Dropdown value -> stratification key; anything unknown is refused (not passed on)."""
    if value in (None, "", "none"):
        return None
    if value not in strata.BY_KEY:  # only from a forged request: nothing to draw
        raise PreventUpdate
    return value


# --- layout -------------------------------------------------------------------------------


def download_button(button_id: str, download_id: str, class_name: str = "mt-3") -> html.Div:
    return html.Div([
        dbc.Button("Download CSV", id=button_id, size="sm", color="secondary", outline=True),
        dcc.Download(id=download_id),
    ], className=class_name)


def _controls_card(children: list, button_id: str, download_id: str) -> dbc.Card:
    return dbc.Card(dbc.CardBody(children + [download_button(button_id, download_id)]),
                    className="shadow-sm")


def _label(text: str, html_for: str) -> dbc.Label:
    return dbc.Label(text, html_for=html_for, className="fw-semibold small mb-1 mt-2")


def _graph(graph_id: str, filename: str) -> dcc.Loading:
    return dcc.Loading(dcc.Graph(id=graph_id, config=figures.graph_config(filename),
                                 figure=figures.empty_figure("Loading…")), type="default")


def _survival_tab() -> dbc.Tab:
    controls = [
        _label("Endpoint", ids.SURVIVAL_ENDPOINT),
        dbc.RadioItems(id=ids.SURVIVAL_ENDPOINT, value="os", options=[
            {"label": label, "value": value}
            for value, label in figures.ENDPOINT_LABELS.items()]),
        _label("Stratify by", ids.SURVIVAL_STRATA),
        dcc.Dropdown(id=ids.SURVIVAL_STRATA, value="none", clearable=False,
                     options=strata_options(none_label="No stratification")),
        _label("Hazard ratio: group A vs reference B", ids.SURVIVAL_HR_GROUP),
        dcc.Dropdown(id=ids.SURVIVAL_HR_GROUP, placeholder="A (default: chosen for you)",
                     options=[]),
        dcc.Dropdown(id=ids.SURVIVAL_HR_REFERENCE, placeholder="B, the reference",
                     options=[], className="mt-1"),
        _label("Landmark day (time counted from it)", ids.SURVIVAL_LANDMARK),
        dcc.Input(id=ids.SURVIVAL_LANDMARK, type="number", min=0, max=3650, step=1,
                  placeholder="none: time from index", className="form-control form-control-sm",
                  debounce=True),
        _label("Multivariable Cox model: covariates", ids.SURVIVAL_COX),
        dcc.Dropdown(id=ids.SURVIVAL_COX, multi=True, value=[],
                     placeholder="e.g. age, sex, ECOG, stage",
                     options=[{"label": "Age (per 10 years)", "value": "age"}]
                     + strata_options()),
        html.Div(id=ids.SURVIVAL_CAPTION, className="small text-muted mt-3"),
    ]
    return dbc.Tab(label="Survival", tab_id="survival", children=dbc.Row([
        dbc.Col(_controls_card(controls, ids.SURVIVAL_CSV_BUTTON, ids.SURVIVAL_DOWNLOAD), lg=3),
        dbc.Col([_graph(ids.SURVIVAL_GRAPH, "survival"),
                 dcc.Loading(html.Div(id=ids.SURVIVAL_MEDIANS, className="mt-2")),
                 html.Div(dcc.Loading(dcc.Graph(id=ids.SURVIVAL_COX_GRAPH,
                                                config=figures.graph_config("cox_model"),
                                                style={"display": "none"}))),
                 html.Div(id=ids.SURVIVAL_COX_CAPTION, className="small text-muted")], lg=9),
    ], className="mt-2 g-3"))


def _response_tab() -> dbc.Tab:
    controls = [
        _label("Stratify by", ids.RESPONSE_STRATA),
        dcc.Dropdown(id=ids.RESPONSE_STRATA, value="pdl1_tps", clearable=False,
                     options=strata_options(none_label="No stratification")),
        _label("Response (default: confirmed)", ids.RESPONSE_RULE),
        dbc.RadioItems(id=ids.RESPONSE_RULE, value=response.DEFAULT_RESPONSE, options=[
            {"label": "Confirmed (RECIST 1.1, ≥ 28 days)", "value": "confirmed"},
            {"label": "Unconfirmed", "value": "unconfirmed"}]),
        _label("Denominator (default: all patients)", ids.RESPONSE_DENOMINATOR),
        dbc.RadioItems(id=ids.RESPONSE_DENOMINATOR, value=response.DEFAULT_DENOMINATOR,
                       options=[{"label": "All patients (not evaluable shown)", "value": "all"},
                                {"label": "Evaluable patients only", "value": "evaluable"}]),
        html.Div(id=ids.RESPONSE_CAPTION, className="small text-muted mt-3"),
    ]
    return dbc.Tab(label="Response", tab_id="response", children=dbc.Row([
        dbc.Col(_controls_card(controls, ids.RESPONSE_CSV_BUTTON, ids.RESPONSE_DOWNLOAD), lg=3),
        dbc.Col([
            dbc.Row([dbc.Col(_graph(ids.RESPONSE_RATE_GRAPH, "response_rates"), xxl=6),
                     dbc.Col(_graph(ids.RESPONSE_BOR_GRAPH, "best_overall_response"), xxl=6)],
                    className="g-2"),
            dcc.Loading(html.Div(id=ids.RESPONSE_TABLE, className="mt-2")),
        ], lg=9),
    ], className="mt-2 g-3"))


def _safety_tab() -> dbc.Tab:
    controls = [
        _label("Group by", ids.SAFETY_LEVEL),
        dbc.RadioItems(id=ids.SAFETY_LEVEL, value="term", options=[
            {"label": "AE term", "value": "term"},
            {"label": "Organ class", "value": "organ_class"}]),
        _label("Grade", ids.SAFETY_GRADE),
        dbc.RadioItems(id=ids.SAFETY_GRADE, value="any", options=[
            {"label": "Any grade (grade ≥ 3 overlaid)", "value": "any"},
            {"label": "Grade ≥ 3 only", "value": "grade3"}]),
        _label("Events", ids.SAFETY_IMMUNE),
        dbc.Switch(id=ids.SAFETY_IMMUNE, label="Immune-related only", value=False),
        _label("Window (default: treatment-emergent)", ids.SAFETY_WINDOW),
        dbc.RadioItems(id=ids.SAFETY_WINDOW, value="treatment-emergent", options=[
            {"label": "Treatment-emergent: index line + 90 days", "value": "treatment-emergent"},
            {"label": "Every event after index, all lines", "value": "all"}]),
        html.Div(id=ids.SAFETY_CAPTION, className="small text-muted mt-3"),
    ]
    return dbc.Tab(label="Safety", tab_id="safety", children=dbc.Row([
        dbc.Col(_controls_card(controls, ids.SAFETY_CSV_BUTTON, ids.SAFETY_DOWNLOAD), lg=3),
        dbc.Col([_graph(ids.SAFETY_GRAPH, "adverse_events"),
                 dcc.Loading(html.Div(id=ids.SAFETY_TABLE, className="mt-2")),
                 _graph(ids.SAFETY_INCIDENCE_GRAPH, "severe_irae_incidence"),
                 html.Div(id=ids.SAFETY_INCIDENCE_CAPTION, className="small text-muted")],
                lg=9),
    ], className="mt-2 g-3"))


def _characteristics_tab() -> dbc.Tab:
    controls = [html.P("Baseline characteristics at index (Table 1). Biomarker levels are % of "
                       "the patients tested for that biomarker.", className="small text-muted")]
    return dbc.Tab(label="Characteristics", tab_id="characteristics", children=dbc.Row([
        dbc.Col(_controls_card(controls, ids.CHARACTERISTICS_CSV_BUTTON,
                               ids.CHARACTERISTICS_DOWNLOAD), lg=3),
        dbc.Col(dcc.Loading(html.Div(id=ids.CHARACTERISTICS_TABLE)), lg=9),
    ], className="mt-2 g-3"))


def layout() -> html.Div:
    return html.Div([
        html.Div([html.H2("Analyses", className="h4 mb-0 me-3"),
                  dcc.Loading(html.Div(id=ids.ANALYSIS_COHORT_INFO))],
                 className="d-flex align-items-baseline flex-wrap mb-2"),
        html.Div([html.Div(id=ids.ANALYSIS_LOOKAHEAD, className="small"),
                  dbc.Button("Use a landmark analysis", id=ids.ANALYSIS_LANDMARK_BUTTON,
                             size="sm", color="warning", style={"display": "none"})],
                 className="mb-2"),
        dbc.Tabs([_survival_tab(), _response_tab(), _safety_tab(), _characteristics_tab()],
                 id=ids.ANALYSIS_TABS, active_tab="survival"),
    ])


# --- cohort header ------------------------------------------------------------------------


def cohort_header(run: Run, count: str) -> list:
    """Cohort name, size (as released for the role) and snapshot; says when it is the default."""
    info = [html.Span(cohort_name(run.opened), className="fw-semibold"),
            html.Span(" · "),
            html.Span(count, className="cohort-count fw-semibold"),
            html.Span(" patients · snapshot "),
            html.Code(run.opened.cohort.snapshot_id)]
    children = [html.Div(info)]
    if run.default:
        children.append(html.Div(
            "No cohort built in this session yet, so the default cohort is shown (every patient "
            "from their first checkpoint inhibitor start, no rules); build one on the Cohort "
            "builder page.", className="small text-muted default-cohort-note"))
    return children


@CALLBACKS.callback(Output(ids.ANALYSIS_COHORT_INFO, "children"),
          Output(ids.ANALYSIS_LOOKAHEAD, "children"), Output(ids.ANALYSIS_LANDMARK_BUTTON, "style"),
          Input(ids.COHORT_STORE, "data"), Input(ids.SNAPSHOT_STORE, "data"))
def update_analysis_cohort_info(definition, snapshot_id):
    """Which cohort the page shows, its size and snapshot; a warning (with the landmark
    analysis one click away) when a rule looks at events after index."""
    user = require_role(*ROLES)
    hidden = {"display": "none"}
    try:
        opened, default = open_current(definition, snapshot_id)
    except PanelUnavailable as exc:
        return problem(str(exc)), None, hidden
    run = Run(user, opened, default)
    audit(run, "analyses.cohort", "count")
    header = cohort_header(run, release_count(opened.cohort.size, user))
    warning = bias.look_ahead_warning(bias.look_ahead_rules(opened.definition))
    if warning is None:
        return header, None, hidden
    return header, dbc.Alert(warning, color="warning", className="small mb-1 look-ahead"), {}


@CALLBACKS.callback(Output(ids.SURVIVAL_LANDMARK, "value"),
                    Input(ids.ANALYSIS_LANDMARK_BUTTON, "n_clicks"),
                    State(ids.COHORT_STORE, "data"), State(ids.SNAPSHOT_STORE, "data"),
                    prevent_initial_call=True)
def apply_landmark(clicks, definition, snapshot_id):
    """The landmark that covers every look-ahead rule, set on the survival panel."""
    require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    try:
        opened, _ = open_current(definition, snapshot_id)
    except PanelUnavailable:
        raise PreventUpdate from None
    days = bias.suggested_landmark_days(bias.look_ahead_rules(opened.definition))
    if days is None:
        raise PreventUpdate
    return days


def release_count(n: int, user) -> str:
    from queries import disclosure

    return disclosure.protect_count(n, disclosure.policy_for(user.role)).display


# --- survival -----------------------------------------------------------------------------


MAX_AT_RISK_COLUMNS = 9


def survival_result(opened: OpenCohort, endpoint: str, key: str | None,
                    hr_pair: tuple[str, str] | None = None, landmark: int | None = None):
    """KM result as drawn: numbers at risk every 6 months, or every 12 on long follow-up so the
    table stays readable. With more than two strata of an ordered stratification the HR compares
    the last tested level with the first (e.g. PD-L1 TPS >= 50 % vs < 1 %); unordered ones
    (site, cancer type, regimen) get the log-rank test only. ``hr_pair``: the user's (A, B)."""
    options: dict = {"endpoints": (endpoint,), "survival_strata": key, "panels": ("survival",)}
    if hr_pair is not None:
        options["hr_groups"] = hr_pair
    fixed = 3 + (hr_pair is not None) + (landmark is not None)
    if landmark is not None:
        options["landmark_days"] = landmark
    result = bundle(opened, **options).survival[endpoint]
    if result.empty_reason:
        return result
    if result.at_risk["time_months"].nunique() > MAX_AT_RISK_COLUMNS:
        longest = float(result.curve["time_days"].max())
        options["at_risk_months"] = tuple(survival.default_at_risk_months(longest, every=12))
    ordered = key is not None and bool(strata.get(key).levels)
    if ordered and hr_pair is None and result.hazard_ratio is None \
            and result.logrank is not None and len(result.logrank.strata) > 2:
        options["hr_groups"] = (result.logrank.strata[-1], result.logrank.strata[0])
    if len(options) > fixed:
        result = bundle(opened, **options).survival[endpoint]
    return result


def hr_choice(group: object, reference: object) -> tuple[str, str] | None:
    """The user's hazard-ratio pair, or None (the default) unless both are distinct labels."""
    if isinstance(group, str) and isinstance(reference, str) and group and reference \
            and group != reference and max(len(group), len(reference)) <= 200:
        return group, reference
    return None


def landmark_choice(value: object) -> int | None:
    """A landmark day 0-3650, or None (time from index) for anything else."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 3650:
        return int(value)
    return None


def endpoint_choice(value: str | None) -> str:
    if value not in figures.ENDPOINT_LABELS:
        raise PreventUpdate
    return value


@CALLBACKS.callback(Output(ids.SURVIVAL_GRAPH, "figure"), Output(ids.SURVIVAL_CAPTION, "children"),
          Output(ids.SURVIVAL_MEDIANS, "children"),
          Output(ids.SURVIVAL_HR_GROUP, "options"), Output(ids.SURVIVAL_HR_REFERENCE, "options"),
          Input(ids.COHORT_STORE, "data"), Input(ids.SNAPSHOT_STORE, "data"),
          Input(ids.SURVIVAL_ENDPOINT, "value"), Input(ids.SURVIVAL_STRATA, "value"),
          Input(ids.SURVIVAL_HR_GROUP, "value"), Input(ids.SURVIVAL_HR_REFERENCE, "value"),
          Input(ids.SURVIVAL_LANDMARK, "value"))
def update_survival_graph(definition, snapshot_id, endpoint, strata_value, hr_group, hr_reference,
                          landmark_value):
    """Kaplan-Meier plot, caption (log-rank, HR) and medians for the chosen endpoint/strata;
    the groups of the plot become the choices of the hazard-ratio pair."""
    user = require_role(*ROLES)
    endpoint, key = endpoint_choice(endpoint), strata_key(strata_value)
    pair, landmark = hr_choice(hr_group, hr_reference), landmark_choice(landmark_value)
    try:
        result, run = run_panel(user, definition, snapshot_id,
                                lambda o: survival_result(o, endpoint, key, pair, landmark))
    except PanelUnavailable as exc:
        return figures.empty_figure(str(exc)), problem(str(exc)), None, [], []
    audit(run, "analyses.survival",
          f"endpoint={endpoint} strata={key} hr={pair} landmark={landmark}")
    groups = [{"label": str(s), "value": str(s)} for s in result.summary["stratum"]]
    if result.empty_reason:
        reason = f"No {figures.ENDPOINT_LABELS[endpoint].lower()} curve: {result.empty_reason}."
        return figures.survival_figure(result), problem(reason), None, groups, groups
    figure = cached_figure(result, "survival", lambda: figures.survival_figure(result))
    return (figure, tables.survival_caption(result),
            [tables.median_table(result), tables.milestone_table(result)], groups, groups)


@CALLBACKS.callback(Output(ids.SURVIVAL_DOWNLOAD, "data"), Input(ids.SURVIVAL_CSV_BUTTON, "n_clicks"),
          State(ids.COHORT_STORE, "data"), State(ids.SNAPSHOT_STORE, "data"),
          State(ids.SURVIVAL_ENDPOINT, "value"), State(ids.SURVIVAL_STRATA, "value"),
          State(ids.SURVIVAL_HR_GROUP, "value"), State(ids.SURVIVAL_HR_REFERENCE, "value"),
          State(ids.SURVIVAL_LANDMARK, "value"), prevent_initial_call=True)
def download_survival_csv(clicks, definition, snapshot_id, endpoint, strata_value, hr_group,
                          hr_reference, landmark_value):
    """CSV of the survival panel's numbers, released for the user's role."""
    user = require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    endpoint, key = endpoint_choice(endpoint), strata_key(strata_value)
    pair, landmark = hr_choice(hr_group, hr_reference), landmark_choice(landmark_value)
    try:
        result, run = run_panel(user, definition, snapshot_id,
                                lambda o: survival_result(o, endpoint, key, pair, landmark))
    except PanelUnavailable:
        raise PreventUpdate from None
    audit(run, "analyses.survival.csv", f"endpoint={endpoint} strata={key}")
    return tables.csv_download(tables.survival_frame(result), tables.safe_filename(
        endpoint, key or "all", run.opened.definition_hash[:10]))


def cox_choice(value: object) -> tuple[str, ...]:
    """Chosen Cox covariates: 'age' or stratification keys; anything else is refused."""
    if not isinstance(value, list):
        return ()
    if any(v != "age" and v not in strata.BY_KEY for v in value):
        raise PreventUpdate
    return tuple(dict.fromkeys(value))


@CALLBACKS.callback(Output(ids.SURVIVAL_COX_GRAPH, "figure"), Output(ids.SURVIVAL_COX_GRAPH, "style"),
          Output(ids.SURVIVAL_COX_CAPTION, "children"),
          Input(ids.COHORT_STORE, "data"), Input(ids.SNAPSHOT_STORE, "data"),
          Input(ids.SURVIVAL_ENDPOINT, "value"), Input(ids.SURVIVAL_COX, "value"))
def update_cox_model(definition, snapshot_id, endpoint, covariates):
    """Forest plot of the multivariable Cox model with its PH check, for the chosen covariates."""
    user = require_role(*ROLES)
    endpoint, chosen = endpoint_choice(endpoint), cox_choice(covariates)
    hidden = {"display": "none"}
    if not chosen:
        return figures.empty_figure(""), hidden, None
    try:
        result, run = run_panel(user, definition, snapshot_id, lambda o: bundle(
            o, endpoints=(endpoint,), cox_covariates=chosen, panels=()).cox[endpoint])
    except PanelUnavailable as exc:
        return figures.empty_figure(str(exc)), hidden, problem(str(exc))
    audit(run, "analyses.cox", f"endpoint={endpoint} covariates={','.join(chosen)}")
    caption = [html.Div(result.method), html.Div(result.definition)]
    caption += [html.Div(f"{note}.") for note in result.notes]
    if not result.empty_reason:
        caption.insert(0, html.Div(f"{result.n} patients, {result.events} events."))
    return figures.cox_forest_figure(result), {}, caption


# --- response -----------------------------------------------------------------------------


def response_result(opened: OpenCohort, key: str | None,
                    rule: str = response.DEFAULT_RESPONSE,
                    denominator: str = response.DEFAULT_DENOMINATOR):
    return bundle(opened, response_strata=key, response=rule, response_denominator=denominator,
                  panels=("response",)).response


def response_choices(rule: str | None, denominator: str | None) -> tuple[str, str]:
    if rule not in response.RESPONSE_MODES or denominator not in response.DENOMINATORS:
        raise PreventUpdate
    return rule, denominator


@CALLBACKS.callback(Output(ids.RESPONSE_RATE_GRAPH, "figure"), Output(ids.RESPONSE_BOR_GRAPH, "figure"),
          Output(ids.RESPONSE_CAPTION, "children"), Output(ids.RESPONSE_TABLE, "children"),
          Input(ids.COHORT_STORE, "data"), Input(ids.SNAPSHOT_STORE, "data"),
          Input(ids.RESPONSE_STRATA, "value"), Input(ids.RESPONSE_RULE, "value"),
          Input(ids.RESPONSE_DENOMINATOR, "value"))
def update_response_graphs(definition, snapshot_id, strata_value, rule, denominator):
    """ORR/DCR with CI and best overall response per stratum, with their table."""
    user = require_role(*ROLES)
    key = strata_key(strata_value)
    rule, denominator = response_choices(rule, denominator)
    try:
        result, run = run_panel(user, definition, snapshot_id,
                                lambda o: response_result(o, key, rule, denominator))
    except PanelUnavailable as exc:
        empty = figures.empty_figure(str(exc))
        return empty, empty, problem(str(exc)), None
    audit(run, "analyses.response", f"strata={key} response={rule} denominator={denominator}")
    rates = cached_figure(result, "response_rates", lambda: figures.response_rates_figure(result))
    bor = cached_figure(result, "response_bor", lambda: figures.bor_figure(result))
    if result.empty_reason:
        return rates, bor, problem(f"No response data: {result.empty_reason}."), None
    return rates, bor, tables.response_caption(result), tables.response_table(result)


@CALLBACKS.callback(Output(ids.RESPONSE_DOWNLOAD, "data"), Input(ids.RESPONSE_CSV_BUTTON, "n_clicks"),
          State(ids.COHORT_STORE, "data"), State(ids.SNAPSHOT_STORE, "data"),
          State(ids.RESPONSE_STRATA, "value"), State(ids.RESPONSE_RULE, "value"),
          State(ids.RESPONSE_DENOMINATOR, "value"), prevent_initial_call=True)
def download_response_csv(clicks, definition, snapshot_id, strata_value, rule, denominator):
    """CSV of ORR/DCR and best-response counts per stratum, with the rules used."""
    user = require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    key = strata_key(strata_value)
    rule, denominator = response_choices(rule, denominator)
    try:
        result, run = run_panel(user, definition, snapshot_id,
                                lambda o: response_result(o, key, rule, denominator))
    except PanelUnavailable:
        raise PreventUpdate from None
    audit(run, "analyses.response.csv", f"strata={key}")
    return tables.csv_download(tables.response_frame(result), tables.safe_filename(
        "response", key or "all", run.opened.definition_hash[:10]))


# --- safety -------------------------------------------------------------------------------


def safety_result(opened: OpenCohort, immune_only: bool, window: str = "treatment-emergent"):
    days = None if window == "all" else safety.DEFAULT_TREATMENT_EMERGENT_DAYS
    return bundle(opened, ae_immune_only=bool(immune_only), ae_treatment_emergent_days=days,
                  panels=("safety",)).safety


def window_choice(value: object) -> str:
    if value not in ("treatment-emergent", "all"):
        raise PreventUpdate
    return str(value)


@CALLBACKS.callback(Output(ids.SAFETY_INCIDENCE_GRAPH, "figure"),
                    Output(ids.SAFETY_INCIDENCE_CAPTION, "children"),
                    Input(ids.COHORT_STORE, "data"), Input(ids.SNAPSHOT_STORE, "data"))
def update_irae_incidence(definition, snapshot_id):
    """Cumulative incidence of the first grade >= 3 irAE by regimen, death competing."""
    user = require_role(*ROLES)
    try:
        result, run = run_panel(user, definition, snapshot_id, lambda o: bundle(
            o, panels=("irae_incidence",)).irae_incidence)
    except PanelUnavailable as exc:
        return figures.empty_figure(str(exc)), problem(str(exc))
    audit(run, "analyses.irae_incidence", "by=regimen")
    return figures.incidence_figure(result), result.definition


def grade_choice(value: str | None) -> str:
    if value not in ("any", "grade3"):
        raise PreventUpdate
    return value


def _level_grade(level: str | None, grade: str | None) -> tuple[str, str]:
    if level not in ("term", "organ_class"):
        raise PreventUpdate
    return level, grade_choice(grade)


@CALLBACKS.callback(Output(ids.SAFETY_GRAPH, "figure"), Output(ids.SAFETY_CAPTION, "children"),
          Output(ids.SAFETY_TABLE, "children"),
          Input(ids.COHORT_STORE, "data"), Input(ids.SNAPSHOT_STORE, "data"),
          Input(ids.SAFETY_LEVEL, "value"), Input(ids.SAFETY_GRADE, "value"),
          Input(ids.SAFETY_IMMUNE, "value"), Input(ids.SAFETY_WINDOW, "value"))
def update_safety_graph(definition, snapshot_id, level, grade, immune_only, window):
    """AE frequency bars and table for the chosen grouping, grade, immune-related filter and
    window."""
    user = require_role(*ROLES)
    level, grade = _level_grade(level, grade)
    window = window_choice(window)
    try:
        result, run = run_panel(user, definition, snapshot_id,
                                lambda o: safety_result(o, immune_only, window))
    except PanelUnavailable as exc:
        return figures.empty_figure(str(exc)), problem(str(exc)), None
    audit(run, "analyses.safety", f"immune_only={bool(immune_only)} window={window}")
    fig = cached_figure(result, ("safety", level, grade),
                        lambda: figures.safety_figure(result, level, grade))
    if result.empty_reason:
        return fig, problem(f"No adverse events: {result.empty_reason}."), None
    overall = result.overall
    caption = [
        f"Patients with ≥ 1 event ({result.window}): ",
        html.Span(tables.n_pct(overall["patients_any_grade"], overall["pct_any_grade"],
                               overall.get("patients_any_grade_display")),
                  className="safety-any"),
        " any grade, ",
        html.Span(tables.n_pct(overall["patients_grade3plus"], overall["pct_grade3plus"],
                               overall.get("patients_grade3plus_display")),
                  className="safety-g3"),
        f" grade ≥ 3, of {figures.fmt_count(result.cohort_size)} patients. The chart shows the 15 most frequent; "
        "the table lists all.",
    ]
    rows = figures.safety_rows(result, level, grade, top=10_000)
    return fig, caption, tables.safety_table(rows, level)


@CALLBACKS.callback(Output(ids.SAFETY_DOWNLOAD, "data"), Input(ids.SAFETY_CSV_BUTTON, "n_clicks"),
          State(ids.COHORT_STORE, "data"), State(ids.SNAPSHOT_STORE, "data"),
          State(ids.SAFETY_LEVEL, "value"), State(ids.SAFETY_IMMUNE, "value"),
          State(ids.SAFETY_WINDOW, "value"), prevent_initial_call=True)
def download_safety_csv(clicks, definition, snapshot_id, level, immune_only, window):
    """CSV of AE counts and % (with exact CIs) by term or organ class, with the window used."""
    user = require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    level, _ = _level_grade(level, "any")
    window = window_choice(window)
    try:
        result, run = run_panel(user, definition, snapshot_id,
                                lambda o: safety_result(o, immune_only, window))
    except PanelUnavailable:
        raise PreventUpdate from None
    audit(run, "analyses.safety.csv", f"immune_only={bool(immune_only)} level={level}")
    frame = result.by_term if level == "term" else result.by_organ_class
    scope = "immune" if immune_only else "all"
    return tables.csv_download(frame.assign(cohort_size=result.cohort_size,
                                            window=result.window), tables.safe_filename(
        "adverse_events", level, scope, run.opened.definition_hash[:10]))


# --- characteristics ----------------------------------------------------------------------


def characteristics_result(opened: OpenCohort):
    return bundle(opened, panels=("characteristics",)).characteristics


@CALLBACKS.callback(Output(ids.CHARACTERISTICS_TABLE, "children"),
          Input(ids.COHORT_STORE, "data"), Input(ids.SNAPSHOT_STORE, "data"))
def update_characteristics_table(definition, snapshot_id):
    """Table 1 and biomarker testing rates."""
    user = require_role(*ROLES)
    try:
        result, run = run_panel(user, definition, snapshot_id, characteristics_result)
    except PanelUnavailable as exc:
        return problem(str(exc))
    audit(run, "analyses.characteristics", "table1")
    if result.n == 0:
        return problem("The cohort is empty: no patient matches its definition.")
    return dbc.Row([
        dbc.Col(tables.table_one(result), xl=7),
        dbc.Col([html.H3("Biomarker testing", className="h6 mt-2"),
                 tables.testing_table(result)], xl=5),
    ], className="g-3")


@CALLBACKS.callback(Output(ids.CHARACTERISTICS_DOWNLOAD, "data"),
          Input(ids.CHARACTERISTICS_CSV_BUTTON, "n_clicks"),
          State(ids.COHORT_STORE, "data"), State(ids.SNAPSHOT_STORE, "data"),
          prevent_initial_call=True)
def download_characteristics_csv(clicks, definition, snapshot_id):
    """CSV of Table 1."""
    user = require_role(*ROLES)
    if not clicks:
        raise PreventUpdate
    try:
        result, run = run_panel(user, definition, snapshot_id, characteristics_result)
    except PanelUnavailable:
        raise PreventUpdate from None
    audit(run, "analyses.characteristics.csv", "table1")
    return tables.csv_download(result.rows, tables.safe_filename(
        "table1", run.opened.definition_hash[:10]))


PAGE = pages.register(pages.Page("/analyses", "Analyses", ROLES, layout, order=20))

register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
