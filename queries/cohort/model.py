"""The cohort definition: a versioned JSON document, typed with pydantic.

A definition holds an index event (time zero), ordered named inclusion rules (each a tree of
``all`` / ``any`` / ``not`` groups over attribute and event criteria) and metadata. The model
only checks structure; whether a field exists in the snapshot is checked against the field
catalog by :func:`queries.cohort.importing.import_definition`, which also migrates
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
          {"not": {"field": "ecog", "op": ">=", "value": 2}}]}},
       {"name": "Poor global health", "enabled": true,
        "criteria": {"table": "patient_reported_outcomes",           # snapshot schema 2
           "where": [{"field": "pro:EORTC QLQ-C30:Global health status/QoL",
                      "op": "<", "value": 50}],
           "window": {"start_days": -30, "end_days": 0}}}]}

Fields are catalog keys (:mod:`queries.catalog`; a PRO scale or item is
``pro:<instrument>:<item>``, any answer in the window counting); operators are ``= != < <= > >= between
in not_in starts_with is_null is_not_null``. Exported files add an ``export`` block (snapshot
id, content hash, time) that the content hash does not cover.
"""

from __future__ import annotations

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
    "patient_reported_outcomes",
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
    # Days after index that "at index" values (diagnosis, biomarkers) may still come from; None
    # is 0: only data up to the index date (no look-ahead). Up to 90 for late-dated work-ups.
    at_index_grace_days: Annotated[int, Field(ge=0, le=90)] | None = None

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

    def content(self) -> dict[str, Any]:
        """The definition without export metadata: what the content hash covers. An unset
        grace window is left out, so definitions written before it keep their hashes."""
        data = self.model_dump(mode="json", exclude={"export"})
        if data["index_event"].get("at_index_grace_days") is None:
            data["index_event"].pop("at_index_grace_days", None)
        return data

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


def format_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``("a", 2, "b")`` -> ``a[2].b``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def data_path(data: Any, loc: tuple[Any, ...], missing: bool = True) -> str:
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


