"""Best overall response (RECIST 1.1) for the line at index: ORR and DCR by stratum.

Best overall response (BOR) per patient comes from the tumour assessments of the index line
dated after index, up to the first PD (nothing after PD counts); see
queries/sql/endpoint_parts.sql. ``response="confirmed"`` (default) counts a CR/PR only when a
CR/PR at least 28 days later confirms it (RECIST 1.1); ``"unconfirmed"`` counts every CR/PR. SD
needs an assessment at least 42 days after index in both. Patients without any assessment are
"Not evaluable": by default (``denominator="all"``) they stay in the ORR/DCR denominator as a
category of their own; ``denominator="evaluable"`` divides by patients with a BOR (NE included).
ORR = (CR + PR) / denominator; DCR = (CR + PR + SD) / denominator; exact Clopper-Pearson 95 % CI.
Across ordered strata (e.g. PD-L1 TPS < 1 / 1-49 / >= 50 %) a Cochran-Armitage trend test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from queries.analyses.strata import (
    OTHER_RESULT,
    UNKNOWN,
    UNTESTED,
    base_table,
    get,
    jsonable_dict,
    order_levels,
    stratum_column,
)
from queries.cohort.kept_tables import Cohort
from queries.i18n import N_, Text, Translator, translator
from queries.snapshot.schema import BOR_CATEGORIES, DISEASE_CONTROL, NOT_EVALUABLE, RESPONDERS

RESPONSE_MODES = ("confirmed", "unconfirmed")
DENOMINATORS = ("all", "evaluable")
DEFAULT_RESPONSE = "confirmed"
DEFAULT_DENOMINATOR = "all"


def response_definition(response: str, denominator: str,
                        language: Translator | None = None) -> str:
    """The response rules and the denominator in words (shown beside the panel and in exports),
    English unless ``language``."""
    g = (language or translator()).gettext
    rule = (g(N_("confirmed: a CR or PR counts only when a CR/PR at least 28 days later "
                 "confirms it (RECIST 1.1)")) if response == "confirmed" else
            g(N_("unconfirmed: every CR or PR counts")))
    denom = (g(N_("all patients; those without any tumour assessment are shown as 'Not "
                  "evaluable'")) if denominator == "all" else
             g(N_("evaluable patients only (with at least one tumour assessment); patients "
                  "without one are shown but not counted")))
    return g(N_("Best overall response of the index line after index, up to the first PD "
                "(nothing after PD counts), {rule}; SD needs an assessment at least 42 days "
                "after index. Denominator: {denominator}. Defaults: confirmed, all patients."),
             rule=rule, denominator=denom)


def clopper_pearson(successes: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact binomial confidence interval; (nan, nan) when n == 0."""
    if n <= 0:
        return float("nan"), float("nan")
    lower = 0.0 if successes == 0 else stats.beta.ppf(alpha / 2, successes, n - successes + 1)
    upper = 1.0 if successes == n else stats.beta.ppf(1 - alpha / 2, successes + 1, n - successes)
    return float(lower), float(upper)


def clopper_pearson_arrays(successes: np.ndarray, n: np.ndarray, alpha: float = 0.05
                           ) -> tuple[np.ndarray, np.ndarray]:
    """``clopper_pearson`` for arrays of counts at once (NaN where n == 0)."""
    x, total = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(x == 0, 0.0, stats.beta.ppf(alpha / 2, x, total - x + 1))
        upper = np.where(x == total, 1.0, stats.beta.ppf(1 - alpha / 2, x + 1, total - x))
    empty = total <= 0
    return np.where(empty, np.nan, lower), np.where(empty, np.nan, upper)


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
    denominator: str = DEFAULT_DENOMINATOR
    empty_reason: str | None = None
    notes: list[str] = field(default_factory=list)
    response: str = DEFAULT_RESPONSE
    trend: DifferenceTest | None = None

    @property
    def definition(self) -> str:
        return response_definition(self.response, self.denominator)

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict({
            "stratification": self.stratification, "counts": self.counts, "rates": self.rates,
            "test": vars(self.test) if self.test else None, "denominator": self.denominator,
            "response": self.response, "definition": self.definition,
            "trend": vars(self.trend) if self.trend else None,
            "empty_reason": self.empty_reason, "notes": self.notes,
        })


def bor_counts(cohort: Cohort, strata: str | None = None,
               response: str = DEFAULT_RESPONSE) -> pd.DataFrame:
    """Patients per (stratum, BOR) from the cohort's analysis base, not evaluable included."""
    column = "bor_confirmed" if response == "confirmed" else "bor_unconfirmed"
    sql = (
        f"SELECT {stratum_column(strata)} AS stratum, "  # noqa: S608 - fixed names
        f"coalesce({column}, '{NOT_EVALUABLE}') AS bor, count(*) AS n "
        f"FROM {base_table(cohort)} GROUP BY 1, 2"
    )
    return cohort.db.cursor().execute(sql).df().astype({"stratum": str, "bor": str, "n": "int64"})


def rates_from_counts(long: pd.DataFrame, stratification: str | None = None,
                      denominator: str = DEFAULT_DENOMINATOR) -> tuple[pd.DataFrame, pd.DataFrame]:
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
        return DifferenceTest(N_("none (no variation)"), None, 1.0, strata, label)
    if len(known) == 2:
        res = stats.fisher_exact(table)
        return DifferenceTest(N_("Fisher exact"), float(res.statistic), float(res.pvalue), strata,
                              label)
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    return DifferenceTest(N_("Pearson chi-square"), float(chi2), float(p), strata, label)


def trend_test(rates: pd.DataFrame, stratification: str | None,
               outcome: str = "orr") -> DifferenceTest | None:
    """Cochran-Armitage test for a linear trend of the rate across ordered strata (scores
    0, 1, 2, ... in the stratification's order; unknown/untested left out). None when the
    stratification has no order or fewer than three known levels."""
    if stratification is None or not get(stratification).levels:
        return None
    known = rates[~rates["stratum"].isin([UNKNOWN, UNTESTED, OTHER_RESULT])
                  & (rates["denominator"] > 0)]
    if len(known) < 3:
        return None
    hits = known["responders" if outcome == "orr" else "disease_control"].to_numpy(float)
    n = known["denominator"].to_numpy(float)
    scores = np.arange(len(known), dtype=float)
    p = hits.sum() / n.sum()
    if p in (0.0, 1.0):
        return None
    statistic = float((scores * (hits - n * p)).sum())
    variance = p * (1 - p) * float((n * scores ** 2).sum() - (n * scores).sum() ** 2 / n.sum())
    z = statistic / np.sqrt(variance)
    return DifferenceTest(N_("Cochran-Armitage trend"), float(z), float(2 * stats.norm.sf(abs(z))),
                          known["stratum"].tolist(), outcome.upper())


def best_overall_response(cohort: Cohort, strata: str | None = None,
                          denominator: str = DEFAULT_DENOMINATOR,
                          response: str = DEFAULT_RESPONSE) -> ResponseResult:
    """BOR counts, ORR and DCR with Clopper-Pearson CI per stratum, and tests across strata."""
    if denominator not in DENOMINATORS:
        raise ValueError(f"denominator must be one of {DENOMINATORS}, not {denominator!r}")
    if response not in RESPONSE_MODES:
        raise ValueError(f"response must be one of {RESPONSE_MODES}, not {response!r}")
    if cohort.size == 0:
        return _empty(strata, denominator, Text(N_("the cohort is empty")), response)
    long = bor_counts(cohort, strata, response)
    counts, rates = rates_from_counts(long, strata, denominator)
    result = ResponseResult(strata, counts, rates, difference_test(rates), denominator,
                            response=response, trend=trend_test(rates, strata))
    if int(rates["not_evaluable"].sum()) == int(rates["n"].sum()):
        result.empty_reason = Text(N_("no patient in this cohort has a tumour assessment of the "
                                      "index line"))
    return result


def _empty(strata: str | None, denominator: str, reason: str,
           response: str = DEFAULT_RESPONSE) -> ResponseResult:
    return ResponseResult(strata, pd.DataFrame(columns=["stratum", "bor", "n", "pct"]),
                          pd.DataFrame(columns=_RATE_COLUMNS), None, denominator, reason,
                          response=response)
