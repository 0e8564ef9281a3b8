"""Best overall response (RECIST 1.1) for the line at index: ORR and DCR by stratum.

Best overall response (BOR) per patient is the best of CR > PR > SD > PD > NE among the
tumour assessments of the index line dated on or after index. Patients without any such
assessment are "Not evaluable": they are counted and shown, and by default they are left out of
the ORR/DCR denominator (``denominator="evaluable"``: patients with a BOR, NE included);
``denominator="all"`` divides by every cohort patient of the stratum instead.
ORR = (CR + PR) / denominator; DCR = (CR + PR + SD) / denominator; exact Clopper-Pearson 95 % CI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from queries.analyses.strata import (
    UNKNOWN,
    UNTESTED,
    base_table,
    jsonable_dict,
    order_levels,
    stratum_column,
)
from queries.cohort.kept_tables import Cohort
from queries.snapshot.schema import BOR_CATEGORIES, DISEASE_CONTROL, NOT_EVALUABLE, RESPONDERS


def clopper_pearson(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact binomial confidence interval; (nan, nan) when n == 0."""
    if n <= 0:
        return float("nan"), float("nan")
    lower = 0.0 if successes == 0 else stats.beta.ppf(alpha / 2, successes, n - successes + 1)
    upper = 1.0 if successes == n else stats.beta.ppf(1 - alpha / 2, successes + 1, n - successes)
    return float(lower), float(upper)


@dataclass
class DifferenceTest:
    test: str
    statistic: float | None
    p_value: float
    strata: list[str]
    outcome: str = "ORR"


@dataclass
class ResponseResult:
    """BOR counts and ORR/DCR per stratum; proportions are fractions (0-1)."""

    stratification: str | None
    counts: pd.DataFrame  # stratum, bor, n, pct (of the stratum's patients)
    rates: pd.DataFrame  # stratum, n, not_evaluable, denominator, responders, orr, ...
    test: DifferenceTest | None = None
    denominator: str = "evaluable"
    empty_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict({
            "stratification": self.stratification, "counts": self.counts, "rates": self.rates,
            "test": vars(self.test) if self.test else None, "denominator": self.denominator,
            "empty_reason": self.empty_reason, "notes": self.notes,
        })


def bor_counts(cohort: Cohort, strata: str | None = None) -> pd.DataFrame:
    """Patients per (stratum, BOR) from the cohort's analysis base, not evaluable included."""
    sql = (
        f"SELECT {stratum_column(strata)} AS stratum, "  # noqa: S608 - fixed names
        f"coalesce(bor, '{NOT_EVALUABLE}') AS bor, count(*) AS n "
        f"FROM {base_table(cohort)} GROUP BY ALL"
    )
    return cohort.db.cursor().execute(sql).df().astype({"stratum": str, "bor": str, "n": "int64"})


def rates_from_counts(long: pd.DataFrame, stratification: str | None = None,
                      denominator: str = "evaluable") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Complete counts table and ORR/DCR per stratum from (stratum, bor, n) rows (pure)."""
    levels = order_levels(stratification, set(long["stratum"]))
    wide = (long.pivot_table(index="stratum", columns="bor", values="n", aggfunc="sum",
                             fill_value=0)
            .reindex(index=levels, columns=list(BOR_CATEGORIES), fill_value=0).astype("int64"))
    counts = wide.reset_index().melt(id_vars="stratum", var_name="bor", value_name="n")
    totals = wide.sum(axis=1)
    counts["pct"] = counts["n"] / counts["stratum"].map(totals).replace(0, np.nan)
    rows = [_rate_row(level, cast(pd.Series, wide.loc[level]), denominator) for level in levels]
    return counts, pd.DataFrame(rows, columns=_RATE_COLUMNS)


_RATE_COLUMNS = ["stratum", "n", "not_evaluable", "denominator", "responders", "orr",
                 "orr_ci_lower", "orr_ci_upper", "disease_control", "dcr", "dcr_ci_lower",
                 "dcr_ci_upper"]


def _rate_row(stratum: str, row: pd.Series, denominator: str) -> dict[str, Any]:
    n = int(row.sum())
    not_evaluable = int(row[NOT_EVALUABLE])
    denom = n - not_evaluable if denominator == "evaluable" else n
    responders = int(row[list(RESPONDERS)].sum())
    control = int(row[list(DISEASE_CONTROL)].sum())
    orr_ci = clopper_pearson(responders, denom)
    dcr_ci = clopper_pearson(control, denom)
    return {
        "stratum": stratum, "n": n, "not_evaluable": not_evaluable, "denominator": denom,
        "responders": responders, "orr": responders / denom if denom else None,
        "orr_ci_lower": orr_ci[0], "orr_ci_upper": orr_ci[1],
        "disease_control": control, "dcr": control / denom if denom else None,
        "dcr_ci_lower": dcr_ci[0], "dcr_ci_upper": dcr_ci[1],
    }


def difference_test(rates: pd.DataFrame, outcome: str = "orr") -> DifferenceTest | None:
    """Fisher's exact test for two strata, Pearson's chi-square for more (unknown left out)."""
    known = rates[~rates["stratum"].isin([UNKNOWN, UNTESTED]) & (rates["denominator"] > 0)]
    if len(known) < 2:
        known = rates[rates["denominator"] > 0]
    if len(known) < 2:
        return None
    hits = known["responders" if outcome == "orr" else "disease_control"].to_numpy()
    table = np.column_stack([hits, known["denominator"].to_numpy() - hits])
    strata = known["stratum"].tolist()
    label = outcome.upper()
    if table.sum(axis=0).min() == 0:
        return DifferenceTest("none (no variation)", None, 1.0, strata, label)
    if len(known) == 2:
        res = stats.fisher_exact(table)
        return DifferenceTest("Fisher exact", float(res.statistic), float(res.pvalue), strata,
                              label)
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    return DifferenceTest("Pearson chi-square", float(chi2), float(p), strata, label)


def best_overall_response(cohort: Cohort, strata: str | None = None,
                          denominator: str = "evaluable") -> ResponseResult:
    """BOR counts, ORR and DCR with Clopper-Pearson CI per stratum, and a test across strata."""
    if denominator not in ("evaluable", "all"):
        raise ValueError("denominator must be 'evaluable' or 'all'")
    if cohort.size == 0:
        return _empty(strata, denominator, "the cohort is empty")
    long = bor_counts(cohort, strata)
    counts, rates = rates_from_counts(long, strata, denominator)
    result = ResponseResult(strata, counts, rates, difference_test(rates), denominator)
    if int(rates["not_evaluable"].sum()) == int(rates["n"].sum()):
        result.empty_reason = ("no patient in this cohort has a tumour assessment of the index "
                               "line")
    return result


def _empty(strata: str | None, denominator: str, reason: str) -> ResponseResult:
    return ResponseResult(strata, pd.DataFrame(columns=["stratum", "bor", "n", "pct"]),
                          pd.DataFrame(columns=_RATE_COLUMNS), None, denominator, reason)
