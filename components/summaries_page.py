"""Published summaries: the advisory board reads them; clinicians publish and unpublish.

Advisory users only ever read stored, already protected summaries (``access.publications``):
no builder, no live query. A clinician publishes the current cohort or one of their saved
cohorts; the summary is computed and protected with the advisory policy at that moment.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from access import guard, publications
from access.cohort_store import CohortStore, SavedCohortNotFound
from access.store import app_store_path
from components import figures, ids, pages
from components.analysis_page import shown_cohort_name
from components.callbacks import Callbacks
from components.cohort_access import audit_query, open_cohort
from components.figures import graph_config
from components.i18n import LANGUAGE_NAMES, LOCALES, N_, _, current_locale, fmt_date, fmt_int
from queries import disclosure
from queries.disclosure.summary import PlainSummary, plain_summary

CALLBACKS = Callbacks()

ROLES = guard.roles_for(guard.SUMMARIES)
PUBLISHERS = ("clinician",)  # of those who read summaries, the ones who publish them
CURRENT = "current"


# --- layout ---------------------------------------------------------------------------------


def _publish_note() -> str:
    policy = disclosure.policy_for("advisory")
    return _("The summary is computed now and protected with the advisory board's rules "
             "(groups under {k} are not described, numbers are rounded to {rounding}); only "
             "that protected text is stored and shown. Preview it in both languages, then "
             "publish.", k=fmt_int(policy.min_count), rounding=fmt_int(policy.rounding))


def _publish_panel() -> dbc.Card:
    return dbc.Card(
        [
            dbc.CardHeader(_("Publish a summary for the patient advisory board")),
            dbc.CardBody([
                dcc.Store(id=ids.PUBLISH_INIT, data=0),
                html.P(_publish_note(), className="small text-muted"),
                dbc.Label(_("Cohort"), html_for=ids.PUBLISH_SOURCE),
                dcc.Dropdown(id=ids.PUBLISH_SOURCE, clearable=False,
                             className="mb-2 cohort-chooser"),
                dbc.Label(_("Title"), html_for=ids.PUBLISH_TITLE),
                dbc.Input(id=ids.PUBLISH_TITLE,
                          placeholder=_("e.g. Lung cancer, first immunotherapy"),
                          maxLength=publications.TITLE_MAX, className="mb-2"),
                dbc.Label(_("Short description (plain language)"),
                          html_for=ids.PUBLISH_DESCRIPTION),
                dbc.Textarea(id=ids.PUBLISH_DESCRIPTION, rows=2, className="mb-2"),
                dbc.Button(_("Preview in both languages"), id=ids.PUBLISH_PREVIEW_BUTTON,
                           color="secondary", className="me-2"),
                dbc.Button(_("Publish"), id=ids.PUBLISH_BUTTON, color="primary", disabled=True,
                           title=_("Preview the summary first")),
                dcc.Loading(html.Div(id=ids.PUBLISH_PREVIEW, className="mt-3")),
                html.Div(id=ids.PUBLISH_MESSAGE, className="mt-2"),
            ]),
        ],
        className="mb-4",
    )


def layout() -> html.Div:
    role = guard.current_role()
    intro = _("Summaries of patient groups that clinicians have published for the patient "
              "advisory board, in plain language. Small groups are never described, and "
              "numbers are rounded so that nobody can be recognised.")
    return html.Div(
        [
            html.H2(_("Published summaries"), className="h4"),
            html.P(intro, className="text-muted"),
            dcc.Store(id=ids.SUMMARIES_VERSION, data=0),
            dbc.Row([
                dbc.Col(dcc.Loading(html.Div(id=ids.SUMMARIES_LIST)),
                        lg=8 if role in PUBLISHERS else 12),
                dbc.Col(_publish_panel(), lg=4) if role in PUBLISHERS else None,
            ], className="g-3"),
        ]
    )


def _summary_card(pub: publications.Publication, staff: bool, can_unpublish: bool) -> dbc.Card:
    summary = PlainSummary.from_dict(pub.summary)
    body = [html.P(sentence, className="mb-1")
            for sentence in summary.sentences_in(current_locale())]
    figure = None
    if summary.responded_per_100 is not None:
        figure = dcc.Graph(figure=figures.icon_array_figure(summary.responded_per_100),
                           config=graph_config(mode_bar=False, staticPlot=True),
                           className="summary-icon-array")
    # staff see who published; advisory readers are not shown internal account names
    when = fmt_date(pub.published_at[:10])
    published = _("Published {date} by {user}", date=when, user=pub.published_by) if staff \
        else _("Published {date}", date=when)
    footer = [html.Span(published, className="small text-muted")]
    if can_unpublish:
        footer.append(dbc.Button(_("Unpublish"), id=ids.unpublish_button(pub.id), size="sm",
                                 color="outline-danger", className="ms-auto"))
    return dbc.Card(
        [
            dbc.CardHeader(html.H3(shown_cohort_name(pub.title), className="h5 mb-0")),
            dbc.CardBody(
                dbc.Row([
                    dbc.Col([html.P(pub.description, className="fst-italic")
                             if pub.description else None, *body], md=7),
                    dbc.Col(figure, md=5),
                ])
            ),
            dbc.CardFooter(footer, className="d-flex align-items-center"),
        ],
        className="mb-3 summary-card",
    )


# --- callbacks ------------------------------------------------------------------------------


@CALLBACKS.callback(Output(ids.SUMMARIES_LIST, "children"), Input(ids.SUMMARIES_VERSION, "data"))
def update_summaries_list(_version):
    """The live published summaries, read from the store (never a live query)."""
    user = guard.require_role(*ROLES)
    published = publications.list_publications(app_store_path())
    if not published:
        return dbc.Alert(_("No summary has been published yet."), color="light")
    # Only the clinician who published a summary may withdraw it.
    staff = user.role in PUBLISHERS
    return [_summary_card(p, staff, staff and p.published_by == user.username)
            for p in published]


@CALLBACKS.callback(Output(ids.PUBLISH_SOURCE, "options"), Output(ids.PUBLISH_SOURCE, "value"),
                    Input(ids.PUBLISH_INIT, "data"))
def update_publish_sources(_init):
    """The current cohort and the clinician's own saved cohorts."""
    user = guard.require_role(*PUBLISHERS)
    saved = CohortStore(app_store_path()).list(user.username)
    options = [{"label": _("Current cohort (from the builder)"), "value": CURRENT}]
    options += [{"label": _("Saved: {name}", name=s.name), "value": s.id} for s in saved]
    return options, CURRENT


def _definition_for(user, source: str | None, current: dict | None) -> tuple[dict, str | None]:
    if source in (None, CURRENT):
        if not current:
            raise ValueError(_("there is no current cohort; build one or choose a saved "
                               "cohort"))
        return current, None
    saved = CohortStore(app_store_path()).open(user.username, source)
    return saved.definition, saved.id


def _publish(user, source, title, description, current, snapshot_id):
    definition, saved_id = _definition_for(user, source, current)
    opened = open_cohort(definition, snapshot_id)
    summary = plain_summary(opened.cohort)
    if summary.group_size is None:
        audit_query(user, "publish-summary", opened, summary.hidden, detail="refused: too small")
        raise ValueError(_("this group is too small to describe for the advisory board"))
    title = (title or "").strip() or opened.definition.metadata.name
    pub = publications.publish(
        app_store_path(), title=title, description=description or "",
        summary=summary.to_dict(), definition_hash=opened.definition_hash,
        snapshot_id=opened.cohort.snapshot_id, published_by=user.username,
        saved_cohort_id=saved_id,
    )
    audit_query(user, "publish-summary", opened, summary.hidden, detail=f"publication={pub.id}")
    return dbc.Alert(_("Published \u201c{title}\u201d.", title=pub.title), color="success",
                     duration=6000)


def _unpublish(user, publication_id: int):
    publications.unpublish(app_store_path(), publication_id, user.username)
    audit_query(user, "unpublish-summary", None, detail=f"publication={publication_id}")
    return dbc.Alert(_("Summary unpublished."), color="secondary", duration=6000)


def _preview(summary: PlainSummary) -> html.Div:
    """The summary as each language's readers will see it, side by side."""
    columns = [
        dbc.Col(html.Div([html.H4(LANGUAGE_NAMES[locale], className="h6"),
                          *[html.P(sentence, className="small mb-1")
                            for sentence in summary.sentences_in(locale)]],
                         lang=locale, className="summary-preview-language"), md=6)
        for locale in LOCALES
    ]
    return html.Div([html.P(_("The advisory board will read:"), className="small fw-semibold"),
                     dbc.Row(columns, className="g-2")], className="border rounded p-2")


@CALLBACKS.callback(
    Output(ids.PUBLISH_PREVIEW, "children"),
    Output(ids.PUBLISH_BUTTON, "disabled"),
    Input(ids.PUBLISH_PREVIEW_BUTTON, "n_clicks"),
    Input(ids.PUBLISH_SOURCE, "value"),
    State(ids.COHORT_STORE, "data"),
    State(ids.SNAPSHOT_STORE, "data"),
    prevent_initial_call=True,
)
def preview_summary(_clicks, source, current, snapshot_id):
    """Both language versions of the summary that would be published; publishing is enabled
    only once they have been shown (choosing another cohort asks for a new preview)."""
    user = guard.require_role(*PUBLISHERS)
    if ctx.triggered_id != ids.PUBLISH_PREVIEW_BUTTON:
        return None, True
    try:
        definition, _saved_id = _definition_for(user, source, current)
        opened = open_cohort(definition, snapshot_id)
    except (ValueError, SavedCohortNotFound) as err:
        return dbc.Alert(str(err), color="warning"), True
    summary = plain_summary(opened.cohort)
    audit_query(user, "preview-summary", opened, summary.hidden)
    return _preview(summary), summary.group_size is None


@CALLBACKS.callback(
    Output(ids.PUBLISH_MESSAGE, "children"),
    Output(ids.SUMMARIES_VERSION, "data"),
    Input(ids.PUBLISH_BUTTON, "n_clicks"),
    Input(ids.unpublish_button(ALL), "n_clicks"),
    State(ids.PUBLISH_SOURCE, "value"),
    State(ids.PUBLISH_TITLE, "value"),
    State(ids.PUBLISH_DESCRIPTION, "value"),
    State(ids.COHORT_STORE, "data"),
    State(ids.SNAPSHOT_STORE, "data"),
    State(ids.SUMMARIES_VERSION, "data"),
    prevent_initial_call=True,
)
def change_publications(publish_clicks, unpublish_clicks, source, title, description, current,
                        snapshot_id, version):
    """Publish the chosen cohort's protected summary, or withdraw a published one."""
    user = guard.require_role(*PUBLISHERS)
    trigger = ctx.triggered_id
    if trigger is None or not (ctx.triggered and ctx.triggered[0].get("value")):
        raise PreventUpdate  # a button was re-rendered, not clicked
    publishing = trigger == ids.PUBLISH_BUTTON
    try:
        if publishing:
            message = _publish(user, source, title, description, current, snapshot_id)
        else:
            message = _unpublish(user, int(trigger["publication"]))
    except (ValueError, SavedCohortNotFound, publications.NotThePublisher) as err:
        verb = _("Not published") if publishing else _("Not withdrawn")
        return dbc.Alert(f"{verb}: {err}", color="warning"), no_update
    except publications.PublicationNotFound:
        return dbc.Alert(_("That summary is no longer published."), color="warning"), \
            int(version or 0) + 1
    return message, int(version or 0) + 1


PAGE = pages.register(pages.Page("/summaries", N_("Summaries"), ROLES, layout, order=20))

register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
