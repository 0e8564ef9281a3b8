"""Panels: one declaration each; the machinery here makes every panel's callbacks once.

A panel says who may see it, which controls it reads, what it computes (a function over
``queries.analyses``), how its released result is shown (figures from components/figures.py,
tables from components/tables.py) and what its CSV holds. A page is a ``Scope``: which stores
say what cohort(s) to open and how (one cohort on the analyses page, two on the compare page).
``register_panel`` gives a page's callbacks two functions per panel, each in this order:

    role check -> the controls' values checked -> cohort(s) opened -> compute -> release for
    the role (``queries.disclosure.release.release_result``) -> audit -> figure/table, or the CSV
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from access.guard import require_role
from components import tables
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


@dataclass(frozen=True)
class Csv:
    """A panel's download: ``frame(result, shown)``; the file is named by ``name(**choices)``
    followed by the cohorts' short definition hashes."""

    button: str
    download: str
    frame: Callable[[Any, Shown], pd.DataFrame]
    name: Callable[..., Sequence[object]]


def _no_choices() -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Panel:
    """One panel. ``controls``: (choice name, component id, property) read by both callbacks;
    ``choose(**raw values)`` checks them and returns the choices (PreventUpdate for a value no
    control offers, i.e. a forged request); ``compute(target, **choices)`` returns the exact
    result; ``show(released, shown)`` and ``unavailable(message)`` return one value per
    output; ``detail(**choices)`` is the audit detail; ``idle(**choices)``, when it returns
    outputs, is shown without opening a cohort (e.g. nothing chosen yet)."""

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


def _released(panel: Panel, scope: Scope, user: Any, cohort_values: Sequence[Any],
              choices: dict[str, Any]) -> tuple[Any, Opened, list[str]]:
    opened = scope.open(user, *cohort_values)
    raw = panel.compute(opened.target, **choices)
    # A cached result is released the same way for a role every time: do it once.
    result, suppressed = derived(raw, ("release", user.role), lambda: panel.protect(raw, user))
    return result, opened, list(suppressed)


def _one_or_many(values: tuple[Any, ...], outputs: Sequence[Any]) -> Any:
    return values[0] if len(outputs) == 1 else values


def register_panel(callbacks: Callbacks, scope: Scope, panel: Panel) -> None:
    """Declare the panel's view callback and, if it has one, its CSV callback."""
    n_cohort = len(scope.inputs)
    names = [name for name, _id, _prop in panel.controls]
    action = f"{scope.action}.{panel.key}"

    def choices_of(values: Sequence[Any]) -> dict[str, Any]:
        return panel.choose(**dict(zip(names, values[n_cohort:], strict=True)))

    def view(*values: Any) -> Any:
        user = require_role(*panel.roles)
        choices = choices_of(values)
        idle = panel.idle(**choices)
        if idle is not None:
            return _one_or_many(idle, panel.outputs)
        try:
            result, opened, suppressed = _released(panel, scope, user, values[:n_cohort],
                                                   choices)
        except PanelUnavailable as exc:
            return _one_or_many(panel.unavailable(str(exc)), panel.outputs)
        opened.audit(action, suppressed, panel.detail(**choices))
        return _one_or_many(panel.show(result, Shown(choices, opened.labels)), panel.outputs)

    outputs = [Output(i, p) for i, p in panel.outputs]
    inputs = [Input(i, p) for i, p in (*scope.inputs, *((c, p) for _name_, c, p in panel.controls))]
    _name(view, f"{scope.action}_{panel.key}")
    callbacks.add(view, outputs[0] if len(outputs) == 1 else outputs, *inputs)
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
        frame = csv.frame(result, Shown(choices, opened.labels))
        return tables.csv_download(frame, tables.safe_filename(*csv.name(**choices),
                                                               *opened.hashes))

    states = [State(i, p) for i, p in (*scope.inputs, *((c, p) for _name_, c, p in panel.controls))]
    _name(download, f"{scope.action}_{panel.key}_csv")
    callbacks.add(download, Output(csv.download, "data"), Input(csv.button, "n_clicks"),
                  *states, prevent_initial_call=True)


def _name(func: Callable[..., Any], name: str) -> None:
    """Callbacks are known by module.name (the authorization matrix lists them)."""
    func.__name__ = func.__qualname__ = name
