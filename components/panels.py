"""Panels: one declaration each; the machinery here makes every panel's callbacks once.

A panel says who may see it, which controls it reads, what it computes (a function over
``queries.analyses``), how its released result is shown (figures from components/figures.py,
tables from components/tables.py) and what its CSV holds. A page is a ``Scope``: which stores
say what cohort(s) to open and how (one cohort on the analyses page, two on the compare page).
``register_panel`` gives a page's callbacks two functions per panel, each in this order:

    role check -> the controls' values checked -> cohort(s) opened -> compute -> release for
    the role (``queries.disclosure.release.release_result``) -> audit -> figure/table, or the
    download (a zip of tidy CSV tables with a README, components/exports.py)

A panel's ``images`` are its graphs as PNG (plotly's toolbar): each is named after the cohort,
the snapshot and the panel, and its figure carries a caption naming all three and the
statistical test, so a copied image still says what it shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from access.guard import require_role
from components import exports, figures
from components.callbacks import Callbacks
from components.derived import derived
from components.i18n import N_, _
from queries.disclosure.release import release_result

NOT_FOR_ROLE = N_("This panel is not available for your role.")


class PanelUnavailable(Exception):
    """The panel cannot be shown (no snapshot, invalid cohort, no protection for the role)."""


def release(result: Any, user: Any) -> tuple[Any, list[str]]:
    """The result as the user's role may see it, and what was withheld (for the audit); the
    command line's ``iocohort analyze --role`` goes through the same ``release_result``."""
    try:
        protected = release_result(result, user.role)
    except (TypeError, NotImplementedError) as exc:  # no adapter for this result type
        raise PanelUnavailable(_(NOT_FOR_ROLE)) from exc
    return protected.result, list(protected.suppressed)


@dataclass(frozen=True)
class Opened:
    """The cohort(s) a panel query runs on, as a scope opened them."""

    target: Any  # what ``Panel.compute`` receives (an OpenCohort, or the compare page's pair)
    labels: tuple[str, ...]  # the cohorts' names as shown ("A: ...", "B: ...")
    hashes: tuple[str, ...]  # short definition hashes, for CSV file names
    audit: Callable[[str, list[str], str], None]  # (action, suppressed, detail)
    snapshot: str = ""  # the snapshot id, for export names and captions


@dataclass(frozen=True)
class Scope:
    """A page's way to open its cohort(s): ``open(user, *values of inputs)``; raises
    ``PanelUnavailable``. ``action`` prefixes the audit actions ("analyses.survival")."""

    action: str
    inputs: tuple[tuple[str, str], ...]  # (component id, property)
    open: Callable[..., Opened]


@dataclass(frozen=True)
class Shown:
    """What a panel's ``show`` and CSV ``frame`` get besides the released result."""

    choices: dict[str, Any]
    labels: tuple[str, ...]
    snapshot: str = ""
    role: str = ""


@dataclass(frozen=True)
class Csv:
    """A panel's download: a zip of tidy tables with a README.txt. ``export(result, shown)``
    gives the tables (``exports.Export``); a panel with only ``frame(result, shown)`` gets that
    one table. The file is named after the cohort(s), the snapshot, ``name(**choices)`` and the
    cohorts' short definition hashes."""

    button: str
    download: str
    frame: Callable[[Any, Shown], pd.DataFrame] | None = None
    name: Callable[..., Sequence[object]] = field(default=lambda **_kwargs: ())
    export: Callable[[Any, Shown], exports.Export] | None = None

    def tables_of(self, result: Any, shown: Shown) -> exports.Export:
        if self.export is not None:
            return self.export(result, shown)
        assert self.frame is not None, "a Csv needs export or frame"  # i18n: developer assertion
        return exports.Export((exports.Table("table", exports.DATA_TABLE,
                                             self.frame(result, shown)),))


@dataclass(frozen=True)
class Image:
    """A graph of the panel exported as PNG: ``graph`` is its id (one of the panel's figure
    outputs), ``name`` names the file after the cohort and snapshot, and ``method(result,
    shown)`` states the statistical test for the caption drawn into the figure."""

    graph: str
    name: str | Callable[..., str]  # a name, or name(**choices) (e.g. "survival_os")
    method: Callable[[Any, Shown], str] = field(default=lambda _result, _shown: "")

    def name_for(self, choices: dict[str, Any] | None = None) -> str:
        if isinstance(self.name, str):
            return self.name
        return self.name(**choices) if choices is not None else self.graph


def _no_choices() -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Panel:
    """One panel. ``controls``: (choice name, component id, property) read by both callbacks;
    ``choose(**raw values)`` checks them and returns the choices (PreventUpdate for a value no
    control offers, i.e. a forged request); ``compute(target, **choices)`` returns the exact
    result; ``show(released, shown)`` and ``unavailable(message)`` return one value per
    output; ``detail(**choices)`` is the audit detail; ``idle(**choices)``, when it returns
    outputs, is shown without opening a cohort (e.g. nothing chosen yet). ``run``, a button
    id: the view is computed on its click only, with the cohorts and controls as they are
    then (a computation too long to follow every change)."""

    key: str
    roles: tuple[str, ...]
    outputs: tuple[tuple[str, str], ...]
    compute: Callable[..., Any]
    show: Callable[[Any, Shown], tuple[Any, ...]]
    unavailable: Callable[[str], tuple[Any, ...]]
    controls: tuple[tuple[str, str, str], ...] = ()
    choose: Callable[..., dict[str, Any]] = _no_choices
    detail: Callable[..., str] = field(default=lambda **_kwargs: "")
    csv: Csv | None = None
    protect: Callable[[Any, Any], tuple[Any, list[str]]] = release
    idle: Callable[..., tuple[Any, ...] | None] = field(default=lambda **_kwargs: None)
    images: tuple[Image, ...] = ()
    run: str | None = None


def _released(panel: Panel, scope: Scope, user: Any, cohort_values: Sequence[Any],
              choices: dict[str, Any]) -> tuple[Any, Opened, list[str]]:
    opened = scope.open(user, *cohort_values)
    raw = panel.compute(opened.target, **choices)
    # A cached result is released the same way for a role every time: do it once.
    result, suppressed = derived(raw, ("release", user.role), lambda: panel.protect(raw, user))
    return result, opened, list(suppressed)


def _one_or_many(values: tuple[Any, ...], outputs: Sequence[Any]) -> Any:
    return values[0] if len(outputs) == 1 else values


def export_caption(labels: Sequence[str], snapshot: str, method: str) -> str:
    """What an exported image shows: the cohort(s), the snapshot and the statistical test."""
    text = _("Cohort: {cohort} · Snapshot: {snapshot}", cohort=" / ".join(labels),
             snapshot=snapshot)
    return f"{text} · {method}" if method else text


def _with_images(panel: Panel, values: tuple[Any, ...], result: Any, shown: Shown
                 ) -> tuple[Any, ...]:
    """The panel's outputs with a caption in every exported figure, then each graph's config
    (its PNG named after the cohort, the snapshot and the panel)."""
    out = list(values)
    configs = []
    for image in panel.images:
        at = panel.outputs.index((image.graph, "figure"))
        caption = export_caption(shown.labels, shown.snapshot, image.method(result, shown))
        out[at] = figures.with_caption(out[at], caption)
        configs.append(figures.graph_config(
            exports.export_name(shown.labels, shown.snapshot, image.name_for(shown.choices)),
            export_height=figures.figure_height(out[at])))
    return (*out, *configs)


def _plain_images(panel: Panel, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """Outputs when nothing was computed: each graph keeps a config without a cohort name."""
    return (*values, *(figures.graph_config(image.name_for()) for image in panel.images))


def register_panel(callbacks: Callbacks, scope: Scope, panel: Panel) -> None:
    """Declare the panel's view callback and, if it has one, its CSV callback."""
    n_cohort = len(scope.inputs)
    names = [name for name, _id, _prop in panel.controls]
    action = f"{scope.action}.{panel.key}"
    all_outputs = (*panel.outputs, *((image.graph, "config") for image in panel.images))

    def choices_of(values: Sequence[Any]) -> dict[str, Any]:
        return panel.choose(**dict(zip(names, values[n_cohort:], strict=True)))

    def view(*values: Any) -> Any:
        user = require_role(*panel.roles)
        if panel.run is not None:
            clicks, *values = values
            if not clicks:
                raise PreventUpdate
        choices = choices_of(values)
        idle = panel.idle(**choices)
        if idle is not None:
            return _one_or_many(_plain_images(panel, idle), all_outputs)
        try:
            result, opened, suppressed = _released(panel, scope, user, values[:n_cohort],
                                                   choices)
        except PanelUnavailable as exc:
            return _one_or_many(_plain_images(panel, panel.unavailable(str(exc))), all_outputs)
        opened.audit(action, suppressed, panel.detail(**choices))
        shown = Shown(choices, opened.labels, opened.snapshot, user.role)
        return _one_or_many(_with_images(panel, panel.show(result, shown), result, shown),
                            all_outputs)

    outputs = [Output(i, p) for i, p in all_outputs]
    sources = (*scope.inputs, *((c, p) for _name_, c, p in panel.controls))
    _name(view, f"{scope.action}_{panel.key}")
    if panel.run is None:
        callbacks.add(view, outputs[0] if len(outputs) == 1 else outputs,
                      *(Input(i, p) for i, p in sources))
    else:
        callbacks.add(view, outputs[0] if len(outputs) == 1 else outputs,
                      Input(panel.run, "n_clicks"), *(State(i, p) for i, p in sources),
                      prevent_initial_call=True)
    if panel.csv is not None:
        _register_csv(callbacks, scope, panel, panel.csv, choices_of)


def _register_csv(callbacks: Callbacks, scope: Scope, panel: Panel, csv: Csv,
                  choices_of: Callable[[Sequence[Any]], dict[str, Any]]) -> None:
    n_cohort = len(scope.inputs)

    def download(clicks: Any, *values: Any) -> Any:
        user = require_role(*panel.roles)
        if not clicks:
            raise PreventUpdate
        choices = choices_of(values)
        try:
            result, opened, suppressed = _released(panel, scope, user, values[:n_cohort],
                                                   choices)
        except PanelUnavailable:
            raise PreventUpdate from None
        opened.audit(f"{scope.action}.{panel.key}.csv", suppressed, panel.detail(**choices))
        shown = Shown(choices, opened.labels, opened.snapshot, user.role)
        name = exports.export_name(shown.labels, shown.snapshot, *csv.name(**choices),
                                   *opened.hashes)
        return exports.zip_download(csv.tables_of(result, shown), shown, name)

    states = [State(i, p) for i, p in (*scope.inputs, *((c, p) for _name_, c, p in panel.controls))]
    _name(download, f"{scope.action}_{panel.key}_csv")
    callbacks.add(download, Output(csv.download, "data"), Input(csv.button, "n_clicks"),
                  *states, prevent_initial_call=True)


def _name(func: Callable[..., Any], name: str) -> None:
    """Callbacks are known by module.name (the authorization matrix lists them)."""
    func.__name__ = func.__qualname__ = name
