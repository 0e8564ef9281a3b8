"""Stratifications of a cohort: categorical fields and biomarker strata with clinical cut-offs.

Every stratification turns a materialized cohort into ``(patient_id, stratum)`` rows, one per
cohort patient, with fixed labels in a fixed order; patients without a value fall into their
own group ("Unknown", or "Untested" for biomarkers) rather than being dropped.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from queries.cohort import Cohort

SQL_DIR = Path(__file__).resolve().parent / "sql"
UNKNOWN = "Unknown"
UNTESTED = "Untested"
ALL = "All patients"


@functools.cache
def load_sql(name: str) -> str:
    """Static SQL from queries/sql/, read once."""
    return (SQL_DIR / f"{name}.sql").read_text()


def cohort_sql(name: str, cohort: Cohort) -> str:
    """A static SQL file with the cohort's (validated) table name filled in."""
    return load_sql(name).replace("{cohort}", cohort.table)


@dataclass(frozen=True)
class Stratification:
    """One way to split a cohort: ``expr`` is a SQL CASE over the aliases documented below."""

    key: str
    label: str
    kind: str  # "field" or "biomarker"
    expr: str
    levels: tuple[str, ...] = ()  # fixed order; empty = taken from the data, sorted
    biomarker: str | None = None
    other: str = UNKNOWN
    description: str = ""
    joins: tuple[str, ...] = field(default=())


def _positive_negative(key: str, biomarker: str) -> Stratification:
    expr = (
        "CASE WHEN lower(b.value_category) IN ('positive', 'mutated', 'detected', 'altered') "
        "THEN 'Positive' WHEN lower(b.value_category) IN ('negative', 'wild-type', 'wildtype', "
        "'not detected') THEN 'Negative' END"
    )
    return Stratification(key, f"{biomarker} status", "biomarker", expr,
                          ("Positive", "Negative", UNTESTED), biomarker, UNTESTED,
                          f"{biomarker} result at index: positive / negative / untested")


# Aliases available to ``expr``: p = patients, d = diagnosis at index, e = ECOG at index,
# r = regimen at index, b = the stratification's biomarker at index, c = the cohort.
STRATIFICATIONS: tuple[Stratification, ...] = (
    Stratification("sex", "Sex", "field",
                   "CASE p.sex WHEN 'F' THEN 'Female' WHEN 'M' THEN 'Male' END",
                   ("Female", "Male", UNKNOWN), joins=("p",)),
    Stratification("age_group", "Age at index", "field",
                   "CASE WHEN p.birth_year IS NULL THEN NULL "
                   "WHEN year(c.index_date) - p.birth_year < 65 THEN '< 65' "
                   "WHEN year(c.index_date) - p.birth_year < 75 THEN '65-74' ELSE '≥ 75' END",
                   ("< 65", "65-74", "≥ 75", UNKNOWN), joins=("p",)),
    Stratification("site", "Site", "field", "p.site", joins=("p",)),
    Stratification("smoking_status", "Smoking", "field",
                   "CASE p.smoking_status WHEN 'never' THEN 'Never' WHEN 'former' THEN 'Former' "
                   "WHEN 'current' THEN 'Current' END",
                   ("Never", "Former", "Current", UNKNOWN), joins=("p",)),
    Stratification("cancer_type", "Cancer type", "field", "d.cancer_type", joins=("d",)),
    Stratification("stage", "Stage at diagnosis", "field",
                   "CASE WHEN d.stage IN ('I', 'II', 'III', 'IV') THEN 'Stage ' || d.stage END",
                   ("Stage I", "Stage II", "Stage III", "Stage IV", UNKNOWN), joins=("d",)),
    Stratification("ecog", "ECOG at index", "field",
                   "CASE WHEN e.ecog IS NULL THEN NULL WHEN e.ecog <= 1 THEN 'ECOG 0-1' "
                   "ELSE 'ECOG ≥ 2' END",
                   ("ECOG 0-1", "ECOG ≥ 2", UNKNOWN), joins=("e",),
                   description="latest ECOG within 90 days before index"),
    Stratification("regimen", "Regimen at index", "field", "r.regimen", joins=("r",)),
    Stratification("drug_classes", "Drug classes at index", "field", "r.drug_classes",
                   joins=("r",), description="distinct drug classes of the index line"),
    Stratification("pdl1_tps", "PD-L1 TPS", "biomarker",
                   "CASE WHEN b.value_numeric IS NULL THEN NULL "
                   "WHEN b.value_numeric < 1 THEN 'TPS < 1%' "
                   "WHEN b.value_numeric < 50 THEN 'TPS 1-49%' ELSE 'TPS ≥ 50%' END",
                   ("TPS < 1%", "TPS 1-49%", "TPS ≥ 50%", UNTESTED), "PD-L1 TPS", UNTESTED),
    Stratification("pdl1_cps", "PD-L1 CPS", "biomarker",
                   "CASE WHEN b.value_numeric IS NULL THEN NULL "
                   "WHEN b.value_numeric < 1 THEN 'CPS < 1' "
                   "WHEN b.value_numeric < 10 THEN 'CPS 1-9' ELSE 'CPS ≥ 10' END",
                   ("CPS < 1", "CPS 1-9", "CPS ≥ 10", UNTESTED), "PD-L1 CPS", UNTESTED),
    Stratification("tmb", "TMB", "biomarker",
                   "CASE WHEN b.value_numeric IS NOT NULL THEN "
                   "CASE WHEN b.value_numeric >= 10 THEN 'TMB ≥ 10' ELSE 'TMB < 10' END "
                   "WHEN lower(b.value_category) IN ('high', 'tmb-h') THEN 'TMB ≥ 10' "
                   "WHEN lower(b.value_category) IN ('low', 'tmb-l') THEN 'TMB < 10' END",
                   ("TMB ≥ 10", "TMB < 10", UNTESTED), "TMB", UNTESTED,
                   "tumour mutational burden, mut/Mb"),
    Stratification("msi", "MSI", "biomarker",
                   "CASE WHEN upper(b.value_category) IN ('MSI-H', 'DMMR') THEN 'MSI-H' "
                   "WHEN upper(b.value_category) IN ('MSS', 'MSI-L', 'PMMR') THEN 'MSS' END",
                   ("MSI-H", "MSS", UNTESTED), "MSI", UNTESTED),
    _positive_negative("egfr", "EGFR"),
    _positive_negative("alk", "ALK"),
    _positive_negative("kras", "KRAS"),
    _positive_negative("braf", "BRAF"),
)

BY_KEY: dict[str, Stratification] = {s.key: s for s in STRATIFICATIONS}


def get(key: str) -> Stratification:
    """The stratification with this key; ValueError names the valid keys."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown stratification {key!r}; one of {sorted(BY_KEY)}") from None


# alias -> (static SQL of the per-patient subquery, or None for the patients table)
_JOINS: dict[str, str | None] = {
    "p": None,
    "d": "diagnosis_at_index",
    "e": "ecog_at_index",
    "r": "regimen_at_index",
    "b": "biomarker_at_index",
}


def _join_sql(cohort: Cohort, aliases: set[str]) -> str:
    joins = []
    for alias, sql_name in _JOINS.items():
        if alias not in aliases:
            continue
        source = "patients" if sql_name is None else f"({cohort_sql(sql_name, cohort)})"
        joins.append(f"LEFT JOIN {source} {alias} ON {alias}.patient_id = c.patient_id")
    return " ".join(joins)


def _label_expr(strat: Stratification) -> str:
    return f"coalesce(CAST(({strat.expr}) AS VARCHAR), '{strat.other}')"


def fields_sql(cohort: Cohort, keys: list[str], extra: str = "") -> str:
    """SQL of ``(patient_id, <key>...)``: several field stratifications of every patient."""
    strats = [get(key) for key in keys]
    if any(s.biomarker for s in strats):
        raise ValueError("fields_sql takes field stratifications; use stratum_sql for biomarkers")
    aliases = {alias for s in strats for alias in s.joins}
    columns = "".join(f", {_label_expr(s)} AS {s.key}" for s in strats)
    return (f"SELECT c.patient_id{columns}{extra} FROM {cohort.table} c "  # noqa: S608 - fixed catalog
            + _join_sql(cohort, aliases | {"p"}))


def stratum_sql(cohort: Cohort, key: str | None) -> tuple[str, dict]:
    """SQL (and its bound parameters) giving ``(patient_id, stratum)`` for every cohort patient."""
    if key is None:
        return f"SELECT patient_id, '{ALL}' AS stratum FROM {cohort.table}", {}  # noqa: S608
    strat = get(key)
    aliases = set(strat.joins) | ({"b"} if strat.biomarker else set())
    params = {"biomarker": strat.biomarker} if strat.biomarker else {}
    sql = (f"SELECT c.patient_id, {_label_expr(strat)} AS stratum "  # noqa: S608 - fixed catalog
           f"FROM {cohort.table} c " + _join_sql(cohort, aliases))
    return sql, params


def biomarker_levels_sql(cohort: Cohort) -> str:
    """SQL of ``(patient_id, key, level)``: every biomarker result at index, classified."""
    cases = " ".join(
        f"WHEN '{s.biomarker}' THEN CAST(({s.expr}) AS VARCHAR)"
        for s in STRATIFICATIONS if s.biomarker
    )
    keys = " ".join(f"WHEN '{s.biomarker}' THEN '{s.key}'" for s in STRATIFICATIONS
                    if s.biomarker)
    return (f"SELECT b.patient_id, CASE b.biomarker {keys} END AS key, "  # noqa: S608 - fixed catalog
            f"CASE b.biomarker {cases} END AS level "
            f"FROM ({cohort_sql('biomarkers_at_index_all', cohort)}) b "
            "WHERE b.biomarker IN (" + ", ".join(f"'{s.biomarker}'" for s in STRATIFICATIONS
                                                 if s.biomarker) + ")")


def order_levels(key: str | None, observed: list[str] | set[str]) -> list[str]:
    """Observed stratum labels in display order (fixed order, else sorted, unknown last)."""
    observed = set(observed)
    if key is None:
        return [ALL] if ALL in observed else sorted(observed)
    strat = get(key)
    if strat.levels:
        fixed = [level for level in strat.levels if level in observed]
        return fixed + sorted(observed - set(strat.levels))
    return sorted(observed - {strat.other}) + ([strat.other] if strat.other in observed else [])


def strata_table(cohort: Cohort, key: str | None) -> str:
    """Materialize ``(patient_id, stratum)`` once per cohort and stratification; its name."""
    name = f"{cohort.table}__s_{key or 'all'}"
    sql, params = stratum_sql(cohort, key)
    with cohort.db.lock:
        cur = cohort.db.cursor()
        exists = cur.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'memory' "
            "AND table_name = ?", [name],
        ).fetchone()[0]
        if not exists:
            cur.execute(f"CREATE TABLE {name} AS {sql}", params)  # noqa: S608 - fixed names
    return name


def list_stratifications() -> list[dict]:
    """Key, label, kind and description of every stratification (for the UI)."""
    return [{"key": s.key, "label": s.label, "kind": s.kind, "description": s.description}
            for s in STRATIFICATIONS]


def jsonable(value: object) -> object:
    """Plain JSON value: NaN/inf -> None, numpy scalars -> Python, DataFrames -> records."""
    import math

    import numpy as np
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return [{k: jsonable(v) for k, v in row.items()} for row in value.to_dict("records")]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
