"""Kaplan-Meier survival, log-rank test and Cox hazard ratio for a materialized cohort.

Endpoints (time zero = the cohort's index date, times in days):

- OS: index -> death; patients alive are censored at their last follow-up date.
- PFS: index -> the first tumour assessment after index with response PD, or death, whichever
  comes first. Patients with neither are censored at their last tumour assessment after index,
  or at day 0 when they have none (never later than last follow-up).

Fast path: DuckDB reduces the cohort to ``(stratum, time_days, n_event, n_censored)`` and the
Kaplan-Meier estimator, log-rank test and Cox model are computed from those counts with
lifelines' formulas in vectorized numpy (lifelines itself, with the counts as weights, spends
most of its time in pandas bookkeeping). tests/unit/test_survival.py shows each one equal to
lifelines' per-patient ``KaplanMeierFitter``, ``multivariate_logrank_test`` and ``CoxPHFitter``
(Efron ties, optionally stratified).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from queries.analyses.strata import (
    UNKNOWN,
    UNTESTED,
    base_table,
    cohort_sql,
    jsonable_dict,
    order_levels,
    stratum_column,
)
from queries.cohort.kept_tables import Cohort
from queries.snapshot.schema import DAYS_PER_MONTH

Z95 = stats.norm.ppf(0.975)
NOT_TESTED_LEVELS = (UNKNOWN, UNTESTED)
NO_FOLLOW_UP = "no patient has a usable follow-up time"


class Endpoint(StrEnum):
    OS = "os"
    PFS = "pfs"


@dataclass
class LogRankResult:
    statistic: float
    df: int
    p_value: float
    strata: list[str]


@dataclass
class HazardRatio:
    group: str
    reference: str
    hr: float
    ci_lower: float
    ci_upper: float
    p_value: float
    coef: float
    se: float
    method: str = "Cox proportional hazards, Efron ties, Wald 95% CI"


@dataclass
class SurvivalResult:
    """Everything a survival panel shows; times in days, *_months for display."""

    endpoint: str
    stratification: str | None
    curve: pd.DataFrame
    summary: pd.DataFrame
    at_risk: pd.DataFrame
    logrank: LogRankResult | None = None
    hazard_ratio: HazardRatio | None = None
    empty_reason: str | None = None
    excluded: int | None = 0  # None in a protected copy where it is withheld
    ci_method: str = "log-log"
    notes: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return self.empty_reason is not None

    def to_dict(self) -> dict[str, Any]:
        return jsonable_dict({
            "endpoint": self.endpoint, "stratification": self.stratification,
            "curve": self.curve, "summary": self.summary, "at_risk": self.at_risk,
            "logrank": vars(self.logrank) if self.logrank else None,
            "hazard_ratio": vars(self.hazard_ratio) if self.hazard_ratio else None,
            "empty_reason": self.empty_reason, "excluded": self.excluded,
            "ci_method": self.ci_method, "notes": self.notes,
        })


# --- data: DuckDB aggregation -------------------------------------------------------------


def patient_times_sql(cohort: Cohort, endpoint: Endpoint) -> str:
    """SQL of ``(patient_id, time_days, event)`` for the endpoint (see module docstring)."""
    name = "os_patient" if endpoint is Endpoint.OS else "pfs_patient"
    return f"SELECT patient_id, time_days, event FROM ({cohort_sql(name, cohort)})"  # noqa: S608


def aggregate(cohort: Cohort, endpoint: Endpoint | str, strata: str | None = None,
              within: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Counts of events and censorings per (stratum, day): the whole input of every fit.

    Read from the cohort's analysis base (queries/strata.py). ``within`` adds the combined
    levels of one or more other stratifications as column ``within`` (the strata of a
    stratified Cox model).
    """
    ep = Endpoint(endpoint).value
    keys = [within] if isinstance(within, str) else list(within or [])
    extra = ""
    if keys:
        extra = ", " + " || ' | ' || ".join(stratum_column(key) for key in keys) + " AS within"
    sql = (
        f"SELECT {stratum_column(strata)} AS stratum{extra}, {ep}_days AS time_days, "  # noqa: S608 - fixed names
        f"sum(CAST({ep}_event AS INTEGER)) AS n_event, "
        f"sum(CAST(NOT {ep}_event AS INTEGER)) AS n_censored "
        f"FROM {base_table(cohort)} WHERE {ep}_days IS NOT NULL GROUP BY ALL ORDER BY ALL"
    )
    frame = cohort.db.cursor().execute(sql).df()
    return frame.astype({"stratum": str, "time_days": "int64", "n_event": "int64",
                         "n_censored": "int64"})


def _pfs_empty_reason(cohort: Cohort) -> str | None:
    sql = f"SELECT count(*) FILTER (WHERE pfs_assessed) FROM {base_table(cohort)}"  # noqa: S608
    if cohort.db.cursor().execute(sql).fetchall()[0][0] == 0:
        return "no patient in this cohort has a tumour assessment after index"
    return None


def aggregate_patients(durations: ArrayLike, events: ArrayLike,
                       groups: ArrayLike | None = None) -> pd.DataFrame:
    """The same counts from per-patient arrays (tests, the pandas comparison in the bench)."""
    frame = pd.DataFrame({
        "stratum": "All patients" if groups is None else pd.Series(groups).astype(str).values,
        "time_days": np.asarray(durations, dtype="int64"),
        "event": np.asarray(events, dtype=bool),
    })
    frame["n_event"] = frame["event"].astype("int64")
    frame["n_censored"] = (~frame["event"]).astype("int64")
    return (frame.groupby(["stratum", "time_days"], as_index=False)[["n_event", "n_censored"]]
            .sum().sort_values(["stratum", "time_days"], ignore_index=True))


# --- statistics on the counts -------------------------------------------------------------


def _counts_matrix(agg: pd.DataFrame, strata: list[str]) -> tuple[np.ndarray, ...]:
    """Distinct times and per-stratum event/censor counts at each, as dense arrays [G, T]."""
    part = agg[agg["stratum"].isin(strata)]
    times, t_idx = np.unique(part["time_days"].to_numpy(), return_inverse=True)
    g_idx = pd.Categorical(part["stratum"], categories=strata).codes
    d = np.zeros((len(strata), len(times)))
    c = np.zeros((len(strata), len(times)))
    np.add.at(d, (g_idx, t_idx), part["n_event"].to_numpy())
    np.add.at(c, (g_idx, t_idx), part["n_censored"].to_numpy())
    return times, d, c


def _at_risk(d: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Numbers at risk just before each time (last axis = time)."""
    removed = np.cumsum(d + c, axis=-1)
    at_risk: np.ndarray = removed[..., -1:] - removed + d + c
    return at_risk


def _fit_stratum(times: np.ndarray, d: np.ndarray, c: np.ndarray,
                 ci_method: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """KM curve and median of one stratum from its counts at each distinct time.

    The same formulas as lifelines' KaplanMeierFitter (product-limit estimate, Greenwood
    variance, exponential Greenwood "log-log" CI), so it equals lifelines' per-patient fit;
    ``ci_method="log"`` gives R survfit's default CI instead.
    """
    keep = (d + c) > 0
    times, d, c = times[keep], d[keep], c[keep]
    n = _at_risk(d, c)
    n_total = int(n[0]) if len(n) else 0
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.exp(np.cumsum(np.log(n - d) - np.log(n)))
        var_terms = d / (n * (n - d))
        var = np.cumsum(np.where(np.isinf(var_terms), 0.0, var_terms))
        if ci_method == "log":
            lower, upper = _log_ci(surv, var)
        else:
            v = np.log(surv)
            lower = np.exp(-np.exp(np.log(-v) - Z95 * np.sqrt(var) / v))
            upper = np.exp(-np.exp(np.log(-v) + Z95 * np.sqrt(var) / v))
            lower, upper = np.nan_to_num(lower, nan=1.0), np.nan_to_num(upper, nan=1.0)
    if len(times) == 0 or times[0] != 0:
        times, surv, lower, upper = (np.concatenate([[x0], arr]) for x0, arr in
                                     ((0, times), (1.0, surv), (1.0, lower), (1.0, upper)))
        n, d, c = (np.concatenate([[x0], arr]) for x0, arr in ((n_total, n), (0, d), (0, c)))
    curve = pd.DataFrame({"time_days": times.astype("int64"), "survival": surv,
                          "ci_lower": lower, "ci_upper": upper, "at_risk": n.astype("int64"),
                          "events": d.astype("int64"), "censored": c.astype("int64")})
    summary = {"n": n_total, "events": int(d.sum()),
               "median_days": _first_below_half(times, surv),
               "median_ci_lower_days": _first_below_half(times, lower),
               "median_ci_upper_days": _first_below_half(times, upper)}
    return curve, summary


def _log_ci(surv: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Greenwood 95% CI on the log scale (R survfit's default conf.type = "log")."""
    se = np.sqrt(var)
    lower = np.where(surv > 0, surv * np.exp(-Z95 * se), np.nan)
    upper = np.where(surv > 0, np.minimum(1.0, surv * np.exp(Z95 * se)), np.nan)
    return lower, upper


def _first_below_half(times: np.ndarray, values: np.ndarray) -> float | None:
    """First time a curve is at or below 0.5 (None when it never is); NaN carries forward."""
    values = pd.Series(values).ffill().to_numpy()
    hits = np.flatnonzero(values <= 0.5)
    return float(times[hits[0]]) if len(hits) else None


def logrank(agg: pd.DataFrame, strata: list[str]) -> LogRankResult | None:
    """Log-rank test across the given strata from the counts (equal to lifelines')."""
    strata = [s for s in strata if (agg["stratum"] == s).any()]
    if len(strata) < 2:
        return None
    _, d, c = _counts_matrix(agg, strata)
    n = _at_risk(d, c)
    big_n, big_d = n.sum(axis=0), d.sum(axis=0)
    use = (big_d > 0) & (big_n > 1)
    n, d, big_n, big_d = n[:, use], d[:, use], big_n[use], big_d[use]
    share = n / big_n
    observed_minus_expected = (d - big_d * share).sum(axis=1)
    factor = big_d * (big_n - big_d) / (big_n - 1)
    cov = np.einsum("t,gt,ht->gh", factor, share, share)
    var = np.diag((factor * share).sum(axis=1)) - cov
    u, v = observed_minus_expected[:-1], var[:-1, :-1]
    statistic = float(u @ np.linalg.pinv(v) @ u)
    df = len(strata) - 1
    return LogRankResult(statistic, df, float(stats.chi2.sf(statistic, df)), list(strata))


def cox_two_groups(agg: pd.DataFrame, group: str, reference: str) -> HazardRatio | None:
    """Hazard ratio of ``group`` vs ``reference`` (Efron ties) from the aggregated counts.

    When ``agg`` has a ``within`` column the model is stratified by it: each level keeps its
    own baseline hazard (like ``CoxPHFitter(strata=...)``), the hazard ratio is shared.
    """
    part = agg[agg["stratum"].isin([group, reference])]
    if part.empty or part["n_event"].sum() == 0:
        return None
    blocks = [b for _, b in part.groupby("within")] if "within" in part else [part]
    arrays = [_risk_arrays(block, group, reference) for block in blocks]
    d1, d0, n1, n0 = (np.concatenate(column) for column in zip(*arrays, strict=True))
    fitted = _efron_newton(d1, d0, n1, n0)
    if fitted is None:
        return None
    beta, se = fitted
    z = beta / se
    method = "Cox proportional hazards, Efron ties, Wald 95% CI"
    if "within" in part:
        method += f", stratified ({len(blocks)} strata)"
    return HazardRatio(group=group, reference=reference, hr=math.exp(beta),
                       ci_lower=math.exp(beta - Z95 * se), ci_upper=math.exp(beta + Z95 * se),
                       p_value=float(2 * stats.norm.sf(abs(z))), coef=beta, se=se,
                       method=method)


def _risk_arrays(part: pd.DataFrame, group: str, reference: str) -> tuple[np.ndarray, ...]:
    """Events (d) and numbers at risk (n) of each group at every time of one stratum."""
    _, d, c = _counts_matrix(part, [group, reference])
    n = _at_risk(d, c)
    return d[0], d[1], n[0], n[1]


def _efron_newton(d1: np.ndarray, d0: np.ndarray, n1: np.ndarray,
                  n0: np.ndarray) -> tuple[float, float] | None:
    """Maximize Efron's partial likelihood for one binary covariate; (beta, se) or None."""
    keep = (d1 + d0) > 0
    d1, d0, n1, n0 = (np.asarray(a, dtype=float)[keep] for a in (d1, d0, n1, n0))
    d = (d1 + d0).astype(int)
    if d1.sum() == 0 or d0.sum() == 0:
        return None  # the estimate is infinite: one group has no events
    idx = np.repeat(np.arange(len(d)), d)
    frac = (np.arange(idx.size) - np.repeat(np.cumsum(d) - d, d)) / d[idx]
    beta = 0.0
    for _ in range(100):
        q, info = _efron_terms(beta, d1, d0, n1, n0, idx, frac)
        if not info > 0:
            return None
        step = (d1.sum() - q.sum()) / info
        beta += max(-5.0, min(5.0, step))  # bounded steps; the MLE exists (both have events)
        if abs(beta) > 30:
            return None  # monotone likelihood: no finite estimate
        if abs(step) < 1e-10:
            break
    _, info = _efron_terms(beta, d1, d0, n1, n0, idx, frac)
    return (float(beta), 1.0 / math.sqrt(info)) if info > 0 else None


def _efron_terms(beta: float, d1: np.ndarray, d0: np.ndarray, n1: np.ndarray, n0: np.ndarray,
                 idx: np.ndarray, frac: np.ndarray) -> tuple[np.ndarray, float]:
    eb = math.exp(beta)
    risk1, event1 = n1 * eb, d1 * eb
    den = (n0 + risk1)[idx] - frac * (d0 + event1)[idx]
    q = (risk1[idx] - frac * event1[idx]) / den
    return q, float((q - q * q).sum())


# --- the panel ----------------------------------------------------------------------------


def default_at_risk_months(max_days: float, every: int = 6) -> list[float]:
    """Every ``every`` months up to the longest follow-up."""
    last = int(max_days // (every * DAYS_PER_MONTH))
    return [float(every * k) for k in range(last + 1)]


def at_risk_table(curves: pd.DataFrame, months: list[float]) -> pd.DataFrame:
    """Numbers at risk (time >= t) per stratum at the given months."""
    frames = []
    days = np.asarray(months, dtype=float) * DAYS_PER_MONTH
    for stratum, part in curves.groupby("stratum", sort=False):
        times = part["time_days"].to_numpy()
        at_risk = np.append(part["at_risk"].to_numpy(), 0)
        # the first curve row at or after t holds the number still followed at t
        first = np.searchsorted(times, days, side="left")
        values = at_risk[first]
        values[days <= 0] = at_risk[0]
        frames.append(pd.DataFrame({"stratum": stratum, "time_months": list(months),
                                    "at_risk": values.astype("int64")}))
    if not frames:
        return pd.DataFrame(columns=["stratum", "time_months", "at_risk"])
    return pd.concat(frames, ignore_index=True)


def fit(agg: pd.DataFrame, endpoint: Endpoint | str = Endpoint.OS,
        stratification: str | None = None, at_risk_months: list[float] | None = None,
        hr_groups: tuple[str, str] | None = None, ci_method: str = "log-log") -> SurvivalResult:
    """Every survival statistic from the aggregated counts (pure; no database).

    ``hr_groups`` = (group, reference); by default the hazard ratio is given when exactly two
    known strata exist (the second vs the first in display order). Unknown/untested strata are
    drawn but left out of the log-rank test and the default hazard ratio.
    """
    endpoint = Endpoint(endpoint)
    levels = order_levels(stratification, set(agg["stratum"]))
    curves, summaries = [], []
    times, d, c = _counts_matrix(agg, levels)
    for i, level in enumerate(levels):
        curve, stratum_summary = _fit_stratum(times, d[i], c[i], ci_method)
        curves.append(curve.assign(stratum=level))
        summaries.append({"stratum": level, **stratum_summary})
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
        columns=["stratum", "time_days", "survival", "ci_lower", "ci_upper", "at_risk",
                 "events", "censored"])
    curve["time_months"] = curve["time_days"] / DAYS_PER_MONTH
    curve = curve[["stratum", "time_days", "time_months", "survival", "ci_lower", "ci_upper",
                   "at_risk", "events", "censored"]]
    summary = _summary_frame(summaries)
    if at_risk_months is None:
        at_risk_months = default_at_risk_months(float(agg["time_days"].max() or 0))
    tested = [s for s in levels if s not in NOT_TESTED_LEVELS]
    tested = tested if len(tested) >= 2 else levels
    if hr_groups is None and len(tested) == 2:
        hr_groups = (tested[1], tested[0])
    return SurvivalResult(
        endpoint=endpoint.value, stratification=stratification, curve=curve, summary=summary,
        at_risk=at_risk_table(curve, list(at_risk_months)),
        logrank=logrank(agg, tested) if len(tested) >= 2 else None,
        hazard_ratio=cox_two_groups(agg, *hr_groups) if hr_groups else None,
        ci_method=ci_method,
    )


def _summary_frame(summaries: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(summaries, columns=["stratum", "n", "events", "median_days",
                                             "median_ci_lower_days", "median_ci_upper_days"])
    for col in ("median", "median_ci_lower", "median_ci_upper"):
        frame[f"{col}_months"] = frame[f"{col}_days"].map(
            lambda v: None if v is None or pd.isna(v) else v / DAYS_PER_MONTH)
    return frame


def empty_result(endpoint: Endpoint, stratification: str | None, reason: str) -> SurvivalResult:
    return SurvivalResult(
        endpoint=endpoint.value, stratification=stratification,
        curve=pd.DataFrame(columns=["stratum", "time_days", "time_months", "survival",
                                    "ci_lower", "ci_upper", "at_risk", "events", "censored"]),
        summary=_summary_frame([]), at_risk=pd.DataFrame(columns=["stratum", "time_months",
                                                                   "at_risk"]),
        empty_reason=reason)


def kaplan_meier(cohort: Cohort, endpoint: Endpoint | str = Endpoint.OS,
                 strata: str | None = None, at_risk_months: list[float] | None = None,
                 hr_groups: tuple[str, str] | None = None,
                 ci_method: str = "log-log",
                 hr_adjust: str | Sequence[str] | None = None) -> SurvivalResult:
    """Kaplan-Meier analysis of the cohort for an endpoint, optionally stratified.

    ``hr_adjust``: stratifications whose combined levels get their own baseline hazard in the
    Cox model (e.g. ``("cancer_type", "stage")``): the hazard ratio is adjusted for them.
    Curves, medians and the log-rank test are not affected.
    """
    endpoint = Endpoint(endpoint)
    reason = _unusable_reason(cohort, endpoint)
    if reason:
        return empty_result(endpoint, strata, reason)
    agg = aggregate(cohort, endpoint, strata, within=hr_adjust)
    if agg.empty:
        return empty_result(endpoint, strata, NO_FOLLOW_UP)
    result = fit(agg, endpoint, strata, at_risk_months, hr_groups, ci_method)
    result.excluded = cohort.size - int(agg[["n_event", "n_censored"]].to_numpy().sum())
    if result.excluded:
        result.notes.append(f"{result.excluded} patients with follow-up ending before index "
                            "were left out")
    return result


def _unusable_reason(cohort: Cohort, endpoint: Endpoint) -> str | None:
    """Why the cohort has no curve for the endpoint, before aggregating (None: it may)."""
    if cohort.size == 0:
        return "the cohort is empty"
    return _pfs_empty_reason(cohort) if endpoint is Endpoint.PFS else None


def compare_cohorts(cohorts: list[tuple[Cohort, str]], endpoint: str,
                    notes: list[str] | None = None) -> SurvivalResult:
    """KM of several cohorts as the strata of one fit; HR of the second vs the first of two.

    Patients in more than one cohort count in each, so the tests assume independent groups.
    A cohort without a curve for the endpoint is left out, with a note ("label: why");
    ``notes`` are carried into the result too.
    """
    notes = list(notes or [])
    parts, labels = [], []
    for cohort, label in cohorts:
        reason = _unusable_reason(cohort, Endpoint(endpoint))
        part = None if reason else aggregate(cohort, endpoint, None)
        if part is not None and part.empty:
            reason = NO_FOLLOW_UP
        if reason:
            notes.append(f"{label}: {reason}")
        elif part is not None:
            parts.append(part.assign(stratum=label))
            labels.append(label)
    if not parts:
        return empty_result(Endpoint(endpoint), None, "; ".join(notes))
    agg = pd.concat(parts, ignore_index=True)
    longest = float(agg["time_days"].max())
    every = 6 if longest <= 48 * DAYS_PER_MONTH else 12
    hr_groups = (labels[1], labels[0]) if len(labels) == 2 else None
    result = fit(agg, endpoint, None, default_at_risk_months(longest, every), hr_groups)
    result.notes.extend(notes)
    return result
