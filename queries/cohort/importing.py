"""Importing a cohort definition: parse, migrate older schema versions, check against the
field catalog, and report every problem with its JSON path and a hint.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ValidationError,
)

from queries.cohort.catalog import (
    Catalog,
    CatalogField,
    base_catalog,
    close_match,
    fixed_values,
)
from queries.cohort.model import (
    EVENT_TABLES,
    MAX_GROUP_DEPTH,
    MAX_JSON_DEPTH,
    NULL_OPS,
    SCHEMA_VERSION,
    UNIQUE_NAMES,
    Definition,
    DefinitionError,
    ImportResult,
    Problem,
    data_path,
    format_path,
    node_kind,
)

_HINTS = {
    "missing": "add it",
    "literal_error": None,
    "criterion_kind": None,
}


def pydantic_problems(data: Any, error: ValidationError) -> list[Problem]:
    """Every pydantic error as a Problem with a JSON path of the input document."""
    by_path: dict[str, list[Mapping[str, Any]]] = {}
    err: Mapping[str, Any]
    for err in error.errors(include_url=False):
        loc = tuple(err["loc"])
        path = data_path(data, loc, missing=err["type"] in ("missing", "extra_forbidden"))
        by_path.setdefault(path, []).append(err)
    problems = []
    for path, errors in by_path.items():
        for err in _most_specific(errors):
            hint = _HINTS.get(err["type"])
            if err["type"] == "extra_forbidden":
                hint = _key_hint(str(err["loc"][-1]))
            problems.append(Problem(path, _message(err), hint))
    return _dedupe(problems)


_TYPE_ERRORS = {"bool_type", "int_type", "float_type", "string_type", "list_type",
                "int_parsing", "float_parsing", "bool_parsing", "int_from_float", "date_type"}


def _most_specific(errors: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A union tries every member; report what matters, not one mismatch per member."""
    if len(errors) == 1:
        return errors
    specific = [e for e in errors if e["type"] not in _TYPE_ERRORS]
    if specific:
        return specific
    return [{"type": "value_type", "loc": errors[0]["loc"],
             "msg": "wrong type: expected text, a number, true/false or a list of them"}]


_KNOWN_KEYS = (
    "schema_version", "metadata", "index_event", "inclusion_rules", "export", "name",
    "description", "author", "created", "kind", "drug_classes", "regimens", "drugs", "line",
    "cancer_types", "date_from", "date_to", "enabled", "criteria", "field", "op", "value",
    "window", "table", "where", "occurrence", "all", "any", "not", "start_days", "end_days",
    "min", "max",
)


def _key_hint(key: str) -> str:
    close = difflib.get_close_matches(key, _KNOWN_KEYS, n=1, cutoff=0.7)
    return f'did you mean "{close[0]}"?' if close else "remove it"


def _message(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown key {str(loc[-1])[:80]!r}"
    if err["type"] == "missing":
        return f"missing required key {str(loc[-1])!r}"
    return str(err["msg"]).removeprefix("Value error, ")


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for problem in problems:
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out


def json_depth_problem(data: Any) -> Problem | None:
    """Reject absurdly nested documents before the recursive validators see them."""
    stack: list[tuple[Any, int, tuple[Any, ...]]] = [(data, 1, ())]
    while stack:
        node, depth, loc = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return Problem(format_path(loc), f"nested more than {MAX_JSON_DEPTH} levels deep",
                           "flatten the groups")
        if isinstance(node, dict):
            stack.extend((v, depth + 1, (*loc, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, depth + 1, (*loc, i)) for i, v in enumerate(node))
    return None


def parse_json_text(text: str | bytes) -> tuple[Any, list[Problem]]:
    try:
        return json.loads(text), []
    except RecursionError:
        return None, [Problem("", "the JSON document is nested too deeply")]
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [Problem("", f"not valid JSON: {exc}")]


def import_definition(source: Any, catalog: Any = None) -> ImportResult:
    """Validate (and migrate) a definition from JSON text or a dict, listing every problem.

    ``catalog`` is a :class:`queries.catalog.Catalog`; without one the snapshot-independent
    catalog is used. Field labels are accepted and replaced by their stable keys.
    """
    if isinstance(source, BaseModel):
        source = source.model_dump(mode="json")
    data, problems = (parse_json_text(source) if isinstance(source, str | bytes)
                      else (source, []))
    if problems:
        return ImportResult(None, problems)
    depth = json_depth_problem(data)
    if depth:
        return ImportResult(None, [depth])
    if not isinstance(data, dict):
        return ImportResult(None, [Problem("", "a cohort definition must be a JSON object")])
    data, migrated_from, problems = migrate(data)
    if problems:
        return ImportResult(None, problems, migrated_from)
    data, field_problems = check_definition_fields(data, catalog or base_catalog())
    try:
        definition: Definition | None = Definition.model_validate(data)
        problems = []
    except ValidationError as exc:
        definition, problems = None, pydantic_problems(data, exc)
    problems = _dedupe(_merge(problems, field_problems))
    problems += _hash_problems(definition, data)
    if any(p.severity == "error" for p in problems):
        definition = None
    return ImportResult(definition, problems, migrated_from)


def _merge(model: list[Problem], fields: list[Problem]) -> list[Problem]:
    """The catalog checker's message wins where both found a problem at the same place."""
    paths = {p.path for p in fields if p.severity == "error"}
    unique = any(UNIQUE_NAMES in p.message for p in fields)
    kept = [p for p in model if p.path not in paths and not (unique and UNIQUE_NAMES in p.message)]
    return kept + fields


def _hash_problems(definition: Definition | None, data: dict[str, Any]) -> list[Problem]:
    if definition is None or definition.export is None or not definition.export.content_hash:
        return []
    if definition.export.content_hash == definition.content_hash():
        return []
    return [Problem("export.content_hash", "the content changed since it was exported",
                    "the hash will be recomputed on the next export", "warning")]


# ------------------------------------------------------------------------ migration

_V0_OPS = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
           "between": "between", "in": "in", "not_in": "not_in", "prefix": "starts_with",
           "missing": "is_null", "present": "is_not_null"}


def migrate(data: dict[str, Any]) -> tuple[dict[str, Any], int | None, list[Problem]]:
    """Bring a definition to the current schema version; returns (data, migrated_from, problems).

    Version 0 (the prototype's format: flat metadata, ``index`` shorthand, ``rules`` with
    ``title``/``disabled``/``match``/``criteria`` and ``days_before``/``days_after`` windows)
    is converted; newer versions are refused.
    """
    version = data["schema_version"] if "schema_version" in data else data.get("version")
    if isinstance(version, bool):
        version = str(version).lower()  # true is not 1
    if version == SCHEMA_VERSION and "schema_version" in data:
        return data, None, []
    if version == 0:
        return _migrate_v0(data), 0, []
    if version is None:
        return data, None, [Problem("schema_version", "missing schema version",
                                    f'add "schema_version": {SCHEMA_VERSION}')]
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        return data, None, [Problem(
            "schema_version", f"schema version {version} is newer than this tool supports "
            f"({SCHEMA_VERSION})", "upgrade iocohort to import it")]
    return data, None, [Problem("schema_version", f"unknown schema version {version!r}",
                                f"supported versions: 0 (migrated) and {SCHEMA_VERSION}")]


def _migrate_v0(old: dict[str, Any]) -> dict[str, Any]:
    meta = {key: old[key] for key in ("name", "description", "author", "created") if key in old}
    rules = old.get("rules", [])
    return {
        "schema_version": SCHEMA_VERSION,
        "metadata": meta,
        "index_event": _v0_index(old.get("index", "first_io")),
        "inclusion_rules": [_v0_rule(r) for r in rules] if isinstance(rules, list) else rules,
    }


def _v0_index(index: Any) -> Any:
    if index == "first_io":
        return {"kind": "first_checkpoint_inhibitor"}
    if index == "diagnosis":
        return {"kind": "diagnosis"}
    if isinstance(index, dict) and "drug_class" in index:
        return {"kind": "first_drug_class", "drug_classes": [index["drug_class"]]}
    if isinstance(index, dict) and "line" in index:
        return {"kind": "line_start", "line": index["line"]}
    return index


def _v0_rule(rule: Any) -> Any:
    if not isinstance(rule, dict):
        return rule
    match = rule.get("match", "all")
    criteria = rule.get("criteria", [])
    items = [_v0_criterion(c) for c in criteria] if isinstance(criteria, list) else criteria
    return {"name": rule.get("title", rule.get("name")), "enabled": not rule.get("disabled", False),
            "criteria": {match if match in ("all", "any") else "all": items}}


def _v0_filter(crit: dict[str, Any]) -> dict[str, Any]:
    operator: Any = crit.get("operator")
    out = {"field": crit.get("field"), "op": _V0_OPS.get(operator, operator)}
    if "value" in crit:
        out["value"] = crit["value"]
    return out


def _v0_criterion(crit: Any) -> Any:
    if not isinstance(crit, dict):
        return crit
    if "table" not in crit:
        return _v0_filter(crit)
    before, after = crit.get("days_before"), crit.get("days_after")
    window = None
    if before is not None or after is not None:
        window = {"start_days": -before if isinstance(before, int) else before,
                  "end_days": after}
    filters = crit.get("filters", [])
    return {
        "table": crit["table"],
        "where": [_v0_filter(f) if isinstance(f, dict) else f for f in filters]
        if isinstance(filters, list) else filters,
        "window": window,
        "occurrence": {"max": 0} if crit.get("exclude") else {"min": 1},
    }


def load_definition(source: Any, catalog: Any = None) -> Definition:
    """Like :func:`import_definition` but raises :class:`DefinitionError` on errors."""
    result = import_definition(source, catalog)
    if result.definition is None:
        raise DefinitionError(result.errors or result.problems)
    return result.definition


# The name other modules may reach for.
parse_definition = load_definition




@dataclass
class _Checker:
    """Walks a raw (dict) definition, resolving field names and collecting problems."""

    catalog: Catalog
    problems: list[Problem] = field(default_factory=list)

    def add(self, loc: tuple[Any, ...], message: str, hint: str | None = None,
            severity: Literal["error", "warning"] = "error") -> None:
        self.problems.append(Problem(format_path(loc), message, hint, severity))

    def node(self, node: Any, loc: tuple[Any, ...], depth: int) -> None:
        if depth > MAX_GROUP_DEPTH:
            self.add(loc, f"groups nested more than {MAX_GROUP_DEPTH} levels deep",
                     "flatten the groups")
            return
        kind = node_kind(node)
        if kind in ("all", "any"):
            children = node[kind]
            if isinstance(children, list):
                for i, child in enumerate(children):
                    self.node(child, (*loc, kind, i), depth + 1)
        elif kind == "not":
            self.node(node["not"], (*loc, "not"), depth + 1)
        elif kind == "attribute":
            self.filter(node, loc, "attribute")
        elif kind == "event":
            self.event(node, loc)

    def event(self, node: dict[str, Any], loc: tuple[Any, ...]) -> None:
        table = node.get("table")
        if table not in EVENT_TABLES:
            close = difflib.get_close_matches(str(table), EVENT_TABLES, n=1)
            self.add((*loc, "table"), f"unknown table {str(table)[:80]!r}",
                     f'did you mean "{close[0]}"?' if close else
                     "use one of: " + ", ".join(EVENT_TABLES))
            return
        where = node.get("where") or []
        if isinstance(where, list):
            for i, item in enumerate(where):
                if isinstance(item, dict):
                    self.filter(item, (*loc, "where", i), table)

    def filter(self, item: dict[str, Any], loc: tuple[Any, ...], context: str) -> None:
        name = item.get("field")
        if not isinstance(name, str):
            return  # the model reports the type
        found = self.catalog.resolve(name, context, item.get("value"))
        if found is None:
            self.unknown_field(name, (*loc, "field"), context)
            return
        if found.key != name:
            item["field"] = found.key
        if found.biomarker and found.key not in self.catalog.fields:
            hint = self.catalog.suggest(found.biomarker, "biomarkers")
            self.add((*loc, "field"), f'no biomarker "{found.biomarker[:80]}" in the catalog',
                     f'did you mean "{hint}"?' if hint else "it will match nothing", "warning")
        self.operator(found, item, loc)
        if "window" in item and item["window"] is not None and not found.allows_window:
            self.add((*loc, "window"), f'"{found.label}" has no time window',
                     "use an event criterion to place it in time")

    def unknown_field(self, name: str, loc: tuple[Any, ...], context: str) -> None:
        label = self.catalog.suggest(name, context)
        hint = f'did you mean "{label}"?' if label else None
        if hint is None and context == "attribute":
            hint = self._event_hint(name)
        self.add(loc, f'unknown field "{name[:80]}"', hint)

    def _event_hint(self, name: str) -> str | None:
        for table in EVENT_TABLES:
            found = self.catalog.resolve(name, table)
            label = found.label if found else self.catalog.suggest(name, table)
            if label:
                return (f'did you mean "{label}"? It is a field of {table}: use it in an event '
                        f'criterion {{"table": "{table}", "where": [...]}}')
        return None

    def operator(self, f: CatalogField, item: dict[str, Any], loc: tuple[Any, ...]) -> None:
        op = item.get("op")
        if not isinstance(op, str):
            return
        if op not in f.operators:
            self.add((*loc, "op"), f'operator "{op[:20]}" does not apply to "{f.label}"',
                     "use one of: " + ", ".join(f.operators))
            return
        if op in NULL_OPS or "value" not in item:
            return
        self.values(f, item["value"], op, (*loc, "value"))

    def values(self, f: CatalogField, value: Any, op: str, loc: tuple[Any, ...]) -> None:
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            where = (*loc, i) if isinstance(value, list) else loc
            problem = _value_type_problem(f, item, op)
            if problem:
                self.add(where, problem)
            elif f.type in ("categorical",) and f.values and item not in f.value_set():
                self.out_of_domain(f, item, where)
        if op == "between" and len(items) == 2 and not any(
                _value_type_problem(f, v, op) for v in items):
            if _comparable(f, items[0]) > _comparable(f, items[1]):
                self.add(loc, "the low end of 'between' is above the high end")

    def index_event(self, event: Any) -> None:
        if not isinstance(event, dict):
            return
        checks = (("drug_classes", "treatments.drug_class"), ("regimens", "treatments.regimen"),
                  ("drugs", "treatments.drug"), ("cancer_types", "diagnoses.cancer_type"))
        for key, field_key in checks:
            values = event.get(key)
            f = self.catalog.fields.get(field_key)
            if isinstance(values, list) and f is not None and f.values:
                for i, value in enumerate(values):
                    if isinstance(value, str) and value not in f.value_set():
                        self.out_of_domain(f, value, ("index_event", key, i))

    def out_of_domain(self, f: CatalogField, value: Any, loc: tuple[Any, ...]) -> None:
        """A value the field does not have. An error when the field's values are fixed by the
        schema (sex, stage, RECIST response, ...) or when only its case differs ("Positive" for
        "positive": it would silently match nothing); otherwise a warning, since a value of
        another snapshot (a site, a regimen) may be absent from this one."""
        domain = fixed_values(f)
        options = [str(v) for v in domain] if domain else [str(v) for v, _count in f.values]
        close = close_match(str(value), options)
        case_only = any(str(value).casefold() == option.casefold() for option in options)
        if domain is not None and value in domain:
            self.add(loc, f'no {f.label} "{str(value)[:80]}" in this snapshot',
                     "it is valid but matches no patient here", "warning")
            return
        if case_only or domain is not None:
            hint = f'did you mean "{close}"?' if close else \
                "use one of: " + ", ".join(options[:20])
            self.add(loc, f'"{str(value)[:80]}" is not a value of {f.label}', hint)
            return
        self.add(loc, f'no {f.label} "{str(value)[:80]}" in the catalog',
                 f'did you mean "{close}"?' if close else "it is matched literally", "warning")


def _value_type_problem(f: CatalogField, value: Any, op: str) -> str | None:
    if f.type == "numeric":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok:
            return f'"{f.label}" is numeric; {_short(value)} is not a number'
        return _domain_problem(f, value)
    if f.type == "boolean":
        return None if isinstance(value, bool) else f'"{f.label}" needs true or false'
    if f.type == "date":
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return f'"{f.label}" needs a date like "2024-01-31", not {_short(value)}'
        return None
    return None if isinstance(value, str) else f'"{f.label}" needs text, not {_short(value)}'


def _domain_problem(f: CatalogField, value: int | float) -> str | None:
    low, high = f.domain
    if low <= value <= high:
        return None
    unit = f" {f.unit}" if f.unit and f.unit != "%" else (f.unit or "")
    return (f'"{f.label}" must be between {_number(low)} and {_number(high)}{unit}, '
            f"not {_short(value)}")


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def _comparable(f: CatalogField, value: Any) -> Any:
    return date.fromisoformat(value) if f.type == "date" else value


def _short(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        # repr of a huge integer is slow, and refused beyond 4,300 digits
        return f"a number of about 10^{value.bit_length() * 30103 // 100000}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_definition_fields(data: dict[str, Any], catalog: Catalog) -> tuple[dict[str, Any], list[Problem]]:
    """Resolve labels to keys and check fields, operators and values against the catalog.

    Works on the raw document so that every problem is found even where the model would
    stop early. Returns a normalized copy and the problems.
    """
    data = copy.deepcopy(data)
    checker = _Checker(catalog)
    checker.index_event(data.get("index_event"))
    rules = data.get("inclusion_rules")
    if isinstance(rules, list):
        names: set[Any] = set()
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict):
                continue
            if "criteria" in rule:
                checker.node(rule["criteria"], ("inclusion_rules", i, "criteria"), 1)
            name = rule.get("name")
            if isinstance(name, str) and name.strip() in names:
                checker.add(("inclusion_rules", i, "name"),
                            f"{UNIQUE_NAMES}; \"{name[:80]}\" is used by an earlier rule",
                            "rename one of them")
            if isinstance(name, str):  # the model reports a name that is not text
                names.add(name.strip())
    return data, checker.problems
