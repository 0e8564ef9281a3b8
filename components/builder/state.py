"""The builder's editable state ("draft") and its conversion to and from a cohort definition.

A draft is what the page shows: rules, each an ``all`` / ``any`` / ``none of`` group whose
``rows`` are criterion rows (a catalog field, an operator, a value, a time window and an
occurrence) and sub-groups (``{"key", "group", "rows", "shape"}``, nested to the importer's
``MAX_GROUP_DEPTH``). It converts losslessly to the definition's JSON (so export -> import
keeps the hash): ``shape`` remembers how a group was written. A rule with a criterion no row
can show (an event with no filter) is kept as it is (``raw``) and shown read-only. Checking
is the importer's (``queries.cohort.importing.import_definition``); its JSON paths are mapped
back onto rows and groups. No Dash here: the page module does the widgets.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from components.i18n import N_, _
from queries.cohort.catalog import Catalog, CatalogField
from queries.cohort.importing import import_definition
from queries.cohort.model import (
    MAX_GROUP_DEPTH,
    SCHEMA_VERSION,
    Definition,
    Problem,
    node_kind,
)

GROUPS = {"all": N_("all of"), "any": N_("any of"), "not": N_("none of")}
DEFAULT_NAME = N_("New cohort")  # translated where a cohort gets it


def new_key(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def empty_row() -> dict:
    return {"key": new_key("c"), "field": None, "op": None, "value": None, "window": None,
            "occurrence": None, "extra": []}


def empty_group(kind: str = "all") -> dict:
    """A new sub-group with one empty criterion row."""
    return {"key": new_key("g"), "group": kind, "rows": [empty_row()], "shape": "group"}


def empty_rule(existing_names: list[str]) -> dict:
    number = len(existing_names) + 1
    while _("Rule {n}", n=number) in existing_names:
        number += 1
    return {"key": new_key("r"), "name": _("Rule {n}", n=number), "enabled": True, "group": "all",
            "rows": [empty_row()], "raw": None}


def new_draft(author: str = "") -> dict:
    """The draft of a new cohort: first checkpoint inhibitor as index, no rules."""
    return {"metadata": {"name": _(DEFAULT_NAME), "description": "", "author": author,
                         "created": None},
            "index": {"kind": "first_checkpoint_inhibitor"},
            "rules": []}


# ------------------------------------------------------------------ definition -> draft

def draft_from_definition(data: dict, catalog: Catalog) -> dict:
    """The draft showing a (valid) definition dict."""
    meta = dict(data.get("metadata") or {})
    return {
        "metadata": {"name": meta.get("name") or _(DEFAULT_NAME),
                     "description": meta.get("description", ""),
                     "author": meta.get("author", ""), "created": meta.get("created")},
        "index": {k: v for k, v in (data.get("index_event") or {}).items() if v is not None},
        "rules": [_rule_draft(rule, catalog) for rule in data.get("inclusion_rules") or []],
    }


def _rule_draft(rule: dict, catalog: Catalog) -> dict:
    base = {"key": new_key("r"), "name": rule.get("name", ""),
            "enabled": rule.get("enabled", True)}
    try:
        group, items, shape = _group_parts(rule.get("criteria"), catalog)
    except _Undrawable:
        return {**base, "group": "all", "rows": [], "raw": rule.get("criteria"), "shape": "group"}
    return {**base, "group": group, "rows": items, "raw": None, "shape": shape}


class _Undrawable(ValueError):
    """A criterion that no row can show (kept raw)."""


def _is_leaf(node: Any) -> bool:
    return node_kind(node) in ("attribute", "event")


def is_group(item: dict) -> bool:
    """A sub-group of a rule's rows (criterion rows have no ``group``)."""
    return "group" in item


def _group_parts(node: Any, catalog: Catalog) -> tuple[str, list[dict], str]:
    """(group kind, items, JSON shape to write back) of a criteria node.

    ``{"not": {"any": [...]}}`` is "none of"; any other ``not`` holds one item, written back
    as it came (``not-one``: ``{"not": x}``, ``not-all``: ``{"not": {"all": [x]}}``).
    """
    kind = node_kind(node)
    if _is_leaf(node):  # a rule of one criterion, without a group
        return "all", [_item(node, catalog)], "leaf"
    if kind in ("all", "any"):
        return kind, [_item(child, catalog) for child in node[kind]], "group"
    if kind == "not":
        inner = node["not"]
        inner_kind = node_kind(inner)
        if inner_kind == "any":
            return "not", [_item(child, catalog) for child in inner["any"]], "group"
        if inner_kind == "all" and len(inner["all"]) == 1:
            return "not", [_item(inner["all"][0], catalog)], "not-all"
        return "not", [_item(inner, catalog)], "not-one"
    raise _Undrawable(kind)


def _item(node: Any, catalog: Catalog) -> dict:
    """A criterion row, or a sub-group with its own items."""
    if _is_leaf(node):
        row = _row_draft(node, catalog)
        if row is None:
            raise _Undrawable  # an event with no filter
        return row
    group, items, shape = _group_parts(node, catalog)
    return {"key": new_key("g"), "group": group, "rows": items, "shape": shape}


def walk(node: dict) -> Iterator[tuple[dict, dict]]:
    """Every (group, item) below a rule or sub-group, depth first in page order."""
    for item in node.get("rows") or []:
        yield node, item
        if is_group(item):
            yield from walk(item)


def find_group(rule: dict, key: str) -> dict | None:
    """The rule itself (``key`` is the rule's) or its sub-group with ``key``."""
    if rule.get("key") == key:
        return rule
    return next((item for _parent, item in walk(rule)
                 if is_group(item) and item.get("key") == key), None)


def well_formed(draft: Any) -> bool:
    """Has a draft sent back by the browser the shape the builder reads (any request may carry
    anything)? Rules and items are dicts with text keys; groups nest to the importer's limit."""
    def items_ok(node: dict, depth: int) -> bool:
        rows = node.get("rows", [])
        return depth <= MAX_GROUP_DEPTH and isinstance(rows, list) and all(
            isinstance(item, dict) and isinstance(item.get("key"), str)
            and (not is_group(item) or items_ok(item, depth + 1)) for item in rows)

    rules = draft.get("rules", []) if isinstance(draft, dict) else None
    return isinstance(rules, list) and all(
        isinstance(rule, dict) and isinstance(rule.get("key"), str) and items_ok(rule, 1)
        for rule in rules)


def children_depth(group: str, depth: int) -> int:
    """JSON depth (the importer's, the rule's criteria being 1) of the items of a group at
    ``depth`` once it holds two or more: "none of" is written as two levels (not, any)."""
    return depth + (2 if group == "not" else 1)


def can_nest(group: str, depth: int) -> bool:
    """May a group at ``depth`` take a sub-group (of one criterion) within the importer's
    ``MAX_GROUP_DEPTH``?"""
    return children_depth(group, depth) + 1 <= MAX_GROUP_DEPTH


def nestable(draft: dict, kinds: dict[str, str]) -> dict[str, bool]:
    """May each rule and sub-group (by key) take a sub-group, with the kinds the page shows
    (``kinds``: key -> all / any / not; the draft's own kind where not given)? A kind changes
    the depth of everything inside it, so one change can enable or disable many buttons."""
    out: dict[str, bool] = {}

    def visit(node: dict, depth: int) -> None:
        kind = kinds.get(node["key"], node.get("group", "all"))
        kind = kind if isinstance(kind, str) and kind in GROUPS else "all"
        out[node["key"]] = can_nest(kind, depth)
        inner = children_depth(kind, depth)
        for item in node.get("rows") or []:
            if is_group(item):
                visit(item, inner)

    for rule in draft.get("rules", []):
        if rule.get("raw") is None:
            visit(rule, 1)
    return out


def _row_draft(leaf: dict, catalog: Catalog) -> dict | None:
    row = empty_row()
    if node_kind(leaf) == "attribute":
        row.update(field=leaf["field"], op=leaf["op"], value=leaf.get("value"),
                   window=_window_list(leaf.get("window")))
        return row
    where = list(leaf.get("where") or [])
    if not where:
        return None  # "any row of the table": not expressible as a field row; kept raw
    primary = _primary_filter(where, catalog)
    rest = [w for i, w in enumerate(where) if i != primary]
    chosen = where[primary]
    row.update(field=chosen["field"], op=chosen["op"], value=chosen.get("value"),
               window=_window_list(leaf.get("window")),
               occurrence=_occurrence(leaf.get("occurrence")), extra=rest)
    return row


def _primary_filter(where: list[dict], catalog: Catalog) -> int:
    """The filter shown as the row's field: a biomarker or PRO scale if any, else the first."""
    for i, item in enumerate(where):
        f = catalog.get(item.get("field", ""))
        if f is not None and f.measure:
            return i
    return 0


def _window_list(window: Any) -> list | None:
    if not isinstance(window, dict):
        return None
    return [window.get("start_days"), window.get("end_days")]


def _occurrence(occurrence: Any) -> dict | None:
    if not isinstance(occurrence, dict):
        return None
    return {"min": occurrence.get("min"), "max": occurrence.get("max")}


# ------------------------------------------------------------------ draft -> definition

@dataclass
class BuildResult:
    """A definition built from a draft, or the problems that stop it, located on the page."""

    definition: Definition | None
    row_problems: dict[str, list[str]] = field(default_factory=dict)
    rule_problems: dict[str, list[str]] = field(default_factory=dict)
    group_problems: dict[str, list[str]] = field(default_factory=dict)
    other_problems: list[str] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.definition is not None

    def problem_count(self) -> int:
        return (sum(map(len, self.row_problems.values()))
                + sum(map(len, self.rule_problems.values()))
                + sum(map(len, self.group_problems.values())) + len(self.other_problems))


def criterion_from_row(row: dict, f: CatalogField) -> dict:
    """The definition criterion of a complete row."""
    window = row.get("window")
    window_json = None if window is None else {"start_days": window[0], "end_days": window[1]}
    if f.kind == "attribute":
        crit = {"field": f.key, "op": row["op"], "value": row.get("value")}
        if window is not None and f.allows_window:
            crit["window"] = window_json
        return crit
    where = [{"field": f.key, "op": row["op"], "value": row.get("value")}, *row.get("extra", [])]
    return {"table": f.table, "where": where, "window": window_json,
            "occurrence": row.get("occurrence") or {"min": 1, "max": None}}


def _layout(group: str, shape: str, items: list[dict]) -> str:
    """Where a group's items sit below its JSON node ("", ".not", ".not.all", ".not.any",
    ".any" or ".all"). A group keeps the shape it was loaded with while that still fits, so an
    imported definition keeps its hash."""
    if len(items) == 1:
        if (group, shape) == ("all", "leaf") and not is_group(items[0]):
            return ""
        if (group, shape) == ("not", "not-one"):
            return ".not"
        if (group, shape) == ("not", "not-all"):
            return ".not.all"
    return {"not": ".not.any", "any": ".any"}.get(group, ".all")


def _wrap(where: str, children: list[dict]) -> dict:
    """The group node whose items sit at ``where`` (see ``_layout``)."""
    if where == "":
        return children[0]
    if where == ".not":
        return {"not": children[0]}
    if where in (".not.all", ".not.any"):
        return {"not": {where[5:]: children}}
    return {where[1:]: children}


def _group_json(node: dict, path: str, catalog: Catalog, result: BuildResult,
                paths: dict[str, tuple[str, str]], own: dict[str, list[str]]) -> dict:
    """The criteria node of a rule or sub-group at JSON ``path``; problems go to ``result``
    (the group's own to ``own``: its rule's or its group's)."""
    items = node.get("rows") or []
    where = _layout(node.get("group", "all"), node.get("shape", "group"), items)
    if not items:
        own.setdefault(node["key"], []).append(_("add at least one criterion"))
    children = []
    for j, item in enumerate(items):
        child_path = path + where + ("" if where in ("", ".not") else f"[{j}]")
        if is_group(item):
            paths[child_path] = ("group", item["key"])
            children.append(_group_json(item, child_path, catalog, result, paths,
                                        result.group_problems))
            continue
        paths[child_path] = ("row", item["key"])
        f = catalog.get(item.get("field") or "")
        if f is None or not item.get("op"):
            if item["key"] not in result.row_problems:
                text = _("choose a field") if f is None else _("choose an operator")
                result.row_problems[item["key"]] = [text]
            continue
        children.append(criterion_from_row(item, f))
    # With problems the importer is not asked, so an incomplete group's node is a placeholder.
    return _wrap(where, children) if len(children) == len(items) and items else {"all": []}


def definition_from_draft(draft: dict, catalog: Catalog,
                          row_problems: dict[str, list[str]] | None = None) -> BuildResult:
    """Build and check the definition; ``row_problems`` are the widgets' own (empty value...)."""
    result = BuildResult(None, {k: list(v) for k, v in (row_problems or {}).items() if v})
    rules, paths = [], {}
    for i, rule in enumerate(draft.get("rules", [])):
        paths[f"inclusion_rules[{i}]"] = ("rule", rule["key"])
        rules.append(_rule_json(rule, i, catalog, result, paths))
    data = {"schema_version": SCHEMA_VERSION, "metadata": _metadata(draft.get("metadata", {})),
            "index_event": _index_json(draft.get("index", {})), "inclusion_rules": rules}
    if result.problem_count():
        return result
    imported = import_definition(data, catalog)
    _place(imported.problems, paths, result)
    if imported.definition is not None and not result.problem_count():
        result.definition = imported.definition
    return result


def _rule_json(rule: dict, i: int, catalog: Catalog, result: BuildResult,
               paths: dict[str, tuple[str, str]]) -> dict:
    base = {"name": rule.get("name") or "", "enabled": bool(rule.get("enabled", True))}
    if rule.get("raw") is not None:
        return {**base, "criteria": rule["raw"]}
    return {**base, "criteria": _group_json(rule, f"inclusion_rules[{i}].criteria", catalog,
                                            result, paths, result.rule_problems)}


def _metadata(meta: dict) -> dict:
    out = {"name": (meta.get("name") or "").strip() or _(DEFAULT_NAME),
           "description": meta.get("description") or "", "author": meta.get("author") or ""}
    if meta.get("created"):
        out["created"] = meta["created"]
    return out


def _index_json(index: dict) -> dict:
    return {k: v for k, v in index.items() if v not in (None, "", [])}


def _place(problems: list[Problem], paths: dict[str, tuple[str, str]],
           result: BuildResult) -> None:
    """Put each importer problem on the row or rule its JSON path points into."""
    prefixes = sorted(paths, key=len, reverse=True)
    for problem in problems:
        text = problem.message + (f" ({problem.hint})" if problem.hint else "")
        target = next((paths[p] for p in prefixes if _under(problem.path, p)), None)
        if problem.severity == "warning":
            key = target[1] if target else ""
            result.warnings.setdefault(key, []).append(text)
        elif target is None:
            result.other_problems.append(f"{problem.path or 'definition'}: {text}")
        elif target[0] == "row":
            result.row_problems.setdefault(target[1], []).append(text)
        elif target[0] == "group":
            result.group_problems.setdefault(target[1], []).append(text)
        else:
            result.rule_problems.setdefault(target[1], []).append(text)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


# ------------------------------------------------------------------------- share links

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,200000}$")


def share_token(definition: Definition) -> str:
    """base64url (no padding) of the canonical JSON: the whole state, in the URL."""
    raw = definition.canonical_json().encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def read_share_token(token: str) -> tuple[Any, str | None]:
    """The JSON data of a share token, or a problem."""
    if not _TOKEN.match(token or ""):
        return None, _("the link's cohort is not valid base64url")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return json.loads(raw.decode("utf-8")), None
    except RecursionError:
        return None, _("the link's cohort is nested too deeply")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None, _("the link's cohort could not be read")
