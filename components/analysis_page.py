"""Analyses page: survival, response, safety and characteristics of the current cohort.

Each panel is one declaration (components/panels.py makes its callbacks): role check -> open
the cohort -> ``queries.analyses.panels`` -> disclosure for the role -> audit -> pure
figure/table. When no cohort has been built yet the default definition (every patient at
their first checkpoint inhibitor start, no rules) is shown, and the page says so.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import dash_bootstrap_components as dbc
import plotly.graph_objects as go
from dash import Input, Output, State, dcc, html
from dash.exceptions import PreventUpdate

from access.guard import ANALYSES, require_role, roles_for
from components import exports, figures, ids, pages, panels, tables
from components.callbacks import Callbacks
from components.cohort_access import OpenCohort, audit_query, open_cohort
from components.derived import derived
from components.i18n import N_, _, current_locale, localize_released, tr
from components.panels import PanelUnavailable, Shown
from queries.analyses import panels as analysis
from queries.analyses import response, strata, survival
from queries.cohort import bias
from queries.disclosure.release import released_size
from queries.snapshot.schema import PRO_ITEMS, QLQ_C30, QLQ_C30_GLOBAL

CALLBACKS = Callbacks()

ROLES = roles_for(ANALYSES)
# Stored in English (the default definition and its hash are the same for every reader);
# shown in the reader's language by cohort_name.
DEFAULT_NAME = N_("All patients at first checkpoint inhibitor")
DEFAULT_DEFINITION: dict = {
    "schema_version": 1,
    "metadata": {"name": DEFAULT_NAME,
                 "description": "Default cohort: every patient from the first start of an "  # i18n: stored
                                "immune checkpoint inhibitor, no inclusion rules."},
    "index_event": {"kind": "first_checkpoint_inhibitor"},
    "inclusion_rules": [],
}


# --- shared steps (also used by the compare and feasibility pages) -------------------------


def cohort_name(opened: OpenCohort) -> str:
    metadata = getattr(opened.definition, "metadata", None)
    return shown_cohort_name(getattr(metadata, "name", None))


def shown_cohort_name(name: str | None) -> str:
    """A cohort's name as shown: the default cohort's in the reader's language."""
    if not name:
        return _("Unnamed cohort")
    return _(DEFAULT_NAME) if name == DEFAULT_NAME else name


def open_current(definition: dict | None, snapshot_id: str | None) -> tuple[OpenCohort, bool]:
    """The cohort in the store, or the default definition when none (second value: default)."""
    use_default = not definition
    try:
        return open_cohort(DEFAULT_DEFINITION if use_default else definition, snapshot_id), \
            use_default
    except LookupError as exc:  # NoSnapshot
        raise PanelUnavailable(str(exc)) from exc
    except ValueError as exc:  # DefinitionError and pydantic's ValidationError
        raise PanelUnavailable(_("The cohort definition is not valid: {problem}",
                                 problem=exc)) from exc


def open_one(user, definition: dict | None, snapshot_id: str | None) -> panels.Opened:
    """The analyses page's scope: the current (or default) cohort."""
    opened, _defaults = open_current(definition, snapshot_id)
    return panels.Opened(
        opened, (cohort_name(opened),), (opened.definition_hash[:10],),
        lambda action, suppressed, detail: audit_query(user, action, opened, suppressed, detail),
        opened.cohort.snapshot_id)


SCOPE = panels.Scope("analyses", ((ids.COHORT_STORE, "data"), (ids.SNAPSHOT_STORE, "data")),
                     open_one)


def cached_figure(result: object, key: Hashable, make: Callable[[], go.Figure]
                  ) -> dict[str, Any]:
    """The figure of a (released) result as plotly JSON, built once per language and kept
    beside it."""
    return derived(result, ("figure", key, current_locale()), lambda: make().to_plotly_json())


def problem(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="secondary", className="small mb-2")


def strata_options(kinds: tuple[str, ...] = ("field", "biomarker"), none_label: str | None = None
                   ) -> list[dict]:
    options = [{"label": none_label, "value": "none"}] if none_label else []
    for s in strata.list_stratifications():
        if s["kind"] in kinds:
            prefix = _("Biomarker: ") if s["kind"] == "biomarker" else ""
            label = s["label"]  # a catalogue message from queries
            options.append({"label": prefix + _(label), "value": s["key"]})
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
        dbc.Button(_("Download data (CSV, zip)"), id=button_id, size="sm", color="primary",
                   outline=True, className="btn-download"),
        dcc.Download(id=download_id),
    ], className=class_name)


def _controls_card(children: list, button_id: str, download_id: str) -> dbc.Card:
    return dbc.Card(dbc.CardBody(children + [download_button(button_id, download_id)]),
                    className="shadow-sm")


def _label(text: str, html_for: str) -> dbc.Label:
    return dbc.Label(text, html_for=html_for, className="fw-semibold small mb-1 mt-2")


def _graph(graph_id: str, filename: str) -> dcc.Loading:
    return dcc.Loading(dcc.Graph(id=graph_id, config=figures.graph_config(filename),
                                 figure=figures.empty_figure(_("Loading…"))), type="default")


def _survival_tab() -> dbc.Tab:
    controls = [
        _label(_("Endpoint"), ids.SURVIVAL_ENDPOINT),
        dbc.RadioItems(id=ids.SURVIVAL_ENDPOINT, value="os", options=[
            {"label": _(label), "value": value}
            for value, label in figures.ENDPOINT_LABELS.items()]),
        _label(_("Stratify by"), ids.SURVIVAL_STRATA),
        dcc.Dropdown(id=ids.SURVIVAL_STRATA, value="none", clearable=False,
                     options=strata_options(none_label=_("No stratification"))),
        _label(_("Hazard ratio: group A vs reference B"), ids.SURVIVAL_HR_GROUP),
        dcc.Dropdown(id=ids.SURVIVAL_HR_GROUP, placeholder=_("A (default: chosen for you)"),
                     options=[]),
        dcc.Dropdown(id=ids.SURVIVAL_HR_REFERENCE, placeholder=_("B, the reference"),
                     options=[], className="mt-1"),
        _label(_("Landmark day (time counted from it)"), ids.SURVIVAL_LANDMARK),
        dcc.Input(id=ids.SURVIVAL_LANDMARK, type="number", min=0, max=3650, step=1,
                  placeholder=_("none: time from index"), className="form-control form-control-sm",
                  debounce=True),
        _label(_("Cut curves where fewer than N patients remain at risk"),
               ids.SURVIVAL_MIN_AT_RISK),
        dcc.Input(id=ids.SURVIVAL_MIN_AT_RISK, type="number", min=1, max=100000, step=1,
                  placeholder=_("off"),
                  className="form-control form-control-sm", debounce=True),
        _label(_("Multivariable Cox model: covariates"), ids.SURVIVAL_COX),
        dcc.Dropdown(id=ids.SURVIVAL_COX, multi=True, value=[],
                     placeholder=_("e.g. age, sex, ECOG, stage"),
                     options=[{"label": _("Age (per 10 years)"), "value": "age"}]
                     + strata_options()),
        html.Div(id=ids.SURVIVAL_CAPTION, className="small text-muted mt-3"),
    ]
    return dbc.Tab(label=_("Survival"), tab_id="survival", children=dbc.Row([
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
        _label(_("Stratify by"), ids.RESPONSE_STRATA),
        dcc.Dropdown(id=ids.RESPONSE_STRATA, value="pdl1_tps", clearable=False,
                     options=strata_options(none_label=_("No stratification"))),
        _label(_("Response (default: confirmed)"), ids.RESPONSE_RULE),
        dbc.RadioItems(id=ids.RESPONSE_RULE, value=response.DEFAULT_RESPONSE, options=[
            {"label": _("Confirmed (RECIST 1.1, ≥ 28 days)"), "value": "confirmed"},
            {"label": _("Unconfirmed"), "value": "unconfirmed"}]),
        _label(_("Denominator (default: all patients)"), ids.RESPONSE_DENOMINATOR),
        dbc.RadioItems(id=ids.RESPONSE_DENOMINATOR, value=response.DEFAULT_DENOMINATOR,
                       options=[{"label": _("All patients (not evaluable shown)"), "value": "all"},
                                {"label": _("Evaluable patients only"), "value": "evaluable"}]),
        html.Div(id=ids.RESPONSE_CAPTION, className="small text-muted mt-3"),
    ]
    return dbc.Tab(label=_("Response"), tab_id="response", children=dbc.Row([
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
        _label(_("Group by"), ids.SAFETY_LEVEL),
        dbc.RadioItems(id=ids.SAFETY_LEVEL, value="term", options=[
            {"label": _("AE term"), "value": "term"},
            {"label": _("Organ class"), "value": "organ_class"}]),
        _label(_("Grade"), ids.SAFETY_GRADE),
        dbc.RadioItems(id=ids.SAFETY_GRADE, value="any", options=[
            {"label": _("Any grade (grade ≥ 3 overlaid)"), "value": "any"},
            {"label": _("Grade ≥ 3 only"), "value": "grade3"}]),
        _label(_("Events"), ids.SAFETY_IMMUNE),
        dbc.Switch(id=ids.SAFETY_IMMUNE, label=_("Immune-related only"), value=False),
        _label(_("Window (default: treatment-emergent)"), ids.SAFETY_WINDOW),
        dbc.RadioItems(id=ids.SAFETY_WINDOW, value="treatment-emergent", options=[
            {"label": _("Treatment-emergent: index line + 90 days"), "value": "treatment-emergent"},
            {"label": _("Every event after index, all lines"), "value": "all"}]),
        html.Div(id=ids.SAFETY_CAPTION, className="small text-muted mt-3"),
    ]
    return dbc.Tab(label=_("Safety"), tab_id="safety", children=dbc.Row([
        dbc.Col(_controls_card(controls, ids.SAFETY_CSV_BUTTON, ids.SAFETY_DOWNLOAD), lg=3),
        dbc.Col([_graph(ids.SAFETY_GRAPH, "adverse_events"),
                 dcc.Loading(html.Div(id=ids.SAFETY_TABLE, className="mt-2")),
                 _graph(ids.SAFETY_INCIDENCE_GRAPH, "severe_irae_incidence"),
                 html.Div(id=ids.SAFETY_INCIDENCE_CAPTION, className="small text-muted")],
                lg=9),
    ], className="mt-2 g-3"))


def _characteristics_tab() -> dbc.Tab:
    controls = [html.P(_("Baseline characteristics at index (Table 1). Every percentage is of "
                         "the whole cohort, biomarker levels and 'Untested' included; the "
                         "biomarker testing table gives positivity among the tested."),
                       className="small text-muted")]
    return dbc.Tab(label=_("Characteristics"), tab_id="characteristics", children=dbc.Row([
        dbc.Col(_controls_card(controls, ids.CHARACTERISTICS_CSV_BUTTON,
                               ids.CHARACTERISTICS_DOWNLOAD), lg=3),
        dbc.Col(dcc.Loading(html.Div(id=ids.CHARACTERISTICS_TABLE)), lg=9),
    ], className="mt-2 g-3"))


PRO_DEFAULT = f"{QLQ_C30}|{QLQ_C30_GLOBAL}"


def pro_scale_options() -> list[dict]:
    """Every QLQ-C30 scale and PRO-CTCAE item of the schema, as 'instrument|item'."""
    return [{"label": figures.pro_item_label(instrument, item), "value": f"{instrument}|{item}"}
            for instrument, items in PRO_ITEMS.items() for item in items]


def pro_scale_choice(value: object) -> dict:
    """The chosen scale; anything the dropdown does not offer is refused."""
    instrument, _sep, item = str(value).partition("|")
    if not isinstance(value, str) or item not in PRO_ITEMS.get(instrument, ()):
        raise PreventUpdate
    return {"instrument": instrument, "item": item}


def _pro_tab() -> dbc.Tab:
    controls = [
        _label(_("Scale or item"), ids.PRO_SCALE),
        dcc.Dropdown(id=ids.PRO_SCALE, value=PRO_DEFAULT, clearable=False,
                     options=pro_scale_options()),
        html.Div(id=ids.PRO_CAPTION, className="small text-muted mt-3"),
    ]
    return dbc.Tab(label=_("Patient-reported"), tab_id="pro", children=dbc.Row([
        dbc.Col(_controls_card(controls, ids.PRO_CSV_BUTTON, ids.PRO_DOWNLOAD), lg=3),
        dbc.Col([_graph(ids.PRO_SCORE_GRAPH, "pro_scores"),
                 dbc.Row([dbc.Col(_graph(ids.PRO_COMPLETION_GRAPH, "pro_completion"), xxl=6),
                          dbc.Col(_graph(ids.PRO_SEVERITY_GRAPH, "pro_ctcae_severity"), xxl=6)],
                         className="g-2")], lg=9),
    ], className="mt-2 g-3"))


def layout() -> html.Div:
    return html.Div([
        html.Div([html.H2(_("Analyses"), className="h4 mb-0 me-3"),
                  dcc.Loading(html.Div(id=ids.ANALYSIS_COHORT_INFO))],
                 className="d-flex align-items-baseline flex-wrap mb-2"),
        html.Div([html.Div(id=ids.ANALYSIS_LOOKAHEAD, className="small"),
                  dbc.Button(_("Use a landmark analysis"), id=ids.ANALYSIS_LANDMARK_BUTTON,
                             size="sm", color="warning", style={"display": "none"})],
                 className="mb-2"),
        dbc.Tabs([_survival_tab(), _response_tab(), _safety_tab(), _characteristics_tab(),
                  _pro_tab()],
                 id=ids.ANALYSIS_TABS, active_tab="survival"),
    ])


# --- cohort header ------------------------------------------------------------------------


def cohort_header(opened: OpenCohort, default: bool, count: str) -> list:
    """Cohort name, size (as released for the role) and snapshot; says when it is the default."""
    info = [html.Span(cohort_name(opened), className="fw-semibold"),
            html.Span(" · "),
            html.Span(count, className="cohort-count fw-semibold"),
            html.Span(_(" patients · snapshot ")),
            html.Code(opened.cohort.snapshot_id)]
    children = [html.Div(info)]
    if default:
        children.append(html.Div(
            _("No cohort built in this session yet, so the default cohort is shown (every patient "
            "from their first checkpoint inhibitor start, no rules); build one on the Cohort "
            "builder page."), className="small text-muted default-cohort-note"))
    return children


@CALLBACKS.callback(Output(ids.ANALYSIS_COHORT_INFO, "children"),
                    Output(ids.ANALYSIS_LOOKAHEAD, "children"),
                    Output(ids.ANALYSIS_LANDMARK_BUTTON, "style"),
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
    audit_query(user, "analyses.cohort", opened, [], "count")
    header = cohort_header(opened, default, release_count(opened.cohort.size, user))
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
        opened, _defaults = open_current(definition, snapshot_id)
    except PanelUnavailable:
        raise PreventUpdate from None
    days = bias.suggested_landmark_days(bias.look_ahead_rules(opened.definition))
    if days is None:
        raise PreventUpdate
    return days


def release_count(n: int, user) -> str:
    return localize_released(released_size(n, user.role).display)


# --- survival -----------------------------------------------------------------------------


def survival_result(opened: OpenCohort, endpoint: str, key: str | None,
                    hr_pair: tuple[str, str] | None = None, landmark: int | None = None):
    """The survival panel's result (``queries.analyses.panels.survival_panel`` says what it
    shows: at-risk columns, which groups the hazard ratio compares). ``hr_pair``: the user's
    (A, B); ``landmark``: time counted from that day after index."""
    return analysis.survival_panel(opened.cohort, endpoint, key, hr_pair, landmark)


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


def min_at_risk_choice(value: object) -> int | None:
    """Patients at risk below which the curves are cut (1-100000), or None (no cut)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= 100_000:
        return int(value)
    return None


def _survival_choices(endpoint, strata_value, hr_group, hr_reference, landmark_value,
                      min_at_risk_value=None) -> dict:
    return {"endpoint": endpoint_choice(endpoint), "key": strata_key(strata_value),
            "hr_pair": hr_choice(hr_group, hr_reference),
            "landmark": landmark_choice(landmark_value),
            "min_at_risk": min_at_risk_choice(min_at_risk_value)}


def cut_curves(result, shown: Shown):
    """The released result with its curves cut at the chosen number at risk (made once per
    result, cut and language, and kept beside it)."""
    min_at_risk = shown.choices.get("min_at_risk")
    if not min_at_risk or result.empty_reason:
        return result
    return derived(result, ("cut", min_at_risk, current_locale()),
                   lambda: survival.cut_at_risk(result, min_at_risk, tr()))


def _show_survival(result, shown: Shown) -> tuple:
    """Kaplan-Meier plot, caption (log-rank, HR), medians and milestones; the groups of the
    plot become the choices of the hazard-ratio pair."""
    groups = [{"label": str(s), "value": str(s)} for s in result.summary["stratum"]]
    if result.empty_reason:
        endpoint = _(figures.ENDPOINT_LABELS[shown.choices["endpoint"]])
        reason = _("No curve of {endpoint}: {reason}.", endpoint=endpoint.lower(),
                   reason=result.empty_reason)
        return figures.survival_figure(result), problem(reason), None, groups, groups
    result = cut_curves(result, shown)
    figure = cached_figure(result, "survival", lambda: figures.survival_figure(result))
    return (figure, tables.survival_caption(result),
            [tables.median_table(result), tables.milestone_table(result)], groups, groups)


SURVIVAL = panels.Panel(
    key="survival", roles=ROLES,
    outputs=((ids.SURVIVAL_GRAPH, "figure"), (ids.SURVIVAL_CAPTION, "children"),
             (ids.SURVIVAL_MEDIANS, "children"), (ids.SURVIVAL_HR_GROUP, "options"),
             (ids.SURVIVAL_HR_REFERENCE, "options")),
    controls=(("endpoint", ids.SURVIVAL_ENDPOINT, "value"),
              ("strata_value", ids.SURVIVAL_STRATA, "value"),
              ("hr_group", ids.SURVIVAL_HR_GROUP, "value"),
              ("hr_reference", ids.SURVIVAL_HR_REFERENCE, "value"),
              ("landmark_value", ids.SURVIVAL_LANDMARK, "value"),
              ("min_at_risk_value", ids.SURVIVAL_MIN_AT_RISK, "value")),
    choose=_survival_choices,
    compute=lambda opened, min_at_risk, **choices: survival_result(opened, **choices),
    show=_show_survival,
    unavailable=lambda message: (figures.empty_figure(message), problem(message), None, [], []),
    detail=lambda endpoint, key, hr_pair, landmark, min_at_risk:
        f"endpoint={endpoint} strata={key} hr={hr_pair} landmark={landmark} "
        f"min_at_risk={min_at_risk}",
    csv=panels.Csv(ids.SURVIVAL_CSV_BUTTON, ids.SURVIVAL_DOWNLOAD,
                   export=lambda result, shown: exports.survival_export(
                       cut_curves(result, shown), shown),
                   name=lambda endpoint, key, hr_pair, landmark, min_at_risk:
                       (endpoint, key or "all")),
    images=(panels.Image(ids.SURVIVAL_GRAPH,
                         lambda endpoint, key, **_choices: f"survival_{endpoint}_{key or 'all'}",
                         lambda result, _shown: figures.survival_method(result)),),
)


def cox_choice(value: object) -> tuple[str, ...]:
    """Chosen Cox covariates: 'age' or stratification keys; anything else is refused."""
    if not isinstance(value, list):
        return ()
    if any(v != "age" and v not in strata.BY_KEY for v in value):
        raise PreventUpdate
    return tuple(dict.fromkeys(value))


def _show_cox(result, shown: Shown) -> tuple:
    """Forest plot of the multivariable Cox model with its PH check, for the chosen covariates."""
    caption = [html.Div(tr().text(result.method)), html.Div(tr().text(result.definition))]
    caption += [html.Div(f"{tr().text(note)}.") for note in result.notes]
    if not result.empty_reason:
        caption.insert(0, html.Div(_("{n} patients, {events} events.", n=result.n,
                                     events=result.events)))
    return figures.cox_forest_figure(result), {}, caption


HIDDEN = {"display": "none"}

COX = panels.Panel(
    key="cox", roles=ROLES,
    outputs=((ids.SURVIVAL_COX_GRAPH, "figure"), (ids.SURVIVAL_COX_GRAPH, "style"),
             (ids.SURVIVAL_COX_CAPTION, "children")),
    controls=(("endpoint", ids.SURVIVAL_ENDPOINT, "value"),
              ("covariates", ids.SURVIVAL_COX, "value")),
    choose=lambda endpoint, covariates: {"endpoint": endpoint_choice(endpoint),
                                         "covariates": cox_choice(covariates)},
    idle=lambda endpoint, covariates: (
        None if covariates else (figures.empty_figure(""), HIDDEN, None)),
    compute=lambda opened, endpoint, covariates: analysis.cox_panel(opened.cohort, endpoint,
                                                                    covariates),
    show=_show_cox,
    unavailable=lambda message: (figures.empty_figure(message), HIDDEN, problem(message)),
    detail=lambda endpoint, covariates: f"endpoint={endpoint} covariates={','.join(covariates)}",
    images=(panels.Image(ids.SURVIVAL_COX_GRAPH,
                         lambda endpoint, **_choices: f"cox_model_{endpoint}",
                         lambda result, _shown: figures.cox_method(result)),),
)


# --- response -----------------------------------------------------------------------------


def response_result(opened: OpenCohort, key: str | None,
                    rule: str = response.DEFAULT_RESPONSE,
                    denominator: str = response.DEFAULT_DENOMINATOR):
    return analysis.response_panel(opened.cohort, key, rule, denominator)


def response_choices(rule: str | None, denominator: str | None) -> tuple[str, str]:
    if rule not in response.RESPONSE_MODES or denominator not in response.DENOMINATORS:
        raise PreventUpdate
    return rule, denominator


def _response_choices(strata_value, rule, denominator) -> dict:
    key = strata_key(strata_value)
    rule, denominator = response_choices(rule, denominator)
    return {"key": key, "rule": rule, "denominator": denominator}


def _show_response(result, shown: Shown) -> tuple:
    """ORR/DCR with CI and best overall response per stratum, with their table."""
    rates = cached_figure(result, "response_rates", lambda: figures.response_rates_figure(result))
    bor = cached_figure(result, "response_bor", lambda: figures.bor_figure(result))
    if result.empty_reason:
        return rates, bor, problem(_("No response data: {reason}.",
                                     reason=result.empty_reason)), None
    return rates, bor, tables.response_caption(result), tables.response_table(result)


def _response_unavailable(message: str) -> tuple:
    empty = figures.empty_figure(message)
    return empty, empty, problem(message), None


RESPONSE = panels.Panel(
    key="response", roles=ROLES,
    outputs=((ids.RESPONSE_RATE_GRAPH, "figure"), (ids.RESPONSE_BOR_GRAPH, "figure"),
             (ids.RESPONSE_CAPTION, "children"), (ids.RESPONSE_TABLE, "children")),
    controls=(("strata_value", ids.RESPONSE_STRATA, "value"),
              ("rule", ids.RESPONSE_RULE, "value"),
              ("denominator", ids.RESPONSE_DENOMINATOR, "value")),
    choose=_response_choices,
    compute=response_result,
    show=_show_response,
    unavailable=_response_unavailable,
    detail=lambda key, rule, denominator:
        f"strata={key} response={rule} denominator={denominator}",
    csv=panels.Csv(ids.RESPONSE_CSV_BUTTON, ids.RESPONSE_DOWNLOAD,
                   export=exports.response_export,
                   name=lambda key, rule, denominator: ("response", key or "all")),
    images=(panels.Image(ids.RESPONSE_RATE_GRAPH,
                         lambda key, **_choices: f"response_rates_{key or 'all'}",
                         lambda result, _shown: figures.response_method(result)),
            panels.Image(ids.RESPONSE_BOR_GRAPH,
                         lambda key, **_choices: f"best_overall_response_{key or 'all'}",
                         lambda result, _shown: figures.response_method(result))),
)


# --- safety -------------------------------------------------------------------------------


def safety_result(opened: OpenCohort, immune_only: bool, window: str = "treatment-emergent"):
    return analysis.safety_panel(opened.cohort, immune_only, treatment_emergent=window != "all")


def window_choice(value: object) -> str:
    if value not in ("treatment-emergent", "all"):
        raise PreventUpdate
    return str(value)


def grade_choice(value: str | None) -> str:
    if value not in ("any", "grade3"):
        raise PreventUpdate
    return value


def _safety_choices(level, grade, immune_only, window) -> dict:
    if level not in ("term", "organ_class"):
        raise PreventUpdate
    return {"level": level, "grade": grade_choice(grade), "immune_only": bool(immune_only),
            "window": window_choice(window)}


def _show_safety(result, shown: Shown) -> tuple:
    """AE frequency bars and table for the chosen grouping, grade, immune-related filter and
    window."""
    level, grade = shown.choices["level"], shown.choices["grade"]
    fig = cached_figure(result, ("safety", level, grade),
                        lambda: figures.safety_figure(result, level, grade))
    if result.empty_reason:
        return fig, problem(_("No adverse events: {reason}.", reason=result.empty_reason)), None
    rows = figures.safety_rows(result, level, grade, top=10_000)
    return fig, tables.safety_caption(result), tables.safety_table(rows, level)


SAFETY = panels.Panel(
    key="safety", roles=ROLES,
    outputs=((ids.SAFETY_GRAPH, "figure"), (ids.SAFETY_CAPTION, "children"),
             (ids.SAFETY_TABLE, "children")),
    controls=(("level", ids.SAFETY_LEVEL, "value"), ("grade", ids.SAFETY_GRADE, "value"),
              ("immune_only", ids.SAFETY_IMMUNE, "value"), ("window", ids.SAFETY_WINDOW, "value")),
    choose=_safety_choices,
    compute=lambda opened, immune_only, window, **_: safety_result(opened, immune_only, window),
    show=_show_safety,
    unavailable=lambda message: (figures.empty_figure(message), problem(message), None),
    detail=lambda level, grade, immune_only, window:
        f"immune_only={immune_only} window={window} level={level} grade={grade}",
    csv=panels.Csv(ids.SAFETY_CSV_BUTTON, ids.SAFETY_DOWNLOAD, export=exports.safety_export,
                   name=lambda level, grade, immune_only, window:
                       ("adverse_events", "immune" if immune_only else "all")),
    images=(panels.Image(ids.SAFETY_GRAPH,
                         lambda level, grade, **_choices: f"adverse_events_{level}_{grade}",
                         lambda result, _shown: figures.safety_method(result)),),
)


IRAE_INCIDENCE = panels.Panel(
    key="irae_incidence", roles=ROLES,
    outputs=((ids.SAFETY_INCIDENCE_GRAPH, "figure"), (ids.SAFETY_INCIDENCE_CAPTION, "children")),
    compute=lambda opened: analysis.irae_incidence_panel(opened.cohort),
    show=lambda result, shown: (figures.incidence_figure(result), tr().text(result.definition)),
    unavailable=lambda message: (figures.empty_figure(message), problem(message)),
    detail=lambda: "by=regimen",
    images=(panels.Image(ids.SAFETY_INCIDENCE_GRAPH, "severe_irae_incidence",
                         lambda result, _shown: figures.incidence_method(result)),),
)


# --- characteristics ----------------------------------------------------------------------


def characteristics_result(opened: OpenCohort):
    return analysis.characteristics_panel(opened.cohort)


def _show_characteristics(result, shown: Shown) -> tuple:
    """Table 1 and biomarker testing rates."""
    if result.n == 0:
        return (problem(_("The cohort is empty: no patient matches its definition.")),)
    return (dbc.Row([
        dbc.Col(tables.table_one(result), xl=7),
        dbc.Col([html.H3(_("Biomarker testing"), className="h6 mt-2"),
                 tables.testing_table(result)], xl=5),
    ], className="g-3"),)


CHARACTERISTICS = panels.Panel(
    key="characteristics", roles=ROLES,
    outputs=((ids.CHARACTERISTICS_TABLE, "children"),),
    compute=characteristics_result,
    show=_show_characteristics,
    unavailable=lambda message: (problem(message),),
    detail=lambda: "table1",
    csv=panels.Csv(ids.CHARACTERISTICS_CSV_BUTTON, ids.CHARACTERISTICS_DOWNLOAD,
                   export=exports.table_one_export, name=lambda: ("table1",)),
)


# --- patient-reported outcomes -------------------------------------------------------------


def pro_result(opened: OpenCohort, instrument: str, item: str):
    return analysis.pro_panel(opened.cohort, instrument, item)


def _released_or_exact(display: str | None, value: int | None) -> str:
    """A count as its role sees it: the released text ("< 10") when there is one."""
    return localize_released(display) if display else figures.fmt_count(value)


def _show_pro(result, shown: Shown) -> tuple:
    """Mean score over time, completion and PRO-CTCAE severity, with their definitions."""
    caption = [
        html.Div(_("{participants} of {n} patients answered this scale at least once between "
                   "{baseline} days before index and week {weeks}.",
                   baseline=result.options.baseline_days, weeks=result.options.max_weeks,
                   participants=_released_or_exact(result.participants_display,
                                                   result.participants),
                   n=_released_or_exact(result.n_display, result.n)),
                 className="pro-participants mb-1"),
        *(html.Div(tr().text(words), className="mb-1") for words in result.definitions.values()),
    ]
    return (cached_figure(result, "pro_scores", lambda: figures.pro_scores_figure(result)),
            cached_figure(result, "pro_completion",
                          lambda: figures.pro_completion_figure(result)),
            cached_figure(result, "pro_severity", lambda: figures.pro_severity_figure(result)),
            caption)


PRO = panels.Panel(
    key="pro", roles=ROLES,
    outputs=((ids.PRO_SCORE_GRAPH, "figure"), (ids.PRO_COMPLETION_GRAPH, "figure"),
             (ids.PRO_SEVERITY_GRAPH, "figure"), (ids.PRO_CAPTION, "children")),
    controls=(("scale", ids.PRO_SCALE, "value"),),
    choose=lambda scale: pro_scale_choice(scale),
    compute=pro_result,
    show=_show_pro,
    unavailable=lambda message: (figures.empty_figure(message), figures.empty_figure(""),
                                 figures.empty_figure(""), problem(message)),
    detail=lambda instrument, item: f"instrument={instrument} item={item}",
    csv=panels.Csv(ids.PRO_CSV_BUTTON, ids.PRO_DOWNLOAD, export=exports.pro_export,
                   name=lambda instrument, item: ("patient_reported", item)),
    images=(panels.Image(ids.PRO_SCORE_GRAPH, "pro_scores"),
            panels.Image(ids.PRO_COMPLETION_GRAPH, "pro_completion"),
            panels.Image(ids.PRO_SEVERITY_GRAPH, "pro_ctcae_severity")),
)


PANELS = (SURVIVAL, COX, RESPONSE, SAFETY, IRAE_INCIDENCE, CHARACTERISTICS, PRO)
for _panel in PANELS:
    panels.register_panel(CALLBACKS, SCOPE, _panel)

PAGE = pages.register(pages.Page("/analyses", N_("Analyses"), ROLES, layout, order=20))

register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
