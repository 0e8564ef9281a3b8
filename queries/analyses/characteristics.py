"""Baseline characteristics ("Table 1") of a cohort, and standardized differences of two.

Everything is measured at index: age = index year - birth year; diagnosis, ECOG and biomarker
results as defined in queries/analyses/strata.py (diagnosis on or before index + 30 days,
ECOG within 90 days before, biomarker latest on or before index else within 30 days after).
Every percentage of Table 1 is of the cohort (one denominator, stated in ``denominator``),
biomarker levels and "Untested" included; positivity among the tested is in ``biomarkers``.
Sections and characteristics are catalogue messages (``N_``), translated where shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from queries.analyses import propensity
from queries.analyses.strata import (
    STRATIFICATIONS,
    UNTESTED,
    base_table,
    get,
    jsonable_dict,
    order_levels,
    stratum_column,
)
from queries.cohort.kept_tables import Cohort
from queries.engine.base import Cursor
from queries.i18n import N_

CATEGORICAL = ("sex", "age_group", "site", "smoking_status", "cancer_type", "histology", "stage",
               "ecog", "line", "regimen")
ROW_COLUMNS = ["section", "variable", "key", "level", "n", "denominator", "pct", "median", "q1",
               "q3", "mean", "sd"]
SECTIONS = {"sex": N_("Demographics"), "age_group": N_("Demographics"),
            "smoking_status": N_("Demographics"), "site": N_("Demographics"),
            "cancer_type": N_("Disease"), "histology": N_("Disease"), "stage": N_("Disease"),
            "ecog": N_("Disease"), "line": N_("Treatment at index"),
            "regimen": N_("Treatment at index")}
BIOMARKERS_SECTION = N_("Biomarkers at index")
AGE = N_("Age at index, years")
# The level that counts as "positive / high" for each biomarker.
POSITIVE_LEVEL = {s.key: s.levels[-2] if s.key in ("pdl1_tps", "pdl1_cps") else s.levels[0]
                  for s in STRATIFICATIONS if s.biomarker}


@dataclass
class Table1:
    """Rows of Table 1: continuous rows fill median/q1/q3/mean/sd, categorical rows n/pct."""

    n: int | None  # None in a protected copy where the cohort size is withheld
    rows: pd.DataFrame
    biomarkers: pd.DataFrame  # key, biomarker, tested, pct_tested, positive_level, positive, ...
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict({"n": self.n, "rows": self.rows, "biomarkers": self.biomarkers,
                         "notes": self.notes})


@dataclass
class Comparison:
    """Two cohorts side by side with standardized mean differences (SMD).

    ``first`` and ``second`` are the Table 1s it was computed from, so that disclosure
    control can protect each side and recompute the SMDs from released numbers only.
    """

    n: tuple[int | None, int | None]
    rows: pd.DataFrame  # key, level, n_1, pct_1, n_2, pct_2, smd (per level)
    variables: pd.DataFrame  # key, variable, smd (continuous or multi-category)
    first: Table1 | None = field(default=None, repr=False)
    second: Table1 | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict({"n": list(self.n), "rows": self.rows, "variables": self.variables})


def _age_row(cur: Cursor, base: str, n: int) -> dict[str, Any]:
    sql = (f"SELECT count(age), quantile_cont(age, [0.5, 0.25, 0.75]), avg(age), "  # noqa: S608
           f"stddev_samp(age) FROM {base}")
    known, quartiles, mean, sd = cur.execute(sql).fetchall()[0]
    med, q1, q3 = quartiles if quartiles else (None, None, None)
    return {"section": SECTIONS["sex"], "variable": AGE, "key": "age", "level": "",
            "n": known, "denominator": n, "pct": known / n if n else None, "median": med,
            "q1": q1, "q3": q3, "mean": mean, "sd": sd}


def _level_counts(cur: Cursor, base: str, keys: list[str]) -> pd.DataFrame:
    """(key, level, n) for several stratification columns in one scan (GROUPING SETS)."""
    cols = [stratum_column(key) for key in keys]
    sets = ", ".join(f"({col})" for col in cols)
    sql = f"SELECT {', '.join(cols)}, count(*) AS n FROM {base} GROUP BY GROUPING SETS ({sets})"  # noqa: S608
    frame = cur.execute(sql).df()
    parts = []
    for key, col in zip(keys, cols, strict=True):
        part = frame.loc[frame[col].notna(), [col, "n"]].rename(columns={col: "level"})
        parts.append(part.assign(key=key))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["level", "n", "key"])


def _categorical_rows(counts: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    rows = []
    for key in CATEGORICAL:
        part = counts[counts["key"] == key].set_index("level")["n"]
        for level in order_levels(key, set(part.index)):
            count = int(part[level])
            rows.append({"section": SECTIONS[key], "variable": get(key).label, "key": key,
                         "level": level, "n": count, "denominator": n,
                         "pct": count / n if n else None})
    return rows


def _biomarker_frames(counts: pd.DataFrame, n: int) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    rows, summary = [], []
    for strat in (s for s in STRATIFICATIONS if s.biomarker):
        part = counts[counts["key"] == strat.key].set_index("level")["n"]
        tested = int(part.drop(UNTESTED, errors="ignore").sum())
        positive = int(part.get(POSITIVE_LEVEL[strat.key], 0))
        summary.append({"key": strat.key, "biomarker": strat.biomarker, "tested": tested,
                        "pct_tested": tested / n if n else None,
                        "positive_level": POSITIVE_LEVEL[strat.key], "positive": positive,
                        "pct_positive_of_tested": positive / tested if tested else None})
        for level in order_levels(strat.key, set(part.index) | {UNTESTED}):
            count = int(part.get(level, 0))
            rows.append({"section": BIOMARKERS_SECTION, "variable": strat.label,
                         "key": strat.key, "level": level, "n": count, "denominator": n,
                         "pct": count / n if n else None})
    return rows, pd.DataFrame(summary)


def table_one(cohort: Cohort) -> Table1:
    """Table 1 of a materialized cohort from its analysis base (two scans)."""
    cur = cohort.db.cursor()
    n = cohort.size
    base = base_table(cohort)
    markers = [s.key for s in STRATIFICATIONS if s.biomarker]
    counts = _level_counts(cur, base, list(CATEGORICAL) + markers)
    rows = [{"section": N_("Cohort"), "variable": N_("Patients"), "key": "n", "level": "",
             "n": n, "denominator": n, "pct": 1.0 if n else None}]
    rows.append(_age_row(cur, base, n))
    rows.extend(_categorical_rows(counts, n))
    marker_rows, marker_summary = _biomarker_frames(counts, n)
    rows.extend(marker_rows)
    return Table1(n=n, rows=pd.DataFrame(rows, columns=ROW_COLUMNS), biomarkers=marker_summary)


# --- standardized differences -------------------------------------------------------------


def smd_continuous(mean1: float, sd1: float, mean2: float, sd2: float) -> float | None:
    """Cohen-style SMD with the pooled SD sqrt((sd1^2 + sd2^2) / 2); infinite when the groups
    differ but neither varies."""
    values = (mean1, sd1, mean2, sd2)
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return None
    return propensity.standardize(mean1 - mean2, (sd1 ** 2 + sd2 ** 2) / 2)


def smd_proportion(p1: float, p2: float) -> float | None:
    """SMD of one level's proportion (binary variable); infinite for 100 % vs 0 %."""
    return propensity.smd_binary(p1, p2)


def smd_multicategory(p1: np.ndarray, p2: np.ndarray) -> float:
    """Yang & Dalton's SMD of a categorical variable (levels as proportions summing to 1)."""
    return propensity.smd_categorical(p1, p2)


def compare(first: Table1, second: Table1) -> Comparison:
    """Side-by-side Table 1 of two cohorts with SMD per level and per variable.

    Works on protected Table 1s too: a withheld count (NA) leaves the SMD of its level and
    of its variable empty, so no SMD can be solved for a hidden cell.
    """
    a = first.rows.set_index(["key", "level"])
    b = second.rows.set_index(["key", "level"])
    index = a.index.append(b.index[~b.index.isin(a.index)])
    rows = pd.DataFrame(index=index).reset_index()
    rows["variable"] = [a["variable"].get(i, b["variable"].get(i)) for i in index]
    for suffix, table in (("1", a), ("2", b)):
        # a level the other cohort lacks is a true 0; a withheld count stays NA
        rows[f"n_{suffix}"] = pd.array([table["n"].get(i, 0) for i in index], dtype="Int64")
        rows[f"pct_{suffix}"] = [table["pct"].get(i, 0.0) for i in index]
    categorical = ~rows["key"].isin(["n", "age"])
    rows["smd"] = [smd_proportion(p1, p2) if cat and _known(p1) and _known(p2) else None
                   for p1, p2, cat in zip(rows["pct_1"], rows["pct_2"], categorical,
                                          strict=True)]
    variables: list[dict[str, Any]] = [{"key": "age", "variable": AGE,
                  "smd": _age_smd(a, b)}]
    for key, part in rows[categorical].groupby("key", sort=False):
        variables.append({"key": key, "variable": part["variable"].iloc[0],
                          "smd": _categorical_smd(part)})
    return Comparison((first.n, second.n), rows, pd.DataFrame(variables), first, second)


def _known(value: Any) -> bool:
    return value is not None and not pd.isna(value)


def _age_smd(a: pd.DataFrame, b: pd.DataFrame) -> float | None:
    ra, rb = (cast(pd.Series, table.loc[("age", "")]) for table in (a, b))
    return smd_continuous(ra["mean"], ra["sd"], rb["mean"], rb["sd"])


def _categorical_smd(part: pd.DataFrame) -> float:
    """Multi-category SMD from counts (levels re-normalized within the variable)."""
    if part["n_1"].isna().any() or part["n_2"].isna().any():
        return float("nan")  # a withheld level: the SMD is withheld too
    p1 = part["n_1"].to_numpy(float)
    p2 = part["n_2"].to_numpy(float)
    if p1.sum() == 0 or p2.sum() == 0:
        return float("nan")
    return smd_multicategory(p1 / p1.sum(), p2 / p2.sum())
