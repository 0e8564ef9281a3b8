"""The cohort definition: a versioned JSON document, typed with pydantic.

A definition holds an index event (time zero), ordered named inclusion rules (each a tree of
``all`` / ``any`` / ``not`` groups over attribute and event criteria) and metadata. The model
only checks structure; whether a field exists in the snapshot is checked against the field
catalog in :mod:`queries.validation` style by :func:`import_definition`, which also migrates
older schema versions and reports every problem with its JSON path and a hint.

Plain dicts in and out, so a UI can edit it: ``Definition.model_validate(d)`` and
``definition.model_dump(mode="json")``. The format (schema version 1)::

    {"schema_version": 1,
     "metadata": {"name": "...", "description": "", "author": "", "created": "2026-11-23"},
     "index_event": {"kind": "first_checkpoint_inhibitor",      # or first_drug_class
                     "drug_classes": null, "regimens": null,    #    (with these filters),
                     "drugs": null, "line": null,               #    line_start (line N),
                     "cancer_types": null,                      #    diagnosis
                     "date_from": "2018-01-01", "date_to": null},
     "inclusion_rules": [
       {"name": "Adults", "enabled": true,
        "criteria": {"field": "age_at_index", "op": "between", "value": [18, 80]}},
       {"name": "PD-L1 TPS >= 50 %", "enabled": true,
        "criteria": {"all": [
          {"table": "biomarkers",
           "where": [{"field": "biomarker:PD-L1 TPS", "op": ">=", "value": 50}],
           "window": {"start_days": -90, "end_days": 0},     # null: any time
           "occurrence": {"min": 1}},                         # {"max": 0}: none
          {"not": {"field": "ecog", "op": ">=", "value": 2}}]}}]}

Fields are catalog keys (:mod:`queries.catalog`); operators are ``= != < <= > >= between
in not_in starts_with is_null is_not_null``. Exported files add an ``export`` block (snapshot
id, content hash, time) that the content hash does not cover.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 1
MAX_STRING = 500
MAX_LIST = 1000
MAX_RULES = 50
MAX_GROUP_DEPTH = 8
MAX_JSON_DEPTH = 40
MAX_DAYS = 36_500
UNIQUE_NAMES = "rule names must be unique"

EVENT_TABLES = (
    "diagnoses",
    "biomarkers",
    "treatments",
    "performance_status",
    "tumor_assessments",
    "adverse_events",
)
INDEX_KINDS = ("first_checkpoint_inhibitor", "first_drug_class", "line_start", "diagnosis")

Op = Literal[
    "=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in", "starts_with", "is_null",
    "is_not_null",
]
NULL_OPS = ("is_null", "is_not_null")
LIST_OPS = ("in", "not_in")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=4000)]
ShortStr = Annotated[str, StringConstraints(max_length=MAX_STRING)]
FieldKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
FiniteFloat = Annotated[float, Strict(), AllowInfNan(False)]
Scalar = StrictBool | StrictInt | FiniteFloat | ShortStr
Value = Scalar | Annotated[list[Scalar], Field(max_length=MAX_LIST)]
Days = Annotated[int, Field(ge=-MAX_DAYS, le=MAX_DAYS)]
StrList = Annotated[list[ShortStr], Field(min_length=1, max_length=MAX_LIST)]

_STRICT = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


def _normalize_number(value: Any) -> Any:
    """50.0 and 50 mean the same; keep one spelling so the canonical hash is stable."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, list):
        return [_normalize_number(item) for item in value]
    return value


class Window(BaseModel):
    """Days relative to the index date, both ends inclusive; ``None`` leaves an end open."""

    model_config = _STRICT
    start_days: Days | None = None
    end_days: Days | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start_days is not None and self.end_days is not None:
            if self.start_days > self.end_days:
                raise ValueError("start_days must not be after end_days")
        return self


class Occurrence(BaseModel):
    """How many matching rows: at least ``min`` and at most ``max`` (``{"max": 0}``: none)."""

    model_config = _STRICT
    min: Annotated[int, Field(ge=0, le=10_000)] | None = None
    max: Annotated[int, Field(ge=0, le=10_000)] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Occurrence:
        if self.min is None:
            # "at most N" alone means 0..N; nothing given means "at least one".
            self.min = 0 if self.max is not None else 1
        if self.max is not None and self.min > self.max:
            raise ValueError("min must not be greater than max")
        return self


class Filter(BaseModel):
    """One comparison of a catalog field with a value."""

    model_config = _STRICT
    field: FieldKey
    op: Op
    value: Value | None = None

    @field_validator("value", mode="after")
    @classmethod
    def _norm(cls, value: Any) -> Any:
        return _normalize_number(value)

    @model_validator(mode="after")
    def _value_shape(self) -> Filter:
        problem = value_shape_problem(self.op, self.value)
        if problem:
            raise ValueError(problem)
        return self


def value_shape_problem(op: str, value: Any) -> str | None:
    """What is wrong with the value's shape for this operator, if anything."""
    if op in NULL_OPS:
        return None if value is None else f"operator {op!r} takes no value"
    if value is None:
        return f"operator {op!r} needs a value"
    if op in LIST_OPS:
        return None if isinstance(value, list) and value else f"operator {op!r} needs a non-empty list"
    if op == "between":
        if not (isinstance(value, list) and len(value) == 2):
            return "operator 'between' needs a list of two values [low, high]"
        return None
    if op == "starts_with":
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(v, str) and v for v in items):
            return "operator 'starts_with' needs a non-empty text prefix or a list of them"
        return None
    return f"operator {op!r} needs a single value, not a list" if isinstance(value, list) else None


class AttributeCriterion(Filter):
    """A patient attribute at the index date, e.g. ``age_at_index between [18, 80]``.

    ``window`` applies to time-varying attributes (ECOG: the latest assessment in the window).
    """

    window: Window | None = None


class EventCriterion(BaseModel):
    """Rows of an event table matching ``where`` within ``window`` (``None``: any time)."""

    model_config = _STRICT
    table: Literal[EVENT_TABLES]  # type: ignore[valid-type]
    where: Annotated[list[Filter], Field(max_length=50)] = []
    window: Window | None = None
    occurrence: Occurrence = Field(default_factory=Occurrence)


class AllGroup(BaseModel):
    model_config = _STRICT
    all: Annotated[list[Node], Field(min_length=1, max_length=200)]


class AnyGroup(BaseModel):
    model_config = _STRICT
    any: Annotated[list[Node], Field(min_length=1, max_length=200)]


class NotGroup(BaseModel):
    model_config = _STRICT
    not_: Node = Field(alias="not")


def node_kind(value: Any) -> str | None:
    """Which kind of node a dict (or model) is, from its distinguishing key."""
    if isinstance(value, BaseModel):
        return {
            AllGroup: "all", AnyGroup: "any", NotGroup: "not",
            EventCriterion: "event", AttributeCriterion: "attribute",
        }.get(type(value))
    if not isinstance(value, dict):
        return None
    for key, kind in (("all", "all"), ("any", "any"), ("not", "not"), ("table", "event"),
                      ("field", "attribute")):
        if key in value:
            return kind
    return None


Node = Annotated[
    Annotated[AllGroup, Tag("all")]
    | Annotated[AnyGroup, Tag("any")]
    | Annotated[NotGroup, Tag("not")]
    | Annotated[EventCriterion, Tag("event")]
    | Annotated[AttributeCriterion, Tag("attribute")],
    Discriminator(
        node_kind,
        custom_error_type="criterion_kind",
        custom_error_message=(
            "not a criterion: expected an object with 'field' (attribute), 'table' (event), "
            "or a group 'all', 'any' or 'not'"
        ),
    ),
]


class InclusionRule(BaseModel):
    """A named rule; switched off rules stay in the definition but are skipped."""

    model_config = _STRICT
    name: Name
    enabled: bool = True
    criteria: Node


class IndexEvent(BaseModel):
    """Time zero. Treatment kinds take the first matching treatment start per patient."""

    model_config = _STRICT
    kind: Literal[INDEX_KINDS] = "first_checkpoint_inhibitor"  # type: ignore[valid-type]
    drug_classes: StrList | None = None
    regimens: StrList | None = None
    drugs: StrList | None = None
    line: Annotated[int, Field(ge=1, le=50)] | None = None
    cancer_types: StrList | None = None
    date_from: date | None = None
    date_to: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> IndexEvent:
        problem = _index_problem(self)
        if problem:
            raise ValueError(problem)
        return self


def _index_problem(ev: IndexEvent) -> str | None:
    treatment_filters = ev.drug_classes or ev.regimens or ev.drugs
    if ev.kind == "first_drug_class" and not treatment_filters:
        return "kind 'first_drug_class' needs drug_classes, regimens or drugs"
    if ev.kind == "first_checkpoint_inhibitor" and ev.drug_classes:
        return "kind 'first_checkpoint_inhibitor' fixes the drug classes; use 'first_drug_class'"
    if ev.kind == "diagnosis" and treatment_filters:
        return "kind 'diagnosis' takes cancer_types, not treatment filters"
    if ev.kind != "diagnosis" and ev.cancer_types:
        return "cancer_types applies only to kind 'diagnosis'"
    if (ev.kind == "line_start") != (ev.line is not None):
        return "line is required for kind 'line_start' and only allowed there"
    if ev.date_from and ev.date_to and ev.date_from > ev.date_to:
        return "date_from must not be after date_to"
    return None


class Metadata(BaseModel):
    model_config = _STRICT
    name: Name
    description: Text = ""
    author: Annotated[str, StringConstraints(max_length=200)] = ""
    created: date | None = None


class ExportInfo(BaseModel):
    """Written on export; not part of the content hash."""

    model_config = ConfigDict(extra="allow")
    snapshot_id: ShortStr | None = None
    content_hash: ShortStr | None = None
    exported_at: ShortStr | None = None


class Definition(BaseModel):
    """A cohort definition (schema version 1)."""

    model_config = _STRICT
    schema_version: Literal[1] = 1
    metadata: Metadata
    index_event: IndexEvent = Field(default_factory=IndexEvent)
    inclusion_rules: Annotated[list[InclusionRule], Field(max_length=MAX_RULES)] = []
    export: ExportInfo | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> Definition:
        seen: set[str] = set()
        for rule in self.inclusion_rules:
            if rule.name in seen:
                raise ValueError(f"{UNIQUE_NAMES}; {rule.name!r} appears twice")
            seen.add(rule.name)
        return self

    def content(self) -> dict:
        """The definition without export metadata: what the content hash covers."""
        return self.model_dump(mode="json", exclude={"export"})

    def canonical_json(self) -> str:
        return canonical_json(self.content())

    def content_hash(self) -> str:
        """sha256 of the canonical JSON (stable under key order, whitespace and export info)."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def logic_hash(self) -> str:
        """Hash of what decides the cohort (index event and enabled rules' criteria)."""
        content = self.content()
        payload = {
            "index_event": content["index_event"],
            "rules": [r["criteria"] for r in content["inclusion_rules"] if r["enabled"]],
        }
        return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()

    def attrition_hash(self) -> str:
        """Hash of what decides the attrition counts (order and on/off of every rule)."""
        content = self.content()
        payload = {
            "index_event": content["index_event"],
            "rules": [[r["criteria"], r["enabled"]] for r in content["inclusion_rules"]],
        }
        return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()

    def index_hash(self) -> str:
        """Hash of the index event alone (its population is shared by every rule set)."""
        return hashlib.sha256(canonical_json(self.content()["index_event"]).encode("utf-8")
                              ).hexdigest()

    def enabled_rules(self) -> list[InclusionRule]:
        return [rule for rule in self.inclusion_rules if rule.enabled]


for _model in (AllGroup, AnyGroup, NotGroup, InclusionRule, Definition):
    _model.model_rebuild()


def canonical_json(data: Any) -> str:
    """Stable text: sorted keys, no insignificant whitespace, UTF-8 kept as is."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- import


@dataclass(frozen=True)
class Problem:
    """One problem found in a definition, located by its JSON path."""

    path: str
    message: str
    hint: str | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        text = f"{self.path or '$'}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text


@dataclass
class ImportResult:
    definition: Definition | None
    problems: list[Problem] = field(default_factory=list)
    migrated_from: int | None = None

    @property
    def ok(self) -> bool:
        return self.definition is not None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


class DefinitionError(ValueError):
    """A definition that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def format_path(loc: tuple | list) -> str:
    """``("a", 2, "b")`` -> ``a[2].b``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def data_path(data: Any, loc: tuple, missing: bool = True) -> str:
    """Map a pydantic error location onto the JSON document (dropping union tags)."""
    parts: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        if isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            parts.append(part)
            current = current[part]
        elif isinstance(current, dict) and part in current:
            parts.append(part)
            current = current[part]
        elif missing and i == len(loc) - 1 and isinstance(part, str):
            parts.append(part)  # a missing key
    return format_path(parts)


_HINTS = {
    "missing": "add it",
    "literal_error": None,
    "criterion_kind": None,
}


def pydantic_problems(data: Any, error: ValidationError) -> list[Problem]:
    """Every pydantic error as a Problem with a JSON path of the input document."""
    by_path: dict[str, list[dict]] = {}
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


def _most_specific(errors: list[dict]) -> list[dict]:
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


def _message(err: dict) -> str:
    loc = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown key {str(loc[-1])[:80]!r}"
    if err["type"] == "missing":
        return f"missing required key {str(loc[-1])!r}"
    return err["msg"].removeprefix("Value error, ")


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
    stack: list[tuple[Any, int, tuple]] = [(data, 1, ())]
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
    from queries.catalog import base_catalog, check_definition_fields

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


def _hash_problems(definition: Definition | None, data: dict) -> list[Problem]:
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


def migrate(data: dict) -> tuple[dict, int | None, list[Problem]]:
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


def _migrate_v0(old: dict) -> dict:
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


def _v0_filter(crit: dict) -> dict:
    out = {"field": crit.get("field"), "op": _V0_OPS.get(crit.get("operator"), crit.get("operator"))}
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
