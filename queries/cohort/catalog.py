"""The field catalog: every field a criterion can use, and the single source for validation,
the SQL compiler and the builder UI.

Each field has a stable ``key``, a ``label``, a ``group`` (a table, or ``patient`` for
attributes at the index date), a ``kind`` (``attribute``: compared once per patient;
``event``: a filter on the rows of an event table), a ``type`` (categorical, numeric, date,
boolean, code), a unit, the operators it allows, and values read from the snapshot
(categories with counts, numeric or date ranges). Biomarkers get one field each
(``biomarker:PD-L1 TPS``), numeric or categorical from the snapshot, so a builder can offer
"PD-L1 TPS >= 50 %".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from queries.cohort.model import (
    EVENT_TABLES,
)
from queries.i18n import N_
from queries.snapshot import schema

FieldType = Literal["categorical", "numeric", "date", "boolean", "code"]
BIOMARKER_PREFIX = "biomarker:"
# A patient-reported scale or item: ``pro:<instrument>:<item>`` (instrument names have no colon).
PRO_PREFIX = "pro:"
MAX_VALUES = 200

OPERATORS: dict[str, tuple[str, ...]] = {
    "categorical": ("in", "not_in", "=", "!=", "is_null", "is_not_null"),
    "numeric": ("=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in", "is_null",
                "is_not_null"),
    "date": ("=", "<", "<=", ">", ">=", "between", "is_null", "is_not_null"),
    "boolean": ("=", "is_null", "is_not_null"),
    "code": ("starts_with", "in", "not_in", "=", "!=", "is_null", "is_not_null"),
}
BIOMARKER_OPERATORS = {
    "numeric": ("=", "!=", "<", "<=", ">", ">=", "between"),
    "categorical": ("in", "not_in", "=", "!="),
}
OPERATOR_LABELS = {
    "=": N_("is"), "!=": N_("is not"), "<": "<", "<=": "≤", ">": ">", ">=": "≥", "between": N_("between"),
    "in": N_("is one of"), "not_in": N_("is none of"), "starts_with": N_("starts with"),
    "is_null": N_("is unknown"), "is_not_null": N_("is known"),
}
TABLE_LABELS = {
    "diagnoses": N_("Diagnoses"),
    "biomarkers": N_("Biomarker tests"),
    "treatments": N_("Treatments"),
    "performance_status": N_("ECOG assessments"),
    "tumor_assessments": N_("Tumour assessments"),
    "adverse_events": N_("Adverse events"),
    "patient_reported_outcomes": N_("Patient-reported outcomes"),
}

# (key, label, type, unit, table, column, allows_window, description)
_ATTRIBUTES: tuple[tuple[Any, ...], ...] = (
    ("age_at_index", N_("Age at index"), "numeric", N_("years"), "patients", "birth_year", False,
     "calendar year of the index date minus birth year"),
    ("sex", N_("Sex"), "categorical", None, "patients", "sex", False, ""),
    ("site", N_("Site"), "categorical", None, "patients", "site", False, "treating hospital"),
    ("smoking_status", N_("Smoking status"), "categorical", None, "patients", "smoking_status", False,
     ""),
    ("cancer_type", N_("Cancer type"), "categorical", None, "diagnoses", "cancer_type", False,
     "of the diagnosis at index (latest on or before index + its grace days, 0 by default)"),
    ("icd10", N_("ICD-10 code"), "code", None, "diagnoses", "icd10", False,
     "of the diagnosis at index (latest on or before index + its grace days, 0 by default)"),
    ("stage", N_("Stage"), "categorical", None, "diagnoses", "stage", False,
     "of the diagnosis at index (latest on or before index + its grace days, 0 by default)"),
    ("histology", N_("Histology (ICD-O-3)"), "code", None, "diagnoses", "histology_icdo3", False,
     "of the diagnosis at index (latest on or before index + its grace days, 0 by default)"),
    ("ecog", N_("ECOG performance status"), "numeric", None, "performance_status", "ecog", True,
     "latest assessment in the window before index (default 90 days); worst on ties"),
    ("index_line", N_("Line of therapy at index"), "numeric", None, "treatments", "line_number",
     False, "treatment line of the index event"),
    ("index_date", N_("Index date"), "date", None, "treatments", "start_date", False, ""),
)
DIAGNOSIS_ATTRIBUTES = ("cancer_type", "icd10", "stage", "histology")
PATIENT_ATTRIBUTES = ("sex", "site", "smoking_status")
ECOG_DEFAULT_WINDOW = (-90, 0)

_COLUMN_LABELS: dict[str, tuple[str, FieldType]] = {
    "icd10": (N_("ICD-10 code"), "code"), "cancer_type": (N_("Cancer type"), "categorical"),
    "histology_icdo3": (N_("Histology (ICD-O-3)"), "code"), "diagnosis_date": (N_("Diagnosis date"), "date"),
    "stage": (N_("Stage"), "categorical"), "biomarker": (N_("Biomarker"), "categorical"),
    "value_numeric": (N_("Numeric value"), "numeric"), "value_category": (N_("Result"), "categorical"),
    "unit": (N_("Unit"), "categorical"), "test_date": (N_("Test date"), "date"),
    "line_number": (N_("Line of therapy"), "numeric"), "regimen": (N_("Regimen"), "categorical"),
    "drug": (N_("Drug"), "categorical"), "atc_code": (N_("ATC code"), "code"),
    "drug_class": (N_("Drug class"), "categorical"), "start_date": (N_("Start date"), "date"),
    "end_date": (N_("End date"), "date"), "stop_reason": (N_("Stop reason"), "categorical"),
    "assessment_date": (N_("Assessment date"), "date"), "ecog": (N_("ECOG"), "numeric"),
    "response": (N_("Response (RECIST 1.1)"), "categorical"), "term": (N_("AE term (CTCAE)"), "categorical"),
    "organ_class": (N_("Organ class (MedDRA SOC)"), "categorical"),
    "grade": (N_("CTCAE grade"), "numeric"), "onset_date": (N_("Onset date"), "date"),
    "resolved_date": (N_("Resolved date"), "date"), "immune_related": (N_("Immune-related"), "boolean"),
    "instrument": (N_("PRO instrument"), "categorical"), "item": (N_("PRO scale or item"), "categorical"),
    "score": (N_("PRO score"), "numeric"),
}

# Short instrument names for labels, and the scales' and items' names as catalogue messages.
PRO_INSTRUMENT_SHORT = {schema.QLQ_C30: "QLQ-C30", schema.PRO_CTCAE: "PRO-CTCAE"}
PRO_ITEM_LABELS: dict[str, str] = {
    "Global health status/QoL": N_("Global health status/QoL"),
    "Physical functioning": N_("Physical functioning"),
    "Role functioning": N_("Role functioning"),
    "Emotional functioning": N_("Emotional functioning"),
    "Cognitive functioning": N_("Cognitive functioning"),
    "Social functioning": N_("Social functioning"),
    "Fatigue": N_("Fatigue"),
    "Nausea and vomiting": N_("Nausea and vomiting"),
    "Pain": N_("Pain"),
    "Dyspnoea": N_("Dyspnoea"),
    "Insomnia": N_("Insomnia"),
    "Appetite loss": N_("Appetite loss"),
    "Constipation": N_("Constipation"),
    "Diarrhoea": N_("Diarrhoea"),
    "Financial difficulties": N_("Financial difficulties"),
    "Diarrhea frequency": N_("Diarrhea frequency"),
    "Fatigue severity": N_("Fatigue severity"),
    "Nausea frequency": N_("Nausea frequency"),
    "Decreased appetite severity": N_("Decreased appetite severity"),
    "Shortness of breath severity": N_("Shortness of breath severity"),
    "Itching severity": N_("Itching severity"),
    "Rash presence": N_("Rash presence"),
}

# The values a numeric field can take at all (not what a snapshot holds): a criterion outside
# them is refused on import with the range, rather than matching nothing or overflowing the
# database's integers. Fields not listed get NUMERIC_DOMAIN.
NUMERIC_DOMAIN: tuple[float, float] = (-1e9, 1e9)
LINE_DOMAIN: tuple[float, float] = (1, 50)
DOMAINS: dict[str, tuple[float, float]] = {
    "age_at_index": (0, 150),
    "ecog": (float(schema.ECOG_RANGE[0]), float(schema.ECOG_RANGE[1])),
    "index_line": LINE_DOMAIN,
    "performance_status.ecog": (float(schema.ECOG_RANGE[0]), float(schema.ECOG_RANGE[1])),
    "treatments.line_number": LINE_DOMAIN,
    "tumor_assessments.line_number": LINE_DOMAIN,
    "adverse_events.line_number": LINE_DOMAIN,
    "adverse_events.grade": (float(schema.CTCAE_GRADE_RANGE[0]),
                             float(schema.CTCAE_GRADE_RANGE[1])),
    "biomarker:PD-L1 TPS": (0, 100),
    "biomarker:PD-L1 CPS": (0, 1000),
    "biomarker:TMB": (0, 10_000),
}

# Biomarkers known without a snapshot: name -> (type, unit).
KNOWN_BIOMARKERS: dict[str, tuple[FieldType, str | None]] = {
    "PD-L1 TPS": ("numeric", "%"),
    "PD-L1 CPS": ("numeric", None),
    "TMB": ("numeric", "mut/Mb"),
    "MSI": ("categorical", None),
    "EGFR": ("categorical", None),
    "ALK": ("categorical", None),
    "KRAS": ("categorical", None),
    "BRAF": ("categorical", None),
}

_STATIC_VALUES: dict[tuple[str, str], tuple[Any, ...]] = {
    ("patients", "sex"): schema.SEX_VALUES,
    ("patients", "smoking_status"): schema.SMOKING_VALUES,
    ("diagnoses", "stage"): schema.STAGE_VALUES,
    ("treatments", "drug_class"): schema.DRUG_CLASSES,
    ("treatments", "stop_reason"): schema.STOP_REASONS,
    ("tumor_assessments", "response"): schema.RECIST_RESPONSES,
}


@dataclass(frozen=True)
class CatalogField:
    """One usable field. ``values``: (value, count) pairs; count is None without a snapshot."""

    key: str
    label: str
    group: str
    kind: Literal["attribute", "event"]
    type: FieldType
    table: str
    column: str
    operators: tuple[str, ...]
    unit: str | None = None
    values: tuple[tuple[Any, int | None], ...] = ()
    min: Any = None
    max: Any = None
    description: str = ""
    biomarker: str | None = None
    pro_instrument: str | None = None
    pro_item: str | None = None
    allows_window: bool = False
    default_window: tuple[int, int] | None = None

    def value_set(self) -> set[Any]:
        return {value for value, _ in self.values}

    @property
    def domain(self) -> tuple[float, float]:
        """The lowest and highest value a numeric criterion on this field may use."""
        if self.pro_instrument in schema.PRO_SCORE_RANGE:
            return schema.pro_score_range(str(self.pro_instrument), str(self.pro_item))
        return DOMAINS.get(self.key, NUMERIC_DOMAIN)

    @property
    def measure(self) -> str | None:
        """The biomarker or PRO scale a field stands for (shown as the row's field), if any."""
        return self.biomarker or self.pro_item

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the builder UI."""
        data = asdict(self)
        data["operators"] = list(self.operators)
        data["values"] = [{"value": v, "count": c} for v, c in self.values]
        for bound in ("min", "max"):
            if isinstance(data[bound], date):
                data[bound] = data[bound].isoformat()
        data["default_window"] = list(self.default_window) if self.default_window else None
        return data


@dataclass(frozen=True)
class Catalog:
    """Every field by key; ``snapshot_id`` is None for the snapshot-independent catalog."""

    fields: dict[str, CatalogField]
    snapshot_id: str | None = None
    table_rows: dict[str, int] = field(default_factory=dict)

    def get(self, key: str, value: Any = None) -> CatalogField | None:
        """The field for a key; an unknown biomarker gets a generic field (matched literally),
        numeric or categorical after ``value``."""
        found = self.fields.get(key)
        if found is None and key.startswith(BIOMARKER_PREFIX) and len(key) > len(BIOMARKER_PREFIX):
            first = value[0] if isinstance(value, list) and value else value
            numeric = first is None or (isinstance(first, int | float)
                                        and not isinstance(first, bool))
            return _biomarker_field(key[len(BIOMARKER_PREFIX):],
                                    "numeric" if numeric else "categorical", None)
        return found

    def attribute_fields(self) -> list[CatalogField]:
        return [f for f in self.fields.values() if f.kind == "attribute"]

    def event_fields(self, table: str) -> list[CatalogField]:
        return [f for f in self.fields.values() if f.kind == "event" and f.table == table]

    def candidates(self, context: str) -> list[CatalogField]:
        """Fields usable in a context: ``attribute`` or an event table's name."""
        return self.attribute_fields() if context == "attribute" else self.event_fields(context)

    def resolve(self, name: str, context: str, value: Any = None) -> CatalogField | None:
        """A field by key, label or (in an event table) bare column name, ignoring case."""
        wanted = name.strip().casefold()
        for f in self.candidates(context):
            if f.key == name:
                return f
        for f in self.candidates(context):
            names = {f.key.casefold(), f.label.casefold()}
            if f.kind == "event" and not f.measure:
                names.add(f.column.casefold())
            if f.pro_item:
                names.add(f.pro_item.casefold())
            if wanted in names:
                return f
        if context == "biomarkers" and name.startswith(BIOMARKER_PREFIX):
            return self.get(name, value)
        return None

    def suggest(self, name: str, context: str) -> str | None:
        """The label of the closest field name in this context, if any is close."""
        options: dict[str, str] = {}
        for f in self.candidates(context):
            options[_squash(f.label)] = f.label
            options[_squash(f.key)] = f.label
            options[_squash(f.column)] = options.get(_squash(f.column), f.label)
        target = _squash(name)
        if not target:
            return None
        prefixed = [label for key, label in options.items() if key.startswith(target)]
        if prefixed:
            return prefixed[0]
        close = difflib.get_close_matches(target, list(options), n=1, cutoff=0.6)
        return options[close[0]] if close else None

    def to_dict(self) -> dict[str, Any]:
        """Everything a builder UI needs to draw itself, as plain JSON."""
        return {
            "snapshot_id": self.snapshot_id,
            "fields": [f.to_dict() for f in self.fields.values()],
            "tables": {t: {"label": TABLE_LABELS[t], "date_column": schema.EVENT_DATE_COLUMN[t],
                           "rows": self.table_rows.get(t)} for t in EVENT_TABLES},
            "operators": dict(OPERATOR_LABELS),
        }


def close_match(value: str, options: list[str]) -> str | None:
    """The closest option ignoring case, if any is close."""
    folded = {str(o).casefold(): str(o) for o in options}
    found = difflib.get_close_matches(str(value).casefold(), list(folded), n=1, cutoff=0.6)
    return folded[found[0]] if found else None


def _squash(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def _biomarker_field(name: str, ftype: FieldType, unit: str | None,
                     values: tuple[Any, ...] = (), low: Any = None, high: Any = None) -> CatalogField:
    return CatalogField(
        key=f"{BIOMARKER_PREFIX}{name}", label=name, group="biomarkers", kind="event",
        type=ftype, table="biomarkers",
        column="value_numeric" if ftype == "numeric" else "value_category",
        operators=BIOMARKER_OPERATORS[ftype if ftype in BIOMARKER_OPERATORS else "categorical"],
        unit=unit, values=values, min=low, max=high, biomarker=name,
        description=f"a {name} test result",
    )


def pro_key(instrument: str, item: str) -> str:
    return f"{PRO_PREFIX}{instrument}:{item}"


def pro_label(instrument: str, item: str) -> str:
    """'QLQ-C30: Fatigue' (the item's name is a catalogue message, translated where shown)."""
    return f"{PRO_INSTRUMENT_SHORT.get(instrument, instrument)}: {item}"


def display_label(f: CatalogField, gettext: Callable[[str], str]) -> str:
    """A field's label in the reader's language (a PRO field: instrument and translated item)."""
    if f.pro_instrument is not None and f.pro_item is not None:
        return f"{PRO_INSTRUMENT_SHORT.get(f.pro_instrument, f.pro_instrument)}: " \
            f"{gettext(PRO_ITEM_LABELS.get(f.pro_item, f.pro_item))}"
    return gettext(f.label)


def _pro_field(instrument: str, item: str, low: Any = None, high: Any = None,
               rows: int | None = None) -> CatalogField:
    direction = ("higher is better" if schema.higher_is_better(instrument, item)
                 else "higher is worse")
    low, high = schema.pro_score_range(instrument, item)
    scale = ("" if instrument not in schema.PRO_SCORE_RANGE
             else f"scored {low:g} no or {high:g} yes, "
             if schema.is_presence_item(instrument, item) else f"scored {low:g}-{high:g}, ")
    return CatalogField(
        key=pro_key(instrument, item), label=pro_label(instrument, item),
        group="patient_reported_outcomes", kind="event", type="numeric",
        table="patient_reported_outcomes", column="score",
        operators=BIOMARKER_OPERATORS["numeric"], min=low, max=high,
        values=(), pro_instrument=instrument, pro_item=item,
        description=f"a {instrument} '{item}' answer ({scale}{direction})"
        + (f"; {rows} answers in the snapshot" if rows is not None else ""),
    )


def _known_pro_fields() -> list[CatalogField]:
    return [_pro_field(instrument, item) for instrument, items in schema.PRO_ITEMS.items()
            for item in items]


def fixed_values(f: CatalogField) -> tuple[Any, ...] | None:
    """The values the schema allows for the field, or None when they come from the snapshot."""
    return _STATIC_VALUES.get((f.table, f.column))


def stage_values(counts: dict[str, int] | None = None) -> tuple[tuple[str, int | None], ...]:
    """Stage choices in AJCC order, each group before its substages ("III", "IIIA", ...).

    A group matches its substages (see the compiler), so its count is that of the whole
    group, and every group is listed even when a snapshot records only substages. Without
    ``counts`` every schema stage is listed without a count; with them, the substages and
    other values that occur."""
    if counts is None:
        return tuple((v, None) for group in schema.STAGE_GROUPS
                     for v in (group, *(s for s in schema.STAGE_SUBSTAGES
                                        if schema.stage_group(s) == group)))
    out: list[tuple[str, int | None]] = []
    for group in schema.STAGE_GROUPS:
        members = sorted((v for v in counts if schema.stage_group(v) == group and v != group),
                         key=_stage_order)
        out.append((group, sum(counts[v] for v in members) + counts.get(group, 0)))
        out += [(v, counts[v]) for v in members]
    out += [(v, n) for v, n in counts.items() if schema.stage_group(v) is None]
    return tuple(out)


def _stage_order(stage: str) -> tuple[int, str]:
    known = schema.STAGE_SUBSTAGES
    return (known.index(stage), "") if stage in known else (len(known), stage)


def is_stage_group(f: CatalogField, value: Any) -> bool:
    """True for a stage group value ("III") of a stage field: it means any of its substages."""
    return f.column == "stage" and value in schema.STAGE_GROUPS


def _static_values(table: str, column: str) -> tuple[Any, ...]:
    if column == "stage":
        return stage_values()
    return tuple((v, None) for v in _STATIC_VALUES.get((table, column), ()))


def _attribute_fields() -> list[CatalogField]:
    out = []
    for key, label, ftype, unit, table, column, window, text in _ATTRIBUTES:
        values = _static_values(table, column)
        out.append(CatalogField(
            key=key, label=label, group="patient", kind="attribute", type=ftype, table=table,
            column=column, operators=OPERATORS[ftype], unit=unit, values=values,
            description=text, allows_window=window,
            default_window=ECOG_DEFAULT_WINDOW if window else None,
            min=0 if key == "ecog" else None, max=5 if key == "ecog" else None,
        ))
    return out


def _event_fields() -> list[CatalogField]:
    out = []
    for table in EVENT_TABLES:
        for column in schema.TABLES[table]:
            if column == "patient_id":
                continue
            label, ftype = _COLUMN_LABELS[column]
            out.append(CatalogField(
                key=f"{table}.{column}", label=label, group=table, kind="event", type=ftype,
                table=table, column=column, operators=OPERATORS[ftype],
                values=_static_values(table, column),
            ))
    return out


@lru_cache(maxsize=1)
def base_catalog() -> Catalog:
    """The catalog without a snapshot: every schema field, the known biomarkers, no counts."""
    fields = _attribute_fields() + _event_fields()
    fields += [_biomarker_field(name, ftype, unit) for name, (ftype, unit) in
               KNOWN_BIOMARKERS.items()]
    fields += _known_pro_fields()
    return Catalog({f.key: f for f in fields})


# ------------------------------------------------------------------- from a snapshot

def build_catalog(db: Any) -> Catalog:
    """The catalog with values, counts and ranges read from a snapshot database.

    One scan per table (grouping sets), not one query per field: on Spark every query is a job
    with a fixed cost, and the sample's catalog took some forty of them.
    """
    cur = db.cursor()
    base = base_catalog()
    from_snapshot = [f for f in base.fields.values()
                     if not (f.biomarker or f.pro_item or f.key == "age_at_index")]
    stats = {table: _table_stats(cur, table, [f for f in from_snapshot if f.table == table])
             for table in schema.TABLES}
    fields: dict[str, CatalogField] = {}
    for key, f in base.fields.items():
        if f.biomarker:
            continue
        fields[key] = f if f.pro_item or f.key == "age_at_index" else _with_snapshot_values(
            f, stats[f.table])
    for f in _snapshot_biomarkers(cur):
        fields[f.key] = f
    for f in _snapshot_pro_fields(cur):
        fields[f.key] = f
    rows = {table: table_stats.rows for table, table_stats in stats.items()}
    return Catalog(fields, snapshot_id=db.snapshot_id, table_rows=rows)


@dataclass(frozen=True)
class _TableStats:
    """What the catalog reads from one table: its rows, the counted values of its categorical
    columns (most frequent first, then by value) and the ranges of the others."""

    rows: int
    values: dict[str, tuple[tuple[Any, int], ...]]
    ranges: dict[str, tuple[Any, Any]]


def _listed(f: CatalogField) -> bool:
    """Whether the field's values are listed with counts (else its range is read)."""
    return f.type in ("categorical", "code", "boolean")


def _table_stats(cur: Any, table: str, table_fields: list[CatalogField]) -> _TableStats:
    listed = list(dict.fromkeys(f.column for f in table_fields if _listed(f)))
    ranged = list(dict.fromkeys(f.column for f in table_fields if not _listed(f)))
    # identifiers from the schema; one row per value of each listed column, one for the table
    select = [f"{col} AS v{i}, grouping({col}) AS g{i}" for i, col in enumerate(listed)]
    select.append("count(*) AS n")
    select += [f"min({col}) AS lo{i}, max({col}) AS hi{i}" for i, col in enumerate(ranged)]
    sets = ", ".join([f"({col})" for col in listed] + ["()"])
    rows = cur.execute(
        f"SELECT {', '.join(select)} FROM {table} GROUP BY GROUPING SETS ({sets})"  # noqa: S608
    ).fetchall()
    total = 0
    counted: dict[str, list[tuple[Any, int]]] = {col: [] for col in listed}
    ranges: dict[str, tuple[Any, Any]] = dict.fromkeys(ranged, (None, None))  # empty table
    for row in rows:
        grouped = [i for i in range(len(listed)) if not row[2 * i + 1]]
        n = int(row[2 * len(listed)])
        if not grouped:  # the empty grouping set: the whole table
            total = n
            lows = row[2 * len(listed) + 1:]
            ranges = {col: (lows[2 * i], lows[2 * i + 1]) for i, col in enumerate(ranged)}
        elif row[2 * grouped[0]] is not None:
            counted[listed[grouped[0]]].append((row[2 * grouped[0]], n))
    values = {col: tuple(sorted(pairs, key=lambda pair: (-pair[1], pair[0]))[:MAX_VALUES])
              for col, pairs in counted.items()}
    return _TableStats(total, values, ranges)


def _with_snapshot_values(f: CatalogField, stats: _TableStats) -> CatalogField:
    if _listed(f):
        if f.column == "stage":
            return replace(f, values=stage_values(dict(stats.values[f.column])))
        return replace(f, values=stats.values[f.column])
    low, high = stats.ranges[f.column]
    return replace(f, min=low, max=high)


def _snapshot_biomarkers(cur: Any) -> list[CatalogField]:
    stats = cur.execute(
        "SELECT biomarker, count(value_numeric), count(value_category), min(value_numeric), "
        "max(value_numeric), mode(unit) FROM biomarkers WHERE biomarker IS NOT NULL "
        "GROUP BY biomarker ORDER BY biomarker"
    ).fetchall()
    cats: dict[str, list[tuple[str, int]]] = {}
    for name, value, n in cur.execute(
        "SELECT biomarker, value_category, count(*) AS n FROM biomarkers "
        "WHERE value_category IS NOT NULL GROUP BY 1, 2 ORDER BY 1, n DESC, 2"
    ).fetchall():
        cats.setdefault(name, []).append((value, int(n)))
    out = []
    for name, n_num, n_cat, low, high, unit in stats:
        if n_num >= n_cat and n_num > 0:
            out.append(_biomarker_field(name, "numeric", unit, low=low, high=high))
        else:
            out.append(_biomarker_field(name, "categorical", unit,
                                        values=tuple(cats.get(name, [])[:MAX_VALUES])))
    return out


def _snapshot_pro_fields(cur: Any) -> list[CatalogField]:
    """The snapshot's scales and items with their score ranges; the schema's known ones stay
    (without a range) when a snapshot lacks them, so a definition keeps its meaning."""
    rows = cur.execute(
        "SELECT instrument, item, min(score), max(score), count(*) FROM patient_reported_outcomes "
        "WHERE instrument IS NOT NULL AND item IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    found = [_pro_field(instrument, item, low, high, int(n))
             for instrument, item, low, high, n in rows if ":" not in instrument]
    return found

