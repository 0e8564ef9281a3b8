"""Reading the builder's widgets back into a draft.

The draft stored at the last render (``BUILDER_STRUCTURE``) gives the order of rules, groups
and rows;
the widgets' current values (read with ALL patterns) override what they show. A widget that
is not (yet) on the page falls back to the stored draft, so a callback that runs while the
page is being redrawn still sees a consistent cohort.
"""

from __future__ import annotations

import copy
from typing import Any

from dash import ALL

from components import ids
from components.builder import widgets as widgets
from components.builder.state import GROUPS, is_group, walk
from components.i18n import _
from queries.cohort.catalog import Catalog

RULE_PROPS = ((ids.RULE_NAME, "value"), (ids.RULE_ENABLED, "value"), (ids.RULE_GROUP, "value"))
GROUP_PROPS = ((ids.GROUP_KIND, "value"),)
ROW_PROPS = (
    (ids.CRITERION_FIELD, "value"), (ids.CRITERION_OPERATOR, "value"),
    (ids.CRITERION_WINDOW, "value"), (ids.CRITERION_WINDOW_DAYS, "value"),
    (ids.CRITERION_WINDOW_START, "value"), (ids.CRITERION_WINDOW_END, "value"),
    (ids.CRITERION_OCCURRENCE, "value"),
)
VALUE_PROPS = (
    (ids.CRITERION_VALUES, "value"), (ids.CRITERION_MIN, "value"), (ids.CRITERION_MAX, "value"),
    (ids.CRITERION_TEXT, "value"), (ids.CRITERION_DATES, "start_date"),
    (ids.CRITERION_DATES, "end_date"), (ids.CRITERION_DATE, "date"),
)
WINDOW_TYPES = (ids.CRITERION_WINDOW, ids.CRITERION_WINDOW_DAYS, ids.CRITERION_WINDOW_START,
                ids.CRITERION_WINDOW_END)
INDEX_PROPS = (
    (ids.BUILDER_INDEX_KIND, "value"), (ids.BUILDER_INDEX_CLASSES, "value"),
    (ids.BUILDER_INDEX_LINE, "value"), (ids.BUILDER_INDEX_CANCERS, "value"),
    (ids.BUILDER_INDEX_DATES, "start_date"), (ids.BUILDER_INDEX_DATES, "end_date"),
    (ids.BUILDER_INDEX_GRACE, "value"),
)
TREATMENT_KINDS = ("first_checkpoint_inhibitor", "first_drug_class", "line_start")


def widget_dependencies(kind) -> list:
    """Every widget value that makes up the rules, as ``Input`` or ``State`` (``kind``)."""
    deps = [kind(ids.rule_id(t, ALL), p) for t, p in RULE_PROPS]
    deps += [kind(ids.group_id(t, ALL, ALL), p) for t, p in GROUP_PROPS]
    deps += [kind(ids.criterion_id(t, ALL, ALL), p) for t, p in ROW_PROPS]
    deps += [kind(ids.criterion_value_id(t, ALL, ALL, ALL), p) for t, p in VALUE_PROPS]
    return deps


def index_dependencies(kind) -> list:
    return [kind(cid, prop) for cid, prop in INDEX_PROPS]


Values = dict[tuple, Any]


def collect(entries: list) -> Values:
    """Pattern-matched widget values from ``ctx.inputs_list`` / ``ctx.states_list``.

    Keys: (type, rule, row or group, spec, property); missing parts are None. Row and group
    keys are unique in a draft, so one slot serves both.
    """
    out: Values = {}
    for group in entries:
        for item in group if isinstance(group, list) else [group]:
            cid = item.get("id")
            if isinstance(cid, dict):
                key = (cid.get("type"), cid.get("rule"), cid.get("row", cid.get("group")),
                       cid.get("spec"), item.get("property"))
                out[key] = item.get("value")
    return out


def _rule_value(values: Values, kind: str, rule: str, fallback: Any) -> Any:
    return values.get((kind, rule, None, None, "value"), fallback)


def _row_value(values: Values, kind: str, rule: str, row: str, fallback: Any) -> Any:
    return values.get((kind, rule, row, None, "value"), fallback)


def _value_widgets(values: Values, rule: str, row: str, spec: str) -> dict[str, Any] | None:
    found: dict[str, Any] = {}
    for kind, prop in VALUE_PROPS:
        key = (kind, rule, row, spec, prop)
        if key in values:
            name = kind if kind != ids.CRITERION_DATES else f"{kind}:{prop.split('_')[0]}"
            found[name] = values[key]
    return found or None


def _current_row(row: dict, rule: str, values: Values, catalog: Catalog) -> list[str]:
    """Update ``row`` in place from its widgets; returns the row's own problems."""
    key = row["key"]
    drawn = widgets.spec_of(row.get("field"), row.get("op"))
    row["field"] = _row_value(values, ids.CRITERION_FIELD, rule, key, row.get("field"))
    f = catalog.get(row["field"] or "")
    if f is None:
        return [_("choose a field")]
    row["op"] = _row_value(values, ids.CRITERION_OPERATOR, rule, key, row.get("op"))
    if row["op"] not in f.operators:
        row["op"] = None
        return [_("choose an operator")]
    problems = []
    shown = _value_widgets(values, rule, key, widgets.spec_of(f.key, row["op"]))
    if shown is not None or widgets.value_kind(f, row["op"]) == "none":
        row["value"], problem = widgets.read_value(f, row["op"], shown or {})
        if problem:
            problems.append(problem)
    elif drawn != widgets.spec_of(f.key, row["op"]) or row.get("value") is None:
        # The widgets for this field and operator are not drawn yet.
        row["value"] = None
        problems.append(_("choose a value"))
    if widgets.has_window(f):
        problems += _current_window(row, rule, values, f)
    return problems


def _current_window(row: dict, rule: str, values: Values, f) -> list[str]:
    key = row["key"]
    window_values = {t: values[(t, rule, key, None, "value")] for t in WINDOW_TYPES
                     if (t, rule, key, None, "value") in values}
    problems = []
    if window_values:
        row["window"], problem = widgets.read_window(window_values,
                                                     f.kind == "attribute" and
                                                     bool(f.default_window))
        if problem:
            problems.append(problem)
    if f.kind == "event":
        occurrence = _row_value(values, ids.CRITERION_OCCURRENCE, rule, key, None)
        if occurrence is not None:
            row["occurrence"] = widgets.read_occurrence(occurrence)
    return problems


def current_draft(base: dict, values: Values, index_values: dict[str, Any], name: str | None,
                  catalog: Catalog) -> tuple[dict, dict[str, list[str]]]:
    """The draft as the page shows it now, and each row's widget problems (empty value, ...)."""
    draft = copy.deepcopy(base)
    if name is not None:
        draft.setdefault("metadata", {})["name"] = name
    if index_values:
        draft["index"] = current_index(draft.get("index", {}), index_values)
    problems: dict[str, list[str]] = {}
    for rule in draft.get("rules", []):
        key = rule["key"]
        rule["name"] = _rule_value(values, ids.RULE_NAME, key, rule.get("name"))
        rule["enabled"] = bool(_rule_value(values, ids.RULE_ENABLED, key, rule.get("enabled")))
        rule["group"] = _known_group(_rule_value(values, ids.RULE_GROUP, key, rule.get("group")))
        for _parent, item in walk(rule):
            if is_group(item):
                item["group"] = _known_group(_row_value(values, ids.GROUP_KIND, key, item["key"],
                                                        item.get("group")))
                continue
            row_problems = _current_row(item, key, values, catalog)
            if row_problems:
                problems[item["key"]] = row_problems
    return draft, problems


def _known_group(kind: Any) -> str:
    return kind if kind in GROUPS else "all"


def current_index(stored: dict, index_values: dict[str, Any]) -> dict:
    """The index event from its widgets, keeping filters the page does not edit."""
    kind = index_values.get("kind") or stored.get("kind") or "first_checkpoint_inhibitor"
    index: dict[str, Any] = {"kind": kind}
    if kind in TREATMENT_KINDS:
        for extra in ("regimens", "drugs"):
            if stored.get(extra):
                index[extra] = stored[extra]
    if kind == "first_drug_class":
        index["drug_classes"] = index_values.get("drug_classes") or None
    if kind == "line_start":
        index["line"] = index_values.get("line")
    if kind == "diagnosis":
        index["cancer_types"] = index_values.get("cancer_types") or None
    index["date_from"] = (index_values.get("date_from") or "")[:10] or None
    index["date_to"] = (index_values.get("date_to") or "")[:10] or None
    grace = index_values.get("at_index_grace_days", stored.get("at_index_grace_days"))
    index["at_index_grace_days"] = grace if grace else None  # 0: the default, left out
    return {k: v for k, v in index.items() if v not in (None, [], "")}


def index_values_from(args: list) -> dict[str, Any]:
    """The INDEX_PROPS values (in that order) as the keys ``current_index`` reads."""
    kind, classes, line, cancers, date_from, date_to, grace = args
    return {"kind": kind, "drug_classes": classes, "line": line, "cancer_types": cancers,
            "date_from": date_from, "date_to": date_to, "at_index_grace_days": grace}
