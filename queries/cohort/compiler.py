"""Compile a cohort definition to SQL over the snapshot views.

Identifiers come only from the field catalog and the fixed schema; every value is a
positional ``?`` parameter. The SQL is plain CTEs, ``EXISTS`` semi-joins and window
functions, written for DuckDB; date arithmetic (``DATE + INTEGER`` days) is kept in
:func:`_shift`.

Semantics, shared with the reference evaluator in the tests:

- index event: per patient, the first matching treatment start (ties: lowest line) or the
  first diagnosis; then the optional date range filter; patients need a ``patients`` row;
- an attribute comparison with an unknown value is false (so ``not`` of it is true);
- diagnosis attributes are those of the diagnosis at index: the latest diagnosis dated on or
  before index + 30 days, else the earliest (ties broken by icd10, cancer type, stage,
  histology);
- ECOG is the latest non-null assessment in its window (default 90 days before index up to
  the index date), the worst on ties;
- an event criterion counts rows of its table that match every ``where`` filter and whose
  date lies within ``window`` (inclusive days relative to index; no window: any time);
- a null column never matches a comparison (``!=`` and ``not_in`` included);
- a PRO field (``pro:<instrument>:<item>``) matches answers of that scale or item whose score
  meets the comparison (one such answer in the window is enough by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from queries.cohort.catalog import (
    DIAGNOSIS_ATTRIBUTES,
    ECOG_DEFAULT_WINDOW,
    PATIENT_ATTRIBUTES,
    Catalog,
    CatalogField,
    base_catalog,
)
from queries.cohort.model import (
    AllGroup,
    AnyGroup,
    AttributeCriterion,
    Definition,
    EventCriterion,
    Filter,
    IndexEvent,
    NotGroup,
    Window,
)
from queries.snapshot import schema

COHORT_SELECT = "ix.patient_id, ix.index_date, ix.index_line"
# The diagnosis at index: the latest on or before index + the index event's grace days (0 by
# default: no look-ahead; a work-up dated just after a treatment start needs a few), else the
# earliest; the same rule as queries/sql/diagnosis_at_index.
# The columns of the diagnosis at index (``dx``) that attribute criteria read.
DIAGNOSIS_COLUMNS = ("cancer_type", "icd10", "histology_icdo3", "stage")


class CompileError(ValueError):
    """The definition uses something the catalog does not know."""


@dataclass(frozen=True)
class CompiledQuery:
    """SQL text with positional ``?`` parameters, in order."""

    sql: str
    params: list[Any]

    def readable(self) -> str:
        """The SQL with its parameters inlined as quoted literals (for reading, not running)."""
        return inline_params(self.sql, self.params)


def _shift(expr: str) -> str:
    """``expr`` plus a bound number of days (DuckDB: DATE + INTEGER)."""
    return f"{expr} + ?"


def biomarker_value_column(value: Any) -> str:
    """Numbers are compared with ``value_numeric``, text with ``value_category``."""
    first = value[0] if isinstance(value, list) and value else value
    numeric = isinstance(first, int | float) and not isinstance(first, bool)
    return "value_numeric" if numeric else "value_category"


def _convert(f: CatalogField, value: Any) -> Any:
    if f.type == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def escape_like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def compare(expr: str, op: str, value: Any, f: CatalogField, params: list[Any]) -> str:
    """A comparison of ``expr`` with bound values; NULL when ``expr`` is NULL."""
    if op == "is_null":
        return f"{expr} IS NULL"
    if op == "is_not_null":
        return f"{expr} IS NOT NULL"
    if op == "starts_with":
        prefixes = value if isinstance(value, list) else [value]
        params.extend(escape_like(p) for p in prefixes)
        return "(" + " OR ".join(f"{expr} LIKE ? ESCAPE '\\'" for _ in prefixes) + ")"
    if op in ("in", "not_in"):
        params.extend(_convert(f, v) for v in value)
        marks = ", ".join("?" for _ in value)
        return f"{expr} {'IN' if op == 'in' else 'NOT IN'} ({marks})"
    if op == "between":
        params.extend(_convert(f, v) for v in value)
        return f"{expr} BETWEEN ? AND ?"
    if op in ("=", "!=", "<", "<=", ">", ">="):
        params.append(_convert(f, value))
        return f"{expr} {'<>' if op == '!=' else op} ?"
    raise CompileError(f"unknown operator {op!r}")


def stage_compare(expr: str, op: str, value: Any, params: list[Any]) -> str | None:
    """Stage comparisons where a stage group means any of its substages ('III' matches IIIA,
    IIIB, ... and III itself); a substage matches only itself. None for other operators."""
    if op not in ("in", "not_in", "=", "!="):
        return None
    values = [str(v) for v in (value if isinstance(value, list) else [value])]
    marks = ", ".join("?" for _ in values)
    params.extend(values + values)
    grouped = schema.STAGE_GROUP_SQL.format(column=expr)
    match = f"({expr} IN ({marks}) OR {grouped} IN ({marks}))"
    return match if op in ("in", "=") else f"(NOT {match})"


def window_conditions(date_expr: str, window: Window | None, params: list[Any],
                      index_expr: str = "ix.index_date") -> list[str]:
    if window is None:
        return []
    out = []
    if window.start_days is not None:
        params.append(window.start_days)
        out.append(f"{date_expr} >= {_shift(index_expr)}")
    if window.end_days is not None:
        params.append(window.end_days)
        out.append(f"{date_expr} <= {_shift(index_expr)}")
    return out


@dataclass
class _Compiler:
    catalog: Catalog
    ecog_windows: list[tuple[int | None, int | None]] = field(default_factory=list)
    needs_diagnosis: bool = False
    # Set when a criterion reads the diagnosis at index or an ECOG (per-patient derived rows).
    uses_derived: bool = False
    # The patients whose diagnosis at index and ECOG are computed (a subset is fine: each
    # patient's values depend only on that patient's own rows and index date).
    population: str = "index_population"
    # True when ix is a kept index table (index_population_sql): it carries the diagnosis at
    # index (dx_<column>) and the ECOG of the default window (ecog_default) already.
    kept_index: bool = False
    grace_days: int = 0  # the index event's at_index_grace_days

    def field(self, key: str, context: str) -> CatalogField:
        f = self.catalog.get(key) or base_catalog().get(key)
        if f is None:
            raise CompileError(f"unknown field {key!r}")
        if context == "attribute" and f.kind != "attribute":
            raise CompileError(f"{key!r} is not an attribute field")
        if context != "attribute" and (f.kind != "event" or f.table != context):
            raise CompileError(f"{key!r} is not a field of {context}")
        if f.table not in schema.TABLES or (f.column not in schema.TABLES[f.table]):
            raise CompileError(f"field {key!r} has no column in the schema")
        return f

    def node(self, node: Any, params: list[Any]) -> str:
        if isinstance(node, AllGroup):
            return "(" + " AND ".join(self.node(child, params) for child in node.all) + ")"
        if isinstance(node, AnyGroup):
            return "(" + " OR ".join(self.node(child, params) for child in node.any) + ")"
        if isinstance(node, NotGroup):
            return f"(NOT {self.node(node.not_, params)})"
        if isinstance(node, EventCriterion):
            return self.event(node, params)
        if isinstance(node, AttributeCriterion):
            return self.attribute(node, params)
        raise CompileError(f"unknown criterion {type(node).__name__}")

    def attribute(self, crit: AttributeCriterion, params: list[Any]) -> str:
        f = self.field(crit.field, "attribute")
        expr = self.attribute_expr(f, crit)
        cond = (f.column == "stage" and stage_compare(expr, crit.op, crit.value, params)
                or compare(expr, crit.op, crit.value, f, params))
        return cond if crit.op in ("is_null", "is_not_null") else f"COALESCE({cond}, FALSE)"

    def attribute_expr(self, f: CatalogField, crit: AttributeCriterion) -> str:
        if f.key in PATIENT_ATTRIBUTES:
            return f"ix.{f.column}"
        if f.key in DIAGNOSIS_ATTRIBUTES:
            if self.kept_index:
                return f"ix.dx_{f.column}"
            self.needs_diagnosis = self.uses_derived = True
            return f"dx.{f.column}"
        if f.key == "age_at_index":
            return "(EXTRACT(YEAR FROM ix.index_date) - ix.birth_year)"
        if f.key == "index_line":
            return "ix.index_line"
        if f.key == "index_date":
            return "ix.index_date"
        if f.key == "ecog":
            self.uses_derived = True
            window = crit.window or Window(start_days=ECOG_DEFAULT_WINDOW[0],
                                           end_days=ECOG_DEFAULT_WINDOW[1])
            bounds = (window.start_days, window.end_days)
            if self.kept_index and bounds == ECOG_DEFAULT_WINDOW:
                return "ix.ecog_default"
            if bounds not in self.ecog_windows:
                self.ecog_windows.append(bounds)
            return f"ecog_{self.ecog_windows.index(bounds) + 1}.ecog"
        raise CompileError(f"attribute {f.key!r} has no compiler")

    def filter(self, item: Filter, table: str, params: list[Any]) -> str:
        f = self.field(item.field, table)
        if f.biomarker is not None:
            params.append(f.biomarker)
            column = biomarker_value_column(item.value)
            cond = compare(f"e.{column}", item.op, item.value, f, params)
            return f"(e.biomarker = ? AND {cond})"
        if f.pro_item is not None:
            params.extend([f.pro_instrument, f.pro_item])
            cond = compare("e.score", item.op, item.value, f, params)
            return f"(e.instrument = ? AND e.item = ? AND {cond})"
        if f.column == "stage" and f.table == "diagnoses":
            grouped = stage_compare(f"e.{f.column}", item.op, item.value, params)
            if grouped is not None:
                return grouped
        return compare(f"e.{f.column}", item.op, item.value, f, params)

    def event(self, crit: EventCriterion, params: list[Any]) -> str:
        """A semi-join on ``patient_id``: rows of the table already joined to the index
        population and filtered, so no per-patient correlated subquery is needed (patient_id
        is unique in ``ix`` and never NULL, so ``NOT IN`` is safe)."""
        low, high = crit.occurrence.min or 0, crit.occurrence.max
        if high is None and low == 0:
            return "(1 = 1)"
        table = crit.table
        date_col = schema.EVENT_DATE_COLUMN[table]
        inner: list[Any] = []
        conds = window_conditions(f"e.{date_col}", crit.window, inner,
                                  index_expr="ip.index_date")
        conds += [self.filter(item, table, inner) for item in crit.where]
        where = f"\n    WHERE {' AND '.join(conds)}" if conds else ""
        rows = (f"SELECT e.patient_id FROM {table} e\n"  # noqa: S608 - catalog identifiers
                f"    JOIN index_population ip ON ip.patient_id = e.patient_id{where}")
        params.extend(inner)
        if high == 0:
            return f"(ix.patient_id NOT IN (\n    {rows}))"
        if high is None and low == 1:
            return f"(ix.patient_id IN (\n    {rows}))"
        grouped = f"{rows}\n    GROUP BY e.patient_id"
        if low == 0:  # at most ``high``: exclude those with more (zero rows qualify)
            params.append(high)
            return f"(ix.patient_id NOT IN (\n    {grouped} HAVING COUNT(*) > ?))"
        params.append(low)
        if high is None:
            return f"(ix.patient_id IN (\n    {grouped} HAVING COUNT(*) >= ?))"
        params.append(high)
        return f"(ix.patient_id IN (\n    {grouped} HAVING COUNT(*) BETWEEN ? AND ?))"

    def ecog_ctes(self, params: list[Any]) -> list[str]:
        ctes = []
        for i, window in enumerate(self.ecog_windows, start=1):
            conds = ["ps.ecog IS NOT NULL"] + window_conditions(
                "ps.assessment_date", Window(start_days=window[0], end_days=window[1]), params,
                index_expr="ip.index_date")
            ctes.append(
                f"ecog_{i} AS (\n  SELECT r.patient_id, r.ecog FROM (\n"  # noqa: S608 - catalog identifiers
                "    SELECT ps.patient_id, ps.ecog, ROW_NUMBER() OVER (\n"
                "      PARTITION BY ps.patient_id ORDER BY ps.assessment_date DESC, ps.ecog DESC"
                ") AS rn\n    FROM performance_status ps\n"
                f"    JOIN {self.population} ip ON ip.patient_id = ps.patient_id\n"
                f"    WHERE {' AND '.join(conds)}\n  ) r WHERE r.rn = 1\n)"
            )
        return ctes

    def diagnosis_ctes(self, params: list[Any]) -> list[str]:
        if not self.needs_diagnosis:
            return []
        params.extend([self.grace_days, self.grace_days])
        return [
            "dx AS (\n  SELECT r.patient_id, r.cancer_type, r.icd10, r.histology_icdo3, r.stage "  # noqa: S608 - fixed identifiers
            "FROM (\n    SELECT d.patient_id, d.cancer_type, d.icd10, d.histology_icdo3, d.stage,"
            "\n      ROW_NUMBER() OVER (PARTITION BY d.patient_id ORDER BY\n"
            f"        CASE WHEN d.diagnosis_date <= {_shift('ip.index_date')} THEN 0 ELSE 1 END,\n"
            f"        CASE WHEN d.diagnosis_date <= {_shift('ip.index_date')} "
            "THEN d.diagnosis_date END DESC NULLS LAST,\n"
            "        d.diagnosis_date NULLS LAST, d.icd10 NULLS LAST, d.cancer_type NULLS LAST,\n"
            "        d.stage NULLS LAST, d.histology_icdo3 NULLS LAST) AS rn\n"
            f"    FROM diagnoses d\n    JOIN {self.population} ip ON ip.patient_id = d.patient_id"
            "\n  ) r WHERE r.rn = 1\n)"
        ]

    def joins(self) -> str:
        dx = "\nLEFT JOIN dx ON dx.patient_id = ix.patient_id" if self.needs_diagnosis else ""
        return dx + "".join(
            f"\nLEFT JOIN ecog_{i} ON ecog_{i}.patient_id = ix.patient_id"
            for i in range(1, len(self.ecog_windows) + 1)
        )


def _index_ctes(event: IndexEvent, params: list[Any]) -> list[str]:
    if event.kind == "diagnosis":
        conds = ["d.diagnosis_date IS NOT NULL"]
        if event.cancer_types:
            conds.append(f"d.cancer_type IN ({', '.join('?' for _ in event.cancer_types)})")
            params.extend(event.cancer_types)
        candidates = (
            "index_candidates AS (\n  SELECT d.patient_id, d.diagnosis_date AS index_date, "  # noqa: S608 - catalog identifiers
            "CAST(NULL AS INTEGER) AS index_line,\n    ROW_NUMBER() OVER (PARTITION BY "
            "d.patient_id ORDER BY d.diagnosis_date) AS rn\n  FROM diagnoses d\n"
            f"  WHERE {' AND '.join(conds)}\n)"
        )
    else:
        conds = ["t.start_date IS NOT NULL"]
        classes = (list(schema.CHECKPOINT_INHIBITOR_CLASSES)
                   if event.kind == "first_checkpoint_inhibitor" else event.drug_classes)
        for column, values in (("drug_class", classes), ("regimen", event.regimens),
                               ("drug", event.drugs)):
            if values:
                conds.append(f"t.{column} IN ({', '.join('?' for _ in values)})")
                params.extend(values)
        if event.kind == "line_start":
            conds.append("t.line_number = ?")
            params.append(event.line)
        candidates = (
            "index_candidates AS (\n  SELECT t.patient_id, t.start_date AS index_date, "  # noqa: S608 - catalog identifiers
            "t.line_number AS index_line,\n    ROW_NUMBER() OVER (PARTITION BY t.patient_id "
            "ORDER BY t.start_date, t.line_number NULLS LAST) AS rn\n  FROM treatments t\n"
            f"  WHERE {' AND '.join(conds)}\n)"
        )
    conds = ["c.rn = 1"]
    if event.date_from:
        conds.append("c.index_date >= ?")
        params.append(event.date_from)
    if event.date_to:
        conds.append("c.index_date <= ?")
        params.append(event.date_to)
    population = (
        "index_population AS (\n  SELECT c.patient_id, c.index_date, c.index_line\n"  # noqa: S608 - catalog identifiers
        f"  FROM index_candidates c\n  WHERE {' AND '.join(conds)}\n)"
    )
    ix = (
        "ix AS (\n  SELECT ip.patient_id, ip.index_date, ip.index_line, p.birth_year, p.sex, "
        "p.site, p.smoking_status\n  FROM index_population ip\n"
        "  JOIN patients p ON p.patient_id = ip.patient_id\n)"
    )
    return [candidates, population, ix]


@dataclass(frozen=True)
class _Parts:
    ctes: list[str]
    params: list[Any]
    rule_sql: list[str]
    joins: str


def _compile_parts(definition: Definition, catalog: Catalog | None,
                   rules: list[Any] | None = None, index_table: str | None = None) -> _Parts:
    compiler = _Compiler(catalog or base_catalog(), kept_index=index_table is not None,
                         grace_days=definition.index_event.at_index_grace_days or 0)
    rule_params: list[Any] = []
    chosen = definition.enabled_rules() if rules is None else rules
    rule_sql = [compiler.node(rule.criteria, rule_params) for rule in chosen]
    params: list[Any] = []
    ctes = _population_ctes(definition.index_event, params, index_table)
    ctes += compiler.diagnosis_ctes(params)
    ctes += compiler.ecog_ctes(params)
    return _Parts(ctes, params + rule_params, rule_sql, compiler.joins())


def _population_ctes(event: IndexEvent, params: list[Any], index_table: str | None) -> list[str]:
    """The ``ix`` CTE: compiled from the index event, or read from a table that holds it."""
    if index_table is None:
        return _index_ctes(event, params)
    # ix is index_population joined to patients; the derived CTEs may read either
    population = ("index_population AS (\n  SELECT patient_id, index_date, index_line "  # noqa: S608 - a table we named
                  f"FROM {index_table}\n)")
    return [population, f"ix AS (\n  SELECT * FROM {index_table}\n)"]  # noqa: S608


def index_population_sql(event: IndexEvent) -> CompiledQuery:
    """SQL of the ``ix`` rows of an index event (patient, index date and line, patient
    attributes) with each patient's diagnosis at index and ECOG of the default window, to be
    kept as a table and passed to the compilers as ``index_table``: the windows over every
    patient's diagnoses and ECOG rows then run once per index event, not once per edit."""
    params: list[Any] = []
    derived = _Compiler(base_catalog(), needs_diagnosis=True,
                        ecog_windows=[ECOG_DEFAULT_WINDOW],
                        grace_days=event.at_index_grace_days or 0)
    ctes = _index_ctes(event, params) + derived.diagnosis_ctes(params) + \
        derived.ecog_ctes(params)
    dx = ", ".join(f"dx.{column} AS dx_{column}" for column in DIAGNOSIS_COLUMNS)
    return CompiledQuery(f"{_with(ctes)}\nSELECT ix.*, {dx}, ecog_1.ecog AS ecog_default\n"
                         f"FROM ix{derived.joins()}", params)


def _with(ctes: list[str]) -> str:
    return "WITH " + ",\n".join(ctes)


def compile_cohort(definition: Definition, catalog: Catalog | None = None,
                   index_table: str | None = None) -> CompiledQuery:
    """SQL selecting ``patient_id, index_date, index_line`` of the cohort (enabled rules).

    With ``index_table`` (a table of :func:`index_population_sql`) the index event is read
    from it instead of being recomputed; without it the SQL stands alone (export, other engines).

    Rules that read neither the diagnosis at index nor an ECOG are applied first (``ix_early``);
    the diagnosis and ECOG rows, which need a window over every patient's rows, are then
    computed for the patients still left only, and the remaining rules applied. The rules are
    a conjunction, so the order does not change the result.
    """
    compiler = _Compiler(catalog or base_catalog(), kept_index=index_table is not None,
                         grace_days=definition.index_event.at_index_grace_days or 0)
    early: list[tuple[str, list[Any]]] = []
    late: list[tuple[str, list[Any]]] = []
    for rule in definition.enabled_rules():
        rule_params: list[Any] = []
        compiler.uses_derived = False
        sql = compiler.node(rule.criteria, rule_params)
        (late if compiler.uses_derived else early).append((sql, rule_params))
    params: list[Any] = []
    ctes = _population_ctes(definition.index_event, params, index_table)
    source = "ix"
    if early and late:
        ctes.append(f"ix_early AS (\n  SELECT ix.* FROM ix\n  WHERE {_conjunction(early, params)}\n)")  # noqa: S608 - compiled rules
        compiler.population, source, early = "ix_early", "ix_early AS ix", []
    ctes += compiler.diagnosis_ctes(params)
    ctes += compiler.ecog_ctes(params)
    rules = early + late
    where = f"\nWHERE {_conjunction(rules, params)}" if rules else ""
    sql = f"{_with(ctes)}\nSELECT {COHORT_SELECT}\nFROM {source}{compiler.joins()}{where}"
    return CompiledQuery(sql, params)


def _conjunction(rules: list[tuple[str, list[Any]]], params: list[Any]) -> str:
    """Compiled rules joined by AND; their parameters appended to ``params`` in order."""
    for _, rule_params in rules:
        params.extend(rule_params)
    return "\n  AND ".join(sql for sql, _ in rules)


def compile_attrition(definition: Definition, catalog: Catalog | None = None,
                      index_table: str | None = None) -> CompiledQuery:
    """One-row SQL: ``index_population``, then ``alone_k`` and ``after_k`` for every rule k.

    ``alone_k`` counts patients meeting rule k alone; ``after_k`` those meeting every enabled
    rule up to k (a disabled rule repeats the previous step).
    """
    rules = definition.inclusion_rules
    parts = _compile_parts(definition, catalog, rules, index_table)
    flags = ",\n    ".join(
        f"CASE WHEN {sql} THEN 1 ELSE 0 END AS rule_{k}"
        for k, sql in enumerate(parts.rule_sql, start=1)
    ) or "1 AS rule_0"
    ctes = [*parts.ctes, f"flags AS (\n  SELECT\n    {flags}\n  FROM ix{parts.joins}\n)"]
    columns = ["COUNT(*) AS index_population"]
    enabled: list[str] = []
    for k, rule in enumerate(rules, start=1):
        columns.append(f"SUM(rule_{k}) AS alone_{k}")
        if rule.enabled:
            enabled.append(f"rule_{k}")
        product = " * ".join(enabled) if enabled else "1"
        columns.append(f"SUM({product}) AS after_{k}")
    sql = f"{_with(ctes)}\nSELECT " + ",\n  ".join(columns) + "\nFROM flags"
    return CompiledQuery(sql, parts.params)


def compile_index(definition: Definition) -> CompiledQuery:
    """SQL selecting the index-event population only."""
    params: list[Any] = []
    ctes = _index_ctes(definition.index_event, params)
    return CompiledQuery(f"{_with(ctes)}\nSELECT {COHORT_SELECT}\nFROM ix", params)


# ------------------------------------------------------------------- readable SQL


def sql_literal(value: Any) -> str:
    """A value as a safely quoted SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def inline_params(sql: str, params: list[Any]) -> str:
    """Replace each ``?`` placeholder (outside quoted literals) with its literal."""
    out, it, in_quote = [], iter(params), False
    for char in sql:
        if char == "'":
            in_quote = not in_quote
        if char == "?" and not in_quote:
            try:
                out.append(sql_literal(next(it)))
            except StopIteration as exc:
                raise ValueError("fewer parameters than placeholders") from exc
            continue
        out.append(char)
    if next(it, StopIteration) is not StopIteration:
        raise ValueError("more parameters than placeholders")
    return "".join(out)

