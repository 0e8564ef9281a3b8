"""Snapshots page: every snapshot in the snapshots directory and its validation status."""

from __future__ import annotations

import re

import dash_bootstrap_components as dbc
from dash import Input, Output, html

from access.guard import SNAPSHOTS, require_role, roles_for
from components import ids, pages
from components.callbacks import Callbacks
from components.context import app_context
from components.i18n import N_, _, fmt_date, fmt_int, ngettext

CALLBACKS = Callbacks()

ROLES = roles_for(SNAPSHOTS)
COLUMNS = (N_("Snapshot"), N_("Created"), N_("Source"), N_("Rows"), N_("Status"), N_("Problems"))
# Who may read absolute server paths in problems (they say where to fix a snapshot; to anyone
# else they only map the server).
SEES_PATHS = frozenset({"admin"})
# An absolute POSIX path (or file:// URL) after a start, space, quote, bracket or "=".
_ABSOLUTE_PATH = re.compile(r"(?:(?<=^)|(?<=[\s'\"(\[=:]))(?:file://)?/[^\s'\"()\[\],;]+")

# A quoted absolute path may hold spaces.
_QUOTED_PATH = re.compile(r"(['\"])(?P<path>(?:file://)?/[^'\"]*)\1")


def without_paths(text: str) -> str:
    """``text`` with every absolute path shortened to its last part (a file or folder name)."""
    def last_part(match: re.Match[str]) -> str:
        path = match.group("path") if "path" in match.re.groupindex else match.group(0)
        parts = [p for p in path.removeprefix("file://").split("/") if p]
        return parts[-1] if parts else "/"

    quoted = _QUOTED_PATH.sub(lambda m: m.group(1) + last_part(m) + m.group(1), text)
    return _ABSOLUTE_PATH.sub(last_part, quoted)


def layout() -> html.Div:
    return html.Div(
        [
            html.Div(
                [
                    html.H2(_("Snapshots"), className="h4 mb-0"),
                    dbc.Button(_("Re-check"), id=ids.SNAPSHOTS_REFRESH, size="sm", color="secondary"),
                ],
                className="d-flex justify-content-between align-items-center mb-3",
            ),
            html.P(
                _("Read-only data snapshots found in the snapshots directory. The newest valid "
                  "snapshot is the default; a broken one is listed with its problems and "
                  "skipped."),
                className="text-muted",
            ),
            dbc.Spinner(html.Div(id=ids.SNAPSHOTS_TABLE)),
        ]
    )


def _status_badge(status) -> dbc.Badge:
    if not status.usable:
        return dbc.Badge(_("not usable"), color="danger")
    warnings = [p for p in status.problems if p.severity == "warning"]
    text = ngettext("valid, {n} warning", "valid, {n} warnings", len(warnings)) if warnings \
        else _("valid")
    return dbc.Badge(text, color="success")


def _created(value) -> str:
    """The manifest's creation date in the user's format (as written when it is no date)."""
    try:
        return fmt_date(value)
    except (TypeError, ValueError):
        return str(value)


def _row(status, default_id: str | None, show_paths: bool) -> html.Tr:
    problems = [html.Li(str(p) if show_paths else without_paths(str(p)))
                for p in status.problems]
    manifest = status.manifest or {}
    rows = sum(int(t.get("rows", 0)) for t in manifest.get("tables", {}).values()
               if isinstance(t, dict))
    return html.Tr(
        [
            html.Td([html.Code(status.snapshot_id or status.path.name),
                     dbc.Badge(_("default"), color="primary", className="ms-2")
                     if status.snapshot_id == default_id else None]),
            html.Td(_created(manifest.get("created")), className="text-nowrap"),
            html.Td(str(manifest.get("source", "—"))),
            html.Td(fmt_int(rows) if rows else "—", className="text-end"),
            html.Td(_status_badge(status)),
            html.Td(html.Ul(problems, className="small mb-0") if problems else "—"),
        ]
    )


@CALLBACKS.callback(Output(ids.SNAPSHOTS_TABLE, "children"), Input(ids.SNAPSHOTS_REFRESH, "n_clicks"))
def update_snapshots_table(_clicks):
    """List snapshots with their validation status (re-validated on demand)."""
    user = require_role(*ROLES)
    registry = app_context().registry
    statuses = registry.refresh()
    if not statuses:
        return dbc.Alert(_("No snapshot found in the snapshots directory."), color="warning")
    default = registry.default()
    header = html.Thead(html.Tr([html.Th(_(h)) for h in COLUMNS]))
    default_id = default.snapshot_id if default else None
    show_paths = user.role in SEES_PATHS
    body = html.Tbody([_row(s, default_id, show_paths) for s in statuses])
    return dbc.Table([header, body], bordered=False, hover=True, size="sm", responsive=True)


PAGE = pages.register(pages.Page("/snapshots", N_("Snapshots"), ROLES, layout, order=90))

register = CALLBACKS.register  # register(app): this page's callbacks on ``app``
