"""Drawing the builder's rules and criterion rows from a draft (see ``state``).

Pure functions: draft + catalog -> components. Widgets carry pattern-matching IDs from
``components.ids`` so that callbacks address them with MATCH / ALL.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from components import ids
from components.builder import widgets as widgets
from components.builder.state import GROUPS, can_nest, children_depth, is_group
from components.i18n import _, current_locale
from queries.cohort.catalog import OPERATOR_LABELS, Catalog, CatalogField
from queries.cohort.describe import rule_text
from queries.cohort.model import AllGroup

# ---------------------------------------------------------------------------- criterion row


def value_area(f: CatalogField | None, op: str | None, value: Any, rule: str, row: str,
               count_text: widgets.CountText) -> list:
    """The row's value inputs (see ``widgets.value_widgets``)."""
    if f is None:
        return [html.Span(_("choose a field first"), className="small text-muted")]
    return widgets.value_widgets(f, op, value, rule, row, count_text)


def window_area(f: CatalogField | None, row: dict, rule: str) -> list:
    """Occurrence and time window for event fields; the window alone for ECOG-like fields."""
    if f is None or not widgets.has_window(f):
        return []
    parts = []
    if f.kind == "event":
        parts.append(widgets.occurrence_widget(widgets.occurrence_key(row.get("occurrence")),
                                               rule, row["key"]))
    default = f.default_window if f.kind == "attribute" else None
    parts += widgets.window_widgets(row.get("window"), rule, row["key"], default)
    return parts


def _extra_text(extra: list[dict], catalog: Catalog) -> str:
    parts = []
    for item in extra:
        f = catalog.get(item.get("field", ""))
        label = _(f.label) if f else item.get("field", "?")
        value = item.get("value")
        value = ", ".join(map(str, value)) if isinstance(value, list) else value
        op = _(OPERATOR_LABELS.get(item.get("op", ""), item.get("op", "")))
        parts.append(f"{label} {op} {'' if value is None else value}".strip())
    return _("and {conditions}", conditions=_("; and ").join(parts))


def criterion_row(rule: str, row: dict, catalog: Catalog, field_options: list[dict],
                  count_text: widgets.CountText) -> html.Div:
    key = row["key"]
    f = catalog.get(row.get("field") or "")
    op = row.get("op") if f is not None else None
    extra = row.get("extra") or []
    return html.Div(
        id=ids.criterion_id(ids.CRITERION_ROW, rule, key),
        className="criterion-row mb-2",
        children=[
            html.Div(className="d-flex flex-wrap align-items-center gap-2", children=[
                dcc.Dropdown(id=ids.criterion_id(ids.CRITERION_FIELD, rule, key),
                             options=field_options, value=f.key if f else None,
                             placeholder=_("field (type to search)"), clearable=False,
                             className="builder-field", style={"width": "23rem"},
                             maxHeight=320),
                dcc.Dropdown(id=ids.criterion_id(ids.CRITERION_OPERATOR, rule, key),
                             options=widgets.operator_options(f) if f else [], value=op,
                             placeholder="operator", clearable=False, searchable=False,
                             className="builder-operator", style={"width": "9rem"}),
                html.Div(value_area(f, op, row.get("value"), rule, key, count_text),
                         id=ids.criterion_id(ids.CRITERION_VALUE_AREA, rule, key),
                         className="d-flex flex-wrap align-items-center gap-1"),
                dbc.Button("✕", id=ids.criterion_id(ids.CRITERION_REMOVE, rule, key),
                           color="link", size="sm", className="text-danger ms-auto",
                           title=_("remove this criterion"), n_clicks=0),
            ]),
            html.Div(window_area(f, row, rule),
                     id=ids.criterion_id(ids.CRITERION_WINDOW_AREA, rule, key),
                     className="d-flex flex-wrap align-items-center gap-1 mt-1"),
            html.Div(_extra_text(extra, catalog), className="small text-muted mt-1")
            if extra else None,
            html.Div(id=ids.criterion_id(ids.CRITERION_MESSAGE, rule, key),
                     className="small text-danger"),
        ],
    )


# ---------------------------------------------------------------------------------- rule card


def _rule_header(rule: dict, position: int, total: int) -> html.Div:
    key = rule["key"]
    return html.Div(className="d-flex flex-wrap align-items-center gap-2", children=[
        dbc.Badge(str(position), color="primary", pill=True, title=_("order of application")),
        dbc.Input(id=ids.rule_id(ids.RULE_NAME, key), value=rule.get("name", ""), size="sm",
                  debounce=True, placeholder=_("rule name"), style={"width": "11rem"},
                  maxLength=200),
        html.Span(_("patients with"), className="small"),
        dbc.Select(id=ids.rule_id(ids.RULE_GROUP, key), value=rule.get("group", "all"),
                   options=[{"label": _(text), "value": group} for group, text in GROUPS.items()],
                   size="sm", style={"width": "auto"}, disabled=rule.get("raw") is not None),
        dbc.Switch(id=ids.rule_id(ids.RULE_ENABLED, key), value=bool(rule.get("enabled", True)),
                   label=_("applied"), className="ms-2 mb-0"),
        html.Div(className="ms-auto btn-group btn-group-sm", children=[
            dbc.Button("↑", id=ids.rule_action(key, "up"), color="light", n_clicks=0,
                       disabled=position == 1, title=_("move up")),
            dbc.Button("↓", id=ids.rule_action(key, "down"), color="light", n_clicks=0,
                       disabled=position == total, title=_("move down")),
            dbc.Button(_("Remove"), id=ids.rule_action(key, "remove"), color="light", n_clicks=0,
                       className="text-danger", title=_("delete this rule")),
        ]),
    ])


def _add_buttons(rule: str, group: str | None, kind: str, depth: int) -> html.Div:
    """"+ criterion" and "+ group" of the rule (``group`` None) or of one of its sub-groups."""
    def button_id(action: str) -> dict:
        return ids.rule_action(rule, action) if group is None else \
            ids.group_action(rule, group, action)

    nestable = can_nest(kind, depth)
    return html.Div(className="d-flex flex-wrap gap-1", children=[
        dbc.Button(_("+ criterion"), id=button_id("add-row"), color="primary", outline=True,
                   size="sm", n_clicks=0, className="builder-add-row"),
        dbc.Button(_("+ group"), id=button_id("add-group"), color="primary", outline=True,
                   size="sm", n_clicks=0, className="builder-add-group", disabled=not nestable,
                   title=add_group_title(nestable)),
    ])


def add_group_title(nestable: bool) -> str:
    """The "+ group" button's tooltip: what it adds, or why it is off."""
    return _("add a group of criteria (all, any or none of them) inside this one") \
        if nestable else _("groups cannot be nested deeper here")


def _items(rule: str, node: dict, depth: int, catalog: Catalog, field_options: list[dict],
           count_text: widgets.CountText) -> list:
    """The rows and sub-groups of the rule or group ``node`` (its JSON node at ``depth``)."""
    inner = children_depth(node.get("group", "all"), depth)
    return [group_box(rule, item, inner, catalog, field_options, count_text) if is_group(item)
            else criterion_row(rule, item, catalog, field_options, count_text)
            for item in node.get("rows", [])]


def group_box(rule: str, group: dict, depth: int, catalog: Catalog, field_options: list[dict],
              count_text: widgets.CountText) -> html.Div:
    """A sub-group: its kind (all / any / none of), its rows and groups, its buttons."""
    key, kind = group["key"], group.get("group", "all")
    return html.Div(
        id=ids.group_id(ids.GROUP_BOX, rule, key),
        className=f"builder-group builder-group-{kind} mb-2",
        children=[
            html.Div(className="d-flex flex-wrap align-items-center gap-2 mb-1", children=[
                html.Div(dbc.Select(id=ids.group_id(ids.GROUP_KIND, rule, key), value=kind,
                                    options=[{"label": _(text), "value": value}
                                             for value, text in GROUPS.items()],
                                    size="sm", className="builder-group-kind",
                                    style={"width": "auto"}),
                         title=_("patients who match all, any or none of this group's "
                                 "criteria")),
                dbc.Button("✕", id=ids.group_action(rule, key, "remove"), color="link",
                           size="sm", className="text-danger ms-auto builder-remove-group",
                           title=_("remove this group and its criteria"), n_clicks=0),
            ]),
            html.Div(_items(rule, group, depth, catalog, field_options, count_text),
                     className="builder-group-items"),
            _add_buttons(rule, key, kind, depth),
            html.Div(id=ids.group_id(ids.GROUP_MESSAGE, rule, key),
                     className="small text-danger"),
        ],
    )


def rule_card(rule: dict, position: int, total: int, catalog: Catalog,
              field_options: list[dict], count_text: widgets.CountText) -> dbc.Card:
    key = rule["key"]
    if rule.get("raw") is not None:
        body = [html.P(rule_text_safe(rule["raw"], catalog), className="small mb-1"),
                html.P(_("This rule has a criterion the builder cannot show as a row (an event "
                         "with no filter); it is kept as it is. Edit it in the JSON file and "
                         "upload it again."),
                       className="small text-muted mb-0")]
    else:
        body = [
            html.Div(_items(key, rule, 1, catalog, field_options, count_text),
                     id=ids.rule_id(ids.RULE_ROWS, key)),
            _add_buttons(key, None, rule.get("group", "all"), 1),
        ]
    enabled = bool(rule.get("enabled", True))
    return dbc.Card(
        id=ids.rule_id(ids.RULE_CARD, key),
        className="mb-2 builder-rule" + ("" if enabled else " builder-rule-off"),
        children=[
            dbc.CardHeader(_rule_header(rule, position, total), className="py-2"),
            dbc.CardBody([*body, html.Div(id=ids.rule_id(ids.RULE_MESSAGE, key),
                                          className="small text-danger mt-1")],
                         className="py-2"),
        ],
    )


def rule_text_safe(criteria: Any, catalog: Catalog) -> str:
    try:
        return rule_text(AllGroup.model_validate({"all": [criteria]}).all[0], catalog,
                         current_locale())
    except ValueError:
        return _("(a rule that cannot be described)")


def render_rules(draft: dict, catalog: Catalog, count_text: widgets.CountText) -> list:
    rules = draft.get("rules", [])
    if not rules:
        return [html.P(_("No inclusion rules yet: every patient with the index event is in the "
                       "cohort. Add a rule to narrow it down."), className="text-muted small")]
    options = widgets.field_options(catalog)
    return [rule_card(rule, i, len(rules), catalog, options, count_text)
            for i, rule in enumerate(rules, start=1)]
