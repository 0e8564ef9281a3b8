"""Stratifications of a cohort and the per-cohort analysis base every panel reads.

A stratification labels every cohort patient, with fixed labels in a fixed order: categorical
fields (sex, age group, site, smoking, cancer type, stage, ECOG at index, regimen and drug
classes of the index line) and biomarker strata with clinical cut-offs (PD-L1 TPS < 1 / 1-49 /
>= 50 %, CPS < 1 / 1-9 / >= 10, TMB >= 10 vs < 10 mut/Mb, MSI-H vs MSS, EGFR/ALK/KRAS/BRAF
positive vs negative). Patients without a value get their own group ("Unknown"; "Untested" for
biomarkers) rather than being dropped.

The analysis base (``base_table``) is built once per cohort: one row per patient with both
endpoints, best overall response, age and a ``s_<key>`` label column for every stratification,
so that every panel and every change of stratification is one aggregation over it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from queries.cohort.kept_tables import Cohort
from queries.i18n import N_
from queries.snapshot.schema import STAGE_GROUP_SQL

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
# Labels are data (the stratum column's values) and catalogue messages (N_), translated where
# shown.
UNKNOWN = N_("Unknown")
UNTESTED = N_("Untested")
ALL = N_("All patients")
OTHER_RESULT = N_("Other result")


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


def _positive_negative(key: str, biomarker: str) -> Stratification:
    expr = (
        "CASE WHEN lower(b.value_category) IN ('positive', 'mutated', 'detected', 'altered') "
        "THEN 'Positive' WHEN lower(b.value_category) IN ('negative', 'wild-type', 'wildtype', "
        "'not detected') THEN 'Negative' END"
    )
    return Stratification(key, f"{biomarker} status", "biomarker", expr,
                          (N_("Positive"), N_("Negative"), UNTESTED), biomarker, UNTESTED,
                          f"{biomarker} result at index: positive / negative / untested")


_STAGE_GROUP = STAGE_GROUP_SQL.format(column="d.stage")  # 'IIIB' -> 'III'

# Aliases available to ``expr``: p = patients, d = diagnosis at index, e = ECOG at index,
# r = regimen at index, b = the stratification's biomarker at index, c = the cohort.
STRATIFICATIONS: tuple[Stratification, ...] = (
    Stratification("sex", N_("Sex"), "field",
                   "CASE p.sex WHEN 'F' THEN 'Female' WHEN 'M' THEN 'Male' END",
                   (N_("Female"), N_("Male"), UNKNOWN)),
    Stratification("age_group", N_("Age at index"), "field",
                   "CASE WHEN p.birth_year IS NULL THEN NULL "
                   "WHEN year(c.index_date) - p.birth_year < 65 THEN '< 65' "
                   "WHEN year(c.index_date) - p.birth_year < 75 THEN '65-74' ELSE '≥ 75' END",
                   ("< 65", "65-74", "≥ 75", UNKNOWN)),
    Stratification("site", N_("Site"), "field", "p.site"),
    Stratification("smoking_status", N_("Smoking"), "field",
                   "CASE p.smoking_status WHEN 'never' THEN 'Never' WHEN 'former' THEN 'Former' "
                   "WHEN 'current' THEN 'Current' END",
                   (N_("Never"), N_("Former"), N_("Current"), UNKNOWN)),
    Stratification("cancer_type", N_("Cancer type"), "field", "d.cancer_type"),
    Stratification("stage", N_("Stage at diagnosis"), "field",
                   f"CASE WHEN {_STAGE_GROUP} <> '' THEN 'Stage ' || {_STAGE_GROUP} END",
                   (N_("Stage I"), N_("Stage II"), N_("Stage III"), N_("Stage IV"), UNKNOWN)),
    Stratification("histology", N_("Histology (ICD-O-3)"), "field", "d.histology_icdo3"),
    Stratification("ecog", N_("ECOG at index"), "field",
                   "CASE WHEN e.ecog IS NULL THEN NULL WHEN e.ecog <= 1 THEN 'ECOG 0-1' "
                   "ELSE 'ECOG ≥ 2' END",
                   ("ECOG 0-1", "ECOG ≥ 2", UNKNOWN),
                   description="latest ECOG within 90 days before index"),
    Stratification("ecog_level", N_("ECOG at index (each level)"), "field",
                   "CASE WHEN e.ecog BETWEEN 0 AND 5 THEN 'ECOG ' || CAST(e.ecog AS VARCHAR) END",
                   ("ECOG 0", "ECOG 1", "ECOG 2", "ECOG 3", "ECOG 4", "ECOG 5", UNKNOWN),
                   description="latest ECOG within 90 days before index, each level its own "
                               "group"),
    Stratification("line", N_("Line of therapy at index"), "field",
                   "CASE WHEN c.index_line IS NULL THEN NULL WHEN c.index_line >= 3 "
                   "THEN 'Line ≥ 3' ELSE 'Line ' || CAST(c.index_line AS VARCHAR) END",
                   (N_("Line 1"), N_("Line 2"), N_("Line ≥ 3"), UNKNOWN),
                   description="the treatment line the index event starts"),
    Stratification("regimen", N_("Regimen at index"), "field", "r.regimen"),
    Stratification("drug_classes", N_("Drug classes at index"), "field", "r.drug_classes", description="distinct drug classes of the index line"),
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


def _label_expr(strat: Stratification) -> str:
    return f"coalesce(CAST(({strat.expr}) AS VARCHAR), '{strat.other}')"


def _biomarker_expr(strat: Stratification) -> str:
    """A biomarker's label from the pivoted results; 'Other result' when unclassifiable."""
    expr = (strat.expr.replace("b.value_numeric", f"bm.n_{strat.key}")
            .replace("b.value_category", f"bm.c_{strat.key}"))
    return (f"CASE WHEN bm.t_{strat.key} THEN coalesce(CAST(({expr}) AS VARCHAR), "
            f"'{OTHER_RESULT}') ELSE '{UNTESTED}' END")


def _biomarker_pivot(cohort: Cohort) -> str:
    """One row per patient with each biomarker's result at index as columns."""
    cols = []
    for strat in STRATIFICATIONS:
        if strat.biomarker:
            name = f"'{strat.biomarker}'"
            cols.append(f"max(value_numeric) FILTER (WHERE biomarker = {name}) AS n_{strat.key}, "
                        f"max(value_category) FILTER (WHERE biomarker = {name}) AS c_{strat.key}, "
                        f"bool_or(biomarker = {name}) AS t_{strat.key}")
    return (f"SELECT rid, {', '.join(cols)} "  # noqa: S608 - fixed catalog
            f"FROM ({cohort_sql('biomarkers_at_index_all', cohort)}) GROUP BY rid")


# The endpoint parts (queries/sql/endpoint_parts.sql) the base table carries, in days after index.
ENDPOINT_PART_COLUMNS = ("death_d", "fu_d", "pd_d", "last_d", "resp_d", "cresp_d",
                         "bor_unconfirmed", "bor_confirmed", "next_d", "line_end_d", "has_line")


def base_sql(cohort: Cohort) -> str:
    """Per-patient analysis base: endpoint parts, best response, age and every stratification.

    Columns: patient_id, rid (an integer row id), index_date, index_line, age, the
    ENDPOINT_PART_COLUMNS (see endpoint_parts.sql; every endpoint is an expression over them)
    and ``s_<key>`` (the stratum label) for every key in STRATIFICATIONS.
    """
    labels = [(_biomarker_expr(st) if st.biomarker else _label_expr(st)) + f" AS s_{st.key}"
              for st in STRATIFICATIONS]
    joins = [
        (f"({cohort_sql('diagnosis_at_index', cohort)})", "d"),
        (f"({cohort_sql('ecog_at_index', cohort)})", "e"),
        (f"({cohort_sql('regimen_at_index', cohort)})", "r"),
        (f"({cohort_sql('endpoint_parts', cohort)})", "ep"),
        (f"({_biomarker_pivot(cohort)})", "bm"),
    ]
    return (
        "SELECT c.patient_id, c.rid, c.index_date, c.index_line, "  # noqa: S608
        "year(c.index_date) - p.birth_year AS age, "
        + ", ".join(f"ep.{column}" for column in ENDPOINT_PART_COLUMNS) + ", "
        + ", ".join(labels) + f" FROM {cohort.table} c "
        + " LEFT JOIN patients p ON p.patient_id = c.patient_id "
        # every per-patient part is keyed by the cohort table's integer rid (cheap joins)
        + " ".join(f"LEFT JOIN {src} {alias} ON {alias}.rid = c.rid" for src, alias in joins)
    )


def cached_table(cohort: Cohort, name: str, sql: str, params: dict[str, Any] | None = None) -> str:
    """Create an in-memory table from ``sql`` unless it exists; its name.

    Goes through the snapshot database's one cache, so per-cohort tables share its memory
    budget with the cohorts themselves.
    """
    cohort.db.cached_table(name, sql, params or {})
    return name


def from_source(cohort: Cohort, name: str, whole_table: Callable[[Cohort], str], where: str,
                order_by: str) -> str:
    """``name``: the rows of ``whole_table(source)`` that are the cohort's (``where``), for a
    cohort with a ``source``. Per-patient tables depend only on the patient and the index
    date and line, which the cohort shares with its source, so they are built once per
    source and filtered per cohort. Call inside ``cohort.db.hold()``."""
    if cohort.db.cached_rows(name) is None:
        assert cohort.source is not None  # only called for a cohort with a source
        # the cohort's own table is read last: looked up first, the caller's hold() pins it
        # while the (possibly long) build of the whole table runs; made again if evicted
        cohort.db.ensure(cohort.table)
        whole = whole_table(cohort.source.cohort(cohort.db))
        cached_table(cohort, name, f"SELECT * FROM {whole} WHERE {where} "  # noqa: S608
                                   f"ORDER BY {order_by}")
    return name


def base_table(cohort: Cohort) -> str:
    """Build the analysis base of a cohort once (in memory, beside the cohort); its name.

    A cohort with a ``source`` (its index population) takes its rows from the source's base
    (see :func:`from_source`).
    """
    name = f"{cohort.table}__base"
    if cohort.at_index_grace_days:
        name += f"_grace{int(cohort.at_index_grace_days)}"
    if cohort.source is None:
        return cached_table(cohort, name, base_sql(cohort),
                            {"grace": cohort.at_index_grace_days})
    with cohort.db.hold():  # the source and its base must outlive the query that filters them
        return from_source(cohort, name, base_table,
                           f"patient_id IN (SELECT patient_id FROM {cohort.table})",  # noqa: S608
                           "rid")


def stratum_column(key: str | None) -> str:
    """The base-table expression of a stratification's label."""
    return f"'{ALL}'" if key is None else f"s_{get(key).key}"


def stratum_sql(cohort: Cohort, key: str | None) -> str:
    """SQL giving ``(patient_id, stratum)`` for every cohort patient."""
    return f"SELECT patient_id, {stratum_column(key)} AS stratum FROM {base_table(cohort)}"  # noqa: S608


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
    """A relation ``(patient_id, stratum)`` to join, read from the cohort's analysis base."""
    return f"({stratum_sql(cohort, key)})"


def list_stratifications() -> list[dict[str, Any]]:
    """Key, label, kind and description of every stratification (for the UI)."""
    return [{"key": s.key, "label": s.label, "kind": s.kind, "description": s.description}
            for s in STRATIFICATIONS]


def jsonable(value: object) -> object:
    """Plain JSON value: NaN/inf -> None, numpy scalars -> Python, DataFrames -> records."""
    if isinstance(value, pd.DataFrame):
        return [{k: jsonable(v) for k, v in row.items()} for row in value.to_dict("records")]
    if isinstance(value, dict):
        return jsonable_dict(value)
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


def jsonable_dict(value: dict[str, Any]) -> dict[str, Any]:
    """``jsonable`` of a dict (keys as strings), typed as a dict."""
    return {str(k): jsonable(v) for k, v in value.items()}
