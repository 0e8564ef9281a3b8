"""The builder's editable state ("draft") and its conversion to and from a cohort definition.

A draft is what the page shows: rules of one ``all`` / ``any`` / ``none of`` group over
criterion rows, each row a catalog field, an operator, a value, a time window and an
occurrence. It converts losslessly to the definition's JSON (so export -> import keeps the
hash). Rules whose criteria do not fit that shape (deeper nesting from an imported file) are
kept as they are (``raw``) and shown read-only. Checking is the importer's
(``queries.cohort.importing.import_definition``); its JSON paths are mapped back onto rows.
No Dash here: the page module does the widgets.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from components.i18n import N_, _
from queries.cohort.catalog import Catalog, CatalogField
from queries.cohort.importing import import_definition
from queries.cohort.model import SCHEMA_VERSION, Definition, Problem, node_kind

GROUPS = {"all": N_("all of"), "any": N_("any of"), "not": N_("none of")}
DEFAULT_NAME = N_("New cohort")  # translated where a cohort gets it


def new_key(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def empty_row() -> dict:
    return {"key": new_key("c"), "field": None, "op": None, "value": None, "window": None,
            "occurrence": None, "extra": []}


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
    group, leaves, shape = _flat_group(rule.get("criteria"))
    rows = [_row_draft(leaf, catalog) for leaf in leaves] if leaves is not None else None
    raw = None if rows is not None and all(r is not None for r in rows) else rule.get("criteria")
    return {"key": new_key("r"), "name": rule.get("name", ""), "enabled": rule.get("enabled", True),
            "group": group if raw is None else "all", "rows": rows if raw is None else [],
            "raw": raw, "shape": shape}


def _is_leaf(node: Any) -> bool:
    return node_kind(node) in ("attribute", "event")


def _flat_group(node: Any) -> tuple[str, list | None, str]:
    """(group, leaf criteria or None when nested deeper, JSON shape to write back)."""
    kind = node_kind(node)
    if _is_leaf(node):
        return "all", [node], "leaf"
    if kind in ("all", "any"):
        children = node[kind]
        return kind, (list(children) if all(map(_is_leaf, children)) else None), "group"
    if kind == "not":
        inner = node["not"]
        inner_kind = node_kind(inner)
        if _is_leaf(inner):
            return "not", [inner], "not-leaf"
        if inner_kind == "any" and all(map(_is_leaf, inner["any"])):
            return "not", list(inner["any"]), "group"
        if inner_kind == "all" and len(inner["all"]) == 1 and _is_leaf(inner["all"][0]):
            return "not", list(inner["all"]), "not-all"
    return "all", None, "group"


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
    other_problems: list[str] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.definition is not None

    def problem_count(self) -> int:
        return (sum(map(len, self.row_problems.values()))
                + sum(map(len, self.rule_problems.values())) + len(self.other_problems))


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


def _group_node(group: str, criteria: list[dict], shape: str = "group") -> tuple[dict, str]:
    """The group node and the JSON path (below ``criteria``) of its children list.

    A single criterion loaded without a group (``shape``) is written back the same way, so
    an imported definition keeps its hash.
    """
    if len(criteria) == 1 and (group, shape) == ("all", "leaf"):
        return criteria[0], ""
    if len(criteria) == 1 and (group, shape) == ("not", "not-leaf"):
        return {"not": criteria[0]}, "not"
    if len(criteria) == 1 and (group, shape) == ("not", "not-all"):
        return {"not": {"all": criteria}}, "not.all"
    if group == "any":
        return {"any": criteria}, "any"
    if group == "not":
        return {"not": {"any": criteria}}, "not.any"
    return {"all": criteria}, "all"


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
    if not rule.get("rows"):
        result.rule_problems.setdefault(rule["key"], []).append(_("add at least one criterion"))
    criteria = []
    group, shape, rows = rule.get("group", "all"), rule.get("shape", "group"), rule.get("rows", [])
    _node, child_path = _group_node(group, [{}] * len(rows), shape)
    for j, row in enumerate(rows):
        path = (f"inclusion_rules[{i}].criteria" if not child_path else
                f"inclusion_rules[{i}].criteria.{child_path}" +
                ("" if child_path == "not" else f"[{j}]"))
        paths[path] = ("row", row["key"])
        f = catalog.get(row.get("field") or "")
        if f is None or not row.get("op"):
            if row["key"] not in result.row_problems:
                text = _("choose a field") if f is None else _("choose an operator")
                result.row_problems[row["key"]] = [text]
            continue
        criteria.append(criterion_from_row(row, f))
    node, _rest = _group_node(group, criteria, shape)
    return {**base, "criteria": node}


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
